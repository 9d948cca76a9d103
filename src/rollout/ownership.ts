// Which pods belong to a workload: by label selector to list and watch them, by owner references to
// keep exactly the pods of its current rollout.
import type { KubeObject } from '../shared/index.js';
import { at, list, num, record, str } from './object-access.js';

const REVISION = 'deployment.kubernetes.io/revision';

function isOwnedBy(child: KubeObject, owner: KubeObject): boolean {
  const { namespace } = owner.metadata;
  if (namespace && child.metadata.namespace && namespace !== child.metadata.namespace) return false;
  const uid = owner.metadata.uid;
  const refs = Array.isArray(child.metadata.ownerReferences) ? child.metadata.ownerReferences : [];
  return refs.some((ref) =>
    uid ? ref.uid === uid : ref.kind === owner.kind && ref.name === owner.metadata.name,
  );
}

function revisionOf(object: KubeObject): number {
  const value = Number(object.metadata.annotations?.[REVISION]);
  return Number.isFinite(value) ? value : -1;
}

/**
 * The ReplicaSet(s) of a Deployment's current revision. Until the controller has annotated the
 * Deployment with its revision, the owned ReplicaSet with the highest revision stands in.
 */
export function currentReplicaSets(deployment: KubeObject, replicaSets: KubeObject[]): KubeObject[] {
  const owned = replicaSets.filter((rs) => isOwnedBy(rs, deployment));
  const revision = deployment.metadata.annotations?.[REVISION];
  const current = owned.filter(
    (rs) => revision !== undefined && rs.metadata.annotations?.[REVISION] === revision,
  );
  if (current.length > 0) return current;
  const newest = owned.reduce<KubeObject | undefined>(
    (best, rs) => (best === undefined || revisionOf(rs) > revisionOf(best) ? rs : best),
    undefined,
  );
  return newest ? [newest] : [];
}

const REVISION_HASH = 'controller-revision-hash';
// apps/v1 keeps a DaemonSet's template generation in this annotation; its pods carry it as a label.
const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';
const POD_TEMPLATE_GENERATION = 'pod-template-generation';

/**
 * The revision a StatefulSet's or DaemonSet's pods must have to count, or undefined while the
 * controller has not said: a StatefulSet names it in `status.updateRevision` (the pods' label
 * `controller-revision-hash`); a DaemonSet's controller labels each pod with the template
 * generation it was created from.
 */
export function updateRevisionOf(workload: KubeObject): string | undefined {
  if (workload.kind === 'StatefulSet') return str(at(workload, 'status', 'updateRevision'));
  if (workload.kind === 'DaemonSet') return workload.metadata.annotations?.[TEMPLATE_GENERATION];
  return undefined;
}

/** The revision a pod of a StatefulSet or DaemonSet was created from. */
export function podRevisionOf(workload: KubeObject, pod: KubeObject): string | undefined {
  const label = workload.kind === 'DaemonSet' ? POD_TEMPLATE_GENERATION : REVISION_HASH;
  return pod.metadata.labels?.[label];
}

/**
 * The pods of the update revision among a StatefulSet's or DaemonSet's own pods. A DaemonSet's
 * controller also counts a pod as updated when its revision hash is the current one (a template
 * changed and changed back): the hash of a pod of the current generation tells which that is.
 */
function ofUpdateRevision(workload: KubeObject, owned: KubeObject[]): KubeObject[] {
  const revision = updateRevisionOf(workload);
  if (revision === undefined) return [];
  const current = owned.filter((pod) => podRevisionOf(workload, pod) === revision);
  if (workload.kind !== 'DaemonSet') return current;
  const hashes = new Set(
    current.map((pod) => pod.metadata.labels?.[REVISION_HASH]).filter((h) => h !== undefined),
  );
  return owned.filter(
    (pod) => current.includes(pod) || hashes.has(pod.metadata.labels?.[REVISION_HASH] ?? ''),
  );
}

/** Whether a pod of a StatefulSet or DaemonSet is of an earlier revision than the one rolling out. */
export function isOfOldRevision(workload: KubeObject, pod: KubeObject, owned: KubeObject[]): boolean {
  return updateRevisionOf(workload) !== undefined && !ofUpdateRevision(workload, owned).includes(pod);
}

/** Every pod a workload owns, whatever its revision (all of a Deployment's ReplicaSets). */
export function ownedPods(object: KubeObject, pods: KubeObject[], replicaSets: KubeObject[]): KubeObject[] {
  if (object.kind !== 'Deployment') return podsOwnedBy(object, pods, replicaSets, { allRevisions: true });
  const owners = replicaSets.filter((rs) => isOwnedBy(rs, object));
  return pods.filter((pod) => owners.some((rs) => isOwnedBy(pod, rs)));
}

/**
 * The pods a workload's readiness depends on: a Deployment's through its current ReplicaSet(s), a
 * StatefulSet's or DaemonSet's of its update revision only (none while the controller has not named
 * it), a ReplicaSet's or Job's by owner reference, a bare Pod itself.
 */
export function podsOwnedBy(
  object: KubeObject,
  pods: KubeObject[],
  replicaSets: KubeObject[],
  options: { allRevisions?: boolean } = {},
): KubeObject[] {
  switch (object.kind) {
    case 'Deployment': {
      const owners = currentReplicaSets(object, replicaSets);
      return pods.filter((pod) => owners.some((rs) => isOwnedBy(pod, rs)));
    }
    case 'StatefulSet':
    case 'DaemonSet': {
      const owned = pods.filter((pod) => isOwnedBy(pod, object));
      return options.allRevisions ? owned : ofUpdateRevision(object, owned);
    }
    case 'ReplicaSet':
    case 'Job':
      return pods.filter((pod) => isOwnedBy(pod, object));
    case 'Pod': {
      const same = pods.filter(
        (pod) =>
          pod.metadata.name === object.metadata.name &&
          (pod.metadata.namespace ?? '') === (object.metadata.namespace ?? ''),
      );
      return same.length > 0 ? same : [object];
    }
    default:
      return [];
  }
}

function quoteValues(values: unknown): string {
  return (Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : [])
    .sort()
    .join(',');
}

/** A metav1.LabelSelector (or a plain label map) in the `a=b,c in (x,y),!d` syntax the API accepts. */
export function formatLabelSelector(selector: unknown, plainMap = false): string | undefined {
  const labels = record(plainMap ? selector : at(selector, 'matchLabels')) ?? {};
  const parts = Object.entries(labels)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
  if (!plainMap) {
    for (const expression of list(at(selector, 'matchExpressions'))) {
      const key = str(expression.key);
      if (key === undefined) continue;
      const operator = str(expression.operator);
      if (operator === 'In') parts.push(`${key} in (${quoteValues(expression.values)})`);
      else if (operator === 'NotIn') parts.push(`${key} notin (${quoteValues(expression.values)})`);
      else if (operator === 'Exists') parts.push(key);
      else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    }
  }
  // An empty selector would select every pod in the namespace: never what a waiter wants.
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** Label selector string for listing or watching the pods of a workload or Service; undefined when it has none. */
export function podSelectorOf(object: KubeObject): string | undefined {
  switch (object.kind) {
    case 'Service':
    case 'ReplicationController':
      return formatLabelSelector(at(object, 'spec', 'selector'), true);
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      return formatLabelSelector(at(object, 'spec', 'selector'));
    case 'Job': {
      const own = formatLabelSelector(at(object, 'spec', 'selector'));
      if (own) return own;
      // The API server fills in the selector; before that, the labels it puts on every Job pod.
      const { uid, name } = object.metadata;
      if (uid) return `batch.kubernetes.io/controller-uid=${uid}`;
      return name ? `batch.kubernetes.io/job-name=${name}` : undefined;
    }
    default:
      return undefined;
  }
}

// The waiter asks this module which pods are hopeless along with which pods are whose.
export { earlyFailure } from './pod-state.js';

/** The labels a workload's pods get (a bare Pod's own). */
function podLabelsOf(workload: KubeObject): Record<string, unknown> | undefined {
  if (workload.kind === 'Pod') return workload.metadata.labels;
  return record(at(workload, 'spec', 'template', 'metadata', 'labels'));
}

/** How many pods a workload is meant to run now; Jobs' pods finish, so they never serve. */
function servingReplicas(workload: KubeObject): number {
  switch (workload.kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
      return num(at(workload, 'spec', 'replicas')) ?? 1;
    case 'DaemonSet':
      // Until the controller has counted the nodes, assume it will run somewhere.
      return num(at(workload, 'status', 'desiredNumberScheduled')) ?? 1;
    case 'Pod':
      return 1;
    default:
      return 0;
  }
}

export interface ServiceBackends {
  /** `Kind/name` of the workloads whose pods the Service selects. */
  readonly workloads: readonly string[];
  /** How many pods they are meant to run. */
  readonly replicas: number;
}

/**
 * The workloads by each `key=value` of their pod labels: a Service's candidates are those carrying
 * its selector's first pair (every match does), so a wait on hundreds of Services does not test
 * every Service against every workload on each evaluation.
 */
export function podLabelIndex(workloads: readonly KubeObject[]): (service: KubeObject) => KubeObject[] {
  const index = new Map<string, KubeObject[]>();
  for (const w of workloads) {
    for (const [key, value] of Object.entries(podLabelsOf(w) ?? {})) {
      const pair = `${key}=${String(value)}`;
      const found = index.get(pair);
      if (found) found.push(w);
      else index.set(pair, [w]);
    }
  }
  return (service) => {
    const first = Object.entries(record(at(service, 'spec', 'selector')) ?? {})[0];
    return first === undefined ? [] : (index.get(`${first[0]}=${String(first[1])}`) ?? []);
  };
}

/** Which of the given workloads run pods a Service's selector matches, and how many. */
export function serviceBackends(service: KubeObject, workloads: readonly KubeObject[]): ServiceBackends {
  const selector = record(at(service, 'spec', 'selector')) ?? {};
  const entries = Object.entries(selector);
  const namespace = service.metadata.namespace ?? '';
  const matching = workloads.filter((w) => {
    if ((w.metadata.namespace ?? '') !== namespace || w.kind === 'Job') return false;
    const labels = podLabelsOf(w);
    return (
      entries.length > 0 && labels !== undefined && entries.every(([key, value]) => labels[key] === value)
    );
  });
  return {
    workloads: matching.map((w) => `${w.kind}/${w.metadata.name ?? '?'}`),
    replicas: matching.reduce((sum, w) => sum + servingReplicas(w), 0),
  };
}
