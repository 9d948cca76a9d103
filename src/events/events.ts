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
  | { type: 'validation-finished'; objects: number; durationMs: number }
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

/**
 * Told each event of a deploy; with rollbackOnFailure, a failed deploy's events are followed by
 * those of the rollback after it.
 */
export type DeployEventSink = (event: RollbackEvent) => void;
