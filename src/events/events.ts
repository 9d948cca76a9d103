import type { Diagnosis } from '../rollout/index.js';
import type { SourceLocation } from '../shared/index.js';

/** The object an event is about. */
export interface EventObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export type DeployOutcome =
  'succeeded' | 'failed' | 'timed-out' | 'interrupted' | 'invalid' | 'locked' | 'lock-lost';

/**
 * What a deploy reports as it goes: the CLI draws these on a terminal, prints one line per
 * event without one, and writes them as JSON lines with `-o json` (docs/events.md).
 */
export type DeployEvent =
  | {
      type: 'deploy-started';
      app: string;
      env: string;
      namespace: string;
      deployId: string;
      image?: string;
      phases: string[];
      dryRun: boolean;
    }
  | {
      type: 'validation-finished';
      /** Objects the server-side dry run passed. */
      objects: number;
      /** Objects unchanged since Capstan last applied them: neither dry-run nor sent. */
      unchanged?: number;
      durationMs: number;
    }
  | {
      type: 'preflight-finished';
      workloads: number;
      /** Workloads that cannot be placed, in `capstan audit`'s finding shape (check `scheduling`). */
      problems: {
        object: EventObject;
        severity: 'error' | 'warning' | 'info';
        message: string;
        hint: string;
      }[];
      durationMs: number;
    }
  | { type: 'phase-started'; phase: string; objects: number }
  | {
      type: 'object-applied';
      phase: string;
      object: EventObject;
      action: 'created' | 'configured' | 'unchanged' | 'replaced';
    }
  /** Not sent: rendered as Capstan last applied it, and not changed since (docs/apply-order.md). */
  | { type: 'object-unchanged'; phase: string; object: EventObject }
  | { type: 'object-waiting'; phase: string; object: EventObject; message: string }
  | { type: 'object-ready'; phase: string; object: EventObject; message: string }
  | {
      type: 'object-failed';
      phase: string;
      object: EventObject;
      message: string;
      diagnosis?: Diagnosis;
      diagnosisText?: string;
      /** The template file the object came from (its line for plain YAML): where CI annotations point. */
      source?: SourceLocation;
    }
  | { type: 'log'; phase: string; object: EventObject; line: string }
  | { type: 'phase-finished'; phase: string; durationMs: number }
  | { type: 'object-pruned'; object: EventObject; dryRun: boolean }
  | {
      type: 'plan';
      create: EventObject[];
      change: EventObject[];
      unchanged: EventObject[];
      prune: EventObject[];
    }
  | { type: 'warning'; message: string }
  | {
      type: 'deploy-finished';
      outcome: DeployOutcome;
      exitCode: number;
      durationMs: number;
      deployId: string;
      /** The release number recorded for this deploy; absent when nothing was recorded. */
      release?: number;
      message?: string;
      applied: EventObject[];
      /** Not sent, unchanged since Capstan last applied them; part of the release all the same. */
      unchanged?: EventObject[];
      notApplied: EventObject[];
    };

/** A rollback's events: a deploy's, after its own first one. */
export type RollbackEvent =
  | DeployEvent
  | {
      type: 'rollback-started';
      app: string;
      env: string;
      namespace: string;
      release: number;
      target: number;
      images: string[];
    };

/** What one cluster came to in a multi-cluster deploy. */
export interface ClusterOutcome {
  readonly cluster: string;
  /** `not-deployed`: validation, a lock or an earlier wave stopped the deploy before it reached this cluster. */
  readonly outcome: DeployOutcome | 'not-deployed' | 'skipped';
  readonly exitCode: number;
  readonly wave?: number;
  readonly release?: number;
  readonly message?: string;
  /** With onFailure: rollback, what putting the cluster back did. */
  readonly rolledBack?: { readonly outcome: string; readonly release?: number; readonly message?: string };
}

/**
 * The events of a multi-cluster deploy around its clusters' own: each cluster's events carry
 * `cluster`; these carry none but fleet-level facts (docs/multicluster.md).
 */
export type FleetEvent =
  | {
      type: 'fleet-started';
      app: string;
      env: string;
      deployId: string;
      image?: string;
      clusters: string[];
      waves: string[][];
      /** Left out with --skip-cluster. */
      skipped: string[];
      dryRun: boolean;
    }
  | { type: 'wave-started'; wave: number; clusters: string[] }
  | { type: 'soak-started'; wave: number; clusters: string[]; durationMs: number }
  | { type: 'wave-finished'; wave: number; outcome: 'succeeded' | 'failed'; durationMs: number }
  | {
      type: 'fleet-finished';
      outcome: DeployOutcome;
      exitCode: number;
      durationMs: number;
      deployId: string;
      /** The environment's release number, shared by its clusters; absent when nothing was recorded. */
      release?: number;
      message?: string;
      clusters: ClusterOutcome[];
    };

/** Any event Capstan reports; a cluster's events in a multi-cluster deploy carry its name. */
export type AnyDeployEvent = (RollbackEvent | FleetEvent) & { readonly cluster?: string };

/**
 * Told each event of a deploy; with rollbackOnFailure, a failed deploy's events are followed by
 * those of the rollback after it. In a multi-cluster deploy, each cluster's events carry `cluster`.
 */
export type DeployEventSink = (event: AnyDeployEvent) => void;
