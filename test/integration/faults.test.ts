// Faults a deploy survives on the real control plane: the API server away for 10 s when a phase
// starts, etcd restarted mid-deploy, 429s from API Priority and Fairness, Capstan itself killed
// with SIGKILL and run again, and two deploys started at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { RESTRICTED_USER } from '../cluster/cluster.js';
import { alive, restartProcess } from '../cluster/processes.js';
import { capstan, capstanYaml, writeApp, type CliRun } from './cli-helpers.js';
import { freshNamespace, getJson, grantRestricted, kubectl, testCluster, waitFor } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/capstan.js', import.meta.url));

function deployment(name: string, options: { replicas?: number; readyAfter?: number } = {}): string {
  const { replicas = 2, readyAfter } = options;
  const labels = { app: name, ...(readyAfter === undefined ? {} : { 'capstan.test/scenario': 'slow' }) };
  const annotations = readyAfter === undefined ? {} : { 'capstan.test/ready-after': String(readyAfter) };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels, annotations },
        spec: { containers: [{ name, image: `example.com/${name}:1` }] },
      },
    },
  });
}

function configMaps(prefix: string, count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${prefix}-${i} }\ndata: { INDEX: "${i}" }\n`,
  ).join('---\n');
}

async function apiServerReady(): Promise<void> {
  await waitFor('API server ready', 90_000, async () =>
    (await kubectl(['get', '--raw', '/readyz'])).includes('ok'),
  );
}

async function history(dir: string): Promise<Array<Record<string, any>>> {
  const run = await capstan(['history', 'test', '-o', 'json'], { cwd: dir });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  return JSON.parse(run.stdout) as Array<Record<string, any>>;
}

async function lockFree(namespace: string): Promise<boolean> {
  const leases = await getJson<{ items: any[] }>(['get', 'leases', '-n', namespace]);
  return leases.items.every((l) => !l.spec.holderIdentity);
}

const output = (run: CliRun) => run.stdout + run.stderr;

describe('faults a deploy survives', () => {
  it('completes when the API server stops as a phase starts and comes back 10 s later', async () => {
    const ns = await freshNamespace('fault-api');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('apidown', ns.name),
      '.deploy/test/10-configuration/settings.yaml': configMaps('settings', 3),
      '.deploy/test/30-deployment/web.yaml': deployment('web'),
      '.deploy/test/30-deployment/more.yaml': configMaps('more', 5),
    });
    let restart: Promise<number> | undefined;
    try {
      const run = await capstan(['deploy', 'test', '--timeout', '4m', '-o', 'json'], {
        cwd: app.dir,
        onEvent: (event) => {
          if (event.type === 'phase-started' && event.phase === '30-deployment' && !restart)
            restart = restartProcess(testCluster().runDir, 'kube-apiserver', 10_000);
        },
      });
      assert.ok(restart, 'the API server was stopped');
      await restart;
      assert.equal(run.code, 0, output(run));
      await apiServerReady();
      assert.equal((await history(app.dir))[0].outcome, 'succeeded');
      assert.ok(await lockFree(ns.name), 'the lock was released');
      assert.equal((await getJson(['get', 'deployment', 'web', '-n', ns.name])).status.readyReplicas, 2);
    } finally {
      await restart?.catch(() => 0);
      await apiServerReady();
      app.cleanup();
      await ns.remove();
    }
  });

  it('completes when etcd restarts mid-deploy', async () => {
    const ns = await freshNamespace('fault-etcd');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('etcdown', ns.name),
      '.deploy/test/30-deployment/web.yaml': deployment('web', { readyAfter: 8 }),
      '.deploy/test/30-deployment/settings.yaml': configMaps('settings', 3),
      '.deploy/test/40-postdeployment/later.yaml': configMaps('later', 3),
    });
    let restart: Promise<number> | undefined;
    try {
      const run = await capstan(['deploy', 'test', '--timeout', '4m', '-o', 'json'], {
        cwd: app.dir,
        onEvent: (event) => {
          if (event.type === 'object-applied' && event.object?.kind === 'Deployment' && !restart)
            restart = restartProcess(testCluster().runDir, 'etcd', 3000);
        },
      });
      assert.ok(restart, 'etcd was restarted');
      await restart;
      assert.equal(run.code, 0, output(run));
      await apiServerReady();
      assert.equal((await history(app.dir))[0].outcome, 'succeeded');
      assert.ok(await lockFree(ns.name), 'the lock was released');
      await getJson(['get', 'configmap', 'later-2', '-n', ns.name]);
    } finally {
      await restart?.catch(() => 0);
      await apiServerReady();
      app.cleanup();
      await ns.remove();
    }
  });

  it('completes a 300-object deploy through 429s from API Priority and Fairness, waiting as Retry-After says', async (t) => {
    const ns = await freshNamespace('fault-apf');
    const name = `capstan-test-tiny-${randomBytes(3).toString('hex')}`;
    // One share of the server's concurrency, none borrowed or lent, and no queue: past a handful
    // of requests in flight, the deploying identity gets 429 Too Many Requests at once.
    const flowControl = `apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: { name: ${name} }
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: { type: Reject }
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: { name: ${name} }
spec:
  priorityLevelConfiguration: { name: ${name} }
  matchingPrecedence: 500
  distinguisherMethod: { type: ByUser }
  rules:
    - subjects: [{ kind: User, user: { name: ${RESTRICTED_USER} } }]
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }]
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }]
`;
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('throttled', ns.name, 'deploy:\n  concurrency: 64\n'),
      '.deploy/test/10-configuration/settings.yaml': configMaps('settings', 299),
      '.deploy/test/30-deployment/web.yaml': deployment('web'),
    });
    const rejected = async (): Promise<number> => {
      const metrics = await kubectl(['get', '--raw', '/metrics']);
      return metrics
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('apiserver_flowcontrol_rejected_requests_total{') &&
            l.includes(`flow_schema="${name}"`),
        )
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    };
    try {
      await grantRestricted(ns.name);
      await kubectl(['apply', '-f', '-'], flowControl);
      await waitFor('FlowSchema in use', 30_000, async () => {
        const fs = await getJson(['get', 'flowschema', name]);
        return (fs.status?.conditions ?? []).some((c: any) => c.type === 'Dangling' && c.status === 'False');
      });
      const run = await capstan(['deploy', 'test', '--timeout', '5m'], {
        cwd: app.dir,
        kubeconfig: testCluster().restrictedKubeconfig,
      });
      const count = await rejected();
      t.diagnostic(`429 Too Many Requests answered to the deploy: ${count}`);
      assert.equal(run.code, 0, output(run));
      assert.ok(count > 0, "API Priority and Fairness rejected some of the deploy's requests");
      const applied = await getJson<{ items: any[] }>([
        'get',
        'configmaps',
        '-n',
        ns.name,
        '-l',
        'capstan.dev/app=throttled',
      ]);
      assert.equal(applied.items.length, 299);
    } finally {
      await kubectl(['delete', 'flowschema,prioritylevelconfiguration', name, '--ignore-not-found']);
      app.cleanup();
      await ns.remove();
    }
  });

  it('takes over the lock of a deploy killed with SIGKILL once it expires, marks that deploy interrupted, and completes', async () => {
    const ns = await freshNamespace('fault-kill');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('killed', ns.name),
      '.deploy/test/30-deployment/web.yaml': deployment('web', { readyAfter: 20 }),
    });
    const child = spawn(
      process.execPath,
      [
        BIN,
        '--kubeconfig',
        testCluster().kubeconfig,
        '--cwd',
        app.dir,
        'deploy',
        'test',
        '--timeout',
        '3m',
        '-o',
        'json',
      ],
      {
        env: { ...process.env, CAPSTAN_USE_SOURCE: '1', CAPSTAN_USER: 'killed-user' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let childOutput = '';
    child.stdout.on('data', (c: Buffer) => (childOutput += c.toString()));
    child.stderr.on('data', (c: Buffer) => (childOutput += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    try {
      await waitFor('the first deploy in its deployment phase', 60_000, () =>
        Promise.resolve(
          childOutput.includes('"type":"object-applied"') && childOutput.includes('"kind":"Deployment"'),
        ),
      );
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      await waitFor('the killed process gone', 10_000, () => Promise.resolve(!alive(child.pid!)));
      const killed = await history(app.dir);
      assert.equal(killed[0].outcome, 'running', 'the killed deploy left its record running');
      // Expiry is judged on the Lease's own duration: 5 s, as a holder with a short lease would have
      // written it, instead of waiting out the default 60 s.
      await kubectl([
        'patch',
        'lease',
        'capstan-lock-killed-test',
        '-n',
        ns.name,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { leaseDurationSeconds: 5 } }),
      ]);

      const run = await capstan(['deploy', 'test', '--timeout', '3m'], {
        cwd: app.dir,
        env: { CAPSTAN_USER: 'second-user' },
      });
      assert.equal(run.code, 0, output(run));
      assert.match(output(run), new RegExp(`locked by killed-user@\\S+ \\(pid ${child.pid}\\)`));
      assert.match(output(run), new RegExp(`process ${child.pid} no longer runs on this machine`));
      assert.match(output(run), /took over the lock of killed\/test from killed-user/);
      const records = await history(app.dir);
      assert.deepEqual(
        records.map((r) => [r.release, r.outcome]),
        [
          [2, 'succeeded'],
          [1, 'interrupted'],
        ],
      );
      assert.ok(records[1].lockRenewedAt, 'the interrupted record says when its lock was last renewed');
      assert.ok(records[1].finishedAt, 'the interrupted record is finished');
      assert.ok(await lockFree(ns.name), 'the lock was released');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      app.cleanup();
      await ns.remove();
    }
  });

  it('lets exactly one of two deploys started at once proceed; the other exits 4 naming the holder', async () => {
    const ns = await freshNamespace('fault-twice');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('twice', ns.name),
      '.deploy/test/30-deployment/web.yaml': deployment('web', { readyAfter: 10 }),
    });
    try {
      const runs = await Promise.all(
        ['alice', 'bob'].map((user) =>
          capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir, env: { CAPSTAN_USER: user } }),
        ),
      );
      const codes = runs.map((r) => r.code).sort();
      assert.deepEqual(codes, [0, 4], runs.map(output).join('\n----\n'));
      const winner = runs[0].code === 0 ? 'alice' : 'bob';
      const refused = runs.find((r) => r.code === 4)!;
      assert.match(output(refused), new RegExp(`locked by ${winner}@`));
      assert.match(output(refused), /expires in \d+s; or run capstan unlock test/);
      assert.deepEqual(
        (await history(app.dir)).map((r) => r.outcome),
        ['succeeded'],
      );
      assert.ok(await lockFree(ns.name));
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
