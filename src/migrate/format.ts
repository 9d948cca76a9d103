// Plain-text renderings of a plan, an apply and a verification, for people (JSON goes out as events).
import { formatRef, groupKind } from './json.js';
import type { ApplySummary, MigrationPlanSummary, Verification } from './types.js';

/** Left-aligned first column, right-aligned numbers, two spaces between columns. */
export function formatTable(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

export function formatPlan(plan: MigrationPlanSummary, options: { readonly listSkipped: boolean }): string {
  const lines: string[] = [];
  const rows = [['KIND', 'COPY', 'IN B', 'SKIPPED'], ...plan.counts.map((c) => [c.kind, String(c.planned), String(c.inTarget), String(c.skipped)])];
  lines.push(formatTable(rows), `${plan.total} objects to copy, ${plan.skipped.length} skipped`);
  for (const u of plan.unsupported) lines.push(`unsupported: ${groupKind(u.group, u.kind)} (${u.objects} objects): ${u.reason}`);
  if (options.listSkipped) {
    if (plan.skipped.length > 0) lines.push('skipped objects:');
    for (const s of plan.skipped) lines.push(`  ${formatRef(s.ref)}: ${s.reason}`);
    const byReason = new Map<string, string[]>();
    for (const k of plan.skippedKinds) byReason.set(k.reason, [...(byReason.get(k.reason) ?? []), groupKind(k.group, k.kind)]);
    if (byReason.size > 0) lines.push('skipped kinds:');
    for (const [reason, kinds] of byReason) lines.push(`  ${kinds.join(', ')}: ${reason}`);
  } else {
    const byReason = new Map<string, number>();
    for (const s of plan.skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
    for (const [reason, count] of [...byReason].sort((a, b) => b[1] - a[1])) lines.push(`  skipped ${count}: ${reason}`);
  }
  return lines.join('\n');
}

export function formatApply(summary: ApplySummary & { readonly objectsPerSecond: number }): string {
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const failed = summary.failed > 0 ? `, ${summary.failed} failed` : '';
  return `applied to B in ${seconds}s (${summary.objectsPerSecond} objects/s): ${summary.created} created, ${summary.changed} changed, ${summary.unchanged} unchanged${failed}`;
}

export function formatVerification(v: Verification): string {
  const header = ['KIND', 'A', 'B', 'MISSING', 'EXTRA', 'DIFFERENT', 'UNHEALTHY'];
  const rows = v.kinds.map((k) => [k.kind, ...[k.source, k.target, k.missing, k.extra, k.different, k.unhealthy].map(String)]);
  const lines = [formatTable([header, ...rows])];
  for (const ref of v.missing) lines.push(`missing in B: ${formatRef(ref)}`);
  for (const ref of v.extra) lines.push(`extra in B: ${formatRef(ref)}`);
  for (const u of v.unsupported) lines.push(`unsupported in B: ${groupKind(u.group, u.kind)} (${u.objects} objects): ${u.reason}`);
  for (const d of v.different) lines.push(`different: ${formatRef(d.ref)}: ${d.paths.join(', ')}`);
  for (const u of v.unhealthy) lines.push(`unhealthy in B: ${formatRef(u.ref)}: ${u.message}`);
  const problems = v.missing.length + v.extra.length + v.different.length + v.unhealthy.length + v.unsupported.length;
  lines.push(v.ok ? 'verified: B matches A' : `verification failed: ${problems} difference${problems === 1 ? '' : 's'}`);
  return lines.join('\n');
}
