// Plain-text renderings of a plan, an apply and a verification, for people (JSON goes out as events).
import { formatRef, groupKind, type MigrateObjectRef } from './json.js';
import type { ApplySummary, LeftOut, MigrationPlanSummary, UncopiedVolume, Verification } from './types.js';

/** Left-aligned first column, right-aligned numbers, two spaces between columns. */
export function formatTable(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const LISTED = 5;

function shortRef(ref: MigrateObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function listed(items: readonly string[]): string {
  return items.length > LISTED
    ? `${items.slice(0, LISTED).join(', ')}, … ${items.length - LISTED} more`
    : items.join(', ');
}

/** `data NOT copied: 3 PersistentVolumeClaims (shop/pg-data-0 50Gi, ...), B has empty volumes`. */
export function describeVolumes(volumes: readonly UncopiedVolume[]): string {
  const byKind = new Map<string, number>();
  for (const v of volumes) byKind.set(v.ref.kind, (byKind.get(v.ref.kind) ?? 0) + 1);
  const counts = [...byKind].map(([kind, count]) => plural(count, kind)).join(' and ');
  const items = volumes.map((v) => `${shortRef(v.ref)}${v.size ? ` ${v.size}` : ''}`);
  return `data NOT copied: ${counts} (${listed(items)}), B has empty volumes`;
}

/** `not copied: 1 running Job shop/import-123: it would run again in B`. */
export function describeRunningJobs(jobs: readonly MigrateObjectRef[]): string {
  return `not copied: ${jobs.length} running Job${jobs.length === 1 ? '' : 's'} ${listed(jobs.map(shortRef))}: ${jobs.length === 1 ? 'it' : 'they'} would run again in B`;
}

/** What the migration leaves out on purpose, one line each; nothing when it leaves nothing out. */
export function formatLeftOut(leftOut: LeftOut): string[] {
  const lines: string[] = [];
  if (leftOut.volumes.length > 0) lines.push(describeVolumes(leftOut.volumes));
  if (leftOut.runningJobs.length > 0) lines.push(describeRunningJobs(leftOut.runningJobs));
  return lines;
}

export function formatPlan(plan: MigrationPlanSummary, options: { readonly listSkipped: boolean }): string {
  const lines: string[] = [];
  const rows = [
    ['KIND', 'COPY', 'IN B', 'SKIPPED'],
    ...plan.counts.map((c) => [c.kind, String(c.planned), String(c.inTarget), String(c.skipped)]),
  ];
  lines.push(formatTable(rows), `${plan.total} objects to copy, ${plan.skipped.length} skipped`);
  for (const u of plan.unsupported)
    lines.push(`unsupported: ${groupKind(u.group, u.kind)} (${u.objects} objects): ${u.reason}`);
  lines.push(...formatLeftOut(plan.leftOut));
  if (options.listSkipped) {
    if (plan.skipped.length > 0) lines.push('skipped objects:');
    for (const s of plan.skipped) lines.push(`  ${formatRef(s.ref)}: ${s.reason}`);
    const byReason = new Map<string, string[]>();
    for (const k of plan.skippedKinds)
      byReason.set(k.reason, [...(byReason.get(k.reason) ?? []), groupKind(k.group, k.kind)]);
    if (byReason.size > 0) lines.push('skipped kinds:');
    for (const [reason, kinds] of byReason) lines.push(`  ${kinds.join(', ')}: ${reason}`);
  } else {
    const byReason = new Map<string, number>();
    for (const s of plan.skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
    for (const [reason, count] of [...byReason].sort((a, b) => b[1] - a[1]))
      lines.push(`  skipped ${count}: ${reason}`);
  }
  return lines.join('\n');
}

export function formatApply(summary: ApplySummary & { readonly objectsPerSecond: number }): string {
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const failed = summary.failed > 0 ? `, ${summary.failed} failed` : '';
  return `applied to B in ${seconds}s (${summary.objectsPerSecond} objects/s): ${summary.created} created, ${summary.changed} changed, ${summary.unchanged} unchanged${failed}`;
}

/**
 * What B holds against A, then the verdict. What was not copied is listed apart and never called
 * verified: `verified: B matches A` only when nothing was left out, and claimed volumes left empty
 * count as verified only when the user accepted them (`allowEmptyVolumes`).
 */
export function formatVerification(
  v: Verification,
  options: { readonly allowEmptyVolumes?: boolean } = {},
): string {
  const header = ['KIND', 'A', 'B', 'MISSING', 'EXTRA', 'DIFFERENT', 'UNHEALTHY'];
  const rows = v.kinds.map((k) => [
    k.kind,
    ...[k.source, k.target, k.missing, k.extra, k.different, k.unhealthy].map(String),
  ]);
  const lines = [formatTable([header, ...rows])];
  for (const ref of v.missing) lines.push(`missing in B: ${formatRef(ref)}`);
  for (const ref of v.extra) lines.push(`extra in B: ${formatRef(ref)}`);
  for (const u of v.unsupported)
    lines.push(`unsupported in B: ${groupKind(u.group, u.kind)} (${u.objects} objects): ${u.reason}`);
  for (const d of v.different) lines.push(`different: ${formatRef(d.ref)}: ${d.paths.join(', ')}`);
  for (const u of v.unhealthy) lines.push(`unhealthy in B: ${formatRef(u.ref)}: ${u.message}`);
  const problems =
    v.missing.length + v.extra.length + v.different.length + v.unhealthy.length + v.unsupported.length;
  lines.push(...formatLeftOut(v.leftOut));
  const copied = plural(
    v.kinds.reduce((sum, k) => sum + k.source, 0),
    'copied object',
  );
  if (!v.ok) lines.push(`verification failed: ${problems} difference${problems === 1 ? '' : 's'}`);
  else if (v.complete) lines.push('verified: B matches A');
  else if (v.leftOut.volumes.length > 0 && !options.allowEmptyVolumes) {
    lines.push(
      `B is not a copy of A: the ${copied} match, but the volumes' data is only in A (--allow-empty-volumes accepts empty volumes)`,
    );
  } else lines.push(`verified: the ${copied} in B match A; what is listed as not copied is not verified`);
  return lines.join('\n');
}
