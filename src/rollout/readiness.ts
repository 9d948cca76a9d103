// Per-kind readiness of one live object, plus what the waiter must watch to judge and explain it.
import type { KubeObject } from '../shared/index.js';
import {
  at,
  condition,
  isTrue,
  list,
  num,
  reasonAndMessage,
  record,
  str,
  unobservedGeneration,
} from './object-access.js';
import { podReadiness } from './pod-state.js';
import type { Readiness, ReadinessContext } from './types.js';
import {
  daemonSetReadiness,
  deploymentReadiness,
  jobReadiness,
  replicaSetReadiness,
  statefulSetReadiness,
} from './workload-readiness.js';

/** API groups served by kube-apiserver itself; any other group is a custom resource. */
const BUILT_IN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'extensions',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

export function apiGroup(apiVersion: string): string {
  return apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
}

export function isCustomResource(object: Pick<KubeObject, 'apiVersion'>): boolean {
  return !BUILT_IN_GROUPS.has(apiGroup(object.apiVersion));
}

/** Built-in kinds that have nothing to wait for once the API server accepted them. */
const READY_ONCE_APPLIED = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'CronJob',
  'Endpoints',
  'EndpointSlice',
  'HorizontalPodAutoscaler',
  'Ingress',
  'IngressClass',
  'Lease',
  'LimitRange',
  'MutatingWebhookConfiguration',
  'Namespace',
  'NetworkPolicy',
  'PersistentVolume',
  'PodDisruptionBudget',
  'PodTemplate',
  'PriorityClass',
  'ResourceQuota',
  'Role',
  'RoleBinding',
  'RuntimeClass',
  'Secret',
  'ServiceAccount',
  'StorageClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
]);

const RELATED_KINDS: Record<string, readonly string[]> = {
  Deployment: ['ReplicaSet', 'Pod', 'Event'],
  ReplicaSet: ['Pod', 'Event'],
  StatefulSet: ['Pod', 'Event'],
  DaemonSet: ['Pod', 'Event'],
  Job: ['Pod', 'Event'],
  Pod: ['Event'],
  Service: ['EndpointSlice'],
  // StorageClass only tells whether a Pending claim waits for its first consumer; it is cluster-scoped,
  // so a waiter without permission to read it should treat the claim as plainly Pending.
  PersistentVolumeClaim: ['StorageClass', 'Event'],
  CustomResourceDefinition: [],
};

/** False for kinds that are ready as soon as they are applied. Unknown kinds may be custom resources with conditions. */
export function needsWatch(kind: string): boolean {
  return !READY_ONCE_APPLIED.has(kind);
}

/** The other kinds the waiter must watch (in the object's namespace) to judge and diagnose one of this kind. */
export function relatedKinds(kind: string): string[] {
  const known = RELATED_KINDS[kind];
  if (known) return [...known];
  return READY_ONCE_APPLIED.has(kind) ? [] : ['Event'];
}

function belongsToService(endpoints: KubeObject, service: KubeObject): boolean {
  const namespace = service.metadata.namespace;
  if (namespace && endpoints.metadata.namespace && namespace !== endpoints.metadata.namespace) return false;
  if (endpoints.kind === 'Endpoints') return endpoints.metadata.name === service.metadata.name;
  const owner = endpoints.metadata.labels?.['kubernetes.io/service-name'];
  return owner === undefined || owner === service.metadata.name;
}

function countEndpoints(endpoints: KubeObject): { ready: number; notReady: number } {
  if (endpoints.kind === 'Endpoints') {
    const subsets = list(endpoints.subsets);
    const ready = subsets.reduce((sum, s) => sum + list(s.addresses).length, 0);
    return { ready, notReady: subsets.reduce((sum, s) => sum + list(s.notReadyAddresses).length, 0) };
  }
  // An EndpointSlice endpoint with no ready condition counts as ready, as the API documents.
  const all = list(endpoints.endpoints);
  const ready = all.filter((e) => at(e, 'conditions', 'ready') !== false).length;
  return { ready, notReady: all.length - ready };
}

function serviceReadiness(service: KubeObject, context: ReadinessContext): Readiness {
  const type = str(at(service, 'spec', 'type')) ?? 'ClusterIP';
  if (type === 'ExternalName') return { status: 'ready', message: 'ExternalName service' };
  const selector = record(at(service, 'spec', 'selector'));
  if (selector === undefined || Object.keys(selector).length === 0) {
    return { status: 'ready', message: 'no selector: its endpoints are managed outside Kubernetes' };
  }
  const backends = context.backends;
  // Known only to a waiter that sees the deploy's workloads: nothing of this phase will give the
  // Service a pod (none selected, or all scaled to zero), so its endpoints are not awaited.
  if (backends !== undefined && backends.workloads.length === 0) {
    return {
      status: 'ready',
      message: 'endpoints not awaited: no workload of this phase runs the pods it selects',
    };
  }
  if (backends !== undefined && backends.replicas === 0) {
    return {
      status: 'ready',
      message: `endpoints not awaited: ${backends.workloads.join(', ')} ${backends.workloads.length === 1 ? 'has' : 'have'} zero replicas`,
    };
  }
  let ready = 0;
  let notReady = 0;
  for (const endpoints of context.endpoints ?? []) {
    if (!belongsToService(endpoints, service)) continue;
    const counted = countEndpoints(endpoints);
    ready += counted.ready;
    notReady += counted.notReady;
  }
  if (ready > 0) {
    const lb = type === 'LoadBalancer' ? ' (load balancer address not awaited)' : '';
    return { status: 'ready', message: `${ready} ready endpoint${ready === 1 ? '' : 's'}${lb}` };
  }
  return {
    status: 'pending',
    message: `waiting for endpoints${notReady > 0 ? ` (${notReady} not ready)` : ''}`,
  };
}

function claimReadiness(claim: KubeObject, context: ReadinessContext): Readiness {
  const phase = str(at(claim, 'status', 'phase')) ?? 'Pending';
  if (phase === 'Bound') return { status: 'ready', message: 'Bound' };
  if (phase === 'Lost') return { status: 'failed', message: 'Lost: its PersistentVolume no longer exists' };
  if (context.storageClassBindingMode === 'WaitForFirstConsumer') {
    return { status: 'ready', message: 'Pending until a pod uses it (WaitForFirstConsumer)' };
  }
  return { status: 'pending', message: 'waiting for the claim to be bound' };
}

function crdReadiness(crd: KubeObject, context: ReadinessContext): Readiness {
  if (isTrue(crd, 'Established') || context.crdEstablished === true)
    return { status: 'ready', message: 'Established' };
  const names = condition(crd, 'NamesAccepted');
  if (names?.status === 'False') {
    return { status: 'failed', message: reasonAndMessage(names.reason ?? 'NamesNotAccepted', names.message) };
  }
  return { status: 'pending', message: 'waiting for the Established condition' };
}

function customResourceReadiness(object: KubeObject, context: ReadinessContext): Readiness {
  if (context.crdEstablished === false) {
    return { status: 'pending', message: 'waiting for its CustomResourceDefinition to be established' };
  }
  if (num(at(object, 'status', 'observedGeneration')) !== undefined) {
    const unobserved = unobservedGeneration(object);
    if (unobserved) return { status: 'pending', message: unobserved };
  }
  const found = condition(object, 'Ready') ?? condition(object, 'Available');
  if (found === undefined)
    return { status: 'ready', message: 'applied (no Ready or Available condition to wait for)' };
  const generation = object.metadata.generation;
  if (
    found.observedGeneration !== undefined &&
    generation !== undefined &&
    found.observedGeneration < generation
  ) {
    return { status: 'pending', message: `waiting for ${found.type} to reflect generation ${generation}` };
  }
  if (found.status === 'True') return { status: 'ready', message: found.type };
  // A False condition stays pending: controllers retry, and only the deadline knows it is hopeless.
  const why = reasonAndMessage(found.reason, found.message);
  return { status: 'pending', message: `${found.type} is ${found.status}${why ? `: ${why}` : ''}` };
}

/** Whether one live object is ready, still in progress, or failed beyond what waiting can fix. */
export function assessReadiness(live: KubeObject, context: ReadinessContext = {}): Readiness {
  if (isCustomResource(live)) return customResourceReadiness(live, context);
  switch (live.kind) {
    case 'Deployment':
      return deploymentReadiness(live);
    case 'ReplicaSet':
      return replicaSetReadiness(live);
    case 'StatefulSet':
      return statefulSetReadiness(live);
    case 'DaemonSet':
      return daemonSetReadiness(live);
    case 'Job':
      return jobReadiness(live);
    case 'Pod':
      return podReadiness(live);
    case 'Service':
      return serviceReadiness(live, context);
    case 'PersistentVolumeClaim':
      return claimReadiness(live, context);
    case 'CustomResourceDefinition':
      return crdReadiness(live, context);
    case 'Ingress':
      return { status: 'ready', message: 'applied (load balancer status is not required)' };
    default:
      return { status: 'ready', message: 'applied' };
  }
}
