// Rollback's pure decisions: which release to re-apply, what its wait's end means, and what to delete afterwards.
import type { DeployOutcome } from '../events/index.js';
import { describeUnreachable, type WaitResult } from '../rollout/index.js';
import { CapstanError, objectKey, objectRef } from '../shared/index.js';
import type { InventoryEntry, ReleaseRecord } from './record.js';

/** Kinds rollback never deletes; Jobs are hooks (migrations): re-running an old one is never wanted. */
const NEVER_PRUNED = new Set(['PersistentVolumeClaim', 'Namespace', 'Job']);

/** The release to re-apply (pure); throws ERR_CAPSTAN_NO_SUCH_RELEASE with the releases there are. */
export function chooseRollbackTarget(releases: readonly ReleaseRecord[], to?: number): ReleaseRecord {
  const known = releases.map((r) => `${r.release} (${r.outcome})`).join(', ') || 'none';
  const target =
    to === undefined
      ? releases.slice(1).find((r) => r.outcome === 'succeeded')
      : releases.find((r) => r.release === to);
  if (!target) {
    const what =
      to === undefined
        ? `no succeeded release before ${releases[0]?.release ?? '?'}`
        : `there is no release ${to}`;
    throw new CapstanError('ERR_CAPSTAN_NO_SUCH_RELEASE', `cannot roll back: ${what}`, {
      hint: `recorded releases: ${known}`,
    });
  }
  if (target.manifests.length === 0)
    throw new CapstanError(
      'ERR_CAPSTAN_NO_SUCH_RELEASE',
      `cannot roll back: release ${target.release} recorded no manifests`,
    );
  return target;
}

function keyOf(entry: InventoryEntry): string {
  return objectKey({
    apiVersion: entry.apiVersion,
    kind: entry.kind,
    metadata: { name: entry.name, namespace: entry.namespace },
  });
}

/** Objects of releases after the target that the target does not have: what rollback deletes (pure). */
export function planRollbackPrune(
  releases: readonly ReleaseRecord[],
  target: ReleaseRecord,
): InventoryEntry[] {
  const keep = new Set([...target.inventory.map(keyOf), ...target.manifests.map(objectKey)]);
  const out = new Map<string, InventoryEntry>();
  for (const r of releases) {
    if (r.release <= target.release) continue;
    for (const entry of r.inventory)
      if (!keep.has(keyOf(entry)) && !NEVER_PRUNED.has(entry.kind)) out.set(keyOf(entry), entry);
  }
  return [...out.values()];
}

/**
 * How a rollback's wait that did not end ready ends the rollback. An API server that stopped
 * answering is reported as a deploy reports it (timed out, exit 3, since when), not as a plain timeout.
 */
export function rollbackWaitEnd(
  wait: Pick<WaitResult, 'outcome' | 'failed' | 'unreachable'>,
  target: number,
): { outcome: DeployOutcome; message: string } {
  if (wait.unreachable && (wait.outcome === 'timed-out' || wait.outcome === 'no-progress'))
    return {
      outcome: 'timed-out',
      message: `${describeUnreachable(wait.unreachable)}; stopped waiting for the rollback to release ${target}`,
    };
  const outcome: DeployOutcome =
    wait.outcome === 'interrupted' ? 'interrupted' : wait.outcome === 'failed' ? 'failed' : 'timed-out';
  const failed = wait.failed.map((f) => `${objectRef(f.object)}: ${f.readiness.message}`).join('; ');
  return { outcome, message: `rollback to release ${target} ${outcome}: ${failed || wait.outcome}` };
}
