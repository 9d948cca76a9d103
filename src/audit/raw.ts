/** A finding before it is located in its source file and filtered by ignores and overrides. */
import type { RenderedObject } from '../render/index.js';
import type { CheckId, Severity } from './catalogue.js';

export interface RawFinding {
  readonly check: CheckId;
  readonly target: RenderedObject;
  /** The offending field (or the deepest existing part of it). */
  readonly path: readonly string[];
  readonly message: string;
  readonly hint: string;
  /** Overrides the check's default severity for this case (e.g. a runtime socket). */
  readonly severity?: Severity;
  /** Certainly broken: a deploy stops on it (when its severity is still error). */
  readonly blocking?: boolean;
}

/** What the cluster-aware checks could not look at: one reason per check. */
export interface Skips {
  skip(check: CheckId, reason: string): void;
}
