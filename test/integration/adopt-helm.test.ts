// `capstan adopt --from-helm` against the real control plane: podinfo's chart installed by the real
// Helm 4 is taken over with the same pods before and after, Helm's record of it gone and Helm's
// field manager with it; a later deploy and a rollback work; a failed release is refused with
// nothing written or changed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { capstan, writeApp } from './cli-helpers.js';
import { ensureHelm, HELM_VERSION, PODINFO_CHART, podinfoPodUids } from './helm-tool.js';
import { freshNamespace, getJson, testCluster } from './helpers.js';

const run = promisify(execFile);
const helm = await ensureHelm();
const skip = helm === undefined ? 'Go is not installed: cannot build helm' : false;

function helmRun(args: string[]) {
  return run(helm!, [...args, '--kubeconfig', testCluster().kubeconfig], {
    timeout: 180_000,
    env: {
      ...process.env,
      HELM_CACHE_HOME: '/tmp/capstan-helm-cache',
      HELM_CONFIG_HOME: '/tmp/capstan-helm-config',
    },
  });
}

/** podinfo with its upgrade hooks on (the pre-install one kept), two replicas, no redis. */
const INSTALL_VALUES = [
  '--set',
  'replicaCount=2',
  '--set',
  'redis.enabled=false',
  '--set',
  'hooks.preInstall.job.enabled=true',
  '--set',
  'hooks.preInstall.job.hookDeletePolicy=before-hook-creation',
  '--set',
  'hooks.preUpgrade.job.enabled=true',
  '--set',
  'hooks.preUpgrade.job.hookDeletePolicy=hook-succeeded',
];

async function helmRecords(namespace: string): Promise<string[]> {
  const secrets = await getJson<{ items: any[] }>(['get', 'secrets', '-n', namespace, '-l', 'owner=helm']);
  return secrets.items.map((s) => s.metadata.name as string);
}

describe(`capstan adopt --from-helm (helm ${HELM_VERSION})`, { skip }, () => {
  it('takes over a release installed by Helm: same pods, Helm record gone, then a deploy and a rollback work', async () => {
    const ns = await freshNamespace('adopt-helm');
    const app = writeApp({});
    try {
      await helmRun([
        'install',
        'podinfo',
        PODINFO_CHART,
        '-n',
        ns.name,
        '--wait',
        '--timeout',
        '2m',
        ...INSTALL_VALUES,
      ]);
      const before = await podinfoPodUids(ns.name);
      assert.equal(before.length, 2);
      const live = await getJson(['get', 'deployment', 'podinfo', '-n', ns.name, '--show-managed-fields']);
      assert.ok(
        live.metadata.managedFields.some((f: any) => f.manager === 'helm'),
        'Helm manages the Deployment',
      );

      const adopted = await capstan(
        ['adopt', 'test', '--from-helm', 'podinfo', '-n', ns.name, '-o', 'json'],
        { cwd: app.dir },
      );
      assert.equal(adopted.code, 0, adopted.stdout + adopted.stderr);
      assert.match(
        adopted.stderr,
        /adopted Helm release podinfo \(chart podinfo-6\.14\.1, revision 1\) as test, Capstan release 1/,
      );
      assert.match(adopted.stderr, /left out: hook Job\/podinfo-pre-install .*runs only on install/);

      // The same pods, an unchanged Deployment, Capstan's labels, no field of Helm's any more.
      assert.deepEqual(await podinfoPodUids(ns.name), before, 'no pod restarted');
      const after = await getJson(['get', 'deployment', 'podinfo', '-n', ns.name, '--show-managed-fields']);
      // (Its generation moves: Helm's annotations went, and annotations count for a Deployment.)
      assert.deepEqual(after.spec, live.spec, 'the Deployment spec did not change');
      assert.equal(after.metadata.annotations['deployment.kubernetes.io/revision'], '1', 'no new revision');
      assert.equal(after.metadata.labels['app.kubernetes.io/managed-by'], 'capstan');
      assert.deepEqual(
        after.metadata.managedFields.filter((f: any) => f.manager === 'helm'),
        [],
        "Helm's field manager has no field left",
      );
      assert.equal(after.metadata.annotations?.['meta.helm.sh/release-name'], undefined);
      assert.deepEqual(await helmRecords(ns.name), [], "Helm's release Secrets are deleted");
      const { stdout: list } = await helmRun(['list', '-n', ns.name, '-q']);
      assert.equal(list.trim(), '', 'helm no longer lists the release');

      // The tree: capstan.yaml, the manifest as plain YAML, the pre-upgrade hook as a phase; no test hook.
      const envDir = join(app.dir, '.deploy/test');
      assert.match(
        readFileSync(join(app.dir, '.deploy/capstan.yaml'), 'utf8'),
        new RegExp(`namespace: ${ns.name}`),
      );
      assert.ok(existsSync(join(envDir, '30-deployment/deployment.yaml')));
      assert.ok(existsSync(join(envDir, '30-deployment/service.yaml')));
      assert.deepEqual(readdirSync(join(envDir, '20-predeployment')), ['podinfo-pre-upgrade.yaml']);
      assert.ok(!readdirSync(envDir).some((d) => /test/.test(d)));

      const history = await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir });
      assert.equal(history.code, 0, history.stdout + history.stderr);
      const records = JSON.parse(history.stdout);
      assert.deepEqual(
        records.map((r: any) => [
          r.release,
          r.outcome,
          r.inventory.map((o: any) => `${o.kind}/${o.name}`).sort(),
        ]),
        [[1, 'succeeded', ['Deployment/podinfo', 'Service/podinfo']]],
      );

      // A later deploy: the pre-upgrade hook runs before the Deployment, which scales to 3.
      const file = join(envDir, '30-deployment/deployment.yaml');
      app.write(
        '.deploy/test/30-deployment/deployment.yaml',
        readFileSync(file, 'utf8').replace('replicas: 2', 'replicas: 3'),
      );
      const deployed = await capstan(['deploy', 'test', '-o', 'json', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
      const order = deployed.events
        .filter((e) => e.type === 'object-applied')
        .map((e) => `${e.object.kind}/${e.object.name}`);
      assert.ok(
        order.indexOf('Job/podinfo-pre-upgrade') < order.indexOf('Deployment/podinfo'),
        order.join(', '),
      );
      assert.equal((await getJson(['get', 'deployment', 'podinfo', '-n', ns.name])).spec.replicas, 3);

      const rolledBack = await capstan(['rollback', 'test', '-o', 'json', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
      assert.equal((await getJson(['get', 'deployment', 'podinfo', '-n', ns.name])).spec.replicas, 2);
    } finally {
      await ns.remove();
      app.cleanup();
    }
  });

  it('refuses a failed release, writing and changing nothing', async () => {
    const ns = await freshNamespace('adopt-failed');
    const app = writeApp({});
    try {
      await helmRun(['install', 'podinfo', PODINFO_CHART, '-n', ns.name, '--set', 'redis.enabled=false']);
      // An upgrade whose pods stay unready past --wait's timeout leaves the release failed.
      await assert.rejects(
        helmRun([
          'upgrade',
          'podinfo',
          PODINFO_CHART,
          '-n',
          ns.name,
          '--set',
          'redis.enabled=false',
          '--set-string',
          'podAnnotations.capstan\\.test/run-for=10m',
          '--wait',
          '--timeout',
          '5s',
        ]),
      );
      const records = await helmRecords(ns.name);
      const adopted = await capstan(['adopt', 'test', '--from-helm', 'podinfo', '-n', ns.name], {
        cwd: app.dir,
      });
      assert.equal(adopted.code, 2, adopted.stdout + adopted.stderr);
      assert.match(adopted.stderr, /Helm release podinfo \(revision 2\) is failed/);
      assert.ok(!existsSync(join(app.dir, '.deploy')), 'nothing written');
      assert.deepEqual(await helmRecords(ns.name), records, "Helm's record unchanged");
      const live = await getJson(['get', 'deployment', 'podinfo', '-n', ns.name]);
      assert.notEqual(live.metadata.labels['app.kubernetes.io/managed-by'], 'capstan');
    } finally {
      await ns.remove();
      app.cleanup();
    }
  });
  it("keeps a chart's Secrets only in an ejson file, prints no value, restarts no pod; --keep-helm-release keeps Helm's record", async () => {
    const ns = await freshNamespace('adopt-secrets');
    const app = writeApp({});
    const chart = writeApp({
      'Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 0.1.0\n',
      'templates/secret.yaml': [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: { name: shop-db }',
        'stringData:',
        '  DATABASE_URL: "postgres://shop:s3cr3t-pa55@db.internal:5432/shop"',
        '  PORT: "5432"',
        '  ENABLED: "false"',
        '',
      ].join('\n'),
      'templates/deployment.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: shop }',
        'spec:',
        '  replicas: 1',
        '  selector: { matchLabels: { app: shop } }',
        '  template:',
        '    metadata: { labels: { app: shop } }',
        '    spec:',
        '      containers:',
        '        - name: shop',
        '          image: shop:1',
        '          envFrom: [{ secretRef: { name: shop-db } }]',
        '',
      ].join('\n'),
    });
    try {
      await helmRun(['install', 'shop', chart.dir, '-n', ns.name, '--wait', '--timeout', '2m']);
      const pods = async () =>
        (await getJson<{ items: any[] }>(['get', 'pods', '-n', ns.name, '-l', 'app=shop'])).items
          .filter((p) => !p.metadata.deletionTimestamp)
          .map((p) => p.metadata.uid as string);
      const before = await pods();
      const keydir = join(app.dir, 'keys');
      const adopted = await capstan(
        [
          'adopt',
          'production',
          '--from-helm',
          'shop',
          '-n',
          ns.name,
          '--keydir',
          keydir,
          '--keep-helm-release',
        ],
        {
          cwd: app.dir,
        },
      );
      assert.equal(adopted.code, 0, adopted.stdout + adopted.stderr);
      const output = adopted.stdout + adopted.stderr;
      for (const value of ['s3cr3t-pa55', 'postgres://shop'])
        assert.ok(!output.includes(value), `no secret value in the output: ${output}`);
      assert.match(output, /wrote \.deploy\/production\/10-configuration\/secrets\.ejson/);
      assert.match(output, /the next deploy rolls Deployment\/shop once/);
      const ejson = readFileSync(join(app.dir, '.deploy/production/10-configuration/secrets.ejson'), 'utf8');
      assert.match(ejson, /"DATABASE_URL": "EJ\[1:/);
      assert.ok(!ejson.includes('s3cr3t'), 'the value is encrypted');
      assert.equal(readdirSync(keydir).length, 1, 'the private key is in the keydir');
      assert.deepEqual(await pods(), before, 'no pod restarted');
      const live = await getJson(['get', 'secret', 'shop-db', '-n', ns.name]);
      assert.equal(Buffer.from(live.data.PORT, 'base64').toString(), '5432');
      assert.equal(Buffer.from(live.data.ENABLED, 'base64').toString(), 'false');
      // --keep-helm-release: Helm's record stays, and says so.
      assert.deepEqual(await helmRecords(ns.name), ['sh.helm.release.v1.shop.v1']);
      assert.match(
        output,
        /kept Helm's record \(Secret\/sh\.helm\.release\.v1\.shop\.v1\): helm uninstall would still delete/,
      );
    } finally {
      await ns.remove();
      app.cleanup();
      chart.cleanup();
    }
  });
});
