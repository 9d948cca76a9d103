// The short seeded soak of CI (issue 31, docs/guarantees.md): test/soak/soak.ts with fixed seeds,
// a few operations each, against this file's own cluster (it restarts kube-apiserver and etcd).
// It fails on any invariant violation or crash, never on timings; the long run is for the note.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const SOAK = fileURLToPath(new URL('../soak/soak.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Newest modification time under `dir` (ms). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * dist/ (as `npm ci` builds it in CI) when it is newer than every source file: it starts about four
 * times faster than the sources through tsx. A stale build is never used: the sources then run.
 */
function builtIsFresh(): boolean {
  const bundle = join(ROOT, 'dist/bundle/capstan.js');
  return existsSync(bundle) && statSync(bundle).mtimeMs > newest(join(ROOT, 'src'));
}

/**
 * Seeds whose first ten operations cover every operation kind (30) and, between them, every fault
 * kind but an etcd restart and stalled connections: SIGKILL four times, the API server restarted
 * twice, the proxy down, resets, latency, bandwidth, pods deleted. From the sources (no fresh
 * build) six operations each: the CLI then takes seconds to start, not one.
 */
const BUILT = builtIsFresh();
const OPS = BUILT ? 10 : 6;
const SEEDS = [30, 41];

function soak(seed: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        SOAK,
        '--seed',
        String(seed),
        '--ops',
        String(OPS),
        '--fault-rate',
        '0.6',
        ...(BUILT ? ['--built'] : []),
      ],
      { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('the short seeded soak', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${OPS} operations under faults, no violation and no crash`, async () => {
      const run = await soak(seed);
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, new RegExp(`operations run: ${OPS}\\n`));
      assert.match(run.output, /violations: 0\n/);
      assert.match(run.output, /crashes: 0\n/);
    });
  }
});
