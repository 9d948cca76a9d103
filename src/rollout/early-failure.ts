// Whether a workload whose controller has seen its spec has already failed beyond what waiting
// can fix: a pod of its current rollout in a hopeless state, a StatefulSet's rollout blocked by a
// broken pod of an earlier revision, or pods refused by a quota that is still full.
import type { KubeObject } from '../shared/index.js';
import { blockingOldPods, summarizeBlockedRollout, type BlockingPod } from './blocked-rollout.js';
import { podsOwnedBy } from './ownership.js';
import { earlyFailure } from './pod-state.js';
import { describeQuotaRefusal, quotaRefusalOf, quotaStillFull } from './quota.js';
import type { DiagnosisEvent } from './types.js';

export interface RolloutJudgmentInput {
  /** The live workload, its generation observed by its controller. */
  readonly object: KubeObject;
  /** Every pod it owns, whatever the revision (for a Deployment: through all its ReplicaSets). */
  readonly pods: KubeObject[];
  /** A Deployment's ReplicaSets. */
  readonly replicaSets: KubeObject[];
  /** Warning events of its namespace since the deploy began, summarized. */
  readonly events: readonly DiagnosisEvent[];
  /**
   * ResourceQuotas by name as last read: undefined = not read yet, null = cannot be read
   * (forbidden or gone), so a refusal is left to the deadline.
   */
  readonly quota?: (name: string) => KubeObject | null | undefined;
  /** Something in the namespace is about to free quota (pods terminating, Jobs running, old ReplicaSets). */
  readonly quotaMayFreeUp?: boolean;
}

export interface RolloutJudgment {
  readonly failure?: string;
  /** With `failure`: the broken pods of earlier revisions whose deletion unblocks the rollout. */
  readonly blocking?: readonly BlockingPod[];
  /** A ResourceQuota the caller should read (again) to confirm a refusal. */
  readonly readQuota?: string;
}

export function judgeRollout(input: RolloutJudgmentInput): RolloutJudgment {
  const { object, pods, replicaSets, events } = input;
  // A Job's own backoffLimit decides when its crashing pods mean failure (the Job's Failed condition).
  const crashLoopIsFinal = object.kind !== 'Job';
  const current = podsOwnedBy(object, pods, replicaSets);
  const failure = earlyFailure(current, { events, crashLoopIsFinal });
  if (failure !== undefined) return { failure };
  const blocking = blockingOldPods(object, pods, { events });
  if (blocking.length > 0) return { failure: summarizeBlockedRollout(blocking), blocking };
  const refusal = quotaRefusalOf(object, replicaSets, events);
  if (refusal === undefined) return {};
  if (refusal.kind === 'unspecified') return { failure: describeQuotaRefusal(refusal) };
  const quota = input.quota?.(refusal.quota);
  if (quota === undefined) return { readQuota: refusal.quota };
  if (quota === null || input.quotaMayFreeUp) return {};
  const state = quotaStillFull(refusal, quota);
  return state?.full
    ? { failure: describeQuotaRefusal(refusal, state.detail), readQuota: refusal.quota }
    : { readQuota: refusal.quota };
}
