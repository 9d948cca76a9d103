/** What the audit reads (rendered objects and a cluster snapshot) and what it reports. */
import type { CheckId, Severity } from './catalogue.js';

export interface FindingObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** One problem on one object, at the source line of the offending field. */
export interface Finding {
  readonly check: CheckId;
  readonly severity: Severity;
  readonly object: FindingObject;
  readonly file: string;
  readonly line: number;
  /** One line: what is wrong and why it matters. */
  readonly message: string;
  /** One line: how to fix it. */
  readonly hint: string;
}

/** A check (or the cluster half of one) that could not run, and why. */
export interface SkippedCheck {
  readonly check: CheckId;
  readonly reason: string;
}

export interface SnapshotNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface SnapshotStorageClass {
  readonly name: string;
  readonly volumeBindingMode?: string;
  readonly isDefault: boolean;
}

export interface SnapshotService {
  readonly name: string;
  readonly ports: readonly { readonly name?: string; readonly port: number }[];
}

/** Names of what exists in the environment's namespace, and the labels of its live pods and pod templates. */
export interface SnapshotNamespace {
  readonly configMaps: readonly string[];
  readonly secrets: readonly string[];
  readonly persistentVolumeClaims: readonly string[];
  readonly serviceAccounts: readonly string[];
  readonly services: readonly SnapshotService[];
  readonly podLabels: readonly Readonly<Record<string, string>>[];
}

/**
 * What the cluster-aware checks know of the cluster, read with list calls (readClusterSnapshot).
 * A part left out is unknown, with the reason in `unavailable`: its checks say they were skipped.
 */
export interface ClusterSnapshot {
  readonly namespace: string;
  readonly nodes?: readonly SnapshotNode[];
  readonly storageClasses?: readonly SnapshotStorageClass[];
  readonly live?: SnapshotNamespace;
  readonly unavailable?: {
    readonly nodes?: string;
    readonly storageClasses?: string;
    readonly live?: string;
  };
}

/** capstan.yaml `audit:` resolved for one environment. */
export interface ResolvedAuditConfig {
  /** Severity overrides; `off` turns a check off. */
  readonly checks: Readonly<Partial<Record<CheckId, Severity | 'off'>>>;
  /** Objects (`Kind/name`) whose findings of the listed checks are dropped. */
  readonly ignore: readonly { readonly objects: readonly string[]; readonly checks: readonly CheckId[] }[];
}

export interface AuditResult {
  readonly findings: readonly Finding[];
  readonly skipped: readonly SkippedCheck[];
}
