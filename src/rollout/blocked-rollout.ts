// A StatefulSet's rolling update held up by a broken pod of an earlier revision. With
// podManagementPolicy OrderedReady the controller waits for every pod to be Running and Ready
// before it replaces any, so a pod that never will be stops the rollout for good: Kubernetes
// documents this as "forced rollback", where the user must delete that pod.
import type { KubeObject } from '../shared/index.js';
import { at, num, str } from './object-access.js';
import { isOfOldRevision, podRevisionOf, updateRevisionOf } from './ownership.js';
import { isPodReady, podPhase, podProblem, type PodJudgmentOptions } from './pod-state.js';

export interface BlockingPod {
  readonly pod: KubeObject;
  /** Its revision (`controller-revision-hash`). */
  readonly revision: string | undefined;
  /** Why it will not become ready by waiting. */
  readonly problem: string;
}

function ordinalOf(pod: KubeObject): number | undefined {
  const match = /-(\d+)$/.exec(pod.metadata.name ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * The broken pods of earlier revisions that block a StatefulSet's rolling update: OrderedReady,
 * RollingUpdate, at or above the partition (pods below it keep the old revision anyway), not being
 * deleted, in a state no waiting fixes. Deleting them is what the controller would do next if it
 * could: they come back at the update revision.
 */
export function blockingOldPods(
  statefulSet: KubeObject,
  owned: KubeObject[],
  options: PodJudgmentOptions & {
    /** Also pods that are merely not Running and Ready (for a diagnosis once waiting is over). */
    readonly includeNotReady?: boolean;
  } = {},
): BlockingPod[] {
  if (statefulSet.kind !== 'StatefulSet') return [];
  if ((str(at(statefulSet, 'spec', 'podManagementPolicy')) ?? 'OrderedReady') !== 'OrderedReady') return [];
  if ((str(at(statefulSet, 'spec', 'updateStrategy', 'type')) ?? 'RollingUpdate') !== 'RollingUpdate')
    return [];
  if (updateRevisionOf(statefulSet) === undefined) return [];
  const partition = num(at(statefulSet, 'spec', 'updateStrategy', 'rollingUpdate', 'partition')) ?? 0;
  const start = num(at(statefulSet, 'spec', 'ordinals', 'start')) ?? 0;
  const blocking: BlockingPod[] = [];
  for (const pod of owned) {
    if (pod.metadata.deletionTimestamp || !isOfOldRevision(statefulSet, pod, owned)) continue;
    // The controller itself replaces pods that ended.
    if (podPhase(pod) === 'Failed' || podPhase(pod) === 'Succeeded') continue;
    const ordinal = ordinalOf(pod);
    if (ordinal === undefined || ordinal - start < partition) continue;
    const problem =
      podProblem(pod, options) ??
      (options.includeNotReady && !isPodReady(pod) ? `${podPhase(pod)}, not Ready` : undefined);
    if (problem !== undefined) blocking.push({ pod, revision: podRevisionOf(statefulSet, pod), problem });
  }
  return blocking;
}

/** The command that unblocks the rollout. */
export function deletePodCommand(pod: KubeObject): string {
  const ns = pod.metadata.namespace;
  return `kubectl delete pod ${pod.metadata.name ?? '?'}${ns ? ` -n ${ns}` : ''}`;
}

/** The sentence a user needs: which pod blocks what, why it stays, and the command. */
export function describeBlockedRollout(statefulSet: KubeObject, blocking: readonly BlockingPod[]): string {
  const update = updateRevisionOf(statefulSet) ?? '?';
  const pods = blocking
    .map(
      (b) => `pod ${b.pod.metadata.name ?? '?'} of the earlier revision ${b.revision ?? '?'} (${b.problem})`,
    )
    .join('; ');
  const commands = blocking.map((b) => deletePodCommand(b.pod)).join(' && ');
  return (
    `the rolling update to revision ${update} is blocked by ${pods}: a StatefulSet with podManagementPolicy ` +
    `OrderedReady never replaces a pod that is not Running and Ready (Kubernetes' forced rollback). ` +
    `Delete it so it is recreated at the new revision: ${commands} (or deploy again with --replace-broken-pods)`
  );
}

/** The failure in one line, for the object's status: which pod, and the command. */
export function summarizeBlockedRollout(blocking: readonly BlockingPod[]): string {
  const pods = blocking.map((b) => `${b.pod.metadata.name ?? '?'} (${b.problem})`).join(', ');
  const commands = blocking.map((b) => deletePodCommand(b.pod)).join(' && ');
  return `rolling update blocked by broken pod ${pods} of an earlier revision; to unblock: ${commands}`;
}
