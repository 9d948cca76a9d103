// capstan cutover between two local clusters, after capstan migrate: the shared test cluster is A, a
// second cluster started here is B. A failing hook rolls back; a cutover SIGKILLed by its own hook
// is completed by the next run; a second cutover is a no-op; migrate refuses the live B; --back
// restores both clusters (and a failing hook during --back leaves them as they were).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { kubectl as kubectlOf, startCluster, stopCluster, type ClusterInfo } from '../cluster/cluster.js';
import { capstan, type CliRun } from './cli-helpers.js';
import { getJson, kubectl, testCluster, waitFor } from './helpers.js';

const id = randomBytes(3).toString('hex');
const NS = `co-shop-${id}`;
const BIN = fileURLToPath(new URL('../../bin/capstan.js', import.meta.url));
const MARK = 'capstan.dev/suspended-by-migrate';

const cronJob = (name: string, suspend: boolean) => `apiVersion: batch/v1
kind: CronJob
metadata: { name: ${name}, namespace: ${NS} }
spec:
  schedule: "0 3 * * *"
  suspend: ${suspend}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{ name: job, image: registry.example.com/shop/${name}:1.0 }]`;

const workload = (kind: string, name: string, replicas: number, extra = '') => `apiVersion: apps/v1
kind: ${kind}
metadata: { name: ${name}, namespace: ${NS} }
spec:
  replicas: ${replicas}${extra}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: ${name}, image: registry.example.com/shop/${name}:1.0 }]`;

const objects = [
  `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }`,
  cronJob('nightly', false),
  cronJob('paused', true),
  workload('Deployment', 'web', 2),
  workload('StatefulSet', 'db', 1, `\n  serviceName: db`),
].join('\n---\n');

const bName = process.env.CAPSTAN_TEST_CLUSTER_B ?? `cutover-b-${process.pid}`;
let b: ClusterInfo;
let starting: Promise<ClusterInfo> | undefined;
const jsonInB = async (args: string[]): Promise<Record<string, any>> =>
  JSON.parse(await kubectlOf(b, [...args, '-o', 'json'])) as Record<string, any>;

const clusterArgs = () => [
  '--from-kubeconfig',
  testCluster().kubeconfig,
  '--to-kubeconfig',
  b.kubeconfig,
  '-n',
  NS,
];
const cutover = (...args: string[]): Promise<CliRun> =>
  capstan(['cutover', ...clusterArgs(), '--health-timeout', '90s', ...args]);
const migrate = (): Promise<CliRun> =>
  capstan([
    'migrate',
    '--from-kubeconfig',
    testCluster().readOnlyKubeconfig,
    '--to-kubeconfig',
    b.kubeconfig,
    '-n',
    NS,
    '--health-timeout',
    '90s',
  ]);
const finished = (run: CliRun) => run.events.find((e) => e.type === 'cutover-finished')!;
let recordName: string | undefined;

/** Suspend of both nightly CronJobs, B's mark, and A's replica counts. */
async function state(): Promise<{ a: boolean; b: boolean; mark?: string; web: number; db: number }> {
  const [nightlyA, nightlyB, web, db] = await Promise.all([
    getJson(['get', 'cronjob', 'nightly', '-n', NS]),
    jsonInB(['get', 'cronjob', 'nightly', '-n', NS]),
    getJson(['get', 'deployment', 'web', '-n', NS]),
    getJson(['get', 'statefulset', 'db', '-n', NS]),
  ]);
  return {
    a: nightlyA.spec.suspend,
    b: nightlyB.spec.suspend,
    ...(nightlyB.metadata.annotations?.[MARK] !== undefined
      ? { mark: nightlyB.metadata.annotations[MARK] }
      : {}),
    web: web.spec.replicas,
    db: db.spec.replicas,
  };
}
const BEFORE = { a: false, b: true, mark: 'false', web: 2, db: 1 };
const AFTER = { a: true, b: false, web: 0, db: 0 };

async function pausedUntouched(): Promise<void> {
  const [inA, inB] = await Promise.all([
    getJson(['get', 'cronjob', 'paused', '-n', NS]),
    jsonInB(['get', 'cronjob', 'paused', '-n', NS]),
  ]);
  assert.equal(inA.spec.suspend, true);
  assert.equal(inB.spec.suspend, true, 'a CronJob suspended in A is never resumed in B');
}

/** The CLI as its own process, so that its hook can SIGKILL it. */
function capstanProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env, CAPSTAN_USE_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ signal, out }));
  });
}

describe('capstan cutover', { timeout: 480_000 }, () => {
  before(async () => {
    starting = startCluster({ name: bName, binDir: testCluster().binDir });
    starting.catch(() => {});
    await kubectl(['apply', '-f', '-'], objects);
    await waitFor('the workloads to run in A', 90_000, async () => {
      const web = await getJson(['get', 'deployment', 'web', '-n', NS]);
      return web.status?.availableReplicas === 2;
    });
    b = await starting;
    const copied = await migrate();
    assert.equal(copied.code, 0, copied.stdout + copied.stderr);
  });

  after(async () => {
    try {
      await kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']);
      if (recordName)
        await kubectl(['delete', 'configmap', recordName, '-n', 'capstan-system', '--ignore-not-found']);
    } finally {
      await starting?.catch(() => undefined);
      await stopCluster(bName);
    }
  });

  it('a failing --exec rolls the cutover back', async () => {
    assert.deepEqual(await state(), BEFORE);
    const run = await cutover('--scale-down-source', '--exec', 'echo switching; exit 3');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /│ switching/);
    assert.match(run.stdout, /exit 3.*rolled back/);
    assert.match(run.stdout, /state rolled-back/);
    assert.deepEqual(await state(), BEFORE);
  });

  it('a cutover SIGKILLed by its hook is completed by the next run', async () => {
    const hook =
      '[ -z "$CUTOVER_TEST_KILL" ] || kill -9 $PPID; echo "to $CAPSTAN_CUTOVER_LIVE ($CAPSTAN_CUTOVER_DIRECTION)"';
    const killed = await capstanProcess(
      ['cutover', ...clusterArgs(), '--scale-down-source', '--exec', hook],
      { CUTOVER_TEST_KILL: '1' },
    );
    assert.equal(killed.signal, 'SIGKILL', killed.out);
    // A's CronJob was suspended before the hook; nothing else happened yet.
    assert.deepEqual(await state(), { ...BEFORE, a: true });

    const run = await cutover('--scale-down-source', '--exec', hook, '-o', 'json');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const started = run.events.find((e) => e.type === 'cutover-started')!;
    assert.equal(started.decision, 'continue');
    assert.match(started.message, /cutting-over/);
    assert.match(run.stderr, /│ to to \(forward\)/);
    const steps = run.events.filter((e) => e.type === 'cutover-step').map((e) => e.description);
    assert.deepEqual(steps, [
      `run the hook (forward): ${hook}`,
      `resume CronJob ${NS}/nightly in B (suspend true → false)`,
      `scale Deployment ${NS}/web in A (replicas 2 → 0)`,
      `scale StatefulSet ${NS}/db in A (replicas 1 → 0)`,
    ]);
    assert.equal(finished(run).outcome, 'cut-over');
    recordName = finished(run).record.name;
    assert.deepEqual(await state(), AFTER);
    await pausedUntouched();

    // The record is in both clusters, with each step's before and after.
    const [inA, inB] = await Promise.all([
      getJson(['get', 'configmap', recordName!, '-n', 'capstan-system']),
      jsonInB(['get', 'configmap', recordName!, '-n', 'capstan-system']),
    ]);
    assert.equal(inA.data['record.json'], inB.data['record.json']);
    const record = JSON.parse(inA.data['record.json']);
    assert.equal(record.state, 'live');
    assert.ok(record.steps.every((s: any) => s.applied));
    assert.deepEqual(
      record.steps.filter((s: any) => s.action === 'scale').map((s: any) => [s.object.name, s.before]),
      [
        ['web', 2],
        ['db', 1],
      ],
    );
  });

  it('a second cutover is a no-op, and migrate refuses to copy into the live B', async () => {
    const again = await cutover('--scale-down-source');
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /already cut over/);
    const copied = await migrate();
    assert.equal(copied.code, 1, copied.stdout + copied.stderr);
    assert.match(copied.stderr, /B is live since .*suspend the CronJobs the cutover resumed/);
    assert.match(copied.stderr, /cutover --back/);
    assert.deepEqual(await state(), AFTER);
  });

  it('a failing hook during --back leaves both clusters as they were', async () => {
    const run = await cutover('--back', '--exec', 'exit 4');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /everything is as it was before --back/);
    assert.deepEqual(await state(), AFTER);
  });

  it('--back restores both clusters from the record, and migrate copies again', async () => {
    const run = await cutover(
      '--back',
      '--exec',
      'echo "to $CAPSTAN_CUTOVER_LIVE ($CAPSTAN_CUTOVER_DIRECTION)"',
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /│ to from \(back\)/);
    assert.match(run.stdout, /reversed: A is live again/);
    assert.deepEqual(await state(), BEFORE);
    await pausedUntouched();
    const copied = await migrate();
    assert.equal(copied.code, 0, copied.stdout + copied.stderr);
    assert.deepEqual(await state(), BEFORE);
  });
});
