// Proves the local control plane itself: workloads roll out, Jobs finish, every failure
// scenario shows its state, logs work and the restricted identity is refused cluster writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../src/kube/index.js';
import { kubectl as kubectlOf, startCluster, stopCluster } from '../cluster/cluster.js';
import { alive } from '../cluster/processes.js';
import { freshNamespace, getJson, kubectl, testCluster, waitFor } from './helpers.js';

function deployment(
  name: string,
  replicas: number,
  scenario?: string,
  annotations: Record<string, string> = {},
) {
  const labels: Record<string, string> = {
    app: name,
    ...(scenario ? { 'capstan.test/scenario': scenario } : {}),
  };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      progressDeadlineSeconds: 30,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels, annotations },
        spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
      },
    },
  });
}

function job(name: string, scenario?: string) {
  return JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: scenario ? { 'capstan.test/scenario': scenario } : {} },
        spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: 'example.com/app:1' }] },
      },
    },
  });
}

interface PodState {
  readonly state: string;
  /** When the watch delivered it (Date.now()). */
  readonly at: number;
  readonly pod: any;
}

/**
 * What `stateOf` says of each pod event a watch started before `create` sees (a repeat of the
 * previous state is dropped; undefined is skipped), until `done`.
 */
async function podStates(
  ns: string,
  create: () => Promise<unknown>,
  stateOf: (pod: any) => string | undefined,
  done: (states: string[]) => boolean,
  timeoutMs = 60_000,
): Promise<PodState[]> {
  const client = await KubeClient.connect({ kubeconfig: testCluster().kubeconfig });
  const seen: PodState[] = [];
  const states = () => seen.map((s) => s.state);
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    const { resourceVersion } = await client.list('v1', 'Pod', { namespace: ns });
    await create();
    for await (const event of client.watch('v1', 'Pod', { namespace: ns, resourceVersion, signal })) {
      const state = stateOf(event.object);
      if (state === undefined || seen.at(-1)?.state === state) continue;
      seen.push({ state, at: Date.now(), pod: event.object });
      if (done(states())) return seen;
    }
  } catch (error) {
    throw new Error(`pod states so far: ${states().join(' > ')}`, { cause: error });
  } finally {
    client.close();
  }
  return seen;
}

/** The first container's state and restarts: `Running/0`, `Error(1)/0`, `CrashLoopBackOff/1`. */
function containerStateOf(pod: any): string | undefined {
  const status = pod.status?.containerStatuses?.[0];
  if (!status) return undefined;
  const { running, terminated, waiting } = status.state ?? {};
  const state = running
    ? 'Running'
    : terminated
      ? `${terminated.reason}(${terminated.exitCode})`
      : waiting
        ? waiting.reason
        : '?';
  return `${state}/${status.restartCount}`;
}

/**
 * Each state the first container of the pods `create` makes passes through, as a watch started
 * before them sees it, until `done`.
 */
async function containerStates(
  ns: string,
  create: () => Promise<unknown>,
  done: (states: string[]) => boolean,
  timeoutMs = 60_000,
): Promise<string[]> {
  return (await podStates(ns, create, containerStateOf, done, timeoutMs)).map((s) => s.state);
}

/**
 * The pod `create` makes is seen Running, then Completed with exit code 0, at least `atLeastMs`
 * later (a lower bound only: the point of capstan.test/run-for).
 */
async function runsThenCompletes(
  ns: string,
  create: () => Promise<unknown>,
  atLeastMs: number,
): Promise<[PodState, PodState]> {
  const seen = await podStates(ns, create, containerStateOf, (s) => s.includes('Completed(0)/0'));
  assert.deepEqual(
    seen.map((s) => s.state),
    ['Running/0', 'Completed(0)/0'],
  );
  const [running, completed] = seen as [PodState, PodState];
  const took = completed.at - running.at;
  assert.ok(took >= atLeastMs, `completed ${took} ms after it started`);
  return [running, completed];
}

/** A running pod's readiness as its conditions say it: `Ready` or `unready: <reason>: <message>`. */
function readinessOf(pod: any): string | undefined {
  if (pod.status?.phase !== 'Running') return undefined;
  const conditions: any[] = pod.status.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const containersReady = conditions.find((c) => c.type === 'ContainersReady');
  if (ready?.status !== containersReady?.status || ready?.message !== containersReady?.message)
    return `Ready and ContainersReady disagree: ${JSON.stringify([ready, containersReady])}`;
  return ready?.status === 'True' ? 'Ready' : `unready: ${ready?.reason}: ${ready?.message}`;
}

function bareOf(name: string, extra: Record<string, any> = {}, container: Record<string, any> = {}) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...extra },
    spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'example.com/app:1', ...container }] },
  });
}

async function podOf(ns: string, selector: string): Promise<any> {
  const list = await getJson<{ items: any[] }>(['get', 'pods', '-n', ns, '-l', selector]);
  return list.items[0];
}

describe('local control plane', () => {
  it('has 6 Ready fake nodes in 3 zones', async () => {
    const nodes = await getJson<{ items: any[] }>(['get', 'nodes']);
    assert.equal(nodes.items.length, 6);
    const zones = new Set(nodes.items.map((n) => n.metadata.labels['topology.kubernetes.io/zone']));
    assert.deepEqual([...zones].sort(), ['zone-a', 'zone-b', 'zone-c']);
    for (const n of nodes.items) {
      assert.equal(n.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
      assert.ok(n.status.allocatable.cpu && n.status.allocatable.memory && n.status.allocatable.pods);
    }
  });

  it('rolls out a 3-replica Deployment, observed through a watch', async () => {
    const ns = await freshNamespace('harness-deploy');
    const client = await KubeClient.connect({ kubeconfig: testCluster().kubeconfig });
    try {
      const { resourceVersion } = await client.list('apps/v1', 'Deployment', { namespace: ns.name });
      await kubectl(['apply', '-n', ns.name, '-f', '-'], deployment('web', 3));
      const signal = AbortSignal.timeout(60_000);
      let available = 0;
      for await (const event of client.watch('apps/v1', 'Deployment', {
        namespace: ns.name,
        resourceVersion,
        signal,
      })) {
        const status = (event.object as { status?: { availableReplicas?: number } }).status;
        available = status?.availableReplicas ?? 0;
        if (available === 3) break;
      }
      assert.equal(available, 3);
      const pods = await getJson<{ items: any[] }>(['get', 'pods', '-n', ns.name, '-l', 'app=web']);
      const nodes = new Set(pods.items.map((p) => p.spec.nodeName));
      assert.ok(nodes.size >= 2, 'the scheduler spreads pods over the fake nodes');
    } finally {
      client.close();
      await ns.remove();
    }
  });

  it('completes a Job', async () => {
    const ns = await freshNamespace('harness-job');
    try {
      await kubectl(['apply', '-n', ns.name, '-f', '-'], job('ok'));
      await waitFor('Job complete', 60_000, async () => {
        const j = await getJson(['get', 'job', 'ok', '-n', ns.name]);
        return (
          j.status?.succeeded === 1 &&
          j.status.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True')
        );
      });
    } finally {
      await ns.remove();
    }
  });

  it('shows every failure scenario', async () => {
    const ns = await freshNamespace('harness-scenarios');
    try {
      await kubectl(['apply', '-n', ns.name, '-f', '-'], deployment('crash', 1, 'crashloop'));
      await kubectl(['apply', '-n', ns.name, '-f', '-'], deployment('notready', 1, 'not-ready'));
      await kubectl(['apply', '-n', ns.name, '-f', '-'], deployment('pull', 1, 'image-pull'));
      await kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        deployment('slow', 1, 'slow', { 'capstan.test/ready-after': '4' }),
      );
      await kubectl(['apply', '-n', ns.name, '-f', '-'], job('failing', 'fail'));

      const crash = await waitFor('CrashLoopBackOff with rising restarts', 30_000, async () => {
        const p = await podOf(ns.name, 'app=crash');
        const cs = p?.status?.containerStatuses?.[0];
        return cs?.state?.waiting?.reason === 'CrashLoopBackOff' && cs.restartCount >= 2 ? p : undefined;
      });
      assert.equal(crash.status.containerStatuses[0].lastState.terminated.exitCode, 1);

      const notReady = await waitFor('Running but not Ready', 30_000, async () => {
        const p = await podOf(ns.name, 'app=notready');
        return p?.status?.phase === 'Running' ? p : undefined;
      });
      assert.equal(notReady.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');

      await waitFor('ImagePullBackOff', 30_000, async () => {
        const p = await podOf(ns.name, 'app=pull');
        return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff';
      });

      const slow = await waitFor('slow pod Ready', 30_000, async () => {
        const p = await podOf(ns.name, 'app=slow');
        return p?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')
          ? p
          : undefined;
      });
      const readyAt = Date.parse(
        slow.status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime,
      );
      assert.ok(
        readyAt - Date.parse(slow.metadata.creationTimestamp) >= 3000,
        'the slow pod waited for its ready-after delay',
      );

      await waitFor('Job failed', 60_000, async () => {
        const j = await getJson(['get', 'job', 'failing', '-n', ns.name]);
        return j.status?.conditions?.some((c: any) => c.type === 'Failed' && c.status === 'True');
      });
      const failedPod = await podOf(ns.name, 'job-name=failing');
      assert.equal(failedPod.status.containerStatuses[0].state.terminated.exitCode, 1);
    } finally {
      await ns.remove();
    }
  });

  it('crashes as a kubelet shows it: Running, then Error, then CrashLoopBackOff with rising restarts', async () => {
    const ns = await freshNamespace('harness-crash');
    try {
      const create = () =>
        kubectl(
          ['apply', '-n', ns.name, '-f', '-'],
          deployment('crash', 1, 'crashloop', { 'capstan.test/exit-code': '7' }),
        );
      const states = await containerStates(ns.name, create, (s) => s.includes('CrashLoopBackOff/2'));
      assert.deepEqual(
        states.slice(0, 6),
        ['Running/0', 'Error(7)/0', 'CrashLoopBackOff/1', 'Running/1', 'Error(7)/1', 'CrashLoopBackOff/2'],
        states.join(' > '),
      );
      const pod = await podOf(ns.name, 'app=crash');
      const status = pod.status.containerStatuses[0];
      assert.equal(status.lastState.terminated.exitCode, 7);
      assert.equal(status.lastState.terminated.reason, 'Error');
      assert.match(
        status.state.waiting.message,
        new RegExp(
          `^back-off (20s|40s) restarting failed container=app pod=${pod.metadata.name}_${ns.name}\\(${pod.metadata.uid}\\)$`,
        ),
      );
      const events = await getJson<{ items: any[] }>([
        'get',
        'events',
        '-n',
        ns.name,
        '--field-selector',
        'reason=BackOff',
      ]);
      assert.ok(
        events.items.some(
          (e) =>
            e.type === 'Warning' &&
            e.message ===
              `Back-off restarting failed container app in pod ${pod.metadata.name}_${ns.name}(${pod.metadata.uid})`,
        ),
      );
    } finally {
      await ns.remove();
    }
  });

  it('OOMKills: reason OOMKilled, exit code 137, then CrashLoopBackOff', async () => {
    const ns = await freshNamespace('harness-oom');
    try {
      const create = () => kubectl(['apply', '-n', ns.name, '-f', '-'], deployment('oom', 1, 'oom-killed'));
      const states = await containerStates(ns.name, create, (s) => s.includes('CrashLoopBackOff/1'));
      assert.deepEqual(
        states.slice(0, 3),
        ['Running/0', 'OOMKilled(137)/0', 'CrashLoopBackOff/1'],
        states.join(' > '),
      );
      const pod = await podOf(ns.name, 'app=oom');
      assert.deepEqual(
        {
          reason: pod.status.containerStatuses[0].lastState.terminated.reason,
          exitCode: pod.status.containerStatuses[0].lastState.terminated.exitCode,
        },
        { reason: 'OOMKilled', exitCode: 137 },
      );
    } finally {
      await ns.remove();
    }
  });

  it('fails an image pull as a kubelet words it: ErrImagePull, then ImagePullBackOff', async () => {
    const ns = await freshNamespace('harness-pull');
    const image = 'example.com/app:1';
    const error = `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;
    try {
      const create = () => kubectl(['apply', '-n', ns.name, '-f', '-'], deployment('pull', 1, 'image-pull'));
      const states = await containerStates(ns.name, create, (s) => s.includes('ImagePullBackOff/0'));
      assert.deepEqual(states.slice(0, 2), ['ErrImagePull/0', 'ImagePullBackOff/0'], states.join(' > '));
      const pod = await podOf(ns.name, 'app=pull');
      assert.equal(pod.status.phase, 'Pending');
      assert.equal(
        pod.status.containerStatuses[0].state.waiting.message,
        `Back-off pulling image "${image}": ErrImagePull: ${error}`,
      );
      const events = await getJson<{ items: any[] }>(['get', 'events', '-n', ns.name]);
      const messages = events.items.map((e) => `${e.type} ${e.reason}: ${e.message}`);
      assert.ok(
        messages.includes(`Warning Failed: Failed to pull image "${image}": ${error}`),
        messages.join('\n'),
      );
      assert.ok(messages.includes('Warning Failed: Error: ErrImagePull'), messages.join('\n'));
      assert.ok(messages.includes(`Normal BackOff: Back-off pulling image "${image}"`), messages.join('\n'));
    } finally {
      await ns.remove();
    }
  });

  it('keeps a container with a missing ConfigMap or Secret key in CreateContainerConfigError', async () => {
    const ns = await freshNamespace('harness-config');
    try {
      await kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        bareOf(
          'cm',
          { labels: { 'capstan.test/scenario': 'config-error' } },
          { envFrom: [{ configMapRef: { name: 'absent' } }] },
        ),
      );
      await kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        bareOf(
          'key',
          { labels: { 'capstan.test/scenario': 'config-error' } },
          { env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } }] },
        ),
      );
      for (const [name, message] of [
        ['cm', 'configmap "absent" not found'],
        ['key', `couldn't find key PASSWORD in Secret ${ns.name}/db`],
      ]) {
        const pod = await waitFor(`pod ${name} in CreateContainerConfigError`, 30_000, async () => {
          const p = await getJson(['get', 'pod', name, '-n', ns.name]);
          return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError'
            ? p
            : undefined;
        });
        assert.equal(pod.status.containerStatuses[0].state.waiting.message, message);
        assert.equal(pod.status.phase, 'Pending');
        assert.equal(pod.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
      }
    } finally {
      await ns.remove();
    }
  });

  it('completes a bare Pod that may not restart', async () => {
    const ns = await freshNamespace('harness-bare');
    try {
      await kubectl(['apply', '-n', ns.name, '-f', '-'], bareOf('once'));
      const pod = await waitFor('bare pod Succeeded', 30_000, async () => {
        const p = await getJson(['get', 'pod', 'once', '-n', ns.name]);
        return p.status?.phase === 'Succeeded' ? p : undefined;
      });
      assert.deepEqual(
        {
          reason: pod.status.containerStatuses[0].state.terminated.reason,
          exitCode: pod.status.containerStatuses[0].state.terminated.exitCode,
        },
        { reason: 'Completed', exitCode: 0 },
      );
    } finally {
      await ns.remove();
    }
  });

  it('holds a container unready until its readiness probe passed, and the pod until its slowest', async () => {
    const ns = await freshNamespace('harness-probes');
    const probe = (extra: Record<string, number>) => ({
      httpGet: { path: '/ready', port: 8080 },
      ...extra,
    });
    const create = () =>
      kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'probed' },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'probed' } },
            template: {
              metadata: { labels: { app: 'probed' } },
              spec: {
                containers: [
                  {
                    name: 'web',
                    image: 'example.com/app:1',
                    readinessProbe: probe({ initialDelaySeconds: 4 }),
                  },
                  // Two passes in a row, a second apart: ready at 1 + 1 s.
                  {
                    name: 'metrics',
                    image: 'example.com/app:1',
                    readinessProbe: probe({ initialDelaySeconds: 1, periodSeconds: 1, successThreshold: 2 }),
                  },
                  { name: 'proxy', image: 'example.com/app:1' },
                ],
              },
            },
          },
        }),
      );
    try {
      const seen = await podStates(ns.name, create, readinessOf, (s) => s.at(-1) === 'Ready');
      assert.deepEqual(
        seen.map((s) => s.state),
        [
          'unready: ContainersNotReady: containers with unready status: [web metrics]',
          'unready: ContainersNotReady: containers with unready status: [web]',
          'Ready',
        ],
      );
      const [started, , ready] = seen as [PodState, PodState, PodState];
      const readyOf = (pod: any) =>
        Object.fromEntries(pod.status.containerStatuses.map((c: any) => [c.name, c.ready]));
      assert.deepEqual(readyOf(started.pod), { web: false, metrics: false, proxy: true });
      assert.ok(
        started.pod.status.containerStatuses.every((c: any) => c.started === true && c.state.running),
        'every container runs from the start',
      );
      assert.deepEqual(readyOf(ready.pod), { web: true, metrics: true, proxy: true });
      // The point of the probe delay; a lower bound only, 1 s short of it.
      assert.ok(ready.at - started.at >= 3000, `Ready ${ready.at - started.at} ms after it started`);
    } finally {
      await ns.remove();
    }
  });

  it('runs a Job pod for its capstan.test/run-for, then completes it', async () => {
    const ns = await freshNamespace('harness-run-for');
    const create = () =>
      kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        JSON.stringify({
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'task' },
          spec: {
            backoffLimit: 0,
            template: {
              metadata: { annotations: { 'capstan.test/run-for': '3s' } },
              spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: 'example.com/app:1' }] },
            },
          },
        }),
      );
    try {
      const [running, completed] = await runsThenCompletes(ns.name, create, 2000);
      assert.equal(completed.pod.status.phase, 'Succeeded');
      const terminated = completed.pod.status.containerStatuses[0].state.terminated;
      assert.equal(terminated.startedAt, running.pod.status.containerStatuses[0].state.running.startedAt);
      await waitFor('Job complete', 30_000, async () => {
        const j = await getJson(['get', 'job', 'task', '-n', ns.name]);
        return j.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True');
      });
    } finally {
      await ns.remove();
    }
  });

  it('runs a bare Pod that may not restart for its capstan.test/run-for, then completes it', async () => {
    const ns = await freshNamespace('harness-bare-run-for');
    const create = () =>
      kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        bareOf('once', { annotations: { 'capstan.test/run-for': '2' } }),
      );
    try {
      await runsThenCompletes(ns.name, create, 1000);
    } finally {
      await ns.remove();
    }
  });

  it('holds a pod that runs on unready for its capstan.test/run-for', async () => {
    const ns = await freshNamespace('harness-warm-up');
    const create = () =>
      kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        deployment('warm', 1, undefined, { 'capstan.test/run-for': '3s' }),
      );
    try {
      const seen = await podStates(ns.name, create, readinessOf, (s) => s.at(-1) === 'Ready');
      assert.deepEqual(
        seen.map((s) => s.state),
        ['unready: ContainersNotReady: containers with unready status: [app]', 'Ready'],
      );
      const [started, ready] = seen as [PodState, PodState];
      assert.ok(ready.at - started.at >= 2000, `Ready ${ready.at - started.at} ms after it started`);
    } finally {
      await ns.remove();
    }
  });

  it('logs the value of an environment variable named by capstan.test/log-env', async () => {
    const ns = await freshNamespace('harness-log-env');
    try {
      await kubectl([
        'create',
        'secret',
        'generic',
        'db',
        '-n',
        ns.name,
        '--from-literal=PASSWORD=pa55-from-secret',
      ]);
      await kubectl(['create', 'configmap', 'cfg', '-n', ns.name, '--from-literal=MODE=from-configmap']);
      await kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        bareOf(
          'talker',
          { annotations: { 'capstan.test/log-env': 'DB_PASSWORD,GREETING,APP_MODE,MISSING' } },
          {
            env: [
              { name: 'GREETING', value: 'hello' },
              { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } },
            ],
            envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'APP_' }],
          },
        ),
      );
      const expected =
        /DB_PASSWORD=pa55-from-secret\n.*GREETING=hello\n.*APP_MODE=from-configmap\n.*MISSING is not set\n/;
      // The container starts only once its log is served: read once, the moment it leaves Pending.
      await waitFor('talker started', 30_000, async () => {
        const phase = JSON.parse(await kubectl(['get', 'pod', '-n', ns.name, 'talker', '-o', 'json'])).status
          ?.phase;
        return phase && phase !== 'Pending' ? phase : undefined;
      });
      const current = await kubectl(['logs', '-n', ns.name, 'talker']);
      assert.match(current, expected);
      assert.match(current, /^capstan fake container: starting\n/);
      assert.match(await kubectl(['logs', '-n', ns.name, 'talker', '--previous']), expected);
    } finally {
      await ns.remove();
    }
  });

  it('serves kubectl logs, current and previous', async () => {
    const ns = await freshNamespace('harness-logs');
    try {
      await kubectl(['apply', '-n', ns.name, '-f', '-'], deployment('crash', 1, 'crashloop'));
      const pod = await waitFor('crashlooping pod', 30_000, async () => {
        const p = await podOf(ns.name, 'app=crash');
        return p?.status?.containerStatuses?.[0]?.state?.waiting ? p : undefined;
      });
      const current = await kubectl(['logs', '-n', ns.name, pod.metadata.name, '--tail=2']);
      assert.match(current, /capstan fake container: log line 29\ncapstan fake container: log line 30\n/);
      const previous = await kubectl(['logs', '-n', ns.name, pod.metadata.name, '--previous']);
      assert.match(previous, /exiting with code 1/);
    } finally {
      await ns.remove();
    }
  });

  it('refuses the restricted identity a cluster-scoped write', async () => {
    const restricted = testCluster().restrictedKubeconfig;
    await assert.rejects(
      kubectl(['create', 'namespace', 'restricted-should-not-exist'], undefined, restricted),
      /forbidden/i,
    );
  });

  it('runs a second cluster beside the first, ends leftovers of a crashed run, and stops by pid', async () => {
    const name = `second-${process.pid}`;
    const first = await startCluster({ name, binDir: testCluster().binDir });
    const pidsOf = (runDir: string) =>
      readdirSync(join(runDir, 'pids')).map((f) => Number(readFileSync(join(runDir, 'pids', f), 'utf8')));
    try {
      assert.notEqual(first.server, testCluster().server);
      const nodes = await kubectlOf(first, ['get', 'nodes', '-o', 'name']);
      assert.equal(nodes.trim().split('\n').length, 6);
      // A "crashed" run: its processes still run; starting again ends them through their pid files.
      const crashedPids = pidsOf(first.runDir);
      const second = await startCluster({ name, binDir: testCluster().binDir });
      assert.ok(
        crashedPids.every((pid) => !alive(pid)),
        'processes of the crashed run were ended',
      );
      const pids = pidsOf(second.runDir);
      assert.equal(pids.length, 7); // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, the log server, the OpenID issuer
      await stopCluster(name);
      assert.ok(
        pids.every((pid) => !alive(pid)),
        'stop ended every process by pid',
      );
      assert.equal(existsSync(second.runDir), false, 'stop removed the temporary files');
      assert.match(
        await kubectl(['get', 'nodes', '-o', 'name']),
        /kwok-node-0/,
        'the shared cluster is untouched',
      );
    } finally {
      await stopCluster(name);
    }
  });
});
