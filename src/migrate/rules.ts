// Which objects a migration never copies, and why: what every cluster generates for itself.
import type { KubeObject } from '../shared/index.js';
import { CUTOVER_RECORD_LABEL } from './cutover-plan.js';
import { at, groupOf, list, record, str } from './json.js';

export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set([
  'kube-system',
  'kube-public',
  'kube-node-lease',
]);

/** What rules about one object need to know about the others of the same cluster. */
export interface ClusterIndex {
  /** `namespace/name` of Services that have a selector (their endpoints are controller-managed). */
  readonly selectorServices: ReadonlySet<string>;
  /** `namespace/<template>-<statefulset>-`, the prefix of the claims a StatefulSet creates, to its name. */
  readonly claimPrefixes: ReadonlyMap<string, string>;
  /** Namespaces being deleted: their contents are going away too. */
  readonly terminatingNamespaces: ReadonlySet<string>;
}

export function indexCluster(objects: Iterable<KubeObject>): ClusterIndex {
  const selectorServices = new Set<string>();
  const claimPrefixes = new Map<string, string>();
  const terminatingNamespaces = new Set<string>();
  for (const o of objects) {
    if (
      o.kind === 'Namespace' &&
      (o.metadata.deletionTimestamp || at(o, 'status', 'phase') === 'Terminating')
    ) {
      terminatingNamespaces.add(o.metadata.name ?? '');
    }
    const ns = o.metadata.namespace ?? '';
    if (o.kind === 'Service' && Object.keys(record(at(o, 'spec', 'selector')) ?? {}).length > 0) {
      selectorServices.add(`${ns}/${o.metadata.name}`);
    }
    if (o.kind === 'StatefulSet') {
      for (const template of list(at(o, 'spec', 'volumeClaimTemplates'))) {
        const name = str(at(template, 'metadata', 'name'));
        if (name) claimPrefixes.set(`${ns}/${name}-${o.metadata.name}-`, o.metadata.name ?? '');
      }
    }
  }
  return { selectorServices, claimPrefixes, terminatingNamespaces };
}

const CONTROLLER_ENDPOINT_SLICES = new Set([
  'endpointslice-controller.k8s.io',
  'endpointslice-mirroring-controller.k8s.io',
]);
const RBAC_KINDS = new Set(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** The StatefulSet whose volumeClaimTemplates created a claim (by its name `<template>-<statefulset>-<ordinal>`). */
export function statefulSetOfClaim(claim: KubeObject, index: ClusterIndex): string | undefined {
  const key = `${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}`;
  for (const [prefix, statefulSet] of index.claimPrefixes) {
    if (key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length))) return statefulSet;
  }
  return undefined;
}

/** The skip reason of a Job that runs (or is about to) in A. */
export const RUNNING_JOB = 'running in A: it would run again in B';

function isTrueCondition(object: KubeObject, type: string): boolean {
  return list(at(object, 'status', 'conditions')).some((c) => c.type === type && c.status === 'True');
}

/** A default ServiceAccount is merged into B's only when it carries something of the user's. */
export function hasSomethingToMerge(account: KubeObject): boolean {
  return (
    list(account.imagePullSecrets).length > 0 ||
    Object.keys(account.metadata.labels ?? {}).length > 0 ||
    Object.keys(account.metadata.annotations ?? {}).length > 0
  );
}

function kindRule(o: KubeObject, index: ClusterIndex): string | undefined {
  const { name = '', namespace = '', labels = {}, annotations = {} } = o.metadata;
  const group = groupOf(o.apiVersion);
  if (RBAC_KINDS.has(o.kind) && group === 'rbac.authorization.k8s.io') {
    if (labels['kubernetes.io/bootstrapping'] === 'rbac-defaults' || name.startsWith('system:'))
      return 'bootstrap RBAC: every cluster has its own';
    return undefined;
  }
  switch (group ? `${o.kind}.${group}` : o.kind) {
    case 'Namespace':
      return name === 'default' ? 'created by every cluster (its contents are copied)' : undefined;
    case 'ConfigMap':
      if (labels[CUTOVER_RECORD_LABEL] !== undefined) return 'a cutover record: each cluster keeps its own';
      return name === 'kube-root-ca.crt' ? "published in every namespace by B's controllers" : undefined;
    case 'ServiceAccount':
      return name === 'default' && !hasSomethingToMerge(o)
        ? 'created in every namespace by B (nothing to merge into it)'
        : undefined;
    case 'Secret': {
      if (o.type !== 'kubernetes.io/service-account-token') return undefined;
      const account = annotations['kubernetes.io/service-account.name'];
      return account && name.startsWith(`${account}-token-`)
        ? `token generated for ServiceAccount ${account}; B issues its own`
        : undefined;
    }
    case 'Service':
      return namespace === 'default' && name === 'kubernetes' ? "the API server's own Service" : undefined;
    case 'Endpoints':
      if (namespace === 'default' && name === 'kubernetes') return "the API server's own endpoints";
      return index.selectorServices.has(`${namespace}/${name}`)
        ? `maintained by the endpoints controller for Service ${name}`
        : undefined;
    case 'EndpointSlice.discovery.k8s.io': {
      const manager = labels['endpointslice.kubernetes.io/managed-by'];
      if (manager && CONTROLLER_ENDPOINT_SLICES.has(manager)) return `maintained by ${manager}`;
      return namespace === 'default' && labels['kubernetes.io/service-name'] === 'kubernetes'
        ? "the API server's own endpoints"
        : undefined;
    }
    case 'Pod': {
      if (annotations['kubernetes.io/config.mirror']) return 'mirror pod of a static pod';
      const phase = str(at(o, 'status', 'phase'));
      return phase === 'Succeeded' || phase === 'Failed' ? `finished pod (${phase})` : undefined;
    }
    case 'Job.batch':
      if (
        at(o, 'status', 'completionTime') ||
        isTrueCondition(o, 'Complete') ||
        isTrueCondition(o, 'Failed')
      ) {
        return 'finished Job: copying it would run it again';
      }
      // A suspended Job stays suspended in B; one that runs would run a second time there.
      return at(o, 'spec', 'suspend') === true ? undefined : RUNNING_JOB;
    case 'PersistentVolumeClaim': {
      const statefulSet = statefulSetOfClaim(o, index);
      return statefulSet ? `created from the volumeClaimTemplates of StatefulSet ${statefulSet}` : undefined;
    }
    case 'PersistentVolume':
      return annotations['pv.kubernetes.io/provisioned-by']
        ? 'dynamically provisioned: B provisions its own volumes'
        : undefined;
    case 'PriorityClass.scheduling.k8s.io':
      return name.startsWith('system-') ? 'built-in PriorityClass' : undefined;
    case 'APIService.apiregistration.k8s.io':
      return labels['kube-aggregator.kubernetes.io/automanaged']
        ? 'registered automatically by the API server'
        : undefined;
    case 'FlowSchema.flowcontrol.apiserver.k8s.io':
    case 'PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io':
      return annotations['apf.kubernetes.io/autoupdate-spec'] === 'true'
        ? 'built-in API priority and fairness configuration'
        : undefined;
    case 'StorageClass.storage.k8s.io':
      return annotations['storageclass.kubernetes.io/is-default-class'] === 'true'
        ? "the default StorageClass belongs to B's platform"
        : undefined;
    default:
      return undefined;
  }
}

/** Why an object must not be copied to another cluster, or undefined when it should be. */
export function objectSkipReason(o: KubeObject, index: ClusterIndex): string | undefined {
  if (o.metadata.deletionTimestamp) return 'being deleted';
  if (o.kind === 'Namespace' && SYSTEM_NAMESPACES.has(o.metadata.name ?? '')) return 'system namespace';
  if (o.metadata.namespace && SYSTEM_NAMESPACES.has(o.metadata.namespace))
    return `in system namespace ${o.metadata.namespace}`;
  if (o.metadata.namespace && index.terminatingNamespaces.has(o.metadata.namespace))
    return `in namespace ${o.metadata.namespace}, which is being deleted`;
  const owner = o.metadata.ownerReferences?.find((ref) => ref.controller === true);
  if (owner) return `owned by ${owner.kind}/${owner.name}: its controller recreates it`;
  return kindRule(o, index);
}
