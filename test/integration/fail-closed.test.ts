// Failing closed against the real control plane: objects naming a namespace the environment does
// not own are refused, prune deletes nothing when the release history cannot be read, and a
// deploy that loses its lock stops before its next write.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, testCluster, waitFor } from './helpers.js';

const configMap = (name: string, namespace?: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    data: { k: name },
  });

/** A Deployment whose pods become Ready `seconds` after they start (kwok scenario `slow`). */
const slowWeb = (seconds: number) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: {
          labels: { app: 'web', 'capstan.test/scenario': 'slow' },
          annotations: { 'capstan.test/ready-after': String(seconds) },
        },
        spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] },
      },
    },
  });

async function configMapNames(namespace: string): Promise<string[]> {
  const list = await getJson<{ items: any[] }>([
    'get',
    'configmaps',
    '-n',
    namespace,
    '-l',
    'app.kubernetes.io/managed-by=capstan',
  ]);
  return list.items.map((c) => c.metadata.name as string).sort();
}

describe('objects in another namespace', () => {
  it('refuses a chart rendered with namespace: default (exit 2, file and line, nothing applied)', async () => {
    const ns = await freshNamespace('podinfo-other');
    // Unique names: a run without the check would leave them in the shared namespace default.
    const name = `podinfo-${ns.name.slice(-6)}`;
    // What `helm template podinfo` prints without -n: the Deployment and Service say default, Redis says nothing.
    const chart = [
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      `  name: ${name}`,
      '  namespace: default',
      'spec:',
      '  ports: [{ port: 9898 }]',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      `  name: ${name}`,
      '  namespace: default',
      'spec:',
      `  selector: { matchLabels: { app: ${name} } }`,
      '  template:',
      `    metadata: { labels: { app: ${name} } }`,
      '    spec: { containers: [{ name: podinfo, image: ghcr.io/stefanprodan/podinfo:6.5.0 }] }',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      `  name: ${name}-redis`,
      '',
    ].join('\n');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('podinfo', ns.name),
      '.deploy/test/30-deployment/podinfo.yaml': chart,
    });
    try {
      const run = await capstan(['deploy', 'test'], { cwd: app.dir });
      assert.equal(run.code, 2, run.stdout + run.stderr);
      const output = run.stdout + run.stderr;
      assert.match(
        output,
        /podinfo\.yaml:6: metadata\.namespace: Service\/podinfo-\w+ names namespace "default", but environment "test" deploys to "podinfo-other-\w+"/,
      );
      assert.match(
        output,
        /podinfo\.yaml:14: metadata\.namespace: Deployment\/podinfo-\w+ names namespace "default"/,
      );
      assert.match(output, /hint: drop the `namespace:` line .*helm template -n podinfo-other-/);
      const inDefault = await getJson<{ items: any[] }>([
        'get',
        'deployments,services',
        '-n',
        'default',
        '-l',
        'app.kubernetes.io/managed-by=capstan',
      ]);
      assert.deepEqual(
        inDefault.items.map((o) => o.metadata.name).filter((n) => n === name),
        [],
        'nothing went to default',
      );
      assert.deepEqual(await configMapNames(ns.name), [], 'nothing went to the environment either');
    } finally {
      app.cleanup();
      await ns.remove();
      await kubectl(['delete', 'deployment,service', name, '-n', 'default', '--ignore-not-found']);
    }
  });

  it('deploys to an extra namespace capstan.yaml lists, records it on the lock, and prunes there', async () => {
    const ns = await freshNamespace('fc-extra');
    const extra = await freshNamespace('fc-monitoring');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name, `    extraNamespaces: [${extra.name}]\n`),
      '.deploy/test/10-configuration/own.yaml': configMap('own'),
      '.deploy/test/10-configuration/dashboards.yaml': configMap('dashboards', extra.name),
    });
    try {
      const first = await capstan(['deploy', 'test'], { cwd: app.dir });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.deepEqual(await configMapNames(extra.name), ['dashboards']);
      const lease = await getJson(['get', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
      assert.equal(lease.metadata.annotations['capstan.dev/namespaces'], `${ns.name},${extra.name}`);
      app.remove('.deploy/test/10-configuration/dashboards.yaml');
      const second = await capstan(['deploy', 'test', '-o', 'json'], { cwd: app.dir });
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.ok(
        second.events.some(
          (e) =>
            e.type === 'object-pruned' && e.object.name === 'dashboards' && e.object.namespace === extra.name,
        ),
      );
      assert.deepEqual(await configMapNames(extra.name), []);
      assert.deepEqual(await configMapNames(ns.name), ['own']);
    } finally {
      app.cleanup();
      await ns.remove();
      await extra.remove();
    }
  });
});

describe('prune with an unreadable release history', () => {
  it('deletes nothing when a release record is damaged, and says why', async () => {
    const ns = await freshNamespace('fc-damaged');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/10-configuration/a.yaml': configMap('a'),
      '.deploy/test/10-configuration/b.yaml': configMap('b'),
    });
    try {
      assert.equal((await capstan(['deploy', 'test'], { cwd: app.dir })).code, 0);
      // Someone else's object that happens to carry the app's labels: never Capstan's to delete.
      await kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'by-hand',
            labels: {
              'app.kubernetes.io/managed-by': 'capstan',
              'capstan.dev/app': 'shop',
              'capstan.dev/env': 'test',
            },
          },
        }),
      );
      await kubectl([
        'patch',
        'secret',
        'capstan-release-shop-test-v1',
        '-n',
        ns.name,
        '--type=merge',
        '-p',
        JSON.stringify({ data: { release: Buffer.from('garbage').toString('base64') } }),
      ]);
      app.remove('.deploy/test/10-configuration/b.yaml');
      const run = await capstan(['deploy', 'test', '-o', 'json'], { cwd: app.dir });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const warnings = run.events.filter((e) => e.type === 'warning').map((e) => e.message as string);
      assert.ok(
        warnings.some((w) =>
          /nothing will be pruned: the release history of shop\/test cannot be read \(release record 1 .* is damaged/.test(
            w,
          ),
        ),
        warnings.join('\n'),
      );
      assert.deepEqual(
        run.events.filter((e) => e.type === 'object-pruned'),
        [],
      );
      assert.deepEqual(await configMapNames(ns.name), ['a', 'b', 'by-hand']);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('shows nothing to prune when the identity may not list the records (RBAC)', async () => {
    const ns = await freshNamespace('fc-rbac');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/10-configuration/a.yaml': configMap('a'),
      '.deploy/test/10-configuration/b.yaml': configMap('b'),
    });
    try {
      assert.equal((await capstan(['deploy', 'test'], { cwd: app.dir })).code, 0);
      // The restricted identity may read and write ConfigMaps and read single Secrets, but not list Secrets.
      await kubectl([
        'create',
        'role',
        'no-secret-list',
        '-n',
        ns.name,
        '--verb=get,list,watch,create,update,patch,delete',
        '--resource=configmaps',
      ]);
      await kubectl(['create', 'role', 'secret-get', '-n', ns.name, '--verb=get', '--resource=secrets']);
      for (const role of ['no-secret-list', 'secret-get'])
        await kubectl([
          'create',
          'rolebinding',
          role,
          `--role=${role}`,
          '--group=capstan:deployers',
          '-n',
          ns.name,
        ]);
      app.remove('.deploy/test/10-configuration/b.yaml');
      const diff = await capstan(['diff', 'test'], {
        cwd: app.dir,
        kubeconfig: testCluster().restrictedKubeconfig,
      });
      assert.equal(diff.code, 0, diff.stdout + diff.stderr);
      assert.match(
        diff.stderr,
        /warning: nothing will be pruned: the release history of shop\/test cannot be read \(this identity may not list its Secrets: /,
      );
      assert.match(diff.stdout, /^no changes \(1 objects unchanged\)$/m, 'b is not shown as pruned');
      assert.doesNotMatch(diff.stdout, /ConfigMap\/b/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});

describe('a deploy that loses its lock', () => {
  for (const how of ['removed', 'taken over'] as const) {
    it(`stops before its next write when the Lease is ${how} (outcome lock-lost, exit 4)`, async () => {
      const ns = await freshNamespace('fc-lost');
      const app = writeApp({
        '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
        '.deploy/test/10-configuration/old.yaml': configMap('old'),
      });
      try {
        assert.equal((await capstan(['deploy', 'test'], { cwd: app.dir })).code, 0);
        app.remove('.deploy/test/10-configuration/old.yaml');
        app.write('.deploy/test/30-deployment/web.yaml', slowWeb(12));
        app.write('.deploy/test/40-postdeployment/after.yaml', configMap('after'));
        const running = capstan(['deploy', 'test', '-o', 'json'], { cwd: app.dir });
        // While the slow pod is waited on, someone else removes or takes the Lease.
        await waitFor('the deploy waiting on its slow pod', 30_000, async () => {
          const lease = await getJson(['get', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
          const deployments = await getJson<{ items: any[] }>(['get', 'deployments', '-n', ns.name]);
          return lease.spec.holderIdentity && deployments.items.length > 0;
        });
        if (how === 'removed') await kubectl(['delete', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
        else
          await kubectl([
            'patch',
            'lease',
            'capstan-lock-shop-test',
            '-n',
            ns.name,
            '--type=merge',
            '-p',
            JSON.stringify({ spec: { holderIdentity: 'mallory@elsewhere' } }),
          ]);
        const run = await running;
        assert.equal(run.code, 4, run.stdout + run.stderr);
        const finished = run.events.find((e) => e.type === 'deploy-finished');
        assert.equal(finished?.outcome, 'lock-lost');
        assert.match(
          finished?.message ?? '',
          /lost the lock capstan-lock-shop-test of shop\/test: it was removed or taken over by someone else; stopped before the next change/,
        );
        assert.deepEqual(
          run.events.filter((e) => e.type === 'object-applied' && e.phase === '40-postdeployment'),
          [],
          'the next phase applied nothing',
        );
        assert.deepEqual(
          await configMapNames(ns.name),
          ['old'],
          'nothing applied after the loss, nothing pruned',
        );
        const records = await getJson<{ items: any[] }>([
          'get',
          'secrets',
          '-n',
          ns.name,
          '-l',
          'capstan.dev/release=true,capstan.dev/revision=2',
        ]);
        assert.equal(records.items[0]?.metadata.labels['capstan.dev/release-outcome'], 'lock-lost');
        if (how === 'taken over') {
          const lease = await getJson(['get', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
          assert.equal(lease.spec.holderIdentity, 'mallory@elsewhere', 'the new holder keeps the lock');
        }
      } finally {
        app.cleanup();
        await ns.remove();
      }
    });
  }
});
