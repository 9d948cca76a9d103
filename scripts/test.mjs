#!/usr/bin/env node
// Runs unit tests, then integration tests (which start one local control plane for the run),
// with Node's built-in test runner. `node scripts/test.mjs unit|integration` runs one part.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const which = process.argv[2] ?? 'all';
/** What the formatter owns; `npm run format` rewrites the same files. */
const FORMATTED = ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.mjs', 'bin/**/*.js'];

function findTests(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

function run(label, files, extraArgs = []) {
  if (files.length === 0) {
    console.log(`# ${label}: no test files`);
    return 0;
  }
  console.log(`# ${label}: ${files.length} files`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', ...extraArgs, ...files],
    { cwd: root, stdio: 'inherit', env: process.env },
  );
  return result.status ?? 1;
}

let status = 0;
if (which === 'all') {
  // The types and the lint rules are part of the test: a wrong type is a bug not yet run into.
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  for (const [label, cmd, args] of [
    ['typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']],
    ['lint', bin('eslint'), ['.']],
    ['format', bin('prettier'), ['--check', ...FORMATTED]],
  ]) {
    console.log(`# ${label}`);
    const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`# ${label} failed`);
      process.exit(r.status ?? 1);
    }
  }
}
if (status === 0 && (which === 'all' || which === 'unit')) {
  status ||= run('unit tests', findTests(join(root, 'test/unit')));
}
if (status === 0 && (which === 'all' || which === 'integration')) {
  status = runIntegration();
}
process.exit(status);

// Integration tests share one local cluster per run: started here, found by the test files
// through CAPSTAN_TEST_CLUSTER (a JSON description), stopped at the end whatever happens.
function runIntegration() {
  const files = findTests(join(root, 'test/integration'));
  if (files.length === 0) return run('integration tests', files);
  const name = process.env.CAPSTAN_TEST_CLUSTER_NAME ?? `it-${process.pid}`;
  const cli = ['--import', 'tsx', 'test/cluster/cli.ts'];
  const started = Date.now();
  const start = spawnSync(process.execPath, [...cli, 'start', '--name', name, '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (start.status !== 0) {
    console.error('# the local control plane did not start; see the messages above');
    return 1;
  }
  console.log(`# local control plane "${name}" up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  const stop = () =>
    spawnSync(process.execPath, [...cli, 'stop', '--name', name], { cwd: root, stdio: 'inherit' });
  const onSignal = () => {
    stop();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.env.CAPSTAN_TEST_CLUSTER = start.stdout.trim().split('\n').pop();
    return run('integration tests', files, ['--test-concurrency=1', '--test-timeout=600000']);
  } finally {
    stop();
  }
}
