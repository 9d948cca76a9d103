#!/usr/bin/env node
// The demo: builds (first time) and starts the local control plane "demo", then deploys
// examples/demo-app to its staging environment with the capstan CLI. The cluster keeps
// running afterwards so you can look around; `npm run cluster:stop -- --name demo` ends it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = process.argv[2] ?? 'staging';

const start = spawnSync(
  process.execPath,
  ['--import', 'tsx', 'test/cluster/cli.ts', 'start', '--name', 'demo', '--json'],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  },
);
if (start.status !== 0) process.exit(start.status ?? 1);
const info = JSON.parse(start.stdout.trim().split('\n').pop());
const capstan = (args) =>
  spawnSync(
    process.execPath,
    [`${root}bin/capstan.js`, '--kubeconfig', info.kubeconfig, '--cwd', `${root}examples/demo-app`, ...args],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, CAPSTAN_USE_SOURCE: '1' },
    },
  ).status;

console.log(`\n$ capstan deploy ${env} --image registry.example.com/demo-app:1.0.0`);
let status = capstan(['deploy', env, '--image', 'registry.example.com/demo-app:1.0.0']);
if (status === 0) {
  console.log(`\n$ kubectl get deployments,jobs,pods -n demo-${env}`);
  spawnSync(
    `${info.binDir}/kubectl`,
    ['--kubeconfig', info.kubeconfig, 'get', 'deployments,jobs,pods', '-n', `demo-${env}`],
    { stdio: 'inherit' },
  );
}
console.log(`\nThe cluster keeps running: export KUBECONFIG=${info.kubeconfig}`);
console.log('Stop it with: npm run cluster:stop -- --name demo');
process.exit(status ?? 1);
