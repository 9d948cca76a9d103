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
 * After `lock` was taken: when it was taken over from a dead holder that named its deploy, that
 * deploy's record says `interrupted` now. Never throws: problems become warnings.
 */
export async function recordTakeover(
  client: KubeClient,
  scope: ReleaseScope & { keep: number },
  lock: DeployLock,
  warn: (message: string) => void,
  now: () => Date = () => new Date(),
): Promise<void> {
  const dead = lock.takenOver;
  if (!dead?.deployId) return;
  try {
    const release = await markInterrupted(client, scope, {
      deployId: dead.deployId,
      renewedAt: dead.renewedAt,
      by: lock.holder,
      at: now(),
    });
    if (release !== undefined)
      warn(
        `release ${release} of ${scope.app}/${scope.env} (${dead.holder}) is marked interrupted: its lock was last renewed at ${dead.renewedAt ?? 'an unknown time'} (by its clock)`,
      );
  } catch (error) {
    warn(`could not mark the release of ${dead.holder} interrupted: ${(error as Error).message}`);
  }
}
