// The live progress of a 300-object deploy as a person sees it: capstan runs in a pseudo-terminal
// (util-linux `script`), against the local control plane; the captured bytes are replayed on a
// small screen model to check that the live line redraws in place and what stays at the end.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { BENCH_ENV, writeCapstanApp, writeCapstanConfig } from '../../bench/deploy-fixture.js';
import { capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, testCluster } from './helpers.js';
import { replay } from './terminal-screen.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Runs a command in a pseudo-terminal of 120 columns and 40 rows; resolves with everything it drew. */
function inTerminal(
  command: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', `stty cols 120 rows 40; ${command}`, '/dev/null'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('terminal progress in a pseudo-terminal', () => {
  it('redraws one live line per phase in place for 300 objects and leaves the phase line and the apply summary', async () => {
    const ns = await freshNamespace('tty-progress');
    const dir = mkdtempSync(join(tmpdir(), 'capstan-tty-'));
    try {
      writeCapstanApp(dir, 100);
      writeCapstanConfig(dir, ns.name);
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TERM: 'xterm-256color',
        CAPSTAN_USE_SOURCE: '1',
      };
      const command = `node ${quote(join(ROOT, 'bin/capstan.js'))} --kubeconfig ${quote(testCluster().kubeconfig)} -C ${quote(dir)} deploy ${BENCH_ENV} --image example.com/app:1`;
      const { code, output } = await inTerminal(command, env);
      if (process.env.CAPSTAN_TTY_CAPTURE) writeFileSync(process.env.CAPSTAN_TTY_CAPTURE, output);
      assert.equal(code, 0, output);

      // The live line is drawn again and again, each time after moving up over the last frame and erasing it.

      const redraws = [
        ...output.matchAll(
          /\u001b\[\d+A\u001b\[0J(?:\u001b\[[\d;]*m)*▶(?:\u001b\[[\d;]*m)* (?:\u001b\[[\d;]*m)*30-deployment {2}([^\u001b\r\n]*)/g,
        ),
      ].map((m) => m[1]);
      assert.ok(redraws.length >= 3, `redrawn ${redraws.length} times`);
      assert.ok(
        redraws.some((line) => /Deployments \d+\/100 ready/.test(line)),
        redraws.join('\n'),
      );
      assert.ok(new Set(redraws).size >= 2, 'the counts or the seconds change between frames');

      const screen = replay(output);
      const tail = screen.slice(-7);
      assert.match(tail[0], /validated 300 objects with a server-side dry run/);
      assert.equal(tail[1], 'scheduling preflight: 100 workloads fit');
      assert.match(
        tail[2],
        /^✓ 30-deployment {2}100 ConfigMaps · 100 Services · 100 Deployments ready in \d+\.\ds$/,
      );
      assert.deepEqual(tail.slice(3, 6), [
        '  applied 100 ConfigMaps: 100 created',
        '  applied 100 Services: 100 created',
        '  applied 100 Deployments: 100 created',
      ]);
      assert.match(tail[6], /^✓ .* \(\d+\.\ds, release \d+, deploy /);
      assert.ok(
        !screen.some((line) => line.includes('applied ConfigMap/')),
        'no per-object lines on a terminal',
      );
      assert.ok(screen.length < 15, `the screen keeps ${screen.length} lines, not 600`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await ns.remove();
    }
  });

  it('shows why a deploy was refused: the preflight reason under the closing line', async () => {
    const ns = await freshNamespace('tty-refused');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/30-deployment/web.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec:\n      containers: [{ name: web, image: example.com/app:1, resources: { requests: { cpu: "9" } } }]\n',
    });
    try {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TERM: 'xterm-256color',
        CAPSTAN_USE_SOURCE: '1',
      };
      const command = `node ${quote(join(ROOT, 'bin/capstan.js'))} --kubeconfig ${quote(testCluster().kubeconfig)} -C ${quote(app.dir)} deploy test`;
      const { code, output } = await inTerminal(command, env);
      assert.equal(code, 2, output);
      const screen = replay(output);
      const closing = screen.findIndex((line) => /^✗ deploy invalid \(\d+\.\ds, deploy \S+\)$/.test(line));
      assert.ok(closing !== -1, screen.join('\n'));
      assert.match(
        screen[closing + 1],
        /^ {2}scheduling preflight: Deployment\/web: 1 of 1 pod would not schedule: 0\/\d+ nodes are available: \d+ Insufficient cpu\..*each pod requests 9/,
      );
      assert.equal(screen[closing + 2], '  Nothing was applied; --skip-preflight deploys anyway.');
      assert.equal(screen.filter((line) => line.includes('Insufficient cpu')).length, 1, screen.join('\n'));
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
