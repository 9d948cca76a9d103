#!/usr/bin/env node
// Runs unit tests, then integration tests (which start one local control plane for the run),
// with Node's built-in test runner. `node scripts/test.mjs unit|integration` runs one part.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const which = process.argv[2] ?? 'all';

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
if (which === 'all' || which === 'unit') {
  status ||= run('unit tests', findTests(join(root, 'test/unit')));
}
if (status === 0 && (which === 'all' || which === 'integration')) {
  // Integration tests share one cluster: the global setup module starts it, the test files
  // find it through CAPSTAN_TEST_KUBECONFIG. Files run one at a time to keep two cores calm.
  status ||= run('integration tests', findTests(join(root, 'test/integration')), [
    '--test-concurrency=1',
    '--import',
    './test/integration/setup.ts',
  ]);
}
process.exit(status);
