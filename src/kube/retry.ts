// Retrying Kubernetes calls through an API server restart, with back-off and a deadline.
import { KubeApiError } from './errors.js';
import { retry } from '../shared/index.js';

export interface RetryOptions {
  readonly signal?: AbortSignal;
  /** Give up retrying after this long (default 60 s). */
  readonly deadlineMs?: number;
}

/** Runs `fn`, retrying transient API errors (unreachable, 429, 502-504) until the deadline. */
export function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  return retry(fn, {
    retryIf: (error) => error instanceof KubeApiError && error.transient,
    deadlineMs: options.deadlineMs ?? 60_000,
    firstDelayMs: 250,
    maxDelayMs: 4000,
    signal: options.signal,
  });
}
