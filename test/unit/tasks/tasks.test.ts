import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  containerImageOf,
  findDeployment,
  LogCursor,
  planHookCleanup,
  planTaskJob,
  podProblem,
  referencedSecrets,
  taskLockName,
  taskNameOf,
  terminatedExitCode,
} from '../../../src/tasks/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: {
        labels: { app: 'web', tier: 'front' },
        annotations: { 'capstan.dev/config-checksum': 'abc' },
      },
      spec: {
        serviceAccountName: 'web',
        nodeSelector: { pool: 'apps' },
        tolerations: [{ key: 'dedicated', operator: 'Exists' }],
        volumes: [{ name: 'cfg', configMap: { name: 'web-config' } }],
        initContainers: [{ name: 'wait', image: 'busybox' }],
        containers: [
          {
            name: 'web',
            image: 'shop:1',
            command: ['server'],
            args: ['--port', '80'],
            env: [{ name: 'A', value: '1' }],
            envFrom: [{ configMapRef: { name: 'web-config' } }],
            volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }],
            resources: { requests: { cpu: '100m' } },
            readinessProbe: { httpGet: { path: '/' } },
            ports: [{ containerPort: 80 }],
          },
          { name: 'sidecar', image: 'proxy:1' },
        ],
      },
    },
  },
};

describe('planTaskJob', () => {
  const job = planTaskJob({
    from: deployment,
    name: 'shop-task-rake-1',
    taskName: 'rake',
    command: ['rake', 'db:seed'],
    env: ['A=2', 'B=3'],
    labels: { 'capstan.dev/app': 'shop' },
  }) as any;
  const spec = job.spec.template.spec;

  it('copies what a task needs and replaces the command', () => {
    assert.equal(job.kind, 'Job');
    assert.equal(job.metadata.namespace, 'shop');
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(spec.serviceAccountName, 'web');
    assert.deepEqual(spec.nodeSelector, { pool: 'apps' });
    assert.equal(spec.tolerations.length, 1);
    assert.equal(spec.volumes[0].configMap.name, 'web-config');
    assert.equal(spec.containers.length, 1);
    const c = spec.containers[0];
    assert.deepEqual(c.command, ['rake', 'db:seed']);
    assert.equal(c.args, undefined);
    assert.equal(c.image, 'shop:1');
    assert.deepEqual(c.env, [
      { name: 'A', value: '2' },
      { name: 'B', value: '3' },
    ]);
    assert.equal(c.envFrom[0].configMapRef.name, 'web-config');
    assert.equal(c.volumeMounts[0].mountPath, '/cfg');
    assert.equal(c.resources.requests.cpu, '100m');
  });

  it('drops what belongs to servers', () => {
    const c = spec.containers[0];
    assert.equal(c.readinessProbe, undefined);
    assert.equal(c.ports, undefined);
    assert.equal(spec.initContainers, undefined);
  });

  it("keeps the task pod out of the Deployment's selector", () => {
    const labels = job.spec.template.metadata.labels;
    assert.equal(labels.app, undefined);
    assert.equal(labels.tier, 'front');
    assert.equal(labels['capstan.dev/task'], 'rake');
  });

  it('picks a container and an image, and refuses unknown ones or no command', () => {
    const other = planTaskJob({
      from: deployment,
      name: 'x',
      taskName: 'x',
      command: ['sh'],
      container: 'sidecar',
      image: 'proxy:2',
      labels: {},
    }) as any;
    assert.equal(other.spec.template.spec.containers[0].image, 'proxy:2');
    assert.throws(
      () =>
        planTaskJob({
          from: deployment,
          name: 'x',
          taskName: 'x',
          command: ['sh'],
          container: 'nope',
          labels: {},
        }),
      /no container "nope"/,
    );
    assert.throws(
      () => planTaskJob({ from: deployment, name: 'x', taskName: 'x', command: [], labels: {} }),
      /no command/,
    );
    assert.throws(
      () =>
        planTaskJob({
          from: deployment,
          name: 'x',
          taskName: 'x',
          command: ['sh'],
          env: ['NOEQUALS'],
          labels: {},
        }),
      /KEY=VALUE/,
    );
  });

  it('names tasks after the command', () => {
    assert.equal(taskNameOf(['bin/rails', 'db:seed']), 'rails');
    assert.equal(taskNameOf(['Some_Tool!']), 'some-tool');
    assert.equal(taskNameOf(['...']), 'task');
  });
});

describe('LogCursor', () => {
  it('never repeats lines when a stream resumes from the last timestamp', () => {
    const cursor = new LogCursor();
    const seen = [...cursor.push('t1 a\nt2 b\nt2 c\nt3 d\npartial')];
    assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
    cursor.resume();
    // The server resends from sinceTime=t3, inclusive.
    seen.push(...cursor.push('t3 d\nt4 e\n'));
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps lines that share a timestamp but were not printed yet', () => {
    const cursor = new LogCursor();
    assert.deepEqual(cursor.push('t1 a\nt1 b\n'), ['a', 'b']);
    cursor.resume();
    assert.deepEqual(cursor.push('t1 a\nt1 b\nt1 c\n'), ['c']);
  });
});

describe('pod outcomes', () => {
  const pod = (status: unknown): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'img:1' }] },
    status,
  });

  it('reports hopeless waiting reasons and unschedulable pods', () => {
    const waiting = (reason: string, message?: string) =>
      pod({ containerStatuses: [{ name: 'c', state: { waiting: { reason, message } } }] });
    assert.match(
      podProblem(waiting('ErrImagePull', 'rpc error: code = NotFound desc = manifest unknown'))!.message,
      /img:1 cannot be pulled: ErrImagePull \(rpc error: code = NotFound/,
    );
    // The same judgment as a deploy's (rollout's hopelessReason): a throttled pull or a cache still
    // syncing may clear up; a crash loop is the Job's backoffLimit's to judge.
    assert.equal(podProblem(waiting('ErrImagePull', 'toomanyrequests: 429 Too Many Requests')), undefined);
    assert.equal(podProblem(waiting('ImagePullBackOff')), undefined);
    assert.equal(
      podProblem(waiting('CreateContainerConfigError', 'failed to sync configmap cache: timed out')),
      undefined,
    );
    assert.match(
      podProblem(waiting('CreateContainerConfigError', 'secret "db" not found'))!.message,
      /container cannot be created: CreateContainerConfigError \(secret "db" not found\)/,
    );
    assert.equal(podProblem(waiting('CrashLoopBackOff')), undefined);
    assert.equal(
      podProblem(
        pod({
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/6 nodes are available',
            },
          ],
        }),
      )!.kind,
      'unschedulable',
    );
    assert.equal(podProblem(pod({ phase: 'Running' })), undefined);
  });

  it('reads the exit code of a finished container', () => {
    assert.equal(
      terminatedExitCode(
        pod({ containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 3 } } }] }),
        'c',
      ),
      3,
    );
    assert.equal(
      terminatedExitCode(pod({ containerStatuses: [{ name: 'c', state: { running: {} } }] }), 'c'),
      undefined,
    );
  });
});

describe('planHookCleanup', () => {
  const job = (name: string, hook: string, minute: number, finished = true): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      labels: { 'capstan.dev/hook': hook },
      creationTimestamp: `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z`,
    },
    status: { conditions: finished ? [{ type: 'Complete', status: 'True' }] : [] },
  });

  it('keeps the newest runs of each hook and never removes a running one', () => {
    const jobs = [
      job('m1', 'migrate', 1),
      job('m2', 'migrate', 2),
      job('m3', 'migrate', 3),
      job('m4', 'migrate', 4),
      job('s1', 'seeds', 1),
      job('m0', 'migrate', 0, false),
    ];
    assert.deepEqual(
      planHookCleanup(jobs, 3).map((j) => j.metadata.name),
      ['m1'],
    );
  });
});

describe('referencedSecrets', () => {
  it('names the Secrets a pod spec reads, so run --live can redact their values', () => {
    const spec = {
      initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: 'init-secrets' } }] }],
      containers: [
        {
          name: 'web',
          env: [
            { name: 'A', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
            { name: 'B', value: 'x' },
          ],
          envFrom: [{ configMapRef: { name: 'cm' } }, { secretRef: { name: 'app' } }],
        },
      ],
      volumes: [
        { secret: { secretName: 'tls' } },
        { projected: { sources: [{ secret: { name: 'token' } }, { configMap: { name: 'cm' } }] } },
        { emptyDir: {} },
      ],
    };
    assert.deepEqual(referencedSecrets(spec), ['app', 'db', 'init-secrets', 'tls', 'token']);
    assert.deepEqual(referencedSecrets(undefined), []);
  });
});

describe('the image a task runs by default', () => {
  const worker: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'worker' },
    spec: { template: { spec: { containers: [{ name: 'worker', image: 'shop:0' }] } } },
  };
  const released = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } }, deployment, worker];

  it('is the image of the container the copied Deployment runs, matched by names', () => {
    assert.equal(findDeployment(released)?.metadata.name, 'web', 'the first Deployment when none is named');
    assert.equal(findDeployment(released, 'worker'), worker);
    assert.equal(findDeployment(released, 'nope'), undefined);
    assert.equal(
      containerImageOf(findDeployment(released)),
      'shop:1',
      'the first container when none is named',
    );
    assert.equal(containerImageOf(findDeployment(released), 'sidecar'), 'proxy:1');
    assert.equal(containerImageOf(findDeployment(released, 'worker')), 'shop:0');
  });

  it('is unknown when the container or the Deployment is not there', () => {
    assert.equal(containerImageOf(deployment, 'nope'), undefined);
    assert.equal(containerImageOf(undefined), undefined);
    assert.equal(
      containerImageOf({
        ...worker,
        spec: { template: { spec: { containers: [{ name: 'w', image: '' }] } } },
      }),
      undefined,
    );
  });
});

describe('taskLockName', () => {
  it('names one Lease per app, environment and task', () => {
    assert.equal(taskLockName('shop', 'staging', 'seed'), 'capstan-task-shop-staging-seed');
    assert.notEqual(taskLockName('shop', 'staging', 'seed'), taskLockName('shop', 'production', 'seed'));
    assert.notEqual(taskLockName('shop', 'staging', 'seed'), taskLockName('shop', 'staging', 'rails'));
  });
});
