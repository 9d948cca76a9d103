// Releases on the local control plane: the Lease lock, records split across Secrets and kept to N,
// notifications to a loopback HTTP server, diff against live objects, history and rollback.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig, resolveEnvironment } from '../../src/config/index.js';
import { listLabelled, prunableTypes, selectorOf } from '../../src/deploy/index.js';
import { KubeClient } from '../../src/kube/index.js';
import { notify } from '../../src/notify/index.js';
import { renderEnvironment } from '../../src/render/index.js';
import {
  acquireLock,
  inventoryEntry,
  LockHeldError,
  readReleases,
  writeRelease,
  type ReleaseRecord,
} from '../../src/release/index.js';
import type { KubeObject } from '../../src/shared/index.js';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, testCluster, webhookReceiver } from './helpers.js';

let client: KubeClient;
before(async () => {
  client = await KubeClient.connect({ kubeconfig: testCluster().kubeconfig });
});
after(() => client.close());

function record(namespace: string, release: number, extra: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    app: 'shop',
    env: 'test',
    namespace,
    release,
    deployId: `d-${release}`,
    images: [`example.com/shop:${release}`],
    user: 'tester',
    host: 'ci',
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    phases: [],
    outcome: 'succeeded',
    inventory: [],
    manifests: [],
    hookJobs: [],
    ...extra,
  };
}

describe('deploy lock', () => {
  it('refuses a second holder naming the first; capstan unlock frees it', async () => {
    const ns = await freshNamespace('rel-lock');
    const scope = { namespace: ns.name, app: 'shop', env: 'test' };
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/10-configuration/c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n',
    });
    try {
      const lock = await acquireLock(client, { ...scope, holder: 'alice@laptop (pid 1)' });
      await assert.rejects(acquireLock(client, { ...scope, holder: 'bob@ci' }), (error: unknown) => {
        assert.ok(error instanceof LockHeldError);
        assert.match(error.message, /shop\/test is locked by alice@laptop \(pid 1\) since \d{4}-\d\d-\d\dT/);
        return true;
      });
      const rollback = await capstan(['rollback', 'test'], { cwd: app.dir });
      assert.equal(rollback.code, 4, rollback.stderr);
      assert.match(rollback.stderr, /locked by alice@laptop/);
      await lock.release();
      const lease = await getJson(['get', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
      assert.equal(lease.spec.holderIdentity, undefined, 'released');
      const carol = await acquireLock(client, { ...scope, holder: 'carol' });
      const unlock = await capstan(['unlock', 'test'], { cwd: app.dir });
      await carol.release();
      assert.equal(unlock.code, 0, unlock.stderr);
      assert.match(unlock.stdout, /removed the lock capstan-lock-shop-test in .*, held by carol since/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('takes over an expired Lease with a warning', async () => {
    const ns = await freshNamespace('rel-expired');
    try {
      const old = new Date(Date.now() - 10 * 60_000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
      await kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'capstan-lock-shop-test', namespace: ns.name },
          spec: { holderIdentity: 'crashed@ci', leaseDurationSeconds: 3, acquireTime: old, renewTime: old },
        }),
      );
      const warnings: string[] = [];
      const lock = await acquireLock(client, {
        namespace: ns.name,
        app: 'shop',
        env: 'test',
        holder: 'dave@ci',
        onWarning: (m) => warnings.push(m),
      });
      // An old renewTime proves nothing (clocks differ): the Lease is watched for its whole duration first.
      assert.equal(warnings.length, 2);
      assert.match(warnings[0], /shop\/test is locked by crashed@ci; watching the lock for up to 3s/);
      assert.match(
        warnings[1],
        /took over the lock of shop\/test from crashed@ci .*nobody renewed it for 3s/,
      );
      const lease = await getJson(['get', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
      assert.equal(lease.spec.holderIdentity, 'dave@ci');
      assert.equal(lease.spec.leaseTransitions, 1);
      await lock.release();
    } finally {
      await ns.remove();
    }
  });
});

describe('release records', () => {
  it('writes a record over 1 MiB across several Secrets and reads it back; prune never sees them', async () => {
    const ns = await freshNamespace('rel-big');
    try {
      const blob = randomBytes(1_200_000).toString('base64');
      const big = record(ns.name, 1, {
        manifests: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'big', namespace: ns.name },
            data: { blob },
          },
        ],
      });
      await writeRelease(client, big, { keep: 10 });
      const secrets = await getJson<{ items: any[] }>([
        'get',
        'secrets',
        '-n',
        ns.name,
        '-l',
        'capstan.dev/release=true',
      ]);
      assert.ok(secrets.items.length >= 2, `split into ${secrets.items.length} Secrets`);
      assert.ok(
        secrets.items.every(
          (s) => s.type === 'capstan.dev/release.v1' && s.metadata.labels['capstan.dev/revision'] === '1',
        ),
      );
      const [read] = await readReleases(client, { namespace: ns.name, app: 'shop', env: 'test' });
      assert.deepEqual(read, big);
      const owned = await listLabelled(client, prunableTypes(await client.discovery.all()), {
        namespaces: [ns.name],
        selector: selectorOf('shop', 'test'),
      });
      assert.deepEqual(
        owned.filter((o) => o.kind === 'Secret'),
        [],
        'release records are not prunable objects',
      );
      // Overwritten by a smaller record of the same release: its extra chunks go away.
      await writeRelease(client, { ...big, manifests: [] }, { keep: 10 });
      const after = await getJson<{ items: any[] }>([
        'get',
        'secrets',
        '-n',
        ns.name,
        '-l',
        'capstan.dev/release=true',
      ]);
      assert.equal(after.items.length, 1);
    } finally {
      await ns.remove();
    }
  });

  it('keeps the newest N records and reports a damaged one by name', async () => {
    const ns = await freshNamespace('rel-keep');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/10-configuration/c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n',
    });
    try {
      for (let r = 1; r <= 5; r++) await writeRelease(client, record(ns.name, r), { keep: 3 });
      const kept = await readReleases(client, { namespace: ns.name, app: 'shop', env: 'test' });
      assert.deepEqual(
        kept.map((r) => r.release),
        [5, 4, 3],
      );

      await kubectl([
        'patch',
        'secret',
        'capstan-release-shop-test-v4',
        '-n',
        ns.name,
        '--type=merge',
        '-p',
        JSON.stringify({ data: { release: Buffer.from('garbage').toString('base64') } }),
      ]);
      await assert.rejects(
        readReleases(client, { namespace: ns.name, app: 'shop', env: 'test' }),
        /release record 4 of shop\/test \(Secret capstan-release-shop-test-v4 .*\) is damaged/,
      );
      const unknown = await capstan(['history', 'nope'], { cwd: app.dir });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown environment "nope"/);
      const history = await capstan(['history', 'test'], { cwd: app.dir });
      assert.equal(history.code, 0, history.stderr);
      assert.match(history.stderr, /warning: release record 4 .* is damaged/);
      assert.match(history.stdout, /^5\s+succeeded/m);
      assert.match(history.stdout, /^3\s+succeeded/m);
      const rollback = await capstan(['rollback', 'test'], { cwd: app.dir });
      assert.equal(rollback.code, 1);
      assert.match(rollback.stderr, /is damaged/);
      const lease = await getJson(['get', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
      assert.equal(lease.spec.holderIdentity, undefined, 'the lock does not stay held');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});

describe('notifications', () => {
  it('posts to a loopback server; a failing endpoint is a warning, never a throw', async () => {
    const good = await webhookReceiver([200]);
    const bad = await webhookReceiver([500]);
    const closed = await webhookReceiver([200]);
    await closed.close(); // nothing listens on its port any more
    try {
      const warnings: string[] = [];
      const event = {
        kind: 'failed' as const,
        app: 'shop',
        env: 'test',
        deployId: 'd-7',
        release: 7,
        summary: 'Deployment/web: CrashLoopBackOff, password hunter2222',
      };
      await notify(
        [
          { type: 'slack', urlEnv: 'GOOD' },
          { type: 'webhook', urlEnv: 'BAD' },
          { type: 'webhook', urlEnv: 'CLOSED' },
        ],
        event,
        {
          env: { GOOD: good.url, BAD: bad.url, CLOSED: closed.url },
          redact: (s) => s.replaceAll('hunter2222', '[redacted]'),
          onWarning: (m) => warnings.push(m),
          retries: 2,
          backoffMs: 10,
          timeoutMs: 2000,
        },
      );
      assert.equal(good.bodies.length, 1);
      assert.match(
        good.bodies[0].text,
        /^:x: Deploy of shop to test failed \(release 7\): Deployment\/web: CrashLoopBackOff, password \[redacted\]$/,
      );
      assert.equal(bad.bodies.length, 3, 'one attempt and two retries');
      assert.equal(warnings.length, 2);
      assert.ok(warnings.some((w) => /webhook notification \(BAD\) failed: HTTP 500/.test(w)));
      assert.ok(warnings.some((w) => /webhook notification \(CLOSED\) failed: .*ECONNREFUSED/.test(w)));
      assert.ok(warnings.every((w) => !w.includes(bad.url)));
    } finally {
      await good.close();
      await bad.close();
    }
  });
});

const configMap = (greeting: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web-config }\ndata: { GREETING: "${greeting}" }\n`;
const secret = (password: string) =>
  `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData: { PASSWORD: "${password}" }\n`;
const web = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: <%= image %>, envFrom: [{ configMapRef: { name: web-config } }] }] }
`;

describe('diff, history and rollback', () => {
  it('diffs against live objects, rolls back to an earlier manifest set, prunes, records and notifies', async () => {
    const ns = await freshNamespace('rel-rollback');
    const hook = await webhookReceiver([200]);
    const env = { HOOK_URL: hook.url };
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml(
        'shop',
        ns.name,
        'notifications:\n  - type: webhook\n    urlEnv: HOOK_URL\n',
      ),
      '.deploy/test/10-configuration/config.yaml': configMap('one'),
      '.deploy/test/10-configuration/secret.yaml': secret('first-password'),
      '.deploy/test/30-deployment/web.yaml.ejs': web,
    });
    /** Deploys with the CLI, then records what was rendered, as deploy will once it records releases. */
    const deployAndRecord = async (release: number, image: string, extra: Partial<ReleaseRecord> = {}) => {
      const run = await capstan(['deploy', 'test', '--image', image, '--timeout', '2m'], {
        cwd: app.dir,
        env,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const resolved = resolveEnvironment(await loadConfig({ cwd: app.dir }), 'test');
      const manifests: KubeObject[] = (
        await renderEnvironment({ env: resolved, image, deployId: String(release) })
      ).flatMap((p) => p.objects.map((o) => o.object));
      await writeRelease(
        client,
        record(ns.name, release, {
          images: [image],
          manifests,
          inventory: manifests.map(inventoryEntry),
          ...extra,
        }),
        { keep: 10 },
      );
    };
    try {
      await deployAndRecord(1, 'example.com/shop:1');

      app.write('.deploy/test/10-configuration/config.yaml', configMap('two'));
      app.write('.deploy/test/10-configuration/secret.yaml', secret('second-password'));
      app.write(
        '.deploy/test/30-deployment/extra.yaml',
        'apiVersion: v1\nkind: Service\nmetadata: { name: extra }\nspec:\n  ports: [{ port: 80 }]\n',
      );
      const diff = await capstan(['diff', 'test', '--image', 'example.com/shop:2', '--exit-code'], {
        cwd: app.dir,
      });
      assert.equal(diff.code, 1, diff.stdout + diff.stderr);
      assert.match(diff.stdout, /^~ change ConfigMap\/web-config/m);
      assert.match(diff.stdout, /^-\s+GREETING: one$/m);
      assert.match(diff.stdout, /^\+\s+GREETING: two$/m);
      assert.match(diff.stdout, /^\+\s+image: example.com\/shop:2$/m);
      assert.match(diff.stdout, /^\+ create Service\/extra/m);
      assert.match(diff.stdout, /Secret keys: PASSWORD changed/);
      assert.doesNotMatch(
        diff.stdout,
        /managedFields|resourceVersion|creationTimestamp|status:|terminationMessagePath/,
      );
      for (const value of ['first-password', 'second-password']) {
        assert.ok(
          !diff.stdout.includes(value) && !diff.stdout.includes(Buffer.from(value).toString('base64')),
          `${value} leaked`,
        );
      }
      assert.match(diff.stdout, /1 to create, 3 to change, 0 to prune, 0 unchanged/);

      await deployAndRecord(2, 'example.com/shop:2', { hookJobs: ['db-migrate-2'] });
      const same = await capstan(['diff', 'test', '--image', 'example.com/shop:2', '--exit-code'], {
        cwd: app.dir,
      });
      assert.equal(same.code, 0, same.stdout + same.stderr);
      assert.match(same.stdout, /no changes \(4 objects unchanged\)/);

      const missing = await capstan(['rollback', 'test', '--to', '9'], { cwd: app.dir, env });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /there is no release 9/);
      assert.match(missing.stderr, /recorded releases: 2 \(succeeded\), 1 \(succeeded\)/);

      const run = await capstan(['rollback', 'test', '--timeout', '2m', '-o', 'json'], { cwd: app.dir, env });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(run.events[0], { ...run.events[0], type: 'rollback-started', release: 3, target: 1 });
      assert.ok(run.events.some((e) => e.type === 'object-ready' && e.object.kind === 'Deployment'));
      assert.ok(run.events.some((e) => e.type === 'object-pruned' && e.object.name === 'extra'));
      assert.ok(
        run.events.some(
          (e) =>
            e.type === 'warning' && /hook Jobs are not undone.*db-migrate-2 \(release 2\)/.test(e.message),
        ),
      );
      assert.equal(run.events.at(-1)!.type, 'deploy-finished');
      assert.ok(!run.stdout.includes('first-password'));

      const deployment = await getJson(['get', 'deployment', 'web', '-n', ns.name]);
      assert.equal(deployment.spec.template.spec.containers[0].image, 'example.com/shop:1');
      assert.equal((await getJson(['get', 'configmap', 'web-config', '-n', ns.name])).data.GREETING, 'one');
      const db = await getJson(['get', 'secret', 'db', '-n', ns.name]);
      assert.equal(Buffer.from(db.data.PASSWORD, 'base64').toString(), 'first-password');
      await assert.rejects(kubectl(['get', 'service', 'extra', '-n', ns.name]), /not found/i);

      const history = await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir });
      const entries = JSON.parse(history.stdout) as any[];
      assert.deepEqual(
        entries.map((e) => [e.release, e.outcome, e.rolledBackTo]),
        [
          [3, 'rolled-back', 1],
          [2, 'succeeded', undefined],
          [1, 'succeeded', undefined],
        ],
      );
      assert.ok(
        !history.stdout.includes(Buffer.from('first-password').toString('base64')),
        'no manifests, so no Secret values',
      );
      const lease = await getJson(['get', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
      assert.equal(lease.spec.holderIdentity, undefined);
      assert.ok(
        hook.bodies.some((b) => b.event === 'rolled-back' && b.rolledBackTo === 1 && b.release === 3),
        JSON.stringify(hook.bodies),
      );

      const forward = await capstan(['rollback', 'test', '--to', '2', '--timeout', '2m'], {
        cwd: app.dir,
        env,
      });
      assert.equal(forward.code, 0, forward.stdout + forward.stderr);
      assert.match(
        forward.stdout,
        /^Rolling back shop in test \(namespace rel-rollback-\w+\) to release 2, as release 4, image example.com\/shop:2$/m,
      );
      assert.match(forward.stdout, /rolled back to release 2/);
      assert.doesNotMatch(forward.stdout, /hook Jobs are not undone/, 'no hook ran after release 2');
      assert.equal((await getJson(['get', 'configmap', 'web-config', '-n', ns.name])).data.GREETING, 'two');
      await getJson(['get', 'service', 'extra', '-n', ns.name]);
    } finally {
      app.cleanup();
      await hook.close();
      await ns.remove();
    }
  });
});

describe('rollback on failure', () => {
  const web = (image: string, scenario?: string) =>
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        progressDeadlineSeconds: 600,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', ...(scenario ? { 'capstan.test/scenario': scenario } : {}) } },
          spec: { containers: [{ name: 'web', image }] },
        },
      },
    });
  const imageOfWeb = async (ns: string) =>
    (await getJson(['get', 'deployment', 'web', '-n', ns])).spec.template.spec.containers[0].image as string;

  it('puts back the last succeeded release after a failed deploy, and still exits 1; onFailure: rollback does the same', async () => {
    const ns = await freshNamespace('rollback-on-failure');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/30-deployment/web.yaml': web('example.com/shop:1'),
    });
    try {
      // A first deploy that fails has nothing to go back to: it says so and leaves the cluster be.
      app.write('.deploy/test/30-deployment/web.yaml', web('example.com/shop:0', 'crashloop'));
      const first = await capstan(
        ['deploy', 'test', '--timeout', '2m', '--rollback-on-failure', '-o', 'plain'],
        {
          cwd: app.dir,
        },
      );
      assert.equal(first.code, 1, first.stdout + first.stderr);
      assert.match(first.stdout, /no release before 1 succeeded, so there is nothing to roll back to/);

      app.write('.deploy/test/30-deployment/web.yaml', web('example.com/shop:1'));
      assert.equal((await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir })).code, 0);
      app.write('.deploy/test/30-deployment/web.yaml', web('example.com/shop:2', 'crashloop'));
      const failed = await capstan(
        ['deploy', 'test', '--timeout', '2m', '--rollback-on-failure', '-o', 'plain'],
        {
          cwd: app.dir,
        },
      );
      const out = failed.stdout + failed.stderr;
      assert.equal(failed.code, 1, out);
      assert.match(out, /CrashLoopBackOff/);
      assert.ok(
        out.indexOf('deploy failed') < out.indexOf('rolled back to release 2'),
        `the deploy is closed before the rollback:\n${out}`,
      );
      assert.equal(await imageOfWeb(ns.name), 'example.com/shop:1');

      // The environment's onFailure says the same without the flag.
      app.write(
        '.deploy/capstan.yaml',
        capstanYaml('shop', ns.name).replace(
          `namespace: ${ns.name}\n`,
          `namespace: ${ns.name}\n    onFailure: rollback\n`,
        ),
      );
      app.write('.deploy/test/30-deployment/web.yaml', web('example.com/shop:3', 'crashloop'));
      const again = await capstan(['deploy', 'test', '--timeout', '2m', '-o', 'json'], { cwd: app.dir });
      assert.equal(again.code, 1, again.stdout + again.stderr);
      assert.ok(
        again.events.some((e) => e.type === 'rollback-started' && e.target === 2),
        again.stdout,
      );
      assert.equal(await imageOfWeb(ns.name), 'example.com/shop:1');

      const history = await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir });
      assert.deepEqual(
        (JSON.parse(history.stdout) as any[]).map((r) => [r.release, r.outcome]),
        [
          [6, 'rolled-back'],
          [5, 'failed'],
          [4, 'rolled-back'],
          [3, 'failed'],
          [2, 'succeeded'],
          [1, 'failed'],
        ],
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
