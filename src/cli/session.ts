// What the CLI's commands share about the session they run in: output mode, the actor, confirmation.
import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import type { CliIo } from './options.js';
import type { OutputMode } from './reporter.js';

export function outputMode(io: CliIo, output?: string): OutputMode {
  if (output === 'json') return 'json';
  if (output === 'plain') return 'plain';
  // A terminal gets the live view whether or not CI is set (`CI=true` is often exported in shells
  // and set on runners with a real terminal); a dumb terminal cannot redraw lines. NO_COLOR only
  // takes the colours away (the reporter reads it).
  return io.stdout.isTTY && io.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

/** Who is deploying, for release records and the lock: CI variables first, then the local user. */
export function currentActor(io: Pick<CliIo, 'env'>): {
  user: string;
  host: string;
  holder: string;
  gitCommit?: string;
} {
  const env = io.env;
  let local: string | undefined;
  try {
    local = userInfo().username;
  } catch {
    local = undefined;
  }
  const user =
    env.CAPSTAN_USER ??
    env.GITHUB_ACTOR ??
    env.GITLAB_USER_LOGIN ??
    env.USER ??
    env.USERNAME ??
    local ??
    'unknown';
  const host = hostname();
  const ciUrl =
    env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
      ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : env.CI_JOB_URL;
  const gitCommit = env.CAPSTAN_GIT_COMMIT ?? env.GITHUB_SHA ?? env.CI_COMMIT_SHA;
  return {
    user,
    host,
    holder: `${user}@${host} (pid ${process.pid}${ciUrl ? `, ${ciUrl}` : ''})`,
    ...(gitCommit ? { gitCommit } : {}),
  };
}

/**
 * This process and a probe of this machine's pids, for the deploy lock: a Lease held by a process
 * of this host that no longer runs is said to be so. A pid we may not signal (EPERM) still runs.
 */
export function localProcess(): { host: string; pid: number; alive: (pid: number) => boolean } {
  return {
    host: hostname(),
    pid: process.pid,
    alive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

/** Asks a yes/no question on the terminal; anything but y/yes is no. Check `io.stdin.isTTY` first. */
export async function confirm(io: Pick<CliIo, 'stdin' | 'stdout'>, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stdout, terminal: false });
  try {
    io.stdout.write(`${question} [y/N] `);
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}
