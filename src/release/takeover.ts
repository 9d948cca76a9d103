// A deploy that takes over an expired lock completes the record its dead holder left `running`.
import type { KubeClient } from '../kube/index.js';
import type { DeployLock } from './lock.js';
import { interruptedRecord, type Takeover } from './record.js';
import { readReleases, writeRelease, type ReleaseScope } from './store.js';

/**
 * Completes the `running` record of the deploy whose expired lock was taken over: outcome
 * `interrupted`, with when its lock was last renewed. Returns the release marked, if any.
 */
export async function markInterrupted(
  client: KubeClient,
  scope: ReleaseScope & { keep: number },
  takeover: Takeover,
): Promise<number | undefined> {
  // A damaged record is not the one to mark; prune and history report it.
  const records = await readReleases(client, { ...scope, onDamaged: () => {} });
  for (const record of records) {
    const marked = interruptedRecord(record, takeover);
    if (!marked) continue;
    await writeRelease(client, marked, { keep: scope.keep, signal: scope.signal });
    return marked.release;
  }
  return undefined;
}

/**
 * After `lock` was taken: every record still `running` is of a deploy that no longer holds the lock
 * (it died, or lost the lock and ends by itself), so it says `interrupted` now; the record of a
 * dead holder whose lock was taken over also says when that lock was last renewed. Covers a record
 * left `running` by an earlier takeover that could not write it. Never throws: problems are warnings.
 */
export async function recordTakeover(
  client: KubeClient,
  scope: ReleaseScope & { keep: number },
  lock: DeployLock,
  warn: (message: string) => void,
  now: () => Date = () => new Date(),
): Promise<void> {
  const dead = lock.takenOver;
  try {
    const records = await readReleases(client, { ...scope, onDamaged: () => {} });
    for (const record of records.filter((r) => r.outcome === 'running')) {
      const taken = dead?.deployId !== undefined && dead.deployId === record.deployId;
      const marked = interruptedRecord(record, {
        deployId: record.deployId,
        renewedAt: taken ? dead.renewedAt : undefined,
        by: lock.holder,
        at: now(),
      });
      if (!marked) continue;
      await writeRelease(client, marked, { keep: scope.keep, signal: scope.signal });
      warn(
        taken
          ? `release ${record.release} of ${scope.app}/${scope.env} (${dead.holder}) is marked interrupted: its lock was last renewed at ${dead.renewedAt ?? 'an unknown time'} (by its clock)`
          : `release ${record.release} of ${scope.app}/${scope.env} (${record.user}@${record.host}) was still recorded running although its deploy no longer holds the lock: marked interrupted`,
      );
    }
  } catch (error) {
    warn(
      `could not mark the release of ${dead?.holder ?? 'a deploy that no longer holds the lock'} interrupted: ${(error as Error).message}`,
    );
  }
}
