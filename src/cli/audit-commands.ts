import type { Command } from 'commander';
import {
  auditClusters,
  formatAuditJson,
  formatAuditSarif,
  formatAuditText,
  mergeClusterFindings,
  withObject,
  type Finding,
  type RunAuditResult,
} from '../audit/index.js';
import { resolveBuildInfo } from '../config/index.js';
import { CapstanError } from '../shared/index.js';
import { ciOf, formatAnnotation, workspacePath } from './ci.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { collect } from './options.js';

const FORMATS = ['text', 'json', 'sarif'] as const;

export function registerAuditCommands(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('audit')
    .description(
      'check the rendered environment (and the cluster, when reachable) for operating habits: probes, resources, non-root, zones, references, scrape annotations',
    )
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('-i, --image <ref>', "container image for the templates' `image`")
    .option('--set <key=value>', 'override a value (repeatable; dotted keys)', collect)
    .option('--commit <sha>', 'commit for templates (default: the CI variables, then git)')
    .option('--branch <name>', 'branch for templates (default: the CI variables, then git)')
    .option('--offline', 'do not read the cluster: the cluster-aware checks are skipped')
    .option('--cluster <name>', 'one cluster of a multi-cluster environment (default: every cluster)')
    .option('-o, --output <format>', 'text (default), json (one finding per line) or sarif')
    .action(async (envName: string, opts: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const format = (opts.output as string | undefined) ?? 'text';
      if (!(FORMATS as readonly string[]).includes(format))
        throw new CapstanError('ERR_CAPSTAN_USAGE', `unknown output format "${format}"`, {
          hint: `use one of ${FORMATS.join(', ')}`,
        });
      const build = resolveBuildInfo({
        flags: { commit: opts.commit as string | undefined, branch: opts.branch as string | undefined },
        env: io.env,
        cwd: globals.cwd,
      });
      const audits = await auditClusters({
        cwd: globals.cwd,
        env: envName,
        cluster: opts.cluster as string | undefined,
        image: opts.image as string | undefined,
        set: opts.set as string[] | undefined,
        ...build,
        kubeconfig: globals.kubeconfig,
        context: globals.context,
        envVars: io.env,
        offline: !!opts.offline,
        signal: io.signal,
      });
      const grouped = opts.cluster === undefined && audits[0]?.cluster !== undefined;
      result.redactor.addPublic(audits.flatMap((a) => (a.cluster === undefined ? [] : [a.cluster])));
      // SARIF and CI annotations cannot group: each finding once, saying which clusters have it.
      const merged = grouped ? mergeClusterFindings(audits) : (audits[0] ?? { findings: [], skipped: [] });
      const cwd = globals.cwd;
      if (format === 'sarif') io.stdout.write(result.redactor.text(formatAuditSarif(merged, { cwd })));
      else
        for (const audit of audits) {
          const where = grouped ? (audit.cluster ?? '') : undefined;
          io.stdout.write(result.redactor.text(formatAudit(audit, format, cwd, where)));
          if (format === 'json')
            for (const skip of audit.skipped)
              io.stderr.write(
                `skipped${where === undefined ? '' : ` (cluster ${where})`}: ${skip.check}: ${skip.reason}\n`,
              );
        }
      if (grouped && format === 'text') io.stdout.write(clustersSummary(audits));
      if (ciOf(io.env) === 'github')
        for (const line of auditAnnotations(merged.findings, io.env))
          io.stderr.write(`${result.redactor.text(line)}\n`);
      result.exitCode = audits.some((a) => a.findings.some((f) => f.severity === 'error')) ? 1 : 0;
    });
}

/**
 * One cluster's audit as text (under a heading naming the cluster, when grouped) or JSON lines
 * (each with the cluster's name, when grouped).
 */
function formatAudit(
  audit: RunAuditResult,
  format: string,
  cwd: string,
  cluster: string | undefined,
): string {
  if (format === 'json') {
    const text = formatAuditJson(audit, { cwd });
    if (cluster === undefined) return text;
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => `${JSON.stringify({ cluster, ...(JSON.parse(line) as object) })}\n`)
      .join('');
  }
  const text = formatAuditText(audit, { cwd });
  return cluster === undefined ? text : `=== cluster ${cluster} (namespace ${audit.namespace})\n${text}\n`;
}

/** The last line of a grouped text audit: which clusters have errors. */
function clustersSummary(audits: readonly RunAuditResult[]): string {
  const failing = audits
    .filter((a) => a.findings.some((f) => f.severity === 'error'))
    .map((a) => a.cluster ?? '');
  return failing.length === 0
    ? `no errors in any of the ${audits.length} clusters\n`
    : `errors in ${failing.length} of ${audits.length} clusters: ${failing.join(', ')}\n`;
}

/** One workflow command per finding: errors as `::error`, warnings as `::warning`, info as `::notice`. */
export function auditAnnotations(findings: readonly Finding[], env: NodeJS.ProcessEnv): string[] {
  return findings.map((f) =>
    formatAnnotation(f.severity === 'info' ? 'notice' : f.severity, `${withObject(f)}\nfix: ${f.hint}`, {
      file: workspacePath(f.file, env),
      line: f.line,
      title: `capstan audit: ${f.check}`,
    }),
  );
}
