// Which pods belong to a workload: by label selector to list and watch them, by owner references to
// keep exactly the pods of its current rollout.
import type { KubeObject } from '../shared/index.js';
import { at, list, record, str } from './object-access.js';

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

/**
 * The pods a workload's readiness depends on: a Deployment's through its current ReplicaSet(s), a
 * StatefulSet's, DaemonSet's, ReplicaSet's or Job's by owner reference, a bare Pod itself.
 */
export function podsOwnedBy(object: KubeObject, pods: KubeObject[], replicaSets: KubeObject[]): KubeObject[] {
  switch (object.kind) {
    case 'Deployment': {
      const owners = currentReplicaSets(object, replicaSets);
      return pods.filter((pod) => owners.some((rs) => isOwnedBy(pod, rs)));
    }
    case 'StatefulSet':
    case 'DaemonSet':
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
