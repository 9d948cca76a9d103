/** The audit's pure core: rendered objects (+ a cluster snapshot) in, located findings out. */
import type { RenderedObject } from '../render/index.js';
import { ConfigError, type Issue } from '../shared/index.js';
import { CHECK_IDS, CHECKS, isCheckId, type CheckId } from './catalogue.js';
import { checkIngress, checkReferences, checkScrape, checkService } from './checks-links.js';
import { checkCronJob, checkPod } from './checks-pod.js';
import { checkReplicas, checkVolumeZones, checkZoneSpread } from './checks-workload.js';
import { createContext, servicesOf } from './context.js';
import { dig, strings } from './pods.js';
import type { RawFinding } from './raw.js';
import type { SchedulingProblem } from './scheduling/index.js';
import type { AuditResult, ClusterSnapshot, Finding, ResolvedAuditConfig, SkippedCheck } from './types.js';

export const IGNORE_ANNOTATION = 'capstan.dev/audit-ignore';

export interface AuditOptions {
  /** The environment's namespace: objects without one are there, and the snapshot is of it. */
  readonly namespace: string;
  readonly snapshot?: ClusterSnapshot;
  readonly config?: ResolvedAuditConfig;
  /** The scheduling preflight's problems (check `scheduling`), when it ran. */
  readonly scheduling?: readonly SchedulingProblem[];
  /** Why the scheduling preflight did not run (offline, no right to list nodes). */
  readonly schedulingSkipped?: string;
  /**
   * Only the findings a deploy refuses (blockingFindings): the rest are not located, which would
   * parse every template's output again for its lines (half a second at 300 objects).
   */
  readonly blockingOnly?: boolean;
}

/** A finding as auditObjects returns it: `blocking` marks what a deploy refuses (see blockingFindings). */
export type AuditFinding = Finding & { readonly blocking?: true };

export interface AuditObjectsResult extends AuditResult {
  readonly findings: readonly AuditFinding[];
}

/**
 * Every finding of every check on the rendered objects, located at the offending field's source
 * line, with the config's overrides and ignores and the objects' ignore annotations applied.
 * Throws a ConfigError when an ignore annotation names an unknown check.
 */
export function auditObjects(rendered: readonly RenderedObject[], options: AuditOptions): AuditObjectsResult {
  const skipped = new Map<CheckId, string>();
  const context = createContext(rendered, options.namespace, options.snapshot, (check, reason) => {
    if (!skipped.has(check)) skipped.set(check, reason);
  });
  const raw: RawFinding[] = [];
  for (const workload of context.workloads) {
    raw.push(...checkPod(workload, servicesOf(context, workload).length > 0));
    raw.push(...checkCronJob(workload));
    raw.push(...checkReplicas(context, workload));
    raw.push(...checkZoneSpread(context, workload));
    raw.push(...checkVolumeZones(context, workload));
    raw.push(...checkScrape(workload));
    raw.push(...checkReferences(context, workload));
  }
  for (const object of rendered) {
    if (object.object.kind === 'Service') raw.push(...checkService(context, object));
    if (object.object.kind === 'Ingress') raw.push(...checkIngress(context, object));
  }
  if (options.schedulingSkipped) skipped.set('scheduling', options.schedulingSkipped);
  for (const problem of options.scheduling ?? []) {
    const target = rendered.find(
      ({ object }) =>
        object.kind === problem.object.kind &&
        object.metadata.name === problem.object.name &&
        (object.metadata.namespace ?? options.namespace) === (problem.object.namespace ?? options.namespace),
    );
    if (target)
      raw.push({
        check: 'scheduling',
        target,
        path: ['spec'],
        message: problem.message,
        hint: problem.hint,
        severity: problem.severity,
      });
  }
  const ignores = readIgnoreAnnotations(rendered);
  const config = options.config ?? { checks: {}, ignore: [] };
  const findings: AuditFinding[] = [];
  for (const finding of raw) {
    if (options.blockingOnly && !finding.blocking) continue;
    if (ignores.get(finding.target)?.has(finding.check)) continue;
    if (ignoredByConfig(config, finding)) continue;
    const override = config.checks[finding.check];
    if (override === 'off') continue;
    const severity = override ?? finding.severity ?? CHECKS[finding.check].severity;
    if (options.blockingOnly && severity !== 'error') continue;
    const { kind, metadata } = finding.target.object;
    const where = locate(finding.target, finding.path);
    findings.push({
      check: finding.check,
      severity,
      object: {
        kind,
        name: metadata.name ?? '',
        ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
      },
      file: where.file,
      line: where.line,
      message: finding.message,
      hint: finding.hint,
      ...(finding.blocking && severity === 'error' ? { blocking: true as const } : {}),
    });
  }
  findings.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.check < b.check ? -1 : 1),
  );
  const skips: SkippedCheck[] = [...skipped]
    .filter(([check]) => config.checks[check] !== 'off')
    .map(([check, reason]) => ({ check, reason }));
  return { findings, skipped: skips };
}

/** The findings a deploy refuses: certainly broken (a missing reference, impossible zones, a runtime socket) and still errors. */
export function blockingFindings(findings: readonly AuditFinding[]): AuditFinding[] {
  return findings.filter((f) => f.blocking === true);
}

function locate(target: RenderedObject, path: readonly string[]): { file: string; line: number } {
  if (target.locate) return target.locate(path);
  return { file: target.source.file, line: target.lineOf?.(path) ?? target.source.line ?? 1 };
}

function matchesName(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(name);
}

function ignoredByConfig(config: ResolvedAuditConfig, finding: RawFinding): boolean {
  const { kind, metadata } = finding.target.object;
  return config.ignore.some(
    (rule) =>
      rule.checks.includes(finding.check) &&
      rule.objects.some((o) => {
        const slash = o.indexOf('/');
        return o.slice(0, slash) === kind && matchesName(o.slice(slash + 1), metadata.name ?? '');
      }),
  );
}

/** `capstan.dev/audit-ignore: id,id` on each object and its pod template; unknown ids are input errors. */
function readIgnoreAnnotations(rendered: readonly RenderedObject[]): Map<RenderedObject, Set<CheckId>> {
  const out = new Map<RenderedObject, Set<CheckId>>();
  const issues: Issue[] = [];
  for (const target of rendered) {
    const places: string[][] = [['metadata', 'annotations']];
    for (const podPath of [
      ['spec', 'template'],
      ['spec', 'jobTemplate', 'spec', 'template'],
    ])
      places.push([...podPath, 'metadata', 'annotations']);
    for (const place of places) {
      const value = strings(dig(target.object, place))[IGNORE_ANNOTATION];
      if (value === undefined) continue;
      for (const id of value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')) {
        if (isCheckId(id)) {
          const set = out.get(target) ?? new Set<CheckId>();
          set.add(id);
          out.set(target, set);
          continue;
        }
        const where = locate(target, [...place, IGNORE_ANNOTATION]);
        issues.push({
          file: where.file,
          line: where.line,
          path: [...place, IGNORE_ANNOTATION].join('.'),
          message: `${target.object.kind}/${target.object.metadata.name ?? ''}: unknown check "${id}" in ${IGNORE_ANNOTATION}`,
        });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, { hint: `known checks: ${CHECK_IDS.join(', ')}` });
  return out;
}

/** capstan.yaml `audit:` of one environment in the audit's terms (the schema has checked the ids). */
export function resolveAuditConfig(audit: {
  readonly checks: Readonly<Record<string, string>>;
  readonly ignore: readonly { readonly checks: readonly string[]; readonly objects: readonly string[] }[];
}): ResolvedAuditConfig {
  const checks: Partial<Record<CheckId, 'error' | 'warning' | 'info' | 'off'>> = {};
  for (const [id, severity] of Object.entries(audit.checks))
    if (isCheckId(id) && ['error', 'warning', 'info', 'off'].includes(severity))
      checks[id] = severity as 'error' | 'warning' | 'info' | 'off';
  return {
    checks,
    ignore: audit.ignore.map((rule) => ({
      objects: [...rule.objects],
      checks: rule.checks.filter(isCheckId),
    })),
  };
}
