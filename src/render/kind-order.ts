import type { RenderedObject } from './types.js';

/** Apply groups, in order: what later groups need exists before them. */
const GROUPS: readonly (readonly string[])[] = [
  ['Namespace'],
  ['CustomResourceDefinition'],
  ['ResourceQuota', 'LimitRange', 'PriorityClass', 'RuntimeClass'],
  ['ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'],
  ['ConfigMap', 'Secret'],
  ['StorageClass', 'PersistentVolume', 'PersistentVolumeClaim'],
  ['Service'],
  ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob', 'Pod'],
];

const ORDER = new Map<string, number>(
  GROUPS.flatMap((kinds, index) => kinds.map((k) => [k, index] as const)),
);
const REST = GROUPS.length;

/**
 * Rank of a kind's apply group: 0 Namespace, 1 CRD, 2 quotas, 3 service accounts and RBAC,
 * 4 ConfigMaps and Secrets, 5 storage, 6 Services, 7 workloads, 8 everything else
 * (Ingress, HPA, PDB, NetworkPolicy, custom resources).
 */
export function kindOrder(kind: string): number {
  return ORDER.get(kind) ?? REST;
}

/** Objects split into apply groups by kindOrder, groups in order, objects in their original order. */
export function groupByKindOrder(objects: readonly RenderedObject[]): RenderedObject[][] {
  const groups = new Map<number, RenderedObject[]>();
  for (const rendered of objects) {
    const rank = kindOrder(rendered.object.kind);
    const group = groups.get(rank);
    if (group) group.push(rendered);
    else groups.set(rank, [rendered]);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}
