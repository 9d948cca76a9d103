/** The audit's report formats: text grouped by file, one JSON object per line, SARIF 2.1.0. Pure. */
import { relative } from 'node:path';
import { CHECK_IDS, CHECKS } from './catalogue.js';
import type { AuditResult, Finding } from './types.js';

function objectName(finding: Finding): string {
  return `${finding.object.kind}/${finding.object.name}`;
}

/** The message, naming its object first unless it already does. */
export function withObject(finding: Finding): string {
  const name = objectName(finding);
  return finding.message.startsWith(`${name}`) ? finding.message : `${name}: ${finding.message}`;
}

/** Paths as the reader sees them: relative to `cwd` when inside it. */
function shown(file: string, cwd: string | undefined): string {
  if (!cwd) return file;
  const rel = relative(cwd, file);
  return rel.startsWith('..') ? file : rel;
}

export function formatAuditText(result: AuditResult, options: { cwd?: string } = {}): string {
  const lines: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const finding of result.findings)
    byFile.set(finding.file, [...(byFile.get(finding.file) ?? []), finding]);
  for (const [file, findings] of byFile) {
    lines.push(shown(file, options.cwd));
    for (const f of findings) {
      lines.push(`  ${f.line}  ${f.severity.padEnd(7)}  ${f.check}  ${withObject(f)}`);
      lines.push(`      fix: ${f.hint}`);
    }
    lines.push('');
  }
  for (const skip of result.skipped) lines.push(`skipped: ${skip.check}: ${skip.reason}`);
  const count = (s: string) => result.findings.filter((f) => f.severity === s).length;
  lines.push(
    result.findings.length === 0
      ? 'no findings'
      : `${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info`,
  );
  return lines.join('\n') + '\n';
}

/** One finding per line, exactly `{"check","severity","object":{"kind","name","namespace"},"file","line","message","hint"}`. */
export function formatAuditJson(result: AuditResult, options: { cwd?: string } = {}): string {
  return result.findings
    .map((f) =>
      JSON.stringify({
        check: f.check,
        severity: f.severity,
        object: { kind: f.object.kind, name: f.object.name, namespace: f.object.namespace ?? '' },
        file: shown(f.file, options.cwd),
        line: f.line,
        message: f.message,
        hint: f.hint,
      }),
    )
    .map((line) => `${line}\n`)
    .join('');
}

const SARIF_LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

/** A SARIF 2.1.0 log: one rule per check id, one result per finding at its file and line. */
export function formatAuditSarif(
  result: AuditResult,
  options: { cwd?: string; version?: string } = {},
): string {
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'capstan',
            ...(options.version ? { version: options.version } : {}),
            rules: CHECK_IDS.map((id) => ({
              id,
              shortDescription: { text: CHECKS[id].summary },
              defaultConfiguration: { level: SARIF_LEVEL[CHECKS[id].severity] },
            })),
          },
        },
        results: result.findings.map((f) => ({
          ruleId: f.check,
          ruleIndex: CHECK_IDS.indexOf(f.check),
          level: SARIF_LEVEL[f.severity],
          message: { text: `${withObject(f)} Fix: ${f.hint}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: shown(f.file, options.cwd).split('\\').join('/') },
                region: { startLine: f.line },
              },
              logicalLocations: [
                {
                  name: f.object.name,
                  kind: 'resource',
                  fullyQualifiedName: `${f.object.namespace ?? ''}/${objectName(f)}`,
                },
              ],
            },
          ],
        })),
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: result.skipped.map((s) => ({
              level: 'note',
              message: { text: `skipped: ${s.check}: ${s.reason}` },
            })),
          },
        ],
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
