// The history of a multi-cluster environment: each cluster's records merged by the shared release
// number (pure), and the release a rollback of several clusters restores.
import { formatDuration } from '../notify/index.js';
import { historyJson, type HistoryEntry, type ReleaseRecord } from '../release/index.js';
import { CapstanError } from '../shared/index.js';

/**
 * How long a cluster's API server may take to answer a read of its history before it counts as
 * unreachable (as long as the multi-cluster deploy's probe waits).
 */
export const HISTORY_READ_DEADLINE_MS = 15_000;

/** What was read of one cluster: its records (newest first), or why they could not be read. */
export interface ClusterHistory {
  readonly cluster: string;
  readonly records?: readonly ReleaseRecord[];
  /** Set when the cluster's records could not be read (unreachable, refused). */
  readonly error?: string;
}

/** One release of the environment, with each cluster's record of it. */
export interface FleetHistoryRow {
  readonly release: number;
  /** The earliest start among the clusters' records. */
  readonly startedAt: string;
  readonly user: string;
  readonly host: string;
  readonly gitCommit?: string;
  readonly gitBranch?: string;
  /** For a rollback: the release it restored. */
  readonly rolledBackTo?: number;
  /** Clusters the release left out with --skip-cluster. */
  readonly skippedClusters?: readonly string[];
  /** Per cluster read: its record (as `capstan history -o json` shows one), or null when it has none. */
  readonly clusters: Readonly<Record<string, HistoryEntry | null>>;
}

export interface FleetHistory {
  /** Every cluster, in capstan.yaml's order; `error` for one whose records could not be read. */
  readonly clusters: readonly { readonly name: string; readonly error?: string }[];
  /** Newest first. */
  readonly releases: readonly FleetHistoryRow[];
}

/** One row per release number found in any cluster, newest first, with a cell per cluster read. */
export function mergeHistories(histories: readonly ClusterHistory[]): FleetHistory {
  const read = histories.filter((h) => h.records !== undefined);
  const numbers = new Set(read.flatMap((h) => h.records!.map((r) => r.release)));
  const releases = [...numbers]
    .sort((a, b) => b - a)
    .map((release): FleetHistoryRow => {
      const cells = Object.fromEntries(
        read.map((h) => {
          const record = h.records!.find((r) => r.release === release);
          return [h.cluster, record ? historyJson([record])[0] : null];
        }),
      );
      const present = Object.values(cells).filter((c): c is HistoryEntry => c !== null);
      const first = present[0];
      const skipped = [...new Set(present.flatMap((c) => c.skippedClusters ?? []))];
      const commit = present.find((c) => c.gitCommit !== undefined);
      const branch = present.find((c) => c.gitBranch !== undefined);
      const rollback = present.find((c) => c.rolledBackTo !== undefined);
      return {
        release,
        startedAt: present.map((c) => c.startedAt).sort()[0],
        user: first.user,
        host: first.host,
        ...(commit ? { gitCommit: commit.gitCommit } : {}),
        ...(branch ? { gitBranch: branch.gitBranch } : {}),
        ...(rollback ? { rolledBackTo: rollback.rolledBackTo } : {}),
        ...(skipped.length ? { skippedClusters: skipped } : {}),
        clusters: cells,
      };
    });
  return {
    clusters: histories.map((h) => ({
      name: h.cluster,
      ...(h.error === undefined ? {} : { error: h.error }),
    })),
    releases,
  };
}

/** A cluster's cell: outcome and images; `-` without a record, `skipped` when the release left it out. */
function cellText(row: FleetHistoryRow, cluster: string): string {
  const entry = row.clusters[cluster];
  if (entry === undefined) return '?';
  if (entry === null) return row.skippedClusters?.includes(cluster) ? 'skipped' : '-';
  const duration = entry.durationMs === undefined ? '' : ` (${formatDuration(entry.durationMs)})`;
  return `${entry.outcome}${duration} ${entry.images.join(', ') || '-'}`;
}

function notesOf(row: FleetHistoryRow): string {
  const interrupted = Object.entries(row.clusters)
    .filter(([, e]) => e?.interruptedBy)
    .map(([c, e]) => `${c}: died holding the lock, taken over by ${e!.interruptedBy}`);
  // Clusters numbered alone (records from before the environment had clusters, a rollback of one
  // cluster) can share a number without sharing a deploy: the row says so.
  const present = Object.entries(row.clusters).filter(([, e]) => e);
  const ids = new Set(present.map(([, e]) => e!.deployId));
  const apart =
    ids.size > 1 ? `not one deploy: ${present.map(([c, e]) => `${c} ${e!.deployId}`).join(', ')}` : '';
  return [
    row.rolledBackTo === undefined ? '' : `rollback to ${row.rolledBackTo}`,
    apart,
    ...interrupted,
    row.gitCommit
      ? `commit ${row.gitCommit.slice(0, 12)}${row.gitBranch ? ` (${row.gitBranch})` : ''}`
      : row.gitBranch
        ? `branch ${row.gitBranch}`
        : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * A fixed-width table, newest first: the release, when and by whom, a column per cluster (outcome,
 * duration and images; `-` when the cluster has no record of it) and notes. A cluster whose records
 * could not be read is marked `unreachable` in its heading, its cells `?`.
 */
export function formatFleetHistory(history: FleetHistory): string {
  if (history.releases.length === 0) return 'no releases recorded\n';
  const rows = history.releases.map((r) => [
    String(r.release),
    r.startedAt.replace(/\.\d+Z$/, 'Z'),
    `${r.user}@${r.host}`,
    ...history.clusters.map((c) => cellText(r, c.name)),
    notesOf(r),
  ]);
  const header = [
    'RELEASE',
    'STARTED',
    'BY',
    ...history.clusters.map((c) => c.name.toUpperCase() + (c.error === undefined ? '' : ' (UNREACHABLE)')),
    'NOTES',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/**
 * The release a rollback of these clusters restores (pure). With `to`, that release, which every
 * one of them must have recorded. Without, one release for all: the newest before the
 * environment's current one (the newest any of them recorded) that succeeded in every one of
 * them. Throws ERR_CAPSTAN_NO_SUCH_RELEASE naming the clusters that lack it.
 */
export function chooseFleetTarget(histories: readonly ClusterHistory[], to?: number): number {
  const known = histories
    .map((h) => `${h.cluster}: ${h.records?.map((r) => `${r.release} (${r.outcome})`).join(', ') || 'none'}`)
    .join('; ');
  const empty = histories.filter((h) => !h.records?.length).map((h) => h.cluster);
  if (empty.length > 0)
    throw new CapstanError(
      'ERR_CAPSTAN_NO_SUCH_RELEASE',
      `cannot roll back: no release is recorded in ${clusterList(empty)}`,
      {
        hint: `leave ${empty.length > 1 ? 'them' : 'it'} out with --cluster NAME; recorded releases: ${known}`,
      },
    );
  if (to !== undefined) {
    const missing = histories.filter((h) => !h.records!.some((r) => r.release === to));
    const bare = histories.filter((h) =>
      h.records!.some((r) => r.release === to && r.manifests.length === 0),
    );
    if (bare.length > 0)
      throw new CapstanError(
        'ERR_CAPSTAN_NO_SUCH_RELEASE',
        `cannot roll back to release ${to}: its record in ${clusterList(bare.map((h) => h.cluster))} holds no manifests`,
      );
    if (missing.length > 0)
      throw new CapstanError(
        'ERR_CAPSTAN_NO_SUCH_RELEASE',
        `cannot roll back to release ${to}: it is not recorded in ${clusterList(missing.map((h) => h.cluster))}`,
        {
          hint: `the release left ${missing.length > 1 ? 'them' : 'it'} out, or its record was trimmed; roll back the other clusters with --cluster NAME, or choose another release; recorded releases: ${known}`,
        },
      );
    return to;
  }
  const current = Math.max(...histories.map((h) => h.records![0].release));
  const candidates = [...new Set(histories.flatMap((h) => h.records!.map((r) => r.release)))]
    .filter((n) => n < current)
    .sort((a, b) => b - a);
  const target = candidates.find((n) =>
    histories.every((h) =>
      h.records!.some((r) => r.release === n && r.outcome === 'succeeded' && r.manifests.length > 0),
    ),
  );
  if (target === undefined)
    throw new CapstanError(
      'ERR_CAPSTAN_NO_SUCH_RELEASE',
      `cannot roll back: no release before ${current} succeeded in every one of ${clusterList(histories.map((h) => h.cluster))}`,
      {
        hint: `name one with --to N, or roll back one cluster with --cluster NAME; recorded releases: ${known}`,
      },
    );
  return target;
}

function clusterList(names: readonly string[]): string {
  return `${names.length > 1 ? 'clusters' : 'cluster'} ${names.join(', ')}`;
}
