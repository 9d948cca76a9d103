// The cutover hook: the user's command at the switch point, run through the shell with a deadline.
import { spawn } from 'node:child_process';
import type { CutoverDirection, CutoverEnvironment, HookResult } from '../migrate/index.js';

export interface HookRun {
  readonly command: string;
  readonly direction: CutoverDirection;
  /** The contexts as given (empty when a kubeconfig names the cluster) and the API servers. */
  readonly from: { readonly context?: string; readonly server: string };
  readonly to: { readonly context?: string; readonly server: string };
  /** When cut over by environment: its name and the two clusters' names. */
  readonly environment?: CutoverEnvironment;
  readonly timeoutMs: number;
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Each line the command prints, as it comes. */
  readonly onLine: (stream: 'stdout' | 'stderr', line: string) => void;
}

/** The variables the command sees besides the environment Capstan runs in. */
export function hookEnv(
  run: Pick<HookRun, 'direction' | 'from' | 'to' | 'environment'>,
): Record<string, string> {
  return {
    CAPSTAN_CUTOVER_DIRECTION: run.direction,
    CAPSTAN_CUTOVER_FROM: run.from.context ?? '',
    CAPSTAN_CUTOVER_TO: run.to.context ?? '',
    CAPSTAN_CUTOVER_FROM_SERVER: run.from.server,
    CAPSTAN_CUTOVER_TO_SERVER: run.to.server,
    // The cluster that takes the traffic once the command succeeds.
    CAPSTAN_CUTOVER_LIVE: run.direction === 'forward' ? 'to' : 'from',
    ...(run.environment
      ? {
          CAPSTAN_CUTOVER_ENVIRONMENT: run.environment.name,
          CAPSTAN_CUTOVER_FROM_CLUSTER: run.environment.from,
          CAPSTAN_CUTOVER_TO_CLUSTER: run.environment.to,
        }
      : {}),
  };
}

/** How long a command that was asked to stop may take before it is killed. */
const GRACE_MS = 5000;

/** Runs the command (`/bin/sh -c`) in a process group of its own, killed at the deadline or interruption. */
export function runHook(run: HookRun): Promise<HookResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', run.command], {
      env: { ...run.env, ...hookEnv(run) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    let done = false;
    const signalGroup = (name: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, name);
      } catch {
        // Already gone.
      }
    };
    const stop = () => {
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), GRACE_MS).unref();
    };
    const deadline = setTimeout(() => {
      timedOut = true;
      stop();
    }, run.timeoutMs);
    run.signal?.addEventListener('abort', stop, { once: true });
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = '';
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) run.onLine(stream, line);
      });
      child[stream].on('end', () => {
        if (pending) run.onLine(stream, pending);
      });
    }
    const finish = (exitCode: number | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      run.signal?.removeEventListener('abort', stop);
      resolve({
        direction: run.direction,
        ...(exitCode !== undefined ? { exitCode } : {}),
        timedOut,
        durationMs: Date.now() - started,
        ok: exitCode === 0 && !timedOut,
      });
    };
    child.on('error', (error) => {
      run.onLine('stderr', `cannot run the hook: ${error.message}`);
      finish(undefined);
    });
    child.on('close', (code) => finish(code ?? undefined));
  });
}
