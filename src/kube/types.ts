// Kubernetes object types for typed templates, from @kubernetes/client-node's generated models.
// Types only: erased at run time, so nothing here loads the client.
import type * as k8s from '@kubernetes/client-node';

/**
 * A model as a template writes it: apiVersion and kind fixed, so that a list of objects is a union
 * told apart by kind and a field of the wrong kind is an error; no status, which the cluster writes.
 */
export type Manifest<Model, ApiVersion extends string, Kind extends string> = Omit<
  Model,
  'apiVersion' | 'kind' | 'status'
> & {
  apiVersion: ApiVersion;
  kind: Kind;
};

export type ConfigMap = Manifest<k8s.V1ConfigMap, 'v1', 'ConfigMap'>;
export type Secret = Manifest<k8s.V1Secret, 'v1', 'Secret'>;
export type Service = Manifest<k8s.V1Service, 'v1', 'Service'>;
export type ServiceAccount = Manifest<k8s.V1ServiceAccount, 'v1', 'ServiceAccount'>;
export type PersistentVolumeClaim = Manifest<k8s.V1PersistentVolumeClaim, 'v1', 'PersistentVolumeClaim'>;
export type Pod = Manifest<k8s.V1Pod, 'v1', 'Pod'>;
export type Deployment = Manifest<k8s.V1Deployment, 'apps/v1', 'Deployment'>;
export type StatefulSet = Manifest<k8s.V1StatefulSet, 'apps/v1', 'StatefulSet'>;
export type DaemonSet = Manifest<k8s.V1DaemonSet, 'apps/v1', 'DaemonSet'>;
export type Job = Manifest<k8s.V1Job, 'batch/v1', 'Job'>;
export type CronJob = Manifest<k8s.V1CronJob, 'batch/v1', 'CronJob'>;
export type PodDisruptionBudget = Manifest<k8s.V1PodDisruptionBudget, 'policy/v1', 'PodDisruptionBudget'>;
export type Ingress = Manifest<k8s.V1Ingress, 'networking.k8s.io/v1', 'Ingress'>;
export type NetworkPolicy = Manifest<k8s.V1NetworkPolicy, 'networking.k8s.io/v1', 'NetworkPolicy'>;
export type HorizontalPodAutoscaler = Manifest<
  k8s.V2HorizontalPodAutoscaler,
  'autoscaling/v2',
  'HorizontalPodAutoscaler'
>;
export type Role = Manifest<k8s.V1Role, 'rbac.authorization.k8s.io/v1', 'Role'>;
export type RoleBinding = Manifest<k8s.V1RoleBinding, 'rbac.authorization.k8s.io/v1', 'RoleBinding'>;

/** The parts templates build objects from. */
export type {
  V1Container as Container,
  V1LabelSelector as LabelSelector,
  V1ObjectMeta as ObjectMeta,
  V1PodSpec as PodSpec,
  V1PodTemplateSpec as PodTemplateSpec,
} from '@kubernetes/client-node';

/** Every kind above: what a typed template returns unless it names its own. */
export type KnownManifest =
  | ConfigMap
  | Secret
  | Service
  | ServiceAccount
  | PersistentVolumeClaim
  | Pod
  | Deployment
  | StatefulSet
  | DaemonSet
  | Job
  | CronJob
  | PodDisruptionBudget
  | Ingress
  | NetworkPolicy
  | HorizontalPodAutoscaler
  | Role
  | RoleBinding;
