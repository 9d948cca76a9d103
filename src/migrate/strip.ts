// What an object from A looks like when it is applied to B: server-set, per-cluster and
// controller-owned fields removed (reference B.4.2 and B.4.3), the user's intent kept.
import type { KubeObject, ObjectMeta } from '../shared/index.js';
import { at, cloneJson, list, record, str, type Json } from './json.js';

/** Finalizers the controllers of B add again by themselves. */
const SYSTEM_FINALIZERS = new Set([
  'kubernetes',
  'kubernetes.io/pvc-protection',
  'kubernetes.io/pv-protection',
  'service.kubernetes.io/load-balancer-cleanup',
  'foregroundDeletion',
  'orphan',
  'batch.kubernetes.io/job-tracking',
  'external-provisioner.volume.kubernetes.io/finalizer',
  'customresourcecleanup.apiextensions.k8s.io',
]);

const DROPPED_ANNOTATIONS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['deployment.kubernetes.io/revision'],
  DaemonSet: ['deprecated.daemonset.template.generation'],
  ReplicaSet: [
    'deployment.kubernetes.io/desired-replicas',
    'deployment.kubernetes.io/max-replicas',
    'deployment.kubernetes.io/revision',
    'deployment.kubernetes.io/revision-history',
  ],
  PersistentVolumeClaim: [
    'pv.kubernetes.io/bind-completed',
    'pv.kubernetes.io/bound-by-controller',
    'volume.kubernetes.io/storage-provisioner',
    'volume.beta.kubernetes.io/storage-provisioner',
    'volume.kubernetes.io/selected-node',
  ],
  PersistentVolume: ['pv.kubernetes.io/bind-completed', 'pv.kubernetes.io/bound-by-controller'],
  Secret: ['kubernetes.io/service-account.uid'],
  Endpoints: ['endpoints.kubernetes.io/last-change-trigger-time'],
  HorizontalPodAutoscaler: [
    'autoscaling.alpha.kubernetes.io/conditions',
    'autoscaling.alpha.kubernetes.io/current-metrics',
  ],
};

const DROPPED_LABELS: Readonly<Record<string, readonly string[]>> = {
  Namespace: ['kubernetes.io/metadata.name'],
  Secret: ['kubernetes.io/legacy-token-last-used', 'kubernetes.io/legacy-token-invalid-since'],
  Job: ['controller-uid', 'batch.kubernetes.io/controller-uid'],
  Pod: [
    'pod-template-hash',
    'controller-revision-hash',
    'statefulset.kubernetes.io/pod-name',
    'apps.kubernetes.io/pod-index',
  ],
};

const JOB_UID_LABELS = DROPPED_LABELS.Job;

function without(
  map: Record<string, string> | undefined,
  keys: readonly string[] = [],
): Record<string, string> | undefined {
  if (!map) return undefined;
  const kept = Object.fromEntries(Object.entries(map).filter(([k]) => !keys.includes(k)));
  return Object.keys(kept).length > 0 ? kept : undefined;
}

function stripMetadata(kind: string, meta: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = { name: meta.name };
  if (meta.namespace) out.namespace = meta.namespace;
  const labels = without(meta.labels, DROPPED_LABELS[kind]);
  if (labels) out.labels = labels;
  const annotations = without(meta.annotations, DROPPED_ANNOTATIONS[kind]);
  if (annotations) out.annotations = annotations;
  const finalizers = ((meta.finalizers as string[] | undefined) ?? []).filter(
    (f) => !SYSTEM_FINALIZERS.has(f),
  );
  if (finalizers.length > 0) out.finalizers = finalizers;
  return out;
}

/** Field paths some manager set on purpose (in `managedFields`), as opposed to allocated or defaulted by the server. */
function ownedPaths(object: KubeObject): (path: readonly string[]) => boolean {
  const sets = list(object.metadata.managedFields).map((entry) => record(entry.fieldsV1));
  return (path) => sets.some((set) => at(set, ...path) !== undefined);
}

function stripService(spec: Json, owned: (path: readonly string[]) => boolean): void {
  if (spec.clusterIP !== 'None') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  for (const field of ['ipFamilies', 'ipFamilyPolicy', 'healthCheckNodePort']) {
    if (!owned(['f:spec', `f:${field}`])) delete spec[field];
  }
  for (const port of list(spec.ports)) {
    const key = `k:${JSON.stringify({ port: port.port, protocol: port.protocol ?? 'TCP' })}`;
    if (!owned(['f:spec', 'f:ports', key, 'f:nodePort'])) delete port.nodePort;
  }
}

function stripEmbeddedTimestamps(template: unknown): void {
  const meta = record(at(template, 'metadata'));
  if (meta && meta.creationTimestamp === null) delete meta.creationTimestamp;
}

function stripJob(spec: Json, selectorIsManual: boolean): void {
  const template = record(spec.template);
  const labels = record(at(template, 'metadata', 'labels')) as Record<string, string> | undefined;
  if (template && labels) {
    const kept = without(labels, JOB_UID_LABELS);
    if (kept) record(template.metadata)!.labels = kept;
    else delete record(template.metadata)!.labels;
  }
  if (!selectorIsManual) delete spec.selector;
}

function stripPod(spec: Json): void {
  delete spec.nodeName;
  if (spec.priorityClassName) delete spec.priority;
  delete spec.serviceAccount;
  const account = str(spec.serviceAccountName) ?? 'default';
  const generated = (name: string) =>
    name.startsWith('kube-api-access-') || name.startsWith(`${account}-token-`);
  const dropped = new Set(
    list(spec.volumes)
      .map((v) => str(v.name) ?? '')
      .filter(generated),
  );
  if (dropped.size === 0) return;
  spec.volumes = list(spec.volumes).filter((v) => !dropped.has(str(v.name) ?? ''));
  for (const field of ['containers', 'initContainers']) {
    for (const container of list(spec[field])) {
      if (container.volumeMounts)
        container.volumeMounts = list(container.volumeMounts).filter((m) => !dropped.has(str(m.name) ?? ''));
    }
  }
}

/**
 * Marks a CronJob that the migration suspended in B; its value is A's `spec.suspend` (always
 * `"false"`: CronJobs suspended in A are copied suspended and unmarked), which a cutover restores
 * before removing the mark. Only marked CronJobs are ever resumed.
 */
export const SUSPENDED_BY_MIGRATE = 'capstan.dev/suspended-by-migrate';

export interface StripOptions {
  /** Names of PersistentVolumes copied too: claims bound to them keep `spec.volumeName`. */
  readonly copiedVolumes?: ReadonlySet<string>;
  /** Copy CronJobs suspended and marked, so that no schedule runs in both clusters (the copy; not for comparing). */
  readonly suspendCronJobs?: boolean;
}

/** B's form of a CronJob: suspended; marked when A's runs, so that only those are resumed at cutover. */
function suspendCronJob(out: KubeObject, spec: Json | undefined): void {
  if (!spec) return;
  const annotations = { ...(out.metadata.annotations ?? {}) };
  delete annotations[SUSPENDED_BY_MIGRATE];
  if (spec.suspend !== true) annotations[SUSPENDED_BY_MIGRATE] = 'false';
  spec.suspend = true;
  if (Object.keys(annotations).length > 0) out.metadata.annotations = annotations;
  else delete out.metadata.annotations;
}

/** The form of an object of A that is applied to B (a new object; the input is not changed). */
export function stripForCopy(object: KubeObject, options: StripOptions = {}): KubeObject {
  const { metadata, status: _status, ...rest } = object;
  const out: KubeObject = {
    ...cloneJson(rest),
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: stripMetadata(object.kind, metadata),
  };
  const spec = record(out.spec);
  switch (object.kind) {
    case 'Namespace':
      delete out.spec;
      break;
    case 'Service':
      if (spec) stripService(spec, ownedPaths(object));
      break;
    case 'Job':
      if (spec) stripJob(spec, spec.manualSelector === true);
      break;
    case 'CronJob':
      stripEmbeddedTimestamps(at(spec, 'jobTemplate'));
      stripEmbeddedTimestamps(at(spec, 'jobTemplate', 'spec', 'template'));
      if (options.suspendCronJobs) suspendCronJob(out, spec);
      break;
    case 'StatefulSet':
      for (const claim of list(spec?.volumeClaimTemplates)) {
        delete claim.status;
        stripEmbeddedTimestamps(claim);
      }
      break;
    case 'Pod':
      if (spec) stripPod(spec);
      break;
    case 'PersistentVolumeClaim':
      if (spec && !options.copiedVolumes?.has(str(spec.volumeName) ?? '')) delete spec.volumeName;
      break;
    case 'PersistentVolume': {
      const claim = record(spec?.claimRef);
      if (claim) {
        delete claim.uid;
        delete claim.resourceVersion;
      }
      break;
    }
    case 'ServiceAccount':
      if (out.secrets) {
        const kept = list(out.secrets).filter(
          (s) => !(str(s.name) ?? '').startsWith(`${metadata.name}-token-`),
        );
        if (kept.length > 0) out.secrets = kept;
        else delete out.secrets;
      }
      break;
    case 'Secret':
      if (object.type === 'kubernetes.io/service-account-token' && record(out.data)) {
        const { token: _t, 'ca.crt': _c, namespace: _n, ...data } = record(out.data)!;
        out.data = data;
      }
      break;
    case 'ClusterRole':
      if (out.aggregationRule) delete out.rules;
      break;
  }
  if (spec && record(spec.template)) stripEmbeddedTimestamps(spec.template);
  return out;
}
