// Sending notifications: bounded retries with back-off, a deadline per request, never a throw.
import type { NotificationConfig } from '../config/index.js';
import { retry } from '../shared/index.js';
import {
  redactEvent,
  redactPayload,
  slackPayload,
  wantsEvent,
  webhookPayload,
  type NotifyEvent,
} from './payload.js';

export interface NotifyOptions {
  /** Where each configuration's `urlEnv` is looked up. */
  readonly env: NodeJS.ProcessEnv;
  readonly fetch?: typeof fetch;
  /** Applied to every text of the message (e.g. a redactor of the deploy's secret values). */
  readonly redact?: (text: string) => string;
  readonly onWarning: (message: string) => void;
  /** Retries after the first attempt (default 3). */
  readonly retries?: number;
  /** Deadline of one request (default 5 s). */
  readonly timeoutMs?: number;
  /** First back-off delay, doubled at each retry (default 500 ms). */
  readonly backoffMs?: number;
  readonly now?: () => Date;
  /** Ends the warning of a failed send (default: the deploy itself is not affected). */
  readonly failureNote?: string;
}

/** What became of one configuration's message: `skipped` when its URL is missing or not http(s). */
export interface NotifyOutcome {
  readonly config: NotificationConfig;
  readonly outcome: 'delivered' | 'failed' | 'skipped';
}

const MAX_BACKOFF_MS = 10_000;

/**
 * Sends `event` to every configuration that wants it, in parallel. Never throws: failures are
 * warnings; the outcome of each configuration that wanted it is returned.
 */
export async function notify(
  configs: readonly NotificationConfig[],
  event: NotifyEvent,
  options: NotifyOptions,
): Promise<NotifyOutcome[]> {
  const warn = (message: string) => {
    try {
      options.onWarning(message);
    } catch {
      // A failing warning sink must not turn a notification into a failed deploy.
    }
  };
  try {
    const redact = options.redact ?? ((text: string) => text);
    const safe = redactEvent(event, redact);
    return await Promise.all(
      configs
        .filter((c) => wantsEvent(c, event.kind))
        .map(async (config) => ({ config, outcome: await sendOne(config, safe, options, warn) })),
    );
  } catch (error) {
    warn(`notification failed: ${error instanceof Error ? error.message : String(error)}`);
    return configs.map((config) => ({ config, outcome: 'failed' }));
  }
}

async function sendOne(
  config: NotificationConfig,
  event: NotifyEvent,
  options: NotifyOptions,
  warn: (m: string) => void,
): Promise<NotifyOutcome['outcome']> {
  const label = `${config.type} notification (${config.urlEnv})`;
  const url = options.env[config.urlEnv];
  if (!url) {
    warn(`${label} skipped: environment variable ${config.urlEnv} is not set`);
    return 'skipped';
  }
  if (!/^https?:\/\//i.test(url)) {
    warn(`${label} skipped: ${config.urlEnv} does not hold an http(s) URL`);
    return 'skipped';
  }
  const redact = options.redact ?? ((text: string) => text);
  const body = JSON.stringify(
    config.type === 'slack'
      ? redactPayload(slackPayload(event), redact)
      : redactPayload(webhookPayload(event, (options.now ?? (() => new Date()))().toISOString()), redact),
  );
  const send = options.fetch ?? fetch;
  const retries = Math.max(0, options.retries ?? 3);
  const timeoutMs = options.timeoutMs ?? 5000;
  // The URL is a secret (a Slack webhook URL is a credential): it never appears in a warning.
  const hide = (text: string) => text.split(url).join(`$${config.urlEnv}`);
  const attempt = async (): Promise<void> => {
    // A referenced timer (unlike AbortSignal.timeout) keeps the process alive until the answer or the deadline.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    let res: Response;
    try {
      res = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'capstan' },
        body,
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch (error) {
      throw new SendFailure(describeFailure(error, timeoutMs), true);
    } finally {
      clearTimeout(timer);
    }
    if (res.ok) return;
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new SendFailure(
      `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
      // Other client errors (bad URL, revoked hook) will not fix themselves.
      res.status >= 500 || res.status === 408 || res.status === 429,
      res.status === 429 && retryAfter > 0 ? retryAfter * 1000 : undefined,
    );
  };
  try {
    await retry(attempt, {
      retries,
      retryIf: (error) => (error as SendFailure).retryable,
      firstDelayMs: options.backoffMs ?? 500,
      maxDelayMs: MAX_BACKOFF_MS,
      delayOf: (error) => (error as SendFailure).retryAfterMs,
    });
    return 'delivered';
  } catch (error) {
    const note = options.failureNote ?? 'the deploy itself is not affected';
    warn(hide(`${label} failed: ${(error as SendFailure).problem}; ${note}`));
    return 'failed';
  }
}

/** Why one attempt failed, and whether another may succeed. */
class SendFailure extends Error {
  constructor(
    readonly problem: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(problem);
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const base = error instanceof Error ? error.message : String(error);
  const detail = cause?.code ?? cause?.message;
  return detail ? `${base} (${detail})` : base;
}
