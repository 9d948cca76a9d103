// The short seeded soak of CI (issue 31, docs/guarantees.md): test/soak/soak.ts with fixed seeds,
// a few operations each, against this file's own cluster (it restarts kube-apiserver and etcd).
// It fails on any invariant violation or crash, never on timings; the long run is for the note.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const SOAK = fileURLToPath(new URL('../soak/soak.ts', import.meta.url));
/**
 * Seeds whose first ten operations cover every operation kind (30) and, between them, every fault
 * kind but an etcd restart: SIGKILL (four), API server restarts, the proxy down, resets, latency.
 */
const SEEDS = [
  { seed: 30, ops: 10 },
  { seed: 41, ops: 10 },
];

function soak(seed: number, ops: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', SOAK, '--seed', String(seed), '--ops', String(ops), '--fault-rate', '0.6'],
      { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('the short seeded soak', () => {
  for (const { seed, ops } of SEEDS) {
    it(`seed ${seed}: ${ops} operations under faults, no violation and no crash`, async () => {
      const run = await soak(seed, ops);
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, new RegExp(`operations run: ${ops}\\n`));
      assert.match(run.output, /violations: 0\n/);
      assert.match(run.output, /crashes: 0\n/);
    });
  }
});
