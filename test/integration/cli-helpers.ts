// Runs the capstan CLI in-process against temp-dir applications and captures what it printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/main.js';
import { testCluster } from './helpers.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: Array<Record<string, any>>;
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

export interface CapstanOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** `false` passes no --kubeconfig (in-cluster style runs find their credentials in `env`). */
  readonly kubeconfig?: string | false;
  readonly signal?: AbortSignal;
  /** Told of each JSON event line on stdout as it is printed (`-o json`), e.g. to inject a fault at a phase start. */
  readonly onEvent?: (event: Record<string, any>) => void;
}

export async function capstan(args: string[], options: CapstanOptions = {}): Promise<CliRun> {
  const out = capture();
  if (options.onEvent) {
    let pending = '';
    out.stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines)
        if (line.startsWith('{') && line.endsWith('}'))
          options.onEvent!(JSON.parse(line) as Record<string, any>);
    });
  }
  const err = capture();
  const kubeconfig = options.kubeconfig ?? testCluster().kubeconfig;
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  const code = await runCli(
    [
      ...(kubeconfig === false ? [] : ['--kubeconfig', kubeconfig]),
      ...(options.cwd ? ['--cwd', options.cwd] : []),
      ...args,
    ],
    {
      stdout: out.stream,
      stderr: err.stream,
      stdin: new PassThrough(),
      env: { ...options.env },
      cwd: options.cwd ?? process.cwd(),
      signal: options.signal ?? new AbortController().signal,
    },
  );
  process.exitCode = previousExitCode;
  const stdout = out.text();
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Record<string, any>);
  return { code, stdout, stderr: err.text(), events };
}

/** Writes an application folder: `files` maps paths under the app root to contents. */
export function writeApp(files: Record<string, string>): {
  dir: string;
  write: (path: string, content: string) => void;
  remove: (path: string) => void;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-app-'));
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  for (const [path, content] of Object.entries(files)) write(path, content);
  return {
    dir,
    write,
    remove: (path) => rmSync(join(dir, path), { force: true }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function capstanYaml(app: string, namespace: string, extra = ''): string {
  return `app: ${app}\nenvironments:\n  test:\n    namespace: ${namespace}\n${extra}`;
}

const BIN = fileURLToPath(new URL('../../bin/capstan.js', import.meta.url));

/** The CLI as its own process (from the sources), so that a test can SIGKILL it at any moment. */
export function spawnCapstan(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): { child: ChildProcess; output: () => string; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(
    process.execPath,
    [BIN, '--kubeconfig', testCluster().kubeconfig, '--cwd', options.cwd, ...args],
    {
      env: { ...process.env, CAPSTAN_USE_SOURCE: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return { child, output: () => output, exited };
}
