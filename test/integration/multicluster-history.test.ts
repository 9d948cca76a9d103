// History and rollback of one environment on two clusters: the shared test cluster is eu, a second
// cluster started here is us. Releases come from the multi-cluster deploy (one number for both, us
// left out of one with --skip-cluster); capstan history shows one row per release with a column per
// cluster; rollback --to N puts both back, --cluster eu only eu, without --to both go to the newest
// release that succeeded in both; a cluster without the release is refused up front, a lock held
// in one cluster keeps none, a rollback failing in one cluster does not stop the other, and an
// unreachable cluster fails closed (exit 3) unless --cluster leaves it out.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kubectl as kubectlOf, startCluster, stopCluster, type ClusterInfo } from '../cluster/cluster.js';
import { KubeClient } from '../../src/kube/index.js';
import { acquireLock, readReleases, type ReleaseRecord } from '../../src/release/index.js';
import { capstan, writeApp, type CliRun } from './cli-helpers.js';
import { kubectl, testCluster } from './helpers.js';

const id = randomBytes(3).toString('hex');
const NS = `mch-shop-${id}`;
const usName = process.env.CAPSTAN_TEST_CLUSTER_B ?? `mch-us-${process.pid}`;
const IMAGE = 'registry.example.com/shop/web';

let us: ClusterInfo;
let starting: Promise<ClusterInfo> | undefined;
let app: ReturnType<typeof writeApp>;

/** us deploys first, eu second; a rollback goes through them in capstan.yaml's order, eu first. */
const capstanYaml = (usKubeconfig: string, euValues = '') => `app: shop
deploy: { timeout: 90s }
environments:
  production:
    namespace: ${NS}
    clusters:
      eu: { kubeconfig: ${testCluster().kubeconfig}, values: { region: eu-central-1${euValues} } }
      us: { kubeconfig: ${usKubeconfig}, values: { region: us-east-2 } }
    waves: [[us], [eu]]
`;

const files = (usKubeconfig: string): Record<string, string> => ({
  '.deploy/capstan.yaml': capstanYaml(usKubeconfig),
  '.deploy/production/10-configuration/web.configmap.yaml.ejs': `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { REGION: "<%= values.region %>", CLUSTER: "<%= cluster %>", PORT: "5432" }
`,
  '.deploy/production/30-deployment/web.yaml.ejs': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web<% if (values.scenario) { %>, capstan.test/scenario: <%= values.scenario %><% } %> }
    spec:
      containers:
        - name: web
          image: <%= image %>
          envFrom: [{ configMapRef: { name: web-config } }]
`,
});

/** kubectl in one of the two clusters. */
function inCluster(cluster: 'eu' | 'us', args: string[]): Promise<string> {
  return cluster === 'eu' ? kubectl(args) : kubectlOf(us, args);
}

async function imageIn(cluster: 'eu' | 'us'): Promise<string> {
  const deployment = JSON.parse(
    await inCluster(cluster, ['get', 'deployment', 'web', '-n', NS, '-o', 'json']),
  ) as { spec: { template: { spec: { containers: { image: string }[] } } } };
  return deployment.spec.template.spec.containers[0].image;
}

async function recordsIn(cluster: 'eu' | 'us'): Promise<ReleaseRecord[]> {
  const client = await KubeClient.connect({
    kubeconfig: cluster === 'eu' ? testCluster().kubeconfig : us.kubeconfig,
  });
  try {
    return await readReleases(client, { namespace: NS, app: 'shop', env: 'production' });
  } finally {
    client.close();
  }
}

/** A release of the environment: the multi-cluster deploy, wave by wave. */
function deployEnvironment(tag: string, ...args: string[]): Promise<CliRun> {
  return capstan(['deploy', 'production', '--image', `${IMAGE}:${tag}`, '-o', 'json', ...args], {
    cwd: app.dir,
    env: { CAPSTAN_USER: 'alice', GIT_COMMIT: `c0ffee${tag}`, GIT_BRANCH: 'main' },
  });
}

const finished = (events: Array<Record<string, any>>) => events.find((e) => e.type === 'fleet-finished');

const outcomes = (run: CliRun) =>
  finished(run.events)?.clusters.map((c: any) => [c.cluster, c.outcome, c.release]);

describe('history and rollback across clusters', { timeout: 900_000 }, () => {
  before(async () => {
    starting = startCluster({ name: usName, binDir: testCluster().binDir });
    starting.catch(() => {});
    us = await starting;
    app = writeApp(files(us.kubeconfig));
    await Promise.all([kubectl(['create', 'namespace', NS]), kubectlOf(us, ['create', 'namespace', NS])]);
    for (const [tag, ...args] of [['1.0'], ['2.0'], ['3.0', '--skip-cluster', 'us']]) {
      const run = await deployEnvironment(tag, ...args);
      assert.equal(run.code, 0, run.stdout + run.stderr);
    }
  });

  after(async () => {
    try {
      app?.cleanup();
      await kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']);
    } finally {
      await starting?.catch(() => undefined);
      await stopCluster(usName);
    }
  });

  it('history shows one row per release with a column per cluster', async () => {
    const run = await capstan(['history', 'production'], { cwd: app.dir });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^RELEASE\s+STARTED\s+BY\s+EU\s+US\s+NOTES$/);
    assert.equal(lines.length, 4, run.stdout);
    assert.match(
      lines[1],
      /^3\s+\S+Z\s+alice@\S+\s+succeeded \(\S+\) registry\.example\.com\/shop\/web:3\.0\s+skipped\s+commit c0ffee3\.0 \(main\)$/,
    );
    assert.match(
      lines[2],
      /^2\s+\S+Z\s+alice@\S+\s+succeeded \(\S+\) registry\.example\.com\/shop\/web:2\.0\s+succeeded \(\S+\) registry\.example\.com\/shop\/web:2\.0\s+commit c0ffee2\.0 \(main\)$/,
    );
    assert.match(lines[3], /^1\s.*web:1\.0\s+succeeded .*web:1\.0\s/);

    const json = await capstan(['history', 'production', '-o', 'json'], { cwd: app.dir });
    assert.equal(json.code, 0, json.stderr);
    const merged = JSON.parse(json.stdout) as Record<string, any>;
    assert.deepEqual(merged.clusters, [{ name: 'eu' }, { name: 'us' }]);
    assert.deepEqual(
      merged.releases.map((r: any) => r.release),
      [3, 2, 1],
    );
    const [three, two] = merged.releases;
    assert.equal(three.clusters.us, null);
    assert.deepEqual(three.skippedClusters, ['us']);
    assert.equal(two.clusters.eu.deployId, two.clusters.us.deployId, 'one deploy, one id');
    assert.deepEqual(
      [two.clusters.eu.cluster, two.clusters.us.cluster, two.clusters.us.outcome],
      ['eu', 'us', 'succeeded'],
    );
    assert.deepEqual(two.clusters.us.images, [`${IMAGE}:2.0`]);
  });

  it('refuses up front a release one cluster does not have, naming it', async () => {
    const run = await capstan(['rollback', 'production', '--to', '3'], { cwd: app.dir });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /cannot roll back to release 3: it is not recorded in cluster us/);
    assert.match(run.stderr, /--cluster/);
    assert.equal((await recordsIn('eu'))[0].release, 3, 'nothing recorded');
    assert.equal(await imageIn('eu'), `${IMAGE}:3.0`);
  });

  it('rollback --to 1 restores both clusters, recorded as one release', async () => {
    const run = await capstan(['rollback', 'production', '--to', '1', '-o', 'json'], { cwd: app.dir });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const started = run.events.filter((e) => e.type === 'rollback-started');
    assert.deepEqual(started.map((e) => e.cluster).sort(), ['eu', 'us']);
    // us recorded 1 and 2 only: the release number is the environment's, past eu's 3.
    assert.ok(started.every((e) => e.target === 1 && e.release === 4));
    assert.equal(finished(run.events)?.outcome, 'succeeded');
    assert.equal(finished(run.events)?.release, 4);
    assert.deepEqual(outcomes(run), [
      ['eu', 'succeeded', 4],
      ['us', 'succeeded', 4],
    ]);
    assert.equal(await imageIn('eu'), `${IMAGE}:1.0`);
    assert.equal(await imageIn('us'), `${IMAGE}:1.0`);
    const [eu4, us4] = [(await recordsIn('eu'))[0], (await recordsIn('us'))[0]];
    assert.deepEqual([eu4.release, eu4.outcome, eu4.rolledBackTo, eu4.cluster], [4, 'rolled-back', 1, 'eu']);
    assert.deepEqual([us4.release, us4.cluster], [4, 'us']);
    assert.equal(eu4.deployId, us4.deployId, 'one rollback, one id');
    // Each cluster got its own manifests back, not the other's.
    const region = await inCluster('us', [
      'get',
      'configmap',
      'web-config',
      '-n',
      NS,
      '-o',
      'jsonpath={.data.REGION}',
    ]);
    assert.equal(region, 'us-east-2');
  });

  it('rollback --cluster eu restores eu only; history shows that release in eu alone', async () => {
    const run = await capstan(['rollback', 'production', '--cluster', 'eu', '--to', '3', '-o', 'json'], {
      cwd: app.dir,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(outcomes(run), [['eu', 'succeeded', 5]]);
    assert.equal(await imageIn('eu'), `${IMAGE}:3.0`);
    assert.equal(await imageIn('us'), `${IMAGE}:1.0`);
    const history = await capstan(['history', 'production'], { cwd: app.dir });
    assert.equal(history.code, 0, history.stderr);
    assert.match(
      history.stdout,
      /\n5\s+\S+Z\s+\S+\s+rolled-back \(\S+\) registry\.example\.com\/shop\/web:3\.0\s+-\s+rollback to 3/,
    );
    // One cluster's own records, as a single-cluster environment shows them.
    const eu = await capstan(['history', 'production', '--cluster', 'eu'], { cwd: app.dir });
    assert.equal(eu.code, 0, eu.stderr);
    assert.match(eu.stdout, /^REVISION\s+OUTCOME/);
    assert.match(eu.stdout, /\n5\s+rolled-back\s/);
  });

  it('a lock held in one cluster keeps none, and changes nothing', async () => {
    const client = await KubeClient.connect({ kubeconfig: us.kubeconfig });
    const lock = await acquireLock(client, {
      namespace: NS,
      app: 'shop',
      env: 'production',
      holder: 'bob@laptop (pid 4242)',
    });
    try {
      const run = await capstan(['rollback', 'production', '--to', '1'], { cwd: app.dir });
      assert.equal(run.code, 4, run.stdout + run.stderr);
      assert.match(run.stderr, /cluster us: shop\/production is locked by bob@laptop \(pid 4242\)/);
      const lease = JSON.parse(
        await kubectl(['get', 'lease', 'capstan-lock-shop-production', '-n', NS, '-o', 'json']),
      ) as { spec: { holderIdentity?: string } };
      assert.equal(lease.spec.holderIdentity, undefined, "eu's lock was let go");
      assert.equal((await recordsIn('eu'))[0].release, 5);
      assert.equal(await imageIn('eu'), `${IMAGE}:3.0`);
    } finally {
      await lock.release();
      client.close();
    }
  });

  it('without --to, both go back to the newest release before the current one that succeeded in both', async () => {
    // The current release is 5 (eu only); 4 is a rollback; 3 reached eu only; 2 succeeded in both.
    const run = await capstan(['rollback', 'production', '-o', 'json'], { cwd: app.dir });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.ok(run.events.filter((e) => e.type === 'rollback-started').every((e) => e.target === 2));
    assert.equal(finished(run.events)?.release, 6);
    assert.equal(await imageIn('eu'), `${IMAGE}:2.0`);
    assert.equal(await imageIn('us'), `${IMAGE}:2.0`);
  });

  it('a rollback that fails in one cluster does not stop the other; the exit code says it failed', async () => {
    // Release 7 crash-loops in eu (wave 2) and succeeds in us; release 8 is healthy in both.
    app.write('.deploy/capstan.yaml', capstanYaml(us.kubeconfig, ', scenario: crashloop'));
    const broken = await deployEnvironment('7.0');
    assert.equal(broken.code, 1, broken.stdout + broken.stderr);
    assert.deepEqual(outcomes(broken), [
      ['us', 'succeeded', 7],
      ['eu', 'failed', 7],
    ]);
    app.write('.deploy/capstan.yaml', capstanYaml(us.kubeconfig));
    const healthy = await deployEnvironment('8.0');
    assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);

    // eu goes first (capstan.yaml's order, one cluster at a time) and fails; us is still rolled back.
    const run = await capstan(['rollback', 'production', '--to', '7', '-o', 'json'], { cwd: app.dir });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.deepEqual(outcomes(run), [
      ['eu', 'failed', 9],
      ['us', 'succeeded', 9],
    ]);
    assert.equal(finished(run.events)?.outcome, 'failed');
    assert.match(finished(run.events)?.message, /^rollback to release 7: eu failed, us succeeded$/);
    assert.equal(await imageIn('us'), `${IMAGE}:7.0`);
    assert.equal(await imageIn('eu'), `${IMAGE}:7.0`);
    const history = await capstan(['history', 'production'], { cwd: app.dir });
    assert.match(history.stdout, /\n9\s+\S+Z\s+\S+\s+failed \(\S+\) \S+:7\.0\s+rolled-back \(\S+\) \S+:7\.0/);
    assert.match(
      history.stdout,
      /\n7\s+\S+Z\s+alice@\S+\s+failed \(\S+\) \S+:7\.0\s+succeeded \(\S+\) \S+:7\.0/,
    );
  });

  it('an unreachable cluster: history shows the others and exits 3; rollback fails closed unless --cluster leaves it out', async () => {
    // The same environment with a third cluster whose API server does not exist.
    const down = writeApp({
      'down.kubeconfig': `apiVersion: v1
kind: Config
clusters: [{ name: down, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: down, user: { token: nothing } }]
contexts: [{ name: down, context: { cluster: down, user: down } }]
current-context: down
`,
    });
    app.write(
      '.deploy/capstan.yaml',
      capstanYaml(us.kubeconfig).replace(
        '    waves: [[us], [eu]]\n',
        `      ap: { kubeconfig: ${down.dir}/down.kubeconfig }\n    waves: [[us], [eu], [ap]]\n`,
      ),
    );
    try {
      const history = await capstan(['history', 'production'], { cwd: app.dir });
      assert.equal(history.code, 3, history.stdout + history.stderr);
      assert.match(history.stderr, /warning: cluster ap: its history cannot be read \(.*127\.0\.0\.1:9/);
      assert.match(history.stdout, /^RELEASE\s+STARTED\s+BY\s+EU\s+US\s+AP \(UNREACHABLE\)\s+NOTES\n9\s/);
      assert.match(history.stdout, /\n8\s.*web:8\.0\s+succeeded \(\S+\) \S+:8\.0\s+\?\s+commit c0ffee8\.0/);

      const refused = await capstan(['rollback', 'production', '--to', '8'], { cwd: app.dir });
      assert.equal(refused.code, 3, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /error: cluster ap: .*127\.0\.0\.1:9/);
      assert.equal((await recordsIn('eu'))[0].release, 9, 'nothing recorded');

      const euAlone = await capstan(['rollback', 'production', '--cluster', 'eu', '-o', 'json'], {
        cwd: app.dir,
      });
      assert.equal(euAlone.code, 0, euAlone.stdout + euAlone.stderr);
      assert.deepEqual(outcomes(euAlone), [['eu', 'succeeded', 10]]);
      assert.equal(await imageIn('eu'), `${IMAGE}:8.0`);
    } finally {
      app.write('.deploy/capstan.yaml', capstanYaml(us.kubeconfig));
      down.cleanup();
    }
  });
});
