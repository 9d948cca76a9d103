import { InvalidArgumentError, type Option } from 'commander';
import { parseDuration } from '../config/index.js';
import type { Redactor } from '../secrets/index.js';

/** Options every command reads from the program: where the app and the cluster are. */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  cwd: string;
}

/** Commander helper for repeatable options such as `--set k=v --set k2=v2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The streams and settings a command runs with; tests pass their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** Appends text to a file (GitHub's step summary); without it, nothing is written to files. */
  readonly appendFile?: (path: string, text: string) => void;
}

/** What a command shares with runCli; commands never call process.exit. */
export interface CommandResult {
  exitCode: number;
  /**
   * Every secret value the command learned (the library adds them as it renders): whatever the
   * CLI prints, the command's output and runCli's error report alike, passes through it.
   */
  readonly redactor: Redactor;
}

/** Commander parser for `--timeout 10m`-style options; a wrong value is a usage error (exit 2). */
export function durationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Commander parser for whole-number options such as `--concurrency 8`: "abc", "1.5" or "0" are usage errors. */
export function integerOption(min = 1): (value: string) => number {
  return (value: string) => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`expected a whole number >= ${min}, not "${value}"`);
    return n;
  };
}

/** A duration option with a default that --help shows as a duration ("1h"), not as milliseconds. */
export function durationDefault(option: Option, ms: number): Option {
  return option.argParser(durationOption).default(ms, formatDurationDefault(ms));
}

/** How a duration default reads in --help: 3600000 as "1h". */
export function formatDurationDefault(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
