// Pods refused by a ResourceQuota: the refusal's own words (which quota, which resources, how much),
// the quota's status now, and whether anything in the namespace is about to make room.
import { parseQuantity, type KubeObject } from '../shared/index.js';
import { at, condition, num, record, str } from './object-access.js';
import { currentReplicaSets } from './ownership.js';
import { podPhase } from './pod-state.js';
import type { DiagnosisEvent } from './types.js';

export type QuotaRefusal =
  | {
      readonly kind: 'exceeded';
      readonly quota: string;
      readonly message: string;
      readonly requested: Readonly<Record<string, string>>;
      /** The resources over their limit, with the limit the refusal saw. */
      readonly limited: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'unspecified'; readonly quota: string; readonly message: string };

function pairs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/**
 * Reads the quota admission's refusal: `exceeded quota: NAME, requested: r=q,..., used: ...,
 * limited: r=q,...`, or `failed quota: NAME: must specify ...` (a pod without the requests or limits
 * the quota needs: no waiting changes that).
 */
export function parseQuotaRefusal(message: string): QuotaRefusal | undefined {
  const exceeded = /exceeded quota: ([^,\s]+), requested: (\S*), used: (\S*), limited: (\S*)/.exec(message);
  if (exceeded) {
    return {
      kind: 'exceeded',
      quota: exceeded[1] ?? '',
      message,
      requested: pairs(exceeded[2]),
      limited: pairs(exceeded[4]?.replace(/[.;]+$/, '')),
    };
  }
  const unspecified = /failed quota: ([^:\s]+): must specify/.exec(message);
  return unspecified ? { kind: 'unspecified', quota: unspecified[1] ?? '', message } : undefined;
}

/**
 * The newest quota refusal of a workload's pods since the deploy began: a FailedCreate event of the
 * workload (of a Deployment's current ReplicaSet), else the ReplicaSet's ReplicaFailure condition.
 */
export function quotaRefusalOf(
  object: KubeObject,
  replicaSets: KubeObject[],
  events: readonly DiagnosisEvent[],
): QuotaRefusal | undefined {
  const creators = object.kind === 'Deployment' ? currentReplicaSets(object, replicaSets) : [object];
  const names = new Set(creators.map((o) => `${o.kind}/${o.metadata.name ?? '?'}`));
  const event = events.filter((e) => e.reason === 'FailedCreate' && names.has(e.object)).at(-1);
  if (event) return parseQuotaRefusal(event.message);
  for (const creator of creators) {
    const failure = condition(creator, 'ReplicaFailure');
    if (failure?.status === 'True' && failure.message) return parseQuotaRefusal(failure.message);
  }
  return undefined;
}

/**
 * Whether the quota, as its status says now, still has no room for what was refused: for some
 * limited resource, used + requested exceeds hard (used >= hard when the request is not known).
 * Undefined when the status does not tell (not computed yet, or a resource it does not list).
 */
export function quotaStillFull(
  refusal: Extract<QuotaRefusal, { kind: 'exceeded' }>,
  quota: KubeObject,
): { full: boolean; detail: string } | undefined {
  const hard = record(at(quota, 'status', 'hard'));
  const used = record(at(quota, 'status', 'used'));
  if (hard === undefined || used === undefined) return undefined;
  let known = false;
  for (const resource of Object.keys(refusal.limited)) {
    const limit = parseQuantity(hard[resource]);
    const inUse = parseQuantity(used[resource]);
    if (limit === undefined || inUse === undefined) continue;
    known = true;
    const asked = parseQuantity(refusal.requested[resource]);
    const full = asked === undefined ? inUse >= limit : inUse + asked > limit;
    if (full) {
      const more = refusal.requested[resource] ? `, ${refusal.requested[resource]} more requested` : '';
      return {
        full: true,
        detail: `${resource}: ${str(used[resource]) ?? '?'} used of ${str(hard[resource]) ?? '?'}${more}`,
      };
    }
  }
  return known ? { full: false, detail: 'room again' } : undefined;
}

function resolveIntOrPercent(value: unknown, total: number, fallback: string, roundUp: boolean): number {
  const text = typeof value === 'number' ? String(value) : (str(value) ?? fallback);
  if (!text.endsWith('%')) return Number.parseInt(text, 10) || 0;
  const share = (Number.parseFloat(text) * total) / 100;
  return roundUp ? Math.ceil(share) : Math.floor(share);
}

/** A Deployment mid-rollout whose controller may still scale its old ReplicaSets down, freeing quota. */
function mayScaleDownOld(deployment: KubeObject, replicaSets: KubeObject[]): boolean {
  const current = new Set(currentReplicaSets(deployment, replicaSets));
  const uid = deployment.metadata.uid;
  const oldReplicas = replicaSets
    .filter((rs) => !current.has(rs) && rs.metadata.ownerReferences?.some((ref) => ref.uid === uid))
    .reduce((sum, rs) => sum + (num(at(rs, 'status', 'replicas')) ?? 0), 0);
  if (oldReplicas === 0) return false;
  if (str(at(deployment, 'spec', 'strategy', 'type')) === 'Recreate') return true;
  const desired = num(at(deployment, 'spec', 'replicas')) ?? 1;
  const rolling = at(deployment, 'spec', 'strategy', 'rollingUpdate');
  const unavailable = resolveIntOrPercent(at(rolling, 'maxUnavailable'), desired, '25%', false);
  const surge = resolveIntOrPercent(at(rolling, 'maxSurge'), desired, '25%', true);
  // The controller allows one unavailable pod when both round down to zero.
  return unavailable > 0 || surge === 0;
}

/**
 * Whether something in the namespace is about to make room by itself: pods being deleted, pods of
 * Jobs still running (they finish), or Deployments that may still scale old ReplicaSets down.
 */
export function quotaMayFreeUp(
  pods: Iterable<KubeObject>,
  deployments: readonly KubeObject[],
  replicaSets: KubeObject[],
): boolean {
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) return true;
    const phase = podPhase(pod);
    const ofJob = pod.metadata.ownerReferences?.some((ref) => ref.kind === 'Job') ?? false;
    if (ofJob && (phase === 'Pending' || phase === 'Running')) return true;
  }
  return deployments.some((d) => mayScaleDownOld(d, replicaSets));
}

export function describeQuotaRefusal(refusal: QuotaRefusal, stillFull?: string): string {
  const status =
    refusal.kind === 'exceeded' && stillFull
      ? ` and ResourceQuota/${refusal.quota} is still full (${stillFull})`
      : '';
  return `a ResourceQuota refused the pods${status}: ${refusal.message}`;
}
