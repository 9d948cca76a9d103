// Runs the capstan CLI in-process against temp-dir applications and captures what it printed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
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

/** `kubeconfig: false` passes no --kubeconfig (in-cluster style runs find their credentials in `env`). */
export async function capstan(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; kubeconfig?: string | false; signal?: AbortSignal } = {}): Promise<CliRun> {
  const out = capture();
  const err = capture();
  const kubeconfig = options.kubeconfig ?? testCluster().kubeconfig;
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  const code = await runCli([...(kubeconfig === false ? [] : ['--kubeconfig', kubeconfig]), ...(options.cwd ? ['--cwd', options.cwd] : []), ...args], {
    stdout: out.stream,
    stderr: err.stream,
    stdin: new PassThrough(),
    env: { ...options.env },
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
  });
  process.exitCode = previousExitCode;
  const stdout = out.text();
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Record<string, any>);
  return { code, stdout, stderr: err.text(), events };
}

/** Writes an application folder: `files` maps paths under the app root to contents. */
export function writeApp(files: Record<string, string>): { dir: string; write: (path: string, content: string) => void; remove: (path: string) => void; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-app-'));
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  for (const [path, content] of Object.entries(files)) write(path, content);
  return { dir, write, remove: (path) => rmSync(join(dir, path), { force: true }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function capstanYaml(app: string, namespace: string, extra = ''): string {
  return `app: ${app}\nenvironments:\n  test:\n    namespace: ${namespace}\n${extra}`;
}
