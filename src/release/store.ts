// Reading and writing release records in the cluster, and keeping only the newest N.
import { during, withRetry, type KubeClient } from '../kube/index.js';
import type { KubeObject } from '../shared/index.js';
import {
  chunkOf,
  DamagedReleaseError,
  decodeRelease,
  encodeRelease,
  groupByRelease,
  OUTCOME_LABEL,
  releaseSelector,
  RELEASE_NUMBER_LABEL,
  releaseNumberOf,
  type ReleaseRecord,
} from './record.js';

export interface ReleaseScope {
  readonly namespace: string;
  readonly app: string;
  readonly env: string;
  readonly signal?: AbortSignal;
}

export interface ReadReleasesOptions extends ReleaseScope {
  /** Called for each damaged record, which is then skipped; without it the first damaged record throws. */
  readonly onDamaged?: (error: DamagedReleaseError) => void;
  /** How long to retry an API server that does not answer (default 60 s). */
  readonly retryDeadlineMs?: number;
}

export interface WriteReleaseOptions {
  /** Records kept after this write (the newest succeeded one is kept as well). */
  readonly keep: number;
  /** Bytes of compressed record per Secret (default 900 KiB). */
  readonly chunkBytes?: number;
  readonly signal?: AbortSignal;
  /** How long to retry through API server restarts (default 60 s). */
  readonly retryDeadlineMs?: number;
}

const FIELD_MANAGER = 'capstan';

async function listReleaseSecrets(
  client: KubeClient,
  scope: ReleaseScope & { readonly retryDeadlineMs?: number },
  extraSelector = '',
): Promise<KubeObject[]> {
  const labelSelector = releaseSelector(scope) + (extraSelector ? `,${extraSelector}` : '');
  const list = await during('reading the release history (its Secrets) needs it', () =>
    withRetry(
      () => client.list('v1', 'Secret', { namespace: scope.namespace, labelSelector, signal: scope.signal }),
      { signal: scope.signal, deadlineMs: scope.retryDeadlineMs },
    ),
  );
  return list.items;
}

/** Every record of an app and environment, newest first. A damaged record throws a DamagedReleaseError naming it. */
export async function readReleases(
  client: KubeClient,
  options: ReadReleasesOptions,
): Promise<ReleaseRecord[]> {
  const groups = groupByRelease(await listReleaseSecrets(client, options));
  const records: ReleaseRecord[] = [];
  for (const release of [...groups.keys()].sort((a, b) => b - a)) {
    try {
      records.push(decodeRelease(groups.get(release)!, options));
    } catch (error) {
      if (!(error instanceof DamagedReleaseError) || !options.onDamaged) throw error;
      options.onDamaged(error);
    }
  }
  return records;
}

/** One record, or undefined when there is none with that release. */
export async function readRelease(
  client: KubeClient,
  options: ReleaseScope & { release: number },
): Promise<ReleaseRecord | undefined> {
  const secrets = await listReleaseSecrets(client, options, `${RELEASE_NUMBER_LABEL}=${options.release}`);
  return secrets.length === 0 ? undefined : decodeRelease(secrets, options);
}

/** The release the next record should carry: one more than the highest one stored (damaged ones count). */
export async function nextReleaseNumber(client: KubeClient, scope: ReleaseScope): Promise<number> {
  const releases = (await listReleaseSecrets(client, scope))
    .map(releaseNumberOf)
    .filter((r): r is number => r !== undefined);
  return Math.max(0, ...releases) + 1;
}

/**
 * Writes (or overwrites) a record: its Secrets are applied, chunks left from a longer earlier write
 * of the same release are deleted, then records beyond `keep` are deleted. Chunk 0 is written last
 * and carries the checksum, so readers never take a half-written record for a good one.
 */
export async function writeRelease(
  client: KubeClient,
  record: ReleaseRecord,
  options: WriteReleaseOptions,
): Promise<void> {
  return during(`recording release ${record.release} (its Secrets) needs it`, () =>
    writeReleaseSecrets(client, record, options),
  );
}

async function writeReleaseSecrets(
  client: KubeClient,
  record: ReleaseRecord,
  options: WriteReleaseOptions,
): Promise<void> {
  const retry = { signal: options.signal, deadlineMs: options.retryDeadlineMs };
  const secrets = encodeRelease(record, { chunkBytes: options.chunkBytes });
  // Listed while the chunks are written (one round trip instead of two): the writes touch only
  // this release's chunks below `secrets.length`, so the history after them is the list with
  // those replaced by what was written (its outcome label included), as a list read after would
  // show with the lock held. Chunks at or above the length are left from a longer earlier write.
  const listing = listReleaseSecrets(client, { ...record, signal: options.signal });
  listing.catch(() => {});
  for (const secret of [...secrets.slice(1), secrets[0]]) {
    await withRetry(
      () => client.apply(secret, { fieldManager: FIELD_MANAGER, force: true, signal: options.signal }),
      retry,
    );
  }
  const written = (s: KubeObject) => releaseNumberOf(s) === record.release && chunkOf(s) < secrets.length;
  const all = [...(await listing).filter((s) => !written(s)), ...secrets];
  const stale = all.filter((s) => releaseNumberOf(s) === record.release && chunkOf(s) >= secrets.length);
  const doomed = new Set(releasesBeyondKeep(all, options.keep, record.release));
  for (const secret of [...stale, ...all.filter((s) => doomed.has(releaseNumberOf(s) ?? 0))]) {
    await withRetry(
      () =>
        client.delete(
          { apiVersion: 'v1', kind: 'Secret', namespace: record.namespace, name: secret.metadata.name ?? '' },
          { signal: options.signal },
        ),
      retry,
    );
  }
}

/**
 * Revisions to delete so that `keep` remain: the oldest go first, but never the one just written
 * nor the newest succeeded one (rollback's default target and the previous inventory).
 */
export function releasesBeyondKeep(secrets: readonly KubeObject[], keep: number, written: number): number[] {
  const outcomes = new Map<number, string>();
  for (const s of secrets) {
    const release = releaseNumberOf(s);
    if (release !== undefined && chunkOf(s) === 0)
      outcomes.set(release, s.metadata.labels?.[OUTCOME_LABEL] ?? '');
    else if (release !== undefined && !outcomes.has(release)) outcomes.set(release, '');
  }
  const newestFirst = [...outcomes.keys()].sort((a, b) => b - a);
  const newestSucceeded = newestFirst.find((r) => outcomes.get(r) === 'succeeded');
  const kept = new Set([...newestFirst.slice(0, Math.max(1, keep)), written]);
  if (newestSucceeded !== undefined) kept.add(newestSucceeded);
  return newestFirst.filter((r) => !kept.has(r));
}
