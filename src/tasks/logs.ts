import type { KubeClient } from '../kube/index.js';
import { retry } from '../shared/index.js';

/**
 * Splits timestamped log text into lines and drops the ones already seen, so a resumed stream
 * (sinceTime = last timestamp) never repeats a line. Pure; the state is the cursor.
 */
export class LogCursor {
  lastTimestamp: string | undefined;
  private seenAtLast = 0;
  private skipAtLast = 0;
  private partial = '';

  /** Call before resuming: lines at the last timestamp that were already printed are skipped. */
  resume(): void {
    this.skipAtLast = this.seenAtLast;
    this.partial = '';
  }

  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const out: string[] = [];
    for (const raw of lines) {
      const space = raw.indexOf(' ');
      const ts = space > 0 ? raw.slice(0, space) : '';
      const line = space > 0 ? raw.slice(space + 1) : raw;
      if (this.lastTimestamp !== undefined && ts && ts < this.lastTimestamp) continue;
      if (ts && ts === this.lastTimestamp) {
        if (this.skipAtLast > 0) {
          this.skipAtLast--;
          continue;
        }
        this.seenAtLast++;
      } else if (ts) {
        this.lastTimestamp = ts;
        this.seenAtLast = 1;
        this.skipAtLast = 0;
      }
      out.push(line);
    }
    return out;
  }

  flush(): string[] {
    const rest = this.partial;
    this.partial = '';
    return rest ? this.push(rest + '\n') : [];
  }
}

export interface StreamLogsOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly pod: string;
  readonly container?: string;
  readonly onLine: (line: string) => void;
  readonly signal: AbortSignal;
  /** Whether the container may still write (resume after a dropped stream while true). */
  readonly stillRunning: () => boolean;
}

/** Follows a container's log until it ends, resuming dropped streams without repeating lines. */
export async function streamLogs(options: StreamLogsOptions): Promise<void> {
  const cursor = new LogCursor();
  const follow = async (attempt: number): Promise<void> => {
    // A stream of a finished container may stay open (some runtimes keep following):
    // end it shortly after the container is known to have finished.
    const attemptController = new AbortController();
    const onAbort = () => attemptController.abort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    let finishedSince: number | undefined;
    const ticker = setInterval(() => {
      if (options.stillRunning()) finishedSince = undefined;
      else if ((finishedSince ??= Date.now()) + 1000 <= Date.now()) attemptController.abort();
    }, 250);
    try {
      if (attempt > 0) cursor.resume();
      for await (const chunk of options.client.followLogs(options.namespace, options.pod, {
        container: options.container,
        timestamps: true,
        sinceTime: cursor.lastTimestamp,
        signal: attemptController.signal,
      })) {
        for (const line of cursor.push(chunk)) options.onLine(line);
      }
      for (const line of cursor.flush()) options.onLine(line);
    } catch {
      // dropped: resumed by the retry below while the container runs
    } finally {
      clearInterval(ticker);
      options.signal.removeEventListener('abort', onAbort);
    }
    if (options.signal.aborted || !options.stillRunning()) return;
    throw new StreamEnded();
  };
  // Up to 20 streams, 500 ms apart; when the container still runs after the last, its log is left there.
  await retry(follow, { retries: 19, firstDelayMs: 500, maxDelayMs: 500, signal: options.signal }).catch(
    (error: unknown) => {
      if (!(error instanceof StreamEnded)) throw error;
    },
  );
}

/** The log stream ended (or dropped) while the container still runs: resume it. */
class StreamEnded extends Error {}
