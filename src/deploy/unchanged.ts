// Which objects a redeploy need not send (pure): rendered exactly as Capstan last applied them, and
// not changed since by anyone, by the rule that is exact for their kind (docs/apply-order.md, "What a
// redeploy skips"). Anything uncertain is sent.
import { appliedDigest, type InventoryEntry, type ReleaseRecord } from '../release/index.js';
import { objectKey, type KubeObject } from '../shared/index.js';
import { keyOfEntry } from './recorder.js';

/**
 * `generation`: every change but to labels and annotations (and status) bumps metadata.generation,
 * while the controllers' status updates do not, so resourceVersion would change all the time;
 * labels and annotations are compared with the live object. `resourceVersion`: every write changes
 * it, and nothing but people and Capstan writes these kinds.
 */
export type UnchangedRule = 'generation' | 'resourceVersion';

const RULES: ReadonlyMap<string, UnchangedRule> = new Map([
  ['apps/Deployment', 'generation'],
  ['apps/StatefulSet', 'generation'],
  ['apps/DaemonSet', 'generation'],
  ['apps/ReplicaSet', 'generation'],
  ['batch/CronJob', 'generation'],
  ['policy/PodDisruptionBudget', 'generation'],
  ['/ConfigMap', 'resourceVersion'],
  ['/Service', 'resourceVersion'],
  ['/ServiceAccount', 'resourceVersion'],
  ['/LimitRange', 'resourceVersion'],
  ['/ResourceQuota', 'resourceVersion'],
  ['rbac.authorization.k8s.io/Role', 'resourceVersion'],
  ['rbac.authorization.k8s.io/RoleBinding', 'resourceVersion'],
  ['rbac.authorization.k8s.io/ClusterRole', 'resourceVersion'],
  ['rbac.authorization.k8s.io/ClusterRoleBinding', 'resourceVersion'],
  ['networking.k8s.io/NetworkPolicy', 'resourceVersion'],
  ['networking.k8s.io/Ingress', 'resourceVersion'],
  ['autoscaling/HorizontalPodAutoscaler', 'resourceVersion'],
  ['scheduling.k8s.io/PriorityClass', 'resourceVersion'],
]);

/** The rule that tells an object of this kind unchanged; undefined: always sent (Secrets, Jobs, Pods, custom resources...). */
export function unchangedRule(object: Pick<KubeObject, 'apiVersion' | 'kind'>): UnchangedRule | undefined {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  return RULES.get(`${group}/${object.kind}`);
}

export type UnchangedVerdict =
  { readonly unchanged: true } | { readonly unchanged: false; readonly why: string };

const send = (why: string): UnchangedVerdict => ({ unchanged: false, why });

/** Every entry of `wanted` is in `live` with the same value. */
function within(
  wanted: Record<string, string> | undefined,
  live: Record<string, string> | undefined,
): boolean {
  return Object.entries(wanted ?? {}).every(([k, v]) => live?.[k] === v);
}

/**
 * Whether `sent` (the object as this deploy would send it) need not be sent: `recorded` says Capstan
 * applied the very same object and what the API server answered, and `live` (listed now) shows
 * nobody changed it since.
 */
export function judgeUnchanged(
  sent: KubeObject,
  live: KubeObject | undefined,
  recorded: InventoryEntry | undefined,
): UnchangedVerdict {
  const rule = unchangedRule(sent);
  if (!rule) return send(`${sent.kind} is always sent`);
  if (!live) return send('not in the cluster');
  if (live.metadata.deletionTimestamp !== undefined) return send('being deleted');
  if (!recorded?.digest || !recorded.uid) return send('no record of its last apply');
  if (appliedDigest(sent) !== recorded.digest) return send('rendered differently');
  if (live.metadata.uid !== recorded.uid) return send('deleted and created again since');
  if (rule === 'resourceVersion')
    return recorded.resourceVersion !== undefined &&
      live.metadata.resourceVersion === recorded.resourceVersion
      ? { unchanged: true }
      : send('changed since (resourceVersion)');
  if (recorded.generation === undefined || live.metadata.generation !== recorded.generation)
    return send('changed since (generation)');
  // What generation does not cover: labels and annotations, compared; anything else is sent.
  const { name: _n, namespace: _ns, labels, annotations, ...otherMetadata } = sent.metadata;
  const {
    apiVersion: _a,
    kind: _k,
    metadata: _m,
    spec: _s,
    ...otherFields
  } = sent as KubeObject & {
    spec?: unknown;
  };
  if (Object.keys(otherMetadata).length > 0 || Object.keys(otherFields).length > 0)
    return send('renders fields that generation does not cover');
  if (!within(labels, live.metadata.labels) || !within(annotations, live.metadata.annotations))
    return send('labels or annotations changed since');
  return { unchanged: true };
}

/**
 * The objects of `candidates` that need not be sent, with their live copies, by key. The history
 * must hold a record and its newest must not be running (a deploy in progress may be changing
 * them); each object is judged against the newest record that holds it.
 */
export function planUnchanged(
  candidates: readonly KubeObject[],
  existing: readonly KubeObject[],
  records: readonly ReleaseRecord[],
): Map<string, KubeObject> {
  const unchanged = new Map<string, KubeObject>();
  const newest = newestRecord(records);
  if (!newest || newest.outcome === 'running') return unchanged;
  const recorded = new Map<string, InventoryEntry>();
  for (const record of [...records].sort((a, b) => a.release - b.release))
    for (const entry of record.inventory) recorded.set(keyOfEntry(entry), entry);
  const live = new Map(existing.map((o) => [objectKey(o), o]));
  for (const sent of candidates) {
    const key = objectKey(sent);
    const object = live.get(key);
    if (object && judgeUnchanged(sent, object, recorded.get(key)).unchanged) unchanged.set(key, object);
  }
  return unchanged;
}

/** The record of the highest release number. */
export function newestRecord(records: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  return records.reduce<ReleaseRecord | undefined>((a, r) => (a && a.release > r.release ? a : r), undefined);
}
