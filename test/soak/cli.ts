// The real CLI as a child process (from the sources), so that the soak can SIGKILL it at any moment.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/capstan.js', import.meta.url));

/** DESIGN.md's exit codes: anything else (or a stack trace) is a crash. */
export const DOCUMENTED_EXIT_CODES: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 130]);

export interface CliRun {
  readonly args: readonly string[];
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Ended by the harness's own deadline: a wait without a deadline somewhere. */
  readonly hung: boolean;
  readonly ms: number;
}

export interface RunningCli {
  readonly pid: number;
  readonly done: Promise<CliRun>;
  kill(): void;
}

export function startCapstan(
  args: readonly string[],
  options: { cwd: string; kubeconfig: string; user: string; deadlineMs: number; built?: boolean },
): RunningCli {
  // The sources through tsx by default; `built`: dist/ as `npm run build` left it (starts faster).
  const source = options.built ? {} : { CAPSTAN_USE_SOURCE: '1' };
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [BIN, '--kubeconfig', options.kubeconfig, '--cwd', options.cwd, ...args],
    {
      env: { ...withoutSource(process.env), ...source, CAPSTAN_USER: options.user, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let hung = false;
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, options.deadlineMs);
  const done = new Promise<CliRun>((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, pid: child.pid ?? 0, code, signal, stdout, stderr, hung, ms: Date.now() - started });
    }),
  );
  return {
    pid: child.pid ?? 0,
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function withoutSource(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { CAPSTAN_USE_SOURCE: _source, ...rest } = env;
  return rest;
}

/** Why a run counts as a crash: a stack trace, or an exit code DESIGN.md does not document. */
export function crashOf(run: CliRun): string | undefined {
  if (/unexpected error \(this is a bug/.test(run.stderr) || /\n\s+at .+\(.+:\d+:\d+\)/.test(run.stderr))
    return `stack trace in stderr of \`capstan ${run.args.join(' ')}\`:\n${run.stderr.slice(-3000)}`;
  if (run.signal === null && run.code !== null && !DOCUMENTED_EXIT_CODES.has(run.code))
    return `\`capstan ${run.args.join(' ')}\` exited ${run.code}, not a documented exit code:\n${run.stderr.slice(-3000)}`;
  return undefined;
}
