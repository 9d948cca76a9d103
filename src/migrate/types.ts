// The shapes a migration plans, applies and verifies; shared by the pure core and the I/O edge.
import type { KubeObject } from '../shared/index.js';
import type { MigrateObjectRef } from './json.js';

/** What to copy: user input, resolved. */
export interface MigrationScope {
  /** Namespaces to copy; undefined means every namespace (and cluster-scoped objects). */
  readonly namespaces?: readonly string[];
  /**
   * An application stack: every object labelled `capstan.dev/app` or `app.kubernetes.io/part-of`
   * with this name, in any namespace, plus the Namespaces, ServiceAccounts, RBAC, Secrets and
   * ConfigMaps they use. Excludes `namespaces` and `selector`.
   */
  readonly app?: string;
  /** Label selector for the objects to copy (kubectl syntax). */
  readonly selector?: string;
  /** Only these kinds (plus the Namespaces and CRDs they need); `Kind`, `Kind.group` or plural name. */
  readonly includeKinds?: readonly string[];
  readonly excludeKinds?: readonly string[];
}

export interface SkippedObject {
  readonly ref: MigrateObjectRef;
  readonly reason: string;
}

export interface SkippedKind {
  readonly kind: string;
  readonly group: string;
  readonly reason: string;
}

/** A kind with objects in scope that B cannot take: reported, never silently dropped. */
export interface UnsupportedKind {
  readonly kind: string;
  readonly group: string;
  readonly reason: string;
  readonly objects: number;
}

export interface PlannedObject {
  /** `objectKey` of the object: `Kind.group/namespace/name`, the same in A and B. */
  readonly key: string;
  readonly ref: MigrateObjectRef;
  /** Creation wave (0 CRDs ... 12 admission webhooks). */
  readonly wave: number;
  /** The stripped form applied to B. */
  readonly object: KubeObject;
  /** B's object when the plan was made; undefined when B did not have it. */
  readonly current?: KubeObject;
  /** Non-controller owners in A that are copied too: B's copy points at their UIDs in B, known only once they exist. */
  readonly owners?: readonly PlannedOwner[];
}

/** An ownerReference of A whose owner is copied: rewritten to the owner's UID in B. */
export interface PlannedOwner {
  /** `objectKey` of the owner. */
  readonly key: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly blockOwnerDeletion?: boolean;
}

/** A claim (or a volume without one) whose data stays in A: B gets an empty volume in its place. */
export interface UncopiedVolume {
  readonly ref: MigrateObjectRef;
  /** Capacity in A (or the requested size), e.g. `50Gi`. */
  readonly size?: string;
  /** How B gets its volume: `copied claim, B provisions it empty` or `StatefulSet db creates it empty`. */
  readonly reason: string;
}

/** What a migration leaves out on purpose and verification therefore cannot vouch for. */
export interface LeftOut {
  readonly volumes: readonly UncopiedVolume[];
  /** Jobs still running in A: copying them would run them again in B. */
  readonly runningJobs: readonly MigrateObjectRef[];
}

export interface KindCount {
  /** `Kind` or `Kind.group`. */
  readonly kind: string;
  readonly planned: number;
  readonly inTarget: number;
  readonly skipped: number;
}

export interface MigrationPlan {
  readonly objects: readonly PlannedObject[];
  readonly skipped: readonly SkippedObject[];
  readonly skippedKinds: readonly SkippedKind[];
  readonly unsupported: readonly UnsupportedKind[];
  readonly counts: readonly KindCount[];
  readonly leftOut: LeftOut;
}

export type ApplyAction = 'created' | 'changed' | 'unchanged';

export interface ApplySummary {
  readonly created: number;
  readonly changed: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly durationMs: number;
}

/** One object that differs between A (as B would have it) and B. */
export interface ObjectDifference {
  readonly ref: MigrateObjectRef;
  /** Dotted paths that differ; never values for Secrets. */
  readonly paths: readonly string[];
}

export interface HealthProblem {
  readonly ref: MigrateObjectRef;
  readonly message: string;
}

export interface VerifyKindRow {
  readonly kind: string;
  readonly source: number;
  readonly target: number;
  readonly missing: number;
  readonly extra: number;
  readonly different: number;
  readonly unhealthy: number;
}

export interface Verification {
  /** The copied objects in B match A (what left out says is not part of this). */
  readonly ok: boolean;
  /** `ok` and nothing left out: only then is B a copy of A. */
  readonly complete: boolean;
  /** Not verified, because not copied: volume data and running Jobs. */
  readonly leftOut: LeftOut;
  readonly missing: readonly MigrateObjectRef[];
  readonly extra: readonly MigrateObjectRef[];
  readonly unsupported: readonly UnsupportedKind[];
  readonly different: readonly ObjectDifference[];
  readonly unhealthy: readonly HealthProblem[];
  readonly kinds: readonly VerifyKindRow[];
}

export type MigrateEvent =
  | {
      readonly type: 'migrate-started';
      readonly from: string;
      readonly to: string;
      readonly mode: 'migrate' | 'dry-run' | 'verify-only';
    }
  | ({ readonly type: 'plan' } & MigrationPlanSummary)
  | {
      readonly type: 'wave-started';
      readonly wave: number;
      readonly kinds: readonly string[];
      readonly objects: number;
    }
  | { readonly type: 'crds-established'; readonly names: readonly string[]; readonly durationMs: number }
  | { readonly type: 'object-applied'; readonly object: MigrateObjectRef; readonly action: ApplyAction }
  | { readonly type: 'object-failed'; readonly object: MigrateObjectRef; readonly message: string }
  | ({ readonly type: 'apply-finished'; readonly objectsPerSecond: number } & ApplySummary)
  | ({ readonly type: 'verify-finished'; readonly durationMs: number } & Verification)
  | { readonly type: 'warning'; readonly message: string }
  | {
      readonly type: 'migrate-finished';
      readonly outcome: MigrateOutcome;
      readonly exitCode: number;
      readonly durationMs: number;
      readonly message?: string;
    };

/** `incomplete`: the copied objects match, but claimed volumes are empty in B and --allow-empty-volumes was not given. */
export type MigrateOutcome =
  'succeeded' | 'planned' | 'failed' | 'differences' | 'incomplete' | 'interrupted';

/** The plan as reported: everything but the stripped objects themselves. */
export interface MigrationPlanSummary {
  readonly counts: readonly KindCount[];
  readonly skipped: readonly SkippedObject[];
  readonly skippedKinds: readonly SkippedKind[];
  readonly unsupported: readonly UnsupportedKind[];
  readonly leftOut: LeftOut;
  readonly total: number;
}
