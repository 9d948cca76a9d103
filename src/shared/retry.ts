// One retry loop with exponential back-off, bounded by a count, a deadline and a signal.
import { sleep } from './concurrency.js';

export interface RetryPolicy {
  /** Whether this error is worth another attempt (default: every error). */
  readonly retryIf?: (error: unknown) => boolean;
  /** Attempts after the first (default: no limit, so give a deadline). */
  readonly retries?: number;
  /** No retry starts after this long from the first attempt. */
  readonly deadlineMs?: number;
  /** The first delay, doubled at each retry up to `maxDelayMs`. */
  readonly firstDelayMs: number;
  readonly maxDelayMs?: number;
  /** A delay the error asks for (an HTTP Retry-After), used instead of the back-off when defined. */
  readonly delayOf?: (error: unknown) => number | undefined;
  /** No retry once aborted; the wait between attempts ends early too. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

/** The back-off before retry number `attempt + 1` (pure). */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'firstDelayMs' | 'maxDelayMs'>,
): number {
  return Math.min(policy.firstDelayMs * 2 ** attempt, policy.maxDelayMs ?? Infinity);
}

/** Runs `fn` until it resolves; rethrows the last error once the policy allows no more attempts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  if (policy.retries === undefined && policy.deadlineMs === undefined)
    throw new TypeError('retry needs a count or a deadline');
  const now = policy.now ?? Date.now;
  const deadline = now() + (policy.deadlineMs ?? Infinity);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const asked = policy.delayOf?.(error);
      const delay = Math.min(asked ?? backoffDelay(attempt, policy), policy.maxDelayMs ?? Infinity);
      if (
        attempt >= (policy.retries ?? Infinity) ||
        policy.signal?.aborted ||
        now() + delay > deadline ||
        !(policy.retryIf?.(error) ?? true)
      )
        throw error;
      await sleep(delay, policy.signal);
      if (policy.signal?.aborted) throw error;
    }
  }
}
