// Deploys record releases, hold the lock, notify, can be rolled back, show a diff before
// applying, and survive the API server restarting in the middle.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { restartProcess } from '../cluster/processes.js';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, testCluster, waitFor } from './helpers.js';

function web(
  tag: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', ...labels }, annotations },
        spec: { containers: [{ name: 'web', image: `example.com/web:${tag}` }] },
      },
    },
  });
}

async function receiver(): Promise<{ url: string; bodies: Array<Record<string, any>>; server: Server }> {
  const bodies: Array<Record<string, any>> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(body) as Record<string, any>);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hook`, bodies, server };
}

const notifications = '\nnotifications:\n  - type: webhook\n    urlEnv: TEST_HOOK_URL\n';

describe('deploys with release records', () => {
  it('records each deploy, notifies, and rolls back to the last good release', async () => {
    const ns = await freshNamespace('rel-deploy');
    const hook = await receiver();
    const env = { TEST_HOOK_URL: hook.url };
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name) + notifications,
      '.deploy/test/30-deployment/web.yaml': web('1'),
    });
    try {
      assert.equal((await capstan(['deploy', 'test'], { cwd: app.dir, env })).code, 0);
      app.write('.deploy/test/30-deployment/web.yaml', web('2', { 'capstan.test/scenario': 'crashloop' }));
      const broken = await capstan(['deploy', 'test', '--timeout', '60s'], { cwd: app.dir, env });
      assert.equal(broken.code, 1);

      const history = await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir });
      assert.equal(history.code, 0, history.stderr);
      const records = JSON.parse(history.stdout) as Array<Record<string, any>>;
      assert.deepEqual(
        records.map((r) => [r.release, r.outcome]),
        [
          [2, 'failed'],
          [1, 'succeeded'],
        ],
      );
      assert.deepEqual(records[1].images, ['example.com/web:1']);

      const rolled = await capstan(['rollback', 'test', '--timeout', '60s'], { cwd: app.dir, env });
      assert.equal(rolled.code, 0, rolled.stdout + rolled.stderr);
      const deployment = await getJson(['get', 'deployment', 'web', '-n', ns.name]);
      assert.equal(deployment.spec.template.spec.containers[0].image, 'example.com/web:1');
      const after = JSON.parse(
        (await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir })).stdout,
      ) as Array<Record<string, any>>;
      assert.equal(after[0].outcome, 'rolled-back');
      assert.equal(after[0].rolledBackTo, 1);

      const kinds = hook.bodies.map((b) => b.event ?? b.kind);
      assert.deepEqual(kinds.slice(0, 4), ['started', 'succeeded', 'started', 'failed']);
      assert.ok(kinds.includes('rolled-back'));
      const lease = await getJson<{ items: any[] }>(['get', 'leases', '-n', ns.name]);
      assert.ok(
        lease.items.every((l) => !l.spec.holderIdentity),
        'the lock was released every time',
      );
    } finally {
      hook.server.close();
      app.cleanup();
      await ns.remove();
    }
  });

  it('refuses a second deploy while the first holds the lock, naming the holder', async () => {
    const ns = await freshNamespace('rel-lock');
    // Slow enough that the second deploy sees the first renew its lock before the first is done.
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('locky', ns.name),
      '.deploy/test/30-deployment/web.yaml': web(
        '1',
        { 'capstan.test/scenario': 'slow' },
        { 'capstan.test/ready-after': '15' },
      ),
    });
    try {
      const first = capstan(['deploy', 'test', '--timeout', '60s'], {
        cwd: app.dir,
        env: { CAPSTAN_USER: 'alice' },
      });
      await waitFor('first deploy holding the lock', 20_000, async () => {
        const leases = await getJson<{ items: any[] }>(['get', 'leases', '-n', ns.name]);
        return leases.items.some((l) => l.spec.holderIdentity);
      });
      const second = await capstan(['deploy', 'test'], { cwd: app.dir, env: { CAPSTAN_USER: 'bob' } });
      assert.equal(second.code, 4, second.stdout + second.stderr);
      assert.match(second.stdout + second.stderr, /alice/);
      assert.equal((await first).code, 0);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('shows a diff and refuses to apply it without a terminal unless --yes', async () => {
    const ns = await freshNamespace('rel-diff');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('diffy', ns.name),
      '.deploy/test/30-deployment/web.yaml': web('1'),
    });
    try {
      assert.equal((await capstan(['deploy', 'test'], { cwd: app.dir })).code, 0);
      app.write('.deploy/test/30-deployment/web.yaml', web('2'));
      const refused = await capstan(['deploy', 'test', '--diff'], { cwd: app.dir });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /no terminal/);
      const diff = await capstan(['diff', 'test'], { cwd: app.dir });
      assert.equal(diff.code, 0, diff.stderr);
      assert.match(diff.stdout, /-\s+.*example\.com\/web:1/);
      assert.match(diff.stdout, /\+\s+.*example\.com\/web:2/);
      const applied = await capstan(['deploy', 'test', '--diff', '--yes'], { cwd: app.dir });
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      assert.match(applied.stdout, /example\.com\/web:2/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('completes a deploy when the API server restarts in the middle, releasing the lock', async () => {
    const ns = await freshNamespace('rel-restart');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('sturdy', ns.name),
      '.deploy/test/30-deployment/web.yaml': web('1', { 'capstan.test/scenario': 'slow' }),
    });
    try {
      const running = capstan(['deploy', 'test', '--timeout', '3m', '-o', 'json'], { cwd: app.dir });
      await waitFor(
        'web applied',
        20_000,
        async () =>
          (await getJson<{ items: any[] }>(['get', 'deployments', '-n', ns.name])).items.length === 1,
      );
      await restartProcess(testCluster().runDir, 'kube-apiserver', 1000);
      const run = await running;
      assert.equal(run.code, 0, run.stdout + run.stderr);
      await waitFor('API server back', 60_000, async () =>
        (await kubectl(['get', '--raw', '/readyz'])).includes('ok'),
      );
      const history = JSON.parse(
        (await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir })).stdout,
      ) as Array<Record<string, any>>;
      assert.equal(history[0].outcome, 'succeeded');
      const leases = await getJson<{ items: any[] }>(['get', 'leases', '-n', ns.name]);
      assert.ok(leases.items.every((l) => !l.spec.holderIdentity));
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
