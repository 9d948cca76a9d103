// `capstan history`: release records as a table, or as JSON without their manifests (pure).
import { formatDuration } from '../notify/index.js';
import type { ReleaseRecord } from './record.js';

/** A record as shown to people and scripts: manifests (which hold Secret values) are left out. */
export type HistoryEntry = Omit<ReleaseRecord, 'manifests'> & { manifestCount: number; durationMs?: number };

export function historyJson(records: readonly ReleaseRecord[]): HistoryEntry[] {
  return records.map(({ manifests, ...rest }) => {
    const durationMs = rest.finishedAt ? Date.parse(rest.finishedAt) - Date.parse(rest.startedAt) : undefined;
    return {
      ...rest,
      manifestCount: manifests.length,
      ...(durationMs === undefined || Number.isNaN(durationMs) ? {} : { durationMs }),
    };
  });
}

/** A fixed-width table, newest first, one line per release. */
export function formatHistory(records: readonly ReleaseRecord[]): string {
  if (records.length === 0) return 'no releases recorded\n';
  const rows = historyJson(records).map((r) => [
    String(r.release),
    r.outcome,
    r.startedAt.replace(/\.\d+Z$/, 'Z'),
    r.durationMs === undefined ? '-' : formatDuration(r.durationMs),
    `${r.user}@${r.host}`,
    r.images.join(', ') || '-',
    [
      r.rolledBackTo === undefined ? '' : `rollback to ${r.rolledBackTo}`,
      r.interruptedBy
        ? `died holding the lock (last renewed ${r.lockRenewedAt ?? '?'}), taken over by ${r.interruptedBy}`
        : '',
      r.hookJobs.length ? `hooks: ${r.hookJobs.join(', ')}` : '',
      r.gitCommit
        ? `commit ${r.gitCommit.slice(0, 12)}${r.gitBranch ? ` (${r.gitBranch})` : ''}`
        : r.gitBranch
          ? `branch ${r.gitBranch}`
          : '',
    ]
      .filter(Boolean)
      .join('; '),
  ]);
  const header = ['REVISION', 'OUTCOME', 'STARTED', 'DURATION', 'BY', 'IMAGES', 'NOTES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
