import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { currentReplicaSets, podSelectorOf, podsOwnedBy } from '../../../src/rollout/ownership.js';
import { earlyFailure } from '../../../src/rollout/pod-state.js';
import type { KubeObject } from '../../../src/shared/index.js';

const read = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rollout/${name}.json`, import.meta.url), 'utf8')) as T;
const pods = read<Record<string, KubeObject>>('pods');
const deployments = read<Record<string, KubeObject>>('deployments');
const jobs = read<Record<string, KubeObject>>('jobs');
const services = read<Record<string, KubeObject>>('services');
const statefulSets = read<Record<string, KubeObject>>('statefulsets');
const replicaSets = read<KubeObject[]>('replicasets');

function get(map: Record<string, KubeObject>, key: string): KubeObject {
  const object = map[key];
  assert.ok(object, `fixture ${key}`);
  return object;
}
const names = (objects: KubeObject[]): Array<string | undefined> => objects.map((o) => o.metadata.name);

describe('currentReplicaSets', () => {
  const web = get(deployments, 'midRollout');
  it('picks the ReplicaSet of the Deployment revision', () => {
    assert.deepEqual(names(currentReplicaSets(web, replicaSets)), ['web-6f7c9d8b4']);
  });
  it('falls back to the highest revision before the Deployment is annotated', () => {
    const unannotated = structuredClone(web);
    unannotated.metadata.annotations = {};
    assert.deepEqual(names(currentReplicaSets(unannotated, replicaSets)), ['web-6f7c9d8b4']);
  });
  it('ignores ReplicaSets of other Deployments', () => {
    const other = structuredClone(web);
    other.metadata.uid = 'not-the-owner';
    assert.deepEqual(currentReplicaSets(other, replicaSets), []);
  });
});

describe('podsOwnedBy', () => {
  const all = Object.values(pods);
  it('Deployment: only pods of its current ReplicaSet', () => {
    const owned = podsOwnedBy(get(deployments, 'midRollout'), all, replicaSets);
    assert.ok(owned.length > 5);
    assert.ok(owned.every((p) => p.metadata.name?.startsWith('web-6f7c9d8b4-')));
    assert.ok(!names(owned).includes('web-5d9f8c7b6-abcde'));
  });
  it('Deployment without ReplicaSets: none', () => {
    assert.deepEqual(podsOwnedBy(get(deployments, 'midRollout'), all, []), []);
  });
  it('Job: by owner uid', () => {
    assert.deepEqual(names(podsOwnedBy(get(jobs, 'active'), all, [])), [
      'db-migrate-x7k2p',
      'db-migrate-z9y8x',
    ]);
  });
  it('Job without uid: by owner kind and name', () => {
    const job = structuredClone(get(jobs, 'active'));
    delete job.metadata.uid;
    assert.deepEqual(names(podsOwnedBy(job, all, [])), ['db-migrate-x7k2p', 'db-migrate-z9y8x']);
  });
  it('ReplicaSet: its own pods', () => {
    const [oldSet] = replicaSets;
    assert.ok(oldSet);
    assert.deepEqual(names(podsOwnedBy(oldSet, all, [])), ['web-5d9f8c7b6-abcde', 'web-5d9f8c7b6-termn']);
  });
  it('a bare Pod is its own pod, fresher copy preferred', () => {
    const bare = get(pods, 'evicted');
    assert.deepEqual(podsOwnedBy(bare, [], []), [bare]);
    const fresher = structuredClone(bare);
    fresher.metadata.resourceVersion = '99999';
    assert.deepEqual(podsOwnedBy(bare, [fresher], []), [fresher]);
  });
  it('kinds without pods have none', () => {
    assert.deepEqual(podsOwnedBy(get(services, 'web'), all, replicaSets), []);
  });
});

describe('podSelectorOf', () => {
  const cases: Array<[string, KubeObject, string | undefined]> = [
    ['Deployment matchLabels', get(deployments, 'complete'), 'app=web'],
    ['StatefulSet', get(statefulSets, 'rollingComplete'), 'app=db'],
    [
      'Job server-generated selector',
      get(jobs, 'active'),
      'batch.kubernetes.io/controller-uid=44444444-aaaa-4bbb-8ccc-000000000004',
    ],
    [
      'Job without selector, with uid',
      get(jobs, 'deadlineExceeded'),
      'batch.kubernetes.io/controller-uid=77777777-aaaa-4bbb-8ccc-000000000007',
    ],
    ['Job without selector or uid', get(jobs, 'retrying'), 'batch.kubernetes.io/job-name=db-migrate'],
    ['Service selector map', get(services, 'web'), 'app=web'],
    ['Service without selector', get(services, 'noSelector'), undefined],
    ['Pod', get(pods, 'runningReady'), undefined],
  ];
  for (const [name, object, expected] of cases) {
    it(name, () => assert.equal(podSelectorOf(object), expected));
  }
  it('matchExpressions in every operator, keys sorted', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        selector: {
          matchLabels: { tier: 'frontend', app: 'web' },
          matchExpressions: [
            { key: 'track', operator: 'In', values: ['stable', 'canary'] },
            { key: 'env', operator: 'NotIn', values: ['dev'] },
            { key: 'capstan.dev/app', operator: 'Exists' },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        },
      },
    };
    assert.equal(
      podSelectorOf(deployment),
      'app=web,tier=frontend,track in (canary,stable),env notin (dev),capstan.dev/app,!legacy',
    );
  });
  it('an empty selector selects nothing rather than everything', () => {
    const daemonSet: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'x' },
      spec: { selector: {} },
    };
    assert.equal(podSelectorOf(daemonSet), undefined);
  });
});

describe('earlyFailure', () => {
  const cases: Array<[string, string[], string | undefined]> = [
    ['healthy pods', ['runningReady', 'oldRunningReady', 'succeeded'], undefined],
    ['pods still starting', ['containerCreating', 'runningNotReady', 'unschedulable'], undefined],
    ['CrashLoopBackOff before the first crash is recorded', ['crashLoopUnconfirmed'], undefined],
    ['kubelet cache still syncing', ['configErrorCacheSync'], undefined],
    ['a terminating pod of the old rollout', ['terminating'], undefined],
    // The back-off message does not say why: only the pull error (an event) tells if it is permanent.
    ['ImagePullBackOff without its pull error', ['runningReady', 'imagePullBackOff'], undefined],
    [
      'ErrImagePull',
      ['errImagePull'],
      'pod web-6f7c9d8b4-q1w2e container app: ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/web:nope": not found',
    ],
    [
      'CreateContainerConfigError',
      ['configError'],
      'pod web-6f7c9d8b4-c0nf1 container app: CreateContainerConfigError: configmap "web-config" not found',
    ],
    [
      'CrashLoopBackOff after crashes',
      ['crashLoop'],
      'pod web-6f7c9d8b4-7kq2x container app: CrashLoopBackOff (exit code 1, 3 restarts)',
    ],
    [
      'OOMKilled and crashlooping',
      ['oomKilled'],
      'pod web-6f7c9d8b4-00m1k container app: CrashLoopBackOff (exit code 137, 2 restarts)',
    ],
    [
      'a crashing init container',
      ['initCrashing'],
      'pod web-6f7c9d8b4-1n1t0 container wait-for-db: CrashLoopBackOff (exit code 1, 4 restarts)',
    ],
  ];
  for (const [name, keys, expected] of cases) {
    it(name, () => assert.equal(earlyFailure(keys.map((k) => get(pods, k))), expected));
  }
  it('InvalidImageName', () => {
    const pod = structuredClone(get(pods, 'imagePullBackOff'));
    const statuses = (pod.status as { containerStatuses: Array<{ state: unknown }> }).containerStatuses;
    statuses[0] = {
      ...statuses[0],
      state: {
        waiting: { reason: 'InvalidImageName', message: 'Failed to apply default image tag "Web:latest"' },
      },
    };
    assert.equal(
      earlyFailure([pod]),
      'pod web-6f7c9d8b4-p8r7t container app: InvalidImageName: Failed to apply default image tag "Web:latest"',
    );
  });
});
