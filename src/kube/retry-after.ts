// Honouring the API server's `Retry-After` on 429 Too Many Requests (API Priority and Fairness,
// max-in-flight), for every kind of request: the transport waits as told and sends it again.
import type { IncomingMessage } from 'node:http';
import { sleep } from '../shared/index.js';

/** Sends of one request at most (client-go's default is 10 retries). */
export const MAX_THROTTLED_SENDS = 10;
/** A longer `Retry-After` is cut to this: the caller's deadline and signal still bound the whole wait. */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * The wait a 429 asks for, in ms (pure): `Retry-After` in seconds or as an HTTP date; absent or
 * unreadable, 1 s (what the API server sends); never more than MAX_RETRY_AFTER_MS.
 */
export function retryAfterMs(header: string | string[] | undefined, now: number = Date.now()): number {
  const text = (Array.isArray(header) ? header[0] : header)?.trim();
  let ms = 1000;
  if (text && /^\d+$/.test(text)) ms = Number(text) * 1000;
  else if (text && !Number.isNaN(Date.parse(text))) ms = Math.max(0, Date.parse(text) - now);
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

export interface ThrottleOptions {
  readonly signal?: AbortSignal;
  /** Told of each 429 before the wait (for counting and tests). */
  readonly onThrottled?: (waitMs: number) => void;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Sends with `send` until the answer is not a 429, waiting `Retry-After` between sends; the last
 * 429 is returned as it is (the caller turns it into a transient KubeApiError). Aborted while
 * waiting, it throws the signal's reason.
 */
export async function sendHonouringRetryAfter(
  send: () => Promise<IncomingMessage>,
  options: ThrottleOptions = {},
): Promise<IncomingMessage> {
  const wait = options.sleep ?? sleep;
  for (let sends = 1; ; sends++) {
    const res = await send();
    if (res.statusCode !== 429 || sends >= MAX_THROTTLED_SENDS || options.signal?.aborted) return res;
    const ms = retryAfterMs(res.headers['retry-after']);
    res.resume(); // drain it, so the socket goes back to the pool
    options.onThrottled?.(ms);
    await wait(ms, options.signal);
    if (options.signal?.aborted) throw options.signal.reason;
  }
}
