// capstan deploy against the local control plane: phases in order, failure diagnosis, bad input
// leaving the cluster untouched, no needless restarts, config rolls, prune, restricted identity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, grantRestricted, testCluster } from './helpers.js';

const web = (extraEnv = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: <%= image %>
          envFrom: [{ configMapRef: { name: web-config } }]${extraEnv}
`;

const worker = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 1
  selector: { matchLabels: { app: worker } }
  template:
    metadata: { labels: { app: worker } }
    spec:
      containers:
        - name: worker
          image: <%= image %>
          envFrom: [{ configMapRef: { name: worker-config } }]
`;

const configMaps = (webValue: string, workerValue: string) => `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { GREETING: "${webValue}" }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: worker-config }
data: { QUEUE: "${workerValue}" }
`;

async function podNames(ns: string, selector: string): Promise<string[]> {
  const list = await getJson<{ items: any[] }>([
    'get',
    'pods',
    '-n',
    ns,
    '-l',
    selector,
    '--field-selector=status.phase=Running',
  ]);
  return list.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.name as string)
    .sort();
}

describe('capstan deploy', () => {
  it('runs phases in order: migration before the rollout, seeds after', async () => {
    const ns = await freshNamespace('deploy-phases');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/10-configuration/config.yaml': configMaps('hello', 'default'),
      '.deploy/test/20-predeployment/migrate.yaml.ejs': `apiVersion: batch/v1
kind: Job
metadata: { name: db-migrate-<%= deployId %> }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: <%= image %>, envFrom: [{ configMapRef: { name: web-config } }] }]
`,
      '.deploy/test/30-deployment/web.yaml.ejs': web(),
      '.deploy/test/40-postdeployment/seeds.yaml.ejs': `apiVersion: batch/v1
kind: Job
metadata: { name: seeds-<%= deployId %> }
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: seeds, image: <%= image %> }]
`,
    });
    try {
      const run = await capstan(
        ['deploy', 'test', '--image', 'example.com/shop:1', '-o', 'json', '--timeout', '2m'],
        { cwd: app.dir },
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const order = run.events
        .filter((e) => e.type === 'object-ready' || e.type === 'object-applied')
        .map((e) => `${e.type}:${e.object.kind}/${e.object.name.split('-')[0]}`);
      const migrated = order.indexOf('object-ready:Job/db');
      const webApplied = order.indexOf('object-applied:Deployment/web');
      const webReady = order.indexOf('object-ready:Deployment/web');
      const seedsApplied = order.indexOf('object-applied:Job/seeds');
      assert.ok(
        migrated >= 0 && migrated < webApplied,
        `migration finished before web changed: ${order.join(', ')}`,
      );
      assert.ok(webReady < seedsApplied, 'seeds ran after the rollout');
      const finished = run.events.at(-1)!;
      assert.equal(finished.type, 'deploy-finished');
      assert.equal(finished.outcome, 'succeeded');
      const deployment = await getJson(['get', 'deployment', 'web', '-n', ns.name]);
      assert.equal(deployment.metadata.labels['app.kubernetes.io/managed-by'], 'capstan');
      assert.equal(deployment.status.availableReplicas, 2);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('fails a crashlooping Deployment with the reason and the log lines', async () => {
    const ns = await freshNamespace('deploy-crash');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('crashy', ns.name),
      '.deploy/test/30-deployment/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  progressDeadlineSeconds: 60
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web, capstan.test/scenario: crashloop } }
    spec: { containers: [{ name: web, image: example.com/web:1 }] }
`,
    });
    try {
      const run = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /Most likely cause: .*crash/i);
      assert.match(run.stdout, /CrashLoopBackOff/);
      assert.match(run.stdout, /exiting with code 1/, "the previous container's log lines are shown");
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  for (const [name, file, content, pattern] of [
    [
      'a YAML syntax error',
      'bad.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n',
      /bad\.yaml:\d+/,
    ],
    [
      'an unknown field',
      'unknown.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndatta:\n  a: b\n',
      /unknown\.yaml.*datta/s,
    ],
    [
      'a template exception',
      'broken.yaml.ejs',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: "<%= values.missing.deep %>"\n',
      /broken\.yaml\.ejs:6/,
    ],
  ] as const) {
    it(`exits 2 on ${name}, naming file and line, creating nothing`, async () => {
      const ns = await freshNamespace('deploy-invalid');
      const app = writeApp({
        '.deploy/capstan.yaml': capstanYaml('bad', ns.name),
        '.deploy/test/10-configuration/good.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  a: b\n',
        [`.deploy/test/10-configuration/${file}`]: content,
      });
      try {
        const run = await capstan(['deploy', 'test', '--image', 'x:1', '-o', 'json'], { cwd: app.dir });
        assert.equal(run.code, 2, run.stdout + run.stderr);
        assert.match(run.stderr, pattern);
        assert.equal(run.events.at(-1)?.outcome, 'invalid', 'the event stream ends with deploy-finished');
        const cms = await getJson<{ items: any[] }>([
          'get',
          'configmaps',
          '-n',
          ns.name,
          '-l',
          'app.kubernetes.io/managed-by=capstan',
        ]);
        assert.equal(cms.items.length, 0, 'nothing was applied');
      } finally {
        app.cleanup();
        await ns.remove();
      }
    });
  }

  it('restarts nothing when unchanged, rolls only the pods whose ConfigMap changed, prunes removed files', async () => {
    const ns = await freshNamespace('deploy-rolls');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('rolls', ns.name),
      '.deploy/test/10-configuration/config.yaml': configMaps('hello', 'q1'),
      '.deploy/test/30-deployment/web.yaml.ejs': web(),
      '.deploy/test/30-deployment/worker.yaml.ejs': worker,
      '.deploy/test/30-deployment/extra.yaml':
        'apiVersion: v1\nkind: Service\nmetadata: { name: extra }\nspec:\n  ports: [{ port: 80 }]\n',
    });
    const deployOnce = async () => {
      const run = await capstan(['deploy', 'test', '--image', 'example.com/app:1', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
    };
    try {
      await deployOnce();
      const web1 = await podNames(ns.name, 'app=web');
      const worker1 = await podNames(ns.name, 'app=worker');
      await deployOnce();
      assert.deepEqual(await podNames(ns.name, 'app=web'), web1, 'an unchanged deploy restarts no pod');
      assert.deepEqual(await podNames(ns.name, 'app=worker'), worker1);

      app.write('.deploy/test/10-configuration/config.yaml', configMaps('changed', 'q1'));
      app.remove('.deploy/test/30-deployment/extra.yaml');
      await deployOnce();
      const web3 = await podNames(ns.name, 'app=web');
      assert.equal(web3.filter((p) => web1.includes(p)).length, 0, 'web pods rolled');
      assert.deepEqual(await podNames(ns.name, 'app=worker'), worker1, 'worker pods did not');
      const services = await getJson<{ items: any[] }>(['get', 'services', '-n', ns.name]);
      assert.equal(
        services.items.filter((s) => s.metadata.name === 'extra').length,
        0,
        'the removed file was pruned',
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('deploys as the restricted identity', async () => {
    const ns = await freshNamespace('deploy-restricted');
    await grantRestricted(ns.name);
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('limited', ns.name),
      '.deploy/test/10-configuration/config.yaml': configMaps('hi', 'q'),
      '.deploy/test/30-deployment/web.yaml.ejs': web(),
    });
    try {
      const run = await capstan(['deploy', 'test', '--image', 'example.com/app:1', '--timeout', '2m'], {
        cwd: app.dir,
        kubeconfig: testCluster().restrictedKubeconfig,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
