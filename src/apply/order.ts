// Which objects of a phase must be applied before which: each object waits only for what it
// needs (docs/apply-order.md), instead of every object of the kind groups before its own.
import { kindOrder } from '../render/index.js';
import { at, list, str, type KubeObject } from '../shared/index.js';

/** Kinds whose objects run pods: they wait for what their pod template names. */
const POD_TEMPLATE_PATH: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Pod: ['spec'],
};

/** kindOrder ranks: 0 Namespace, 1 CRD, 2 quotas and limits, 3 RBAC, 8 the rest. */
const RANK = { crd: 1, barrier: 2, rbac: 3, configuration: 4, storage: 5, service: 6, workload: 7 } as const;

/** Kinds of the last group that name what they need, so that they need not wait for everything. */
const REFERENCING = new Set(['Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);

/** Cluster-scoped kinds that objects name: found by name whatever namespace the naming object is in. */
const CLUSTER_SCOPED = new Set(['StorageClass', 'ClusterRole', 'PersistentVolume']);

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** `Kind/name` of everything a pod spec names: ConfigMaps, Secrets, PVCs, its ServiceAccount. */
export function podSpecReferences(spec: unknown): string[] {
  const refs = new Set<string>();
  const add = (kind: string, name: unknown) => {
    if (typeof name === 'string' && name) refs.add(`${kind}/${name}`);
  };
  const containers = [
    ...list(at(spec, 'initContainers')),
    ...list(at(spec, 'containers')),
    ...list(at(spec, 'ephemeralContainers')),
  ];
  for (const container of containers) {
    for (const source of list(at(container, 'envFrom'))) {
      add('ConfigMap', at(source, 'configMapRef', 'name'));
      add('Secret', at(source, 'secretRef', 'name'));
    }
    for (const variable of list(at(container, 'env'))) {
      add('ConfigMap', at(variable, 'valueFrom', 'configMapKeyRef', 'name'));
      add('Secret', at(variable, 'valueFrom', 'secretKeyRef', 'name'));
    }
  }
  for (const volume of list(at(spec, 'volumes'))) {
    add('ConfigMap', at(volume, 'configMap', 'name'));
    add('Secret', at(volume, 'secret', 'secretName'));
    add('PersistentVolumeClaim', at(volume, 'persistentVolumeClaim', 'claimName'));
    for (const source of list(at(volume, 'projected', 'sources'))) {
      add('ConfigMap', at(source, 'configMap', 'name'));
      add('Secret', at(source, 'secret', 'name'));
    }
  }
  for (const pull of list(at(spec, 'imagePullSecrets'))) add('Secret', at(pull, 'name'));
  add('ServiceAccount', str(at(spec, 'serviceAccountName')) ?? str(at(spec, 'serviceAccount')));
  return [...refs];
}

/** `Kind/name` that one object waits for, besides its rank's rule. */
function references(object: KubeObject): string[] {
  const refs: string[] = [];
  const path = POD_TEMPLATE_PATH[object.kind];
  if (path) {
    refs.push(...podSpecReferences(at(object, ...path)));
    const governing = str(at(object, 'spec', 'serviceName'));
    if (object.kind === 'StatefulSet' && governing) refs.push(`Service/${governing}`);
    for (const claim of list(at(object, 'spec', 'volumeClaimTemplates')))
      refs.push(`StorageClass/${str(at(claim, 'spec', 'storageClassName')) ?? ''}`);
  }
  switch (object.kind) {
    case 'PersistentVolumeClaim':
    case 'PersistentVolume':
      refs.push(`StorageClass/${str(at(object, 'spec', 'storageClassName')) ?? ''}`);
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      refs.push(`${str(at(object, 'roleRef', 'kind')) ?? ''}/${str(at(object, 'roleRef', 'name')) ?? ''}`);
      break;
    case 'HorizontalPodAutoscaler':
      refs.push(
        `${str(at(object, 'spec', 'scaleTargetRef', 'kind')) ?? ''}/${str(at(object, 'spec', 'scaleTargetRef', 'name')) ?? ''}`,
      );
      break;
    case 'Ingress': {
      const backends = [
        at(object, 'spec', 'defaultBackend'),
        ...list(at(object, 'spec', 'rules')).flatMap((rule) =>
          list(at(rule, 'http', 'paths')).map((p) => at(p, 'backend')),
        ),
      ];
      for (const backend of backends) {
        const name = str(at(backend, 'service', 'name'));
        if (name) refs.push(`Service/${name}`);
      }
      for (const tls of list(at(object, 'spec', 'tls'))) {
        const secret = str(at(tls, 'secretName'));
        if (secret) refs.push(`Secret/${secret}`);
      }
      break;
    }
  }
  return refs;
}

/**
 * For each object, the indices of the objects of the same list that must be applied before it:
 * - Namespaces, then CustomResourceDefinitions (before the objects of their group), then quotas,
 *   limits, priority and runtime classes: everything after them in kind order waits for them;
 * - a workload waits for every ServiceAccount, Role and binding of the list, and for the ConfigMaps,
 *   Secrets, PVCs and StorageClasses it names (and a StatefulSet's governing Service) that the list
 *   holds; not for the Services that select its pods (nothing a pod needs at start comes from them
 *   but the `<NAME>_SERVICE_HOST` variables: docs/apply-order.md);
 * - a binding waits for its role, a PVC or PV for its StorageClass, an Ingress for its Services and
 *   TLS Secrets, an HPA for its target, a PodDisruptionBudget for nothing more;
 * - anything else of the last kind group (NetworkPolicies, custom resources, unknown kinds) waits
 *   for every object of the earlier groups, as before.
 * Names count within one namespace (`defaultNamespace` where an object names none); references to
 * objects the list does not hold are the cluster's business and add nothing.
 */
export function planApplyOrder(objects: readonly KubeObject[], defaultNamespace = ''): number[][] {
  const nsOf = (o: KubeObject) => o.metadata.namespace ?? defaultNamespace;
  const index = new Map<string, number>();
  objects.forEach((o, i) => {
    const scope = CLUSTER_SCOPED.has(o.kind) ? '' : nsOf(o);
    index.set(`${scope}|${o.kind}/${o.metadata.name ?? ''}`, i);
  });
  const ranks = objects.map((o) => kindOrder(o.kind));
  const byRank = (test: (rank: number) => boolean) => ranks.flatMap((rank, i) => (test(rank) ? [i] : []));
  const barriers = byRank((r) => r <= RANK.barrier);
  const rbac = byRank((r) => r === RANK.rbac);
  const crdGroups = new Map<string, number[]>();
  objects.forEach((o, i) => {
    if (o.kind !== 'CustomResourceDefinition') return;
    const group = str(at(o, 'spec', 'group')) ?? '';
    crdGroups.set(group, [...(crdGroups.get(group) ?? []), i]);
  });

  return objects.map((object, i) => {
    const rank = ranks[i];
    const deps = new Set<number>();
    // Namespaces, CRDs and quotas come before everything of a later group.
    for (const b of barriers) if (ranks[b] < rank) deps.add(b);
    for (const c of crdGroups.get(groupOf(object.apiVersion)) ?? []) if (c !== i) deps.add(c);
    if (rank === RANK.workload) for (const r of rbac) deps.add(r);
    if (rank > RANK.workload && !REFERENCING.has(object.kind)) {
      for (const [j, other] of ranks.entries()) if (other < rank) deps.add(j);
    }
    for (const ref of references(object)) {
      const found = index.get(`${nsOf(object)}|${ref}`) ?? index.get(`|${ref}`);
      if (found !== undefined && found !== i) deps.add(found);
    }
    return [...deps].sort((a, b) => a - b);
  });
}

/**
 * Which of the objects that may go goes first (lower first, then render order): workloads, whose
 * readiness takes longest, then what another object waits for, then the rest (Services, budgets).
 */
export function applyPriorities(
  objects: readonly KubeObject[],
  dependencies: readonly (readonly number[])[],
): number[] {
  const needed = new Set(dependencies.flat());
  return objects.map((o, i) => (kindOrder(o.kind) === RANK.workload ? 0 : needed.has(i) ? 1 : 2));
}

/**
 * Objects whose creation the API server serializes: a Service takes its cluster IP from one
 * allocator, one request at a time (about 11 ms each on the test control plane, whatever the
 * concurrency, where a ConfigMap takes 3). The scheduler keeps a few of them in flight from the
 * start of the phase (SERIAL_IN_FLIGHT).
 */
export function serialLane(objects: readonly KubeObject[]): boolean[] {
  return objects.map((o) => o.kind === 'Service' && groupOf(o.apiVersion) === '');
}
