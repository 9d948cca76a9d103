// Process bookkeeping for the local control plane: every process is started with a pid file
// and ended by that pid, never by name. A pid is only signalled while its command line still
// mentions the cluster's run folder, so a recycled pid is never hit.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function pidDir(runDir: string): string {
  return join(runDir, 'pids');
}

function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

export function isOurs(pid: number, runDir: string): boolean {
  return commandLineOf(pid)?.includes(runDir) ?? false;
}

export interface StartProcessOptions {
  readonly runDir: string;
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts a detached process logging to `<runDir>/logs/<name>.log`; returns its pid. */
export function startProcess(options: StartProcessOptions): number {
  const logs = join(options.runDir, 'logs');
  mkdirSync(logs, { recursive: true });
  mkdirSync(pidDir(options.runDir), { recursive: true });
  const out = openSync(join(logs, `${options.name}.log`), 'a');
  const child = spawn(options.command, options.args, {
    cwd: options.runDir,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, HOME: options.runDir, ...options.env },
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  child.unref();
  writeFileSync(join(pidDir(options.runDir), `${options.name}.pid`), `${child.pid}\n`);
  return child.pid;
}

/** Running, and not merely a zombie waiting for its parent to collect it. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ends every process recorded in the run folder's pid files: TERM, then KILL after a grace period. */
export async function stopProcesses(runDir: string, graceMs = 5000): Promise<number> {
  const dir = pidDir(runDir);
  if (!existsSync(dir)) return 0;
  const pids: number[] = [];
  for (const file of readdirSync(dir)) {
    const pid = Number.parseInt(readFileSync(join(dir, file), 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 1 && isOurs(pid, runDir)) pids.push(pid);
  }
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGTERM'); // the process group: detached children lead their own
    } catch {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  const killDeadline = Date.now() + 3000;
  while (pids.some(alive) && Date.now() < killDeadline) await sleep(50);
  rmSync(dir, { recursive: true, force: true });
  return pids.length;
}

/**
 * Restarts one component with its own command line, as a crash and restart would (used by
 * fault-injection tests). Resolves once the new process runs.
 */
export async function restartProcess(runDir: string, name: string, downMs = 0): Promise<number> {
  const pidFile = join(pidDir(runDir), `${name}.pid`);
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  if (!isOurs(pid, runDir)) throw new Error(`${name} (pid ${pid}) is not running`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await sleep(50);
  if (downMs > 0) await sleep(downMs);
  return startProcess({ runDir, name, command: argv[0], args: argv.slice(1) });
}
