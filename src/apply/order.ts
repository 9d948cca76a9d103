// Which objects of a phase must be applied before which: each object waits only for what it
// needs (docs/apply-order.md), instead of every object of the kind groups before its own.
import { kindOrder } from '../render/index.js';
import { at, isRecord, list, record, str, type KubeObject } from '../shared/index.js';

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

function podTemplateLabels(object: KubeObject): Record<string, unknown> | undefined {
  const path = POD_TEMPLATE_PATH[object.kind];
  if (!path) return undefined;
  const labels = at(object, ...path.slice(0, -1), 'metadata', 'labels');
  return isRecord(labels) ? labels : undefined;
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

/** Whether a Service's selector picks the pods of a template with these labels. */
function selects(service: KubeObject, labels: Record<string, unknown> | undefined): boolean {
  const entries = Object.entries(record(at(service, 'spec', 'selector')) ?? {});
  return labels !== undefined && entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** `Kind/name` (and the Services selecting its pods) that one object waits for, besides its rank's rule. */
function references(object: KubeObject, services: readonly KubeObject[]): string[] {
  const refs: string[] = [];
  const path = POD_TEMPLATE_PATH[object.kind];
  if (path) {
    refs.push(...podSpecReferences(at(object, ...path)));
    const labels = podTemplateLabels(object);
    for (const service of services)
      if (selects(service, labels)) refs.push(`Service/${service.metadata.name ?? ''}`);
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
 *   Secrets, PVCs, StorageClasses and Services (those selecting its pods, a StatefulSet's governing
 *   one) that it names and the list holds;
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
  const services = objects.filter((o) => o.kind === 'Service');
  const servicesByNamespace = new Map<string, KubeObject[]>();
  for (const s of services)
    servicesByNamespace.set(nsOf(s), [...(servicesByNamespace.get(nsOf(s)) ?? []), s]);

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
    for (const ref of references(object, servicesByNamespace.get(nsOf(object)) ?? [])) {
      const found = index.get(`${nsOf(object)}|${ref}`) ?? index.get(`|${ref}`);
      if (found !== undefined && found !== i) deps.add(found);
    }
    return [...deps].sort((a, b) => a - b);
  });
}
