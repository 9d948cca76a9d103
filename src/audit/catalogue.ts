/** The audit's checks: ids are fixed (CI configurations name them), each with its default severity. */

export type Severity = 'error' | 'warning' | 'info';

export const CHECK_IDS = [
  'probes-missing',
  'resources-missing',
  'run-as-root',
  'privileged',
  'privilege-escalation',
  'host-path',
  'host-network',
  'host-pid-ipc',
  'capabilities-added',
  'image-tag-mutable',
  'image-pull-policy',
  'single-replica',
  'pdb-missing',
  'zone-spread',
  'pvc-zone-binding',
  'scrape-annotations',
  'service-selects-nothing',
  'ingress-backend-missing',
  'reference-missing',
  'env-duplicate',
  'cronjob-deadline',
  'scheduling',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

export interface CheckInfo {
  readonly id: CheckId;
  /** The severity of a finding unless the check says otherwise for a case (e.g. a runtime socket) or the config overrides it. */
  readonly severity: Severity;
  /** What the check guards against, for SARIF rules and `--help`. */
  readonly summary: string;
  /** Needs the cluster snapshot for part or all of its verdict. */
  readonly cluster?: boolean;
}

export const CHECKS: Readonly<Record<CheckId, CheckInfo>> = Object.freeze({
  'probes-missing': {
    id: 'probes-missing',
    severity: 'warning',
    summary: 'A serving container has no readiness or no liveness probe.',
  },
  'resources-missing': {
    id: 'resources-missing',
    severity: 'warning',
    summary: 'A container has no CPU/memory requests or no memory limit.',
  },
  'run-as-root': {
    id: 'run-as-root',
    severity: 'warning',
    summary: 'A container may run as root (no runAsNonRoot: true, or runAsUser: 0).',
  },
  privileged: { id: 'privileged', severity: 'error', summary: 'A container runs privileged.' },
  'privilege-escalation': {
    id: 'privilege-escalation',
    severity: 'warning',
    summary: 'A container does not set allowPrivilegeEscalation: false.',
  },
  'host-path': {
    id: 'host-path',
    severity: 'warning',
    summary: "A pod mounts a path of the node (an error for the container runtime's socket).",
  },
  'host-network': {
    id: 'host-network',
    severity: 'warning',
    summary: "A pod uses the node's network namespace.",
  },
  'host-pid-ipc': {
    id: 'host-pid-ipc',
    severity: 'error',
    summary: "A pod shares the node's process or IPC namespace.",
  },
  'capabilities-added': {
    id: 'capabilities-added',
    severity: 'warning',
    summary: 'A container adds Linux capabilities.',
  },
  'image-tag-mutable': {
    id: 'image-tag-mutable',
    severity: 'warning',
    summary: 'An image has no tag or the tag latest.',
  },
  'image-pull-policy': {
    id: 'image-pull-policy',
    severity: 'warning',
    summary: 'An image pull policy lets nodes run a stale or missing image.',
  },
  'single-replica': {
    id: 'single-replica',
    severity: 'warning',
    summary: 'A workload behind a Service runs one replica.',
  },
  'pdb-missing': {
    id: 'pdb-missing',
    severity: 'warning',
    summary: 'A Deployment or StatefulSet with 2 or more replicas has no PodDisruptionBudget.',
  },
  'zone-spread': {
    id: 'zone-spread',
    severity: 'warning',
    summary:
      "A multi-replica workload is not spread over zones, or asks for more zones than the cluster's nodes carry.",
    cluster: true,
  },
  'pvc-zone-binding': {
    id: 'pvc-zone-binding',
    severity: 'warning',
    summary: 'Pods spread over zones claim volumes of a StorageClass that binds before scheduling.',
    cluster: true,
  },
  'scrape-annotations': {
    id: 'scrape-annotations',
    severity: 'warning',
    summary: 'Prometheus scrape annotations name a port the pods do not expose.',
  },
  'service-selects-nothing': {
    id: 'service-selects-nothing',
    severity: 'warning',
    summary: 'A Service selects no rendered or live pod.',
    cluster: true,
  },
  'ingress-backend-missing': {
    id: 'ingress-backend-missing',
    severity: 'error',
    summary: 'An Ingress routes to a Service (or port) that neither is rendered nor exists.',
    cluster: true,
  },
  'reference-missing': {
    id: 'reference-missing',
    severity: 'error',
    summary:
      'A pod uses a ConfigMap, Secret, PersistentVolumeClaim, ServiceAccount or image pull Secret that neither is rendered nor exists.',
    cluster: true,
  },
  'env-duplicate': {
    id: 'env-duplicate',
    severity: 'warning',
    summary: 'A container defines one environment variable twice.',
  },
  'cronjob-deadline': {
    id: 'cronjob-deadline',
    severity: 'warning',
    summary: 'A CronJob has no startingDeadlineSeconds.',
  },
  scheduling: {
    id: 'scheduling',
    severity: 'error',
    summary: "Pods (or a rolling update's surge pods) would find no node: the scheduling preflight.",
  },
});

export function isCheckId(value: string): value is CheckId {
  return (CHECK_IDS as readonly string[]).includes(value);
}
