// Rollouts as the controllers run them: a StatefulSet or DaemonSet is judged on the pods of its
// update revision only, so the fix for a crashlooping one can be deployed; an OrderedReady
// StatefulSet held up by a broken pod of the old revision says so, and --replace-broken-pods
// deletes that pod so the fix rolls out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson } from './helpers.js';

function statefulSet(options: { crash: boolean; policy?: 'OrderedReady' | 'Parallel' }): string {
  const labels = options.crash ? '{ app: db, capstan.test/scenario: crashloop }' : '{ app: db }';
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  replicas: 2
  serviceName: db
  podManagementPolicy: ${options.policy ?? 'OrderedReady'}
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: ${labels} }
    spec: { containers: [{ name: db, image: example.com/db:1 }] }
`;
}

// Surge: the controller keeps an old, unavailable pod until its replacement on the node is ready,
// so the old revision's crashlooping pods are there to be misjudged while the new ones start.
function daemonSet(crash: boolean): string {
  const labels = crash
    ? '{ app: agent, capstan.test/scenario: crashloop }'
    : '{ app: agent, capstan.test/scenario: slow }';
  return `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec:
  selector: { matchLabels: { app: agent } }
  updateStrategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata:
      labels: ${labels}
      annotations: { capstan.test/ready-after: "3" }
    spec: { containers: [{ name: agent, image: example.com/agent:1 }] }
`;
}

interface PodList {
  items: Array<{ metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string } }>;
}

async function revisions(ns: string, selector: string): Promise<string[]> {
  const pods = await getJson<PodList>(['get', 'pods', '-n', ns, '-l', selector]);
  return pods.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.labels['controller-revision-hash'] ?? '?');
}

/** Both pods of StatefulSet `db` run its update revision: the fix rolled out everywhere. */
async function assertBothPodsOnUpdateRevision(namespace: string): Promise<void> {
  const sts = await getJson<{ status: { updateRevision: string } }>([
    'get',
    'statefulset',
    'db',
    '-n',
    namespace,
  ]);
  assert.deepEqual(await revisions(namespace, 'app=db'), [
    sts.status.updateRevision,
    sts.status.updateRevision,
  ]);
}

describe('rollouts by update revision', () => {
  it('a Parallel StatefulSet: the fix for a crash loop rolls out', async () => {
    const ns = await freshNamespace('rollout-sts-par');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('store', ns.name),
      '.deploy/test/30-deployment/db.yaml': statefulSet({ crash: true, policy: 'Parallel' }),
    });
    try {
      const broken = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(broken.code, 1, broken.stdout + broken.stderr);
      assert.match(broken.stdout, /CrashLoopBackOff/);
      app.write('.deploy/test/30-deployment/db.yaml', statefulSet({ crash: false, policy: 'Parallel' }));
      const fixed = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
      await assertBothPodsOnUpdateRevision(ns.name);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('an OrderedReady StatefulSet blocked by its old broken pod: the command, then --replace-broken-pods', async () => {
    const ns = await freshNamespace('rollout-sts');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('store', ns.name),
      '.deploy/test/30-deployment/db.yaml': statefulSet({ crash: true }),
    });
    try {
      const broken = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(broken.code, 1, broken.stdout + broken.stderr);
      app.write('.deploy/test/30-deployment/db.yaml', statefulSet({ crash: false }));
      const blocked = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(blocked.code, 1, blocked.stdout + blocked.stderr);
      assert.match(
        blocked.stdout,
        /Most likely cause: the rolling update to revision db-\w+ is blocked by pod db-0 of the earlier revision/,
      );
      assert.ok(blocked.stdout.includes(`kubectl delete pod db-0 -n ${ns.name}`), blocked.stdout);
      assert.match(blocked.stdout, /--replace-broken-pods/);

      const replaced = await capstan(
        ['deploy', 'test', '--timeout', '2m', '--replace-broken-pods', '-o', 'json'],
        { cwd: app.dir },
      );
      assert.equal(replaced.code, 0, replaced.stdout + replaced.stderr);
      assert.ok(
        replaced.events.some(
          (e) => e.type === 'object-waiting' && /deleted pod db-0 .*earlier revision/.test(String(e.message)),
        ),
        'the deletion is reported',
      );
      await assertBothPodsOnUpdateRevision(ns.name);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('a DaemonSet: the fix for a crash loop rolls out while the old pods still crash', async () => {
    const ns = await freshNamespace('rollout-ds');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('agents', ns.name),
      '.deploy/test/30-deployment/agent.yaml': daemonSet(true),
    });
    try {
      const broken = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(broken.code, 1, broken.stdout + broken.stderr);
      app.write('.deploy/test/30-deployment/agent.yaml', daemonSet(false));
      const fixed = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
      const pods = await getJson<PodList>(['get', 'pods', '-n', ns.name, '-l', 'app=agent']);
      const live = pods.items.filter((p) => !p.metadata.deletionTimestamp);
      assert.ok(live.length > 0 && live.every((p) => p.metadata.labels['pod-template-generation'] === '2'));
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
