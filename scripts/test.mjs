#!/usr/bin/env node
// The test command: typecheck, lint and format check, unit tests, then integration tests against
// local control planes (scripts/integration-tests.mjs), all on the Node.js that runs this script.
//   node scripts/test.mjs [all|checks|unit|integration] [test files...]
// CAPSTAN_TEST_CONCURRENCY: integration files at once (default 3); CAPSTAN_TEST_TIMINGS: a file to
// which each stage appends `stage<TAB>seconds` (.ci/run prints them at its end).
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runIntegrationFiles } from './integration-tests.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const [which = 'all', ...only] = process.argv.slice(2);
/** What the formatter owns; `npm run format` rewrites the same files. */
const FORMATTED = ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.mjs', 'bin/**/*.js'];
const nodeVersion = process.version;

if (!['all', 'checks', 'unit', 'integration'].includes(which)) {
  console.error('usage: node scripts/test.mjs [all|checks|unit|integration] [test files...]');
  process.exit(2);
}

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

/** Files of one part: all of them, or those named on the command line that belong to it. */
function testsOf(dir) {
  const all = findTests(join(root, dir));
  if (only.length === 0) return all;
  const named = new Set(only.map((f) => relative(root, join(root, f))));
  return all.filter((f) => named.has(f));
}

/** Runs `step` as a stage: its time is printed and recorded for CI's summary. */
async function stage(label, step) {
  const started = Date.now();
  const status = await step();
  const seconds = (Date.now() - started) / 1000;
  console.log(`# ${label}: ${status === 0 ? 'ok' : 'FAILED'} in ${seconds.toFixed(1)}s`);
  if (process.env.CAPSTAN_TEST_TIMINGS) {
    const failed = status === 0 ? '' : 'FAILED';
    appendFileSync(process.env.CAPSTAN_TEST_TIMINGS, `${label}\t${seconds.toFixed(1)}\t${failed}\n`);
  }
  return status;
}

function runCommand(cmd, args) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;
}

function runUnit() {
  const files = testsOf('test/unit');
  console.log(`# unit tests on Node.js ${nodeVersion}: ${files.length} files`);
  if (files.length === 0) return 0;
  // Both cores: a unit test file is mostly the cost of starting its process and loading tsx.
  return runCommand(process.execPath, [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    // A unit test that hangs fails after 5 minutes instead of holding CI to its own limit.
    '--test-timeout=300000',
    ...files,
  ]);
}

function runIntegration() {
  const files = testsOf('test/integration');
  if (files.length === 0) {
    console.log('# integration tests: no test files');
    return 0;
  }
  return runIntegrationFiles({
    root,
    files,
    concurrency: Number(process.env.CAPSTAN_TEST_CONCURRENCY ?? 3),
    clusterName: process.env.CAPSTAN_TEST_CLUSTER_NAME ?? `it-${process.pid}`,
  });
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
let status = 0;
if (which === 'all' || which === 'checks') {
  // The types and the lint rules are part of the test: a wrong type is a bug not yet run into.
  for (const [label, cmd, args] of [
    ['typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']],
    ['lint', bin('eslint'), ['.']],
    ['format', bin('prettier'), ['--check', ...FORMATTED]],
  ]) {
    status ||= await stage(label, () => runCommand(cmd, args));
  }
}
if (status === 0 && (which === 'all' || which === 'unit')) {
  status = await stage(`unit tests (Node.js ${nodeVersion})`, runUnit);
}
if (status === 0 && (which === 'all' || which === 'integration')) {
  status = await stage(`integration tests (Node.js ${nodeVersion})`, runIntegration);
}
process.exit(status);
