// capstan watch through an API outage: the API server stopped for 20 s while a Deployment starts
// crash-looping. The outage is reported once it outlasts the grace period, and resolved once the
// API server answers again; the crash loop found by the re-list is reported exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { restartProcess } from '../cluster/processes.js';
import { capstan, capstanYaml, spawnCapstan, writeApp } from './cli-helpers.js';
import { freshNamespace, kubectl, testCluster, waitFor, webhookReceiver } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Rolling update: the old pods stay while the new ones crash.
const web = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: { name: web }',
  'spec: { replicas: 2, selector: { matchLabels: { app: web } }, template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: app, image: "<%= image %>" }] } } }',
].join('\n');

async function apiServerReady(): Promise<void> {
  await waitFor('API server ready', 90_000, async () =>
    (await kubectl(['get', '--raw', '/readyz']).catch(() => '')).includes('ok'),
  );
}

/** The app `shop` deployed once to a namespace of its own, notifying the webhook at HOOK_URL. */
async function deployedShop() {
  const ns = await freshNamespace('watch-outage');
  const notifications = 'notifications:\n  - type: webhook\n    urlEnv: HOOK_URL\n';
  const files = {
    '.deploy/capstan.yaml': capstanYaml('shop', ns.name, notifications),
    '.deploy/test/30-deployment/web.yaml.ejs': web,
  };
  const app = writeApp(files);
  const args = ['deploy', 'test', '--image', 'registry.example/shop:2.0.0', '--timeout', '1m'];
  const deploy = await capstan(args, { cwd: app.dir });
  assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
  return { ns, app };
}

describe('capstan watch through an API outage', () => {
  let shop: Awaited<ReturnType<typeof deployedShop>> | undefined;
  before(async () => {
    shop = await deployedShop();
  });
  after(async () => {
    shop?.app.cleanup();
    await shop?.ns.remove();
  });

  it('the API server stopped for 20 s as a crash loop starts: one outage message and its resolution, the crash loop reported exactly once', async () => {
    const { ns, app } = shop!;
    const hook = await webhookReceiver([200]);
    const watcher = spawnCapstan(['watch', 'test', '--grace', '3s', '--tick', '300ms'], {
      cwd: app.dir,
      env: { HOOK_URL: hook.url },
    });
    const output = () => `\nwatcher:\n${watcher.output()}`;
    let restart: Promise<number> | undefined;
    try {
      await waitFor('the watcher', 40_000, () => Promise.resolve(/started: /.test(watcher.output())));
      const patch = {
        spec: { template: { metadata: { labels: { 'capstan.test/scenario': 'crashloop' } } } },
      };
      await kubectl([
        'patch',
        'deployment',
        'web',
        '-n',
        ns.name,
        '--type=merge',
        '-p',
        JSON.stringify(patch),
      ]);
      // A new pod exists and starts crashing; the watcher learns of it only after the outage.
      await waitFor('a crash-looping pod', 20_000, async () => {
        const pods = await kubectl([
          'get',
          'pods',
          '-n',
          ns.name,
          '-l',
          'capstan.test/scenario=crashloop',
          '-o',
          'name',
        ]);
        return pods.trim().split('\n').filter(Boolean).length > 0;
      });
      restart = restartProcess(testCluster().runDir, 'kube-apiserver', 20_000);
      await waitFor('the outage message', 20_000, () =>
        Promise.resolve(hook.bodies.some((m) => m.event === 'incident' && m.workload === undefined)),
      ).catch((error: Error) => assert.fail(error.message + output()));
      await restart;
      await apiServerReady();
      await waitFor('the crash loop message', 60_000, () =>
        Promise.resolve(hook.bodies.some((m) => m.event === 'incident' && m.cause === 'crash loop')),
      ).catch((error: Error) => assert.fail(error.message + output()));
      await sleep(3000);
      const texts = JSON.stringify(hook.bodies.map((b) => b.text)) + output();
      const outage = hook.bodies.filter((m) => m.workload === undefined);
      assert.deepEqual(
        outage.map((m) => [m.event, m.cause]),
        [
          ['incident', 'API server not answering'],
          ['resolved', 'API server not answering'],
        ],
        texts,
      );
      assert.match(
        outage[0].text,
        /^Incident in shop\/test: API server not answering \(live release 1, .*\): the API server has not answered since \S+Z/,
      );
      // None lost, none duplicated.
      const workloads = hook.bodies
        .filter((m) => m.workload !== undefined)
        .map((m) => `${m.event} ${m.workload} ${m.cause}`);
      assert.equal(workloads.filter((w) => w === 'incident Deployment/web crash loop').length, 1, texts);
      assert.equal(new Set(workloads).size, workloads.length, texts);
      assert.match(watcher.output(), /api-trouble: [^]*outage-sent: [^]*api-back: [^]*outage-sent: /);
    } finally {
      watcher.child.kill('SIGTERM');
      await watcher.exited;
      await restart?.catch(() => 0);
      await apiServerReady();
      await hook.close();
    }
  });
});
