// Retrying Kubernetes calls through an API server restart, with back-off and a deadline.
import { KubeApiError } from './errors.js';
import { sleep } from '../shared/index.js';

export interface RetryOptions {
  readonly signal?: AbortSignal;
  /** Give up retrying after this long (default 60 s). */
  readonly deadlineMs?: number;
}

/** Runs `fn`, retrying transient API errors (unreachable, 429, 502-504) until the deadline. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const delay = Math.min(250 * 2 ** attempt, 4000);
      if (
        !(error instanceof KubeApiError) ||
        !error.transient ||
        options.signal?.aborted ||
        Date.now() + delay > deadline
      )
        throw error;
      await sleep(delay, options.signal);
    }
  }
}
