// The scheduling preflight in `capstan deploy`: a workload that cannot be placed stops the deploy
// before any write (exit 2), surge pods count, --skip-preflight turns it off, and an identity
// that may not list nodes gets a warning instead.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, grantRestricted, testCluster } from './helpers.js';

const web = (o: {
  cpu: string;
  replicas?: number;
  version?: string;
  strategy?: string;
}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${o.replicas ?? 1}
  selector: { matchLabels: { app: web } }
  ${o.strategy ?? ''}
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: <%= image %>
          env: [{ name: VERSION, value: "${o.version ?? '1'}" }]
          resources: { requests: { cpu: "${o.cpu}", memory: 64Mi } }
`;

const config = `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { GREETING: hi }
`;

function app(ns: string, deployment: string) {
  return writeApp({
    '.deploy/capstan.yaml': capstanYaml('pre', ns),
    '.deploy/test/10-configuration/config.yaml': config,
    '.deploy/test/30-deployment/web.yaml.ejs': deployment,
  });
}

describe('scheduling preflight in deploy', () => {
  it('refuses a workload that fits no node: exit 2, nothing applied, no release recorded; --skip-preflight goes on', async () => {
    const ns = await freshNamespace('preflight-refused');
    const dir = app(ns.name, web({ cpu: '100' }));
    try {
      for (const dryRun of [[], ['--dry-run']]) {
        const run = await capstan(
          ['deploy', 'test', '--image', 'example.com/app:1', '-o', 'json', ...dryRun],
          {
            cwd: dir.dir,
          },
        );
        assert.equal(run.code, 2, run.stdout + run.stderr);
        const pre = run.events.find((e) => e.type === 'preflight-finished');
        assert.equal(pre?.problems.length, 1);
        assert.deepEqual(pre?.problems[0].object, { kind: 'Deployment', name: 'web', namespace: ns.name });
        assert.match(
          pre?.problems[0].message,
          /^Deployment\/web: 1 of 1 pod would not schedule: 0\/\d+ nodes are available: \d+ Insufficient cpu\./,
        );
        const finished = run.events.at(-1)!;
        assert.equal(finished.outcome, 'invalid');
        assert.match(finished.message, /scheduling preflight: Deployment\/web/);
        assert.deepEqual(finished.applied, []);
      }
      const objects = await getJson<{ items: any[] }>([
        'get',
        'deployments,configmaps,leases',
        '-n',
        ns.name,
      ]);
      assert.deepEqual(
        objects.items
          .map((o) => `${o.kind}/${o.metadata.name}`)
          .filter((n) => n !== 'ConfigMap/kube-root-ca.crt'),
        [],
      );
      const releases = await getJson<{ items: any[] }>([
        'get',
        'secrets',
        '-n',
        ns.name,
        '-l',
        'capstan.dev/release=true',
      ]);
      assert.equal(releases.items.length, 0);
      const skipped = await capstan(
        ['deploy', 'test', '--image', 'example.com/app:1', '-o', 'json', '--dry-run', '--skip-preflight'],
        { cwd: dir.dir },
      );
      assert.equal(skipped.code, 0, skipped.stdout + skipped.stderr);
      assert.equal(
        skipped.events.find((e) => e.type === 'preflight-finished'),
        undefined,
      );
    } finally {
      dir.cleanup();
      await ns.remove();
    }
  });

  it('refuses a rolling update whose surge pod fits nowhere while the current pods fit', async () => {
    const ns = await freshNamespace('preflight-surge');
    const strategy = 'strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }';
    const dir = app(ns.name, web({ cpu: '5', replicas: 6, strategy }));
    try {
      const first = await capstan(
        ['deploy', 'test', '--image', 'example.com/app:1', '-o', 'json', '--timeout', '2m'],
        {
          cwd: dir.dir,
        },
      );
      assert.equal(first.code, 0, first.stdout + first.stderr);
      dir.write(
        '.deploy/test/30-deployment/web.yaml.ejs',
        web({ cpu: '5', replicas: 6, strategy, version: '2' }),
      );
      const second = await capstan(['deploy', 'test', '--image', 'example.com/app:1', '-o', 'json'], {
        cwd: dir.dir,
      });
      assert.equal(second.code, 2, second.stdout + second.stderr);
      const message = second.events.at(-1)!.message as string;
      assert.match(
        message,
        /Deployment\/web: 1 surge pod of the rolling update would not schedule: 0\/6 nodes are available: 6 Insufficient cpu\. .* Free: (?:3 cpu per node|at most [\d.]+ cpu on a node); each pod requests 5\. Set maxUnavailable >= 1, or add capacity\./,
      );
      const live = await getJson(['get', 'deployment', 'web', '-n', ns.name]);
      assert.equal(live.metadata.generation, 1);
    } finally {
      dir.cleanup();
      await ns.remove();
    }
  });

  it('warns and goes on when the identity may not read what the preflight needs', async () => {
    const ns = await freshNamespace('preflight-restricted');
    await grantRestricted(ns.name);
    const dir = app(ns.name, web({ cpu: '100m' }));
    try {
      const run = await capstan(
        ['deploy', 'test', '--image', 'example.com/app:1', '-o', 'json', '--dry-run'],
        {
          cwd: dir.dir,
          kubeconfig: testCluster().restrictedKubeconfig,
        },
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const warning = run.events.find(
        (e) => e.type === 'warning' && /scheduling preflight skipped/.test(e.message),
      );
      assert.match(
        warning?.message,
        /^scheduling preflight skipped: cannot list \S+ (at the cluster scope|in namespace \S+) as capstan-deployer/,
      );
    } finally {
      dir.cleanup();
      await ns.remove();
    }
  });
});
