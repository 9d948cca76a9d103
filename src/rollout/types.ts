// The shapes the rollout rules take and return; shared by readiness, diagnosis and the waiter.
import type { KubeObject } from '../shared/index.js';

export type ReadinessStatus = 'pending' | 'ready' | 'failed';

export interface Readiness {
  readonly status: ReadinessStatus;
  /** pending: what it waits for; failed: why; ready: a short final status. */
  readonly message: string;
}

export interface ReadinessContext {
  /** EndpointSlices (or legacy Endpoints) of a Service. */
  endpoints?: KubeObject[];
  /**
   * For a Service: the workloads of the same wait whose pods it selects. Without it, endpoints are
   * awaited whenever the Service has a selector.
   */
  backends?: { readonly workloads: readonly string[]; readonly replicas: number };
  /** For a custom resource: whether its CRD is established yet; for a CRD: what the waiter learned. */
  crdEstablished?: boolean;
  /** `volumeBindingMode` of a PersistentVolumeClaim's StorageClass. */
  storageClassBindingMode?: string;
}

export interface PodLogs {
  container: string;
  current?: string[];
  previous?: string[];
  /** Why a log could not be read (refused, timed out), when it exists but did not come. */
  unreadable?: string;
}

export interface DiagnosisInput {
  object: KubeObject;
  pods: KubeObject[];
  replicaSets?: KubeObject[];
  events: KubeObject[];
  /** Keyed by pod name. */
  logs: Record<string, PodLogs[]>;
  /** Only Warning events seen at or after this instant (the deploy's start) are kept. */
  since?: Date;
  timedOut?: boolean;
}

export interface DiagnosisContainer {
  name: string;
  reason: string;
  detail?: string;
  restarts: number;
}

export interface DiagnosisPod {
  name: string;
  phase: string;
  containers: ReadonlyArray<DiagnosisContainer>;
}

export interface DiagnosisEvent {
  type: string;
  reason: string;
  /** `Kind/name` of the object the event is about. */
  object: string;
  message: string;
  count: number;
  lastSeen?: string;
}

export interface DiagnosisLog {
  pod: string;
  container: string;
  previous: boolean;
  lines: string[];
  /** Set when the log could not be read: why (its `lines` are then empty). */
  unreadable?: string;
}

export interface Diagnosis {
  readonly mostLikelyCause: string;
  readonly pods: ReadonlyArray<DiagnosisPod>;
  readonly events: ReadonlyArray<DiagnosisEvent>;
  readonly logs: ReadonlyArray<DiagnosisLog>;
}
