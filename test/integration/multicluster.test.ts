// One environment on three real control planes (the shared test cluster is eu, two more are started
// here): waves in order, one release recorded in every cluster, a failure in wave 1 sparing wave 2,
// rollback of every changed cluster after a failure in wave 2, an invalid cluster changing none, a
// held lock in one cluster keeping none, an unreachable cluster (exit 3) and --skip-cluster, and a
// pod that restarts during the soak failing its wave.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kubectl as kubectlOf, startCluster, stopCluster, type ClusterInfo } from '../cluster/cluster.js';
import { KubeClient } from '../../src/kube/index.js';
import { readReleases, type ReleaseRecord } from '../../src/release/index.js';
import { capstan, writeApp, type CliRun } from './cli-helpers.js';
import { testCluster, waitFor, webhookReceiver } from './helpers.js';

const APP = 'shop-eu-web';
const ENV = 'production';
const extra = ['us', 'ap'].map((n) => `mc-${n}-${process.pid}`);
const clusters: Record<string, ClusterInfo> = {};

const web = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: <%= values.replicas %>
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web<% if (values.scenario) { %>, capstan.test/scenario: <%= values.scenario %><% } %> }
    spec: { containers: [{ name: web, image: <%= image %> }] }
`;
const settings = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { cluster: "<%= cluster %>", region-db-port: "<%= values.port %>" }
`;

interface Setup {
  readonly waves?: string;
  readonly clusterValues?: Record<string, string>;
  readonly extraEnv?: string;
  readonly clusterNames?: readonly string[];
  /** Top-level capstan.yaml lines. */
  readonly top?: string;
}

/** An app whose production environment has clusters eu (the shared cluster), us and ap. */
function appFor(ns: string, setup: Setup = {}) {
  const names = setup.clusterNames ?? ['eu', 'us', 'ap'];
  const clusterLines = names
    .map((name) => {
      const kubeconfig = name === 'down' ? downKubeconfig() : clusters[name].kubeconfig;
      const values = setup.clusterValues?.[name];
      return `      ${name}: { kubeconfig: ${kubeconfig}${values ? `, values: ${values}` : ''} }`;
    })
    .join('\n');
  return writeApp({
    '.deploy/capstan.yaml': `app: ${APP}
${setup.top ?? ''}values: { replicas: 1, port: 5432 }
deploy: { timeout: 90s }
environments:
  ${ENV}:
    namespace: ${ns}
${setup.extraEnv ?? ''}    clusters:
${clusterLines}
${setup.waves ?? ''}`,
    '.deploy/production/10-configuration/settings.yaml.ejs': settings,
    '.deploy/production/30-deployment/web.yaml.ejs': web,
  });
}

let downFile: string | undefined;
/** A kubeconfig whose API server does not exist (a closed port on loopback). */
function downKubeconfig(): string {
  if (downFile) return downFile;
  const app = writeApp({
    'down.kubeconfig': `apiVersion: v1
kind: Config
clusters: [{ name: down, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: down, user: { token: nothing } }]
contexts: [{ name: down, context: { cluster: down, user: down } }]
current-context: down
`,
  });
  downFile = `${app.dir}/down.kubeconfig`;
  return downFile;
}

const kubectlIn = (name: string, args: string[], input?: string) => kubectlOf(clusters[name], args, input);

async function namespaceEverywhere(prefix: string): Promise<string> {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await Promise.all(Object.keys(clusters).map((c) => kubectlIn(c, ['create', 'namespace', ns])));
  return ns;
}

async function imageIn(cluster: string, ns: string): Promise<string | undefined> {
  const out = await kubectlIn(cluster, [
    'get',
    'deployment',
    'web',
    '-n',
    ns,
    '--ignore-not-found',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ]);
  return out.trim() || undefined;
}

/** Who holds the leases of the namespace (empty: nobody). */
async function holders(cluster: string, ns: string): Promise<string> {
  const out = await kubectlIn(cluster, [
    'get',
    'lease',
    '-n',
    ns,
    '-o',
    'jsonpath={.items[*].spec.holderIdentity}',
  ]);
  return out.trim();
}

async function recordsIn(cluster: string, ns: string): Promise<ReleaseRecord[]> {
  const client = await KubeClient.connect({ kubeconfig: clusters[cluster].kubeconfig });
  try {
    return await readReleases(client, { namespace: ns, app: APP, env: ENV });
  } finally {
    client.close();
  }
}

const deploy = (dir: string, image: string, ...args: string[]): Promise<CliRun> =>
  capstan(['deploy', ENV, '--image', image, '-o', 'json', ...args], { cwd: dir });

const finished = (run: CliRun) => run.events.find((e) => e.type === 'fleet-finished');
const outcomeOf = (run: CliRun, cluster: string) =>
  finished(run)?.clusters.find((c: { cluster: string }) => c.cluster === cluster)?.outcome;
const indexOf = (run: CliRun, test: (e: Record<string, any>) => boolean) => run.events.findIndex(test);

describe('one environment on several clusters', { timeout: 900_000 }, () => {
  before(async () => {
    clusters.eu = testCluster();
    const started = await Promise.all(
      extra.map((name) => startCluster({ name, binDir: testCluster().binDir })),
    );
    clusters.us = started[0]!;
    clusters.ap = started[1]!;
  });
  after(async () => {
    await Promise.all(extra.map((name) => stopCluster(name)));
  });

  it('deploys wave by wave and records one release in every cluster', async () => {
    const ns = await namespaceEverywhere('mc-waves');
    const app = appFor(ns, {
      waves: '    waves: [[eu], [us, ap]]\n',
      clusterValues: { us: '{ port: 5433 }' },
    });
    try {
      const run = await deploy(app.dir, 'example.com/shop:1');
      assert.equal(run.code, 0, run.stdout + run.stderr);
      // eu finished before wave 2 started, and before us or ap applied anything.
      const euDone = indexOf(run, (e) => e.type === 'deploy-finished' && e.cluster === 'eu');
      assert.ok(euDone >= 0);
      assert.ok(indexOf(run, (e) => e.type === 'wave-started' && e.wave === 2) > euDone);
      for (const c of ['us', 'ap'])
        assert.ok(indexOf(run, (e) => e.type === 'phase-started' && e.cluster === c) > euDone, c);
      // Every cluster's events carry it; templates saw the cluster and its values.
      assert.ok(
        run.events
          .filter((e) => e.type === 'object-applied')
          .every((e) => ['eu', 'us', 'ap'].includes(e.cluster)),
      );
      const data = JSON.parse(
        await kubectlIn('us', ['get', 'configmap', 'settings', '-n', ns, '-o', 'json']),
      );
      assert.deepEqual(data.data, { cluster: 'us', 'region-db-port': '5433' });
      // One release: the same number and deploy id in each cluster's own records.
      const records = await Promise.all(['eu', 'us', 'ap'].map((c) => recordsIn(c, ns)));
      const release = finished(run)?.release;
      assert.equal(typeof release, 'number');
      for (const [i, c] of ['eu', 'us', 'ap'].entries()) {
        assert.equal(records[i][0]?.release, release, c);
        assert.equal(records[i][0]?.cluster, c);
        assert.equal(records[i][0]?.outcome, 'succeeded');
        assert.equal(records[i][0]?.deployId, finished(run)?.deployId);
      }
      // The next deploy numbers past the highest any cluster knows, in all of them.
      const second = await deploy(app.dir, 'example.com/shop:2');
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.equal(finished(second)?.release, release + 1);
      for (const c of ['eu', 'us', 'ap']) assert.equal(await imageIn(c, ns), 'example.com/shop:2');
      // --diff shows every cluster's changes under its name and asks once.
      const diffed = await deploy(app.dir, 'example.com/shop:3', '--diff', '--yes');
      assert.equal(diffed.code, 0, diffed.stdout + diffed.stderr);
      for (const c of ['eu', 'us', 'ap']) assert.match(diffed.stdout, new RegExp(`^# cluster ${c}$`, 'm'));
      assert.match(diffed.stdout, /example\.com\/shop:3/);
    } finally {
      app.cleanup();
    }
  });

  it('stops after a failed wave 1: wave 2 is not touched', async () => {
    const ns = await namespaceEverywhere('mc-stop');
    const app = appFor(ns, {
      waves: '    waves: [[eu], [us], [ap]]\n',
      clusterValues: { eu: '{ scenario: crashloop }' },
      top: 'notifications: [{ type: webhook, urlEnv: DEPLOY_HOOK }]\n',
    });
    const hook = await webhookReceiver();
    try {
      const run = await capstan(['deploy', ENV, '--image', 'example.com/shop:1', '-o', 'json'], {
        cwd: app.dir,
        env: { DEPLOY_HOOK: hook.url },
      });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(outcomeOf(run, 'eu'), 'failed');
      assert.equal(outcomeOf(run, 'us'), 'not-deployed');
      assert.equal(outcomeOf(run, 'ap'), 'not-deployed');
      assert.match(finished(run)?.message, /^cluster eu: /);
      assert.equal(
        indexOf(run, (e) => e.type === 'wave-started' && e.wave === 2),
        -1,
      );
      for (const c of ['us', 'ap']) {
        assert.equal(await imageIn(c, ns), undefined, `${c} was not deployed`);
        assert.deepEqual(await recordsIn(c, ns), []);
        // Its lock went back: nothing holds the environment there.
        assert.equal(await holders(c, ns), '', `${c} keeps no lock`);
      }
      // One notification as the deploy starts writing, one as it ends: for the environment, a
      // line per cluster; none from the clusters' own deploys.
      assert.deepEqual(
        hook.bodies.map((b) => b.event),
        ['started', 'failed'],
      );
      assert.deepEqual(
        hook.bodies[1].clusters.map((c: { cluster: string; outcome: string }) => [c.cluster, c.outcome]),
        [
          ['eu', 'failed'],
          ['us', 'not-deployed'],
          ['ap', 'not-deployed'],
        ],
      );
      assert.match(hook.bodies[1].text, /\beu\b.*failed/);
    } finally {
      await hook.close();
      app.cleanup();
    }
  });

  it('rolls back every changed cluster, in parallel, after a failure in wave 2', async () => {
    const ns = await namespaceEverywhere('mc-rollback');
    const good = appFor(ns, { waves: '    waves: [[eu], [us]]\n', clusterNames: ['eu', 'us'] });
    const bad = appFor(ns, {
      waves: '    waves: [[eu], [us]]\n',
      clusterNames: ['eu', 'us'],
      clusterValues: { us: '{ scenario: crashloop }' },
      extraEnv: '    onFailure: rollback\n',
    });
    try {
      const first = await deploy(good.dir, 'example.com/shop:1');
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const run = await deploy(bad.dir, 'example.com/shop:2');
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(outcomeOf(run, 'eu'), 'succeeded');
      assert.equal(outcomeOf(run, 'us'), 'failed');
      for (const c of ['eu', 'us']) {
        const outcome = finished(run)?.clusters.find((x: { cluster: string }) => x.cluster === c);
        assert.equal(outcome?.rolledBack?.outcome, 'succeeded', JSON.stringify(outcome));
        assert.equal(outcome?.rolledBack?.release, finished(first)?.release);
        assert.equal(await imageIn(c, ns), 'example.com/shop:1', c);
      }
      assert.ok(run.events.some((e) => e.type === 'rollback-started' && e.cluster === 'eu'));
    } finally {
      good.cleanup();
      bad.cleanup();
    }
  });

  it('changes no cluster when one is invalid (exit 2, naming it)', async () => {
    const ns = await namespaceEverywhere('mc-invalid');
    const app = appFor(ns, { clusterValues: { ap: '{ replicas: "many" }' } });
    try {
      const run = await deploy(app.dir, 'example.com/shop:1');
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.equal(outcomeOf(run, 'ap'), 'invalid');
      assert.match(finished(run)?.message, /^cluster ap: /);
      assert.equal(
        indexOf(run, (e) => e.type === 'wave-started'),
        -1,
      );
      for (const c of ['eu', 'us', 'ap']) {
        assert.equal(await imageIn(c, ns), undefined, c);
        assert.deepEqual(await recordsIn(c, ns), []);
      }
    } finally {
      app.cleanup();
    }
  });

  it('keeps no lock when one cluster is locked (exit 4, naming it and the holder)', async () => {
    const ns = await namespaceEverywhere('mc-locked');
    const app = appFor(ns);
    const now = new Date().toISOString().replace(/\.\d+Z$/, '.000000Z');
    await kubectlIn(
      'us',
      ['apply', '-f', '-'],
      `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: { name: capstan-lock-${APP}-${ENV}, namespace: ${ns} }
spec: { holderIdentity: "ci@runner-7 (pid 4242)", leaseDurationSeconds: 600, acquireTime: "${now}", renewTime: "${now}" }
`,
    );
    try {
      const run = await deploy(app.dir, 'example.com/shop:1', '--lock-wait', '0s');
      assert.equal(run.code, 4, run.stdout + run.stderr);
      assert.equal(outcomeOf(run, 'us'), 'locked');
      assert.match(finished(run)?.message, /^cluster us: .*ci@runner-7/s);
      for (const c of ['eu', 'ap']) {
        assert.equal(await holders(c, ns), '', `${c} keeps no lock`);
        assert.equal(await imageIn(c, ns), undefined);
      }
    } finally {
      app.cleanup();
    }
  });

  it('fails closed on an unreachable cluster (exit 3) unless --skip-cluster leaves it out', async () => {
    const ns = await namespaceEverywhere('mc-down');
    const app = appFor(ns, { clusterNames: ['eu', 'down'] });
    try {
      const run = await deploy(app.dir, 'example.com/shop:1');
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.match(finished(run)?.message, /^cluster down: its API server is unreachable/);
      assert.match(finished(run)?.message, /--skip-cluster down/);
      assert.equal(await imageIn('eu', ns), undefined);

      const skipping = await deploy(app.dir, 'example.com/shop:1', '--skip-cluster', 'down');
      assert.equal(skipping.code, 0, skipping.stdout + skipping.stderr);
      assert.equal(outcomeOf(skipping, 'down'), 'skipped');
      assert.equal(await imageIn('eu', ns), 'example.com/shop:1');
      const [record] = await recordsIn('eu', ns);
      assert.deepEqual(record?.skippedClusters, ['down']);

      const unknown = await deploy(app.dir, 'example.com/shop:1', '--skip-cluster', 'mars');
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /mars: not a cluster of this environment/);
    } finally {
      app.cleanup();
    }
  });

  it('fails a wave whose pod restarts during the soak, and starts no later wave', async () => {
    const ns = await namespaceEverywhere('mc-soak');
    const app = appFor(ns, {
      waves: '    waves: [[eu], [us]]\n    soak: 40s\n',
      clusterNames: ['eu', 'us'],
    });
    try {
      let restarted = false;
      const run = await capstan(['deploy', ENV, '--image', 'example.com/shop:1', '-o', 'json'], {
        cwd: app.dir,
        onEvent: (event) => {
          if (event.type !== 'soak-started' || restarted) return;
          restarted = true;
          // As a kubelet reports a container that was OOM-killed and started again.
          void restartPodIn('eu', ns);
        },
      });
      assert.ok(restarted, 'the soak started');
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(outcomeOf(run, 'eu'), 'failed');
      assert.match(
        finished(run)?.clusters[0].message,
        /soak: container web of pod web-.* restarted during the soak \(exit code 137, OOMKilled\)/,
      );
      assert.equal(outcomeOf(run, 'us'), 'not-deployed');
      assert.equal(await imageIn('us', ns), undefined);
    } finally {
      app.cleanup();
    }
  });
});

/** Patches a running pod's status as a kubelet does after an OOM kill and a restart. */
async function restartPodIn(cluster: string, ns: string): Promise<void> {
  const name = await waitFor(
    'a web pod',
    30_000,
    async () =>
      (
        await kubectlIn(cluster, [
          'get',
          'pods',
          '-n',
          ns,
          '-l',
          'app=web',
          '-o',
          'jsonpath={.items[0].metadata.name}',
        ])
      ).trim() || undefined,
  );
  const pod = JSON.parse(await kubectlIn(cluster, ['get', 'pod', name, '-n', ns, '-o', 'json']));
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const statuses = pod.status.containerStatuses.map((s: Record<string, any>) => ({
    ...s,
    restartCount: (s.restartCount ?? 0) + 1,
    lastState: {
      terminated: {
        exitCode: 137,
        reason: 'OOMKilled',
        startedAt: s.state?.running?.startedAt ?? now,
        finishedAt: now,
        containerID: s.containerID,
      },
    },
    state: { running: { startedAt: now } },
  }));
  await kubectlIn(cluster, [
    'patch',
    'pod',
    name,
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { containerStatuses: statuses } }),
  ]);
}
