// The rules behind early failure, fed recorded object states: which pods count (update revision),
// a StatefulSet held up by its old broken pod, permanent versus passing image pull errors, Jobs
// that retry crashing pods, quota refusals, and Services with nothing to wait for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { WatchEvent } from '../../../src/kube/index.js';
import { blockingOldPods } from '../../../src/rollout/blocked-rollout.js';
import { diagnose } from '../../../src/rollout/diagnosis.js';
import { judgeRollout } from '../../../src/rollout/early-failure.js';
import { summarizeEvents } from '../../../src/rollout/events.js';
import { ownedPods, podsOwnedBy, serviceBackends } from '../../../src/rollout/ownership.js';
import { earlyFailure, pullVerdict } from '../../../src/rollout/pod-state.js';
import {
  parseQuotaRefusal,
  quotaMayFreeUp,
  quotaRefusalOf,
  quotaStillFull,
} from '../../../src/rollout/quota.js';
import { assessReadiness } from '../../../src/rollout/readiness.js';
import type { DiagnosisEvent } from '../../../src/rollout/types.js';
import type { KubeObject } from '../../../src/shared/index.js';

const read = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rollout/${name}.json`, import.meta.url), 'utf8')) as T;

interface Recording {
  initial: KubeObject[];
  events: Array<{ type: WatchEvent['type']; object: KubeObject }>;
}

/** The objects as a watcher holds them after the first `count` events of a recording. */
function stateAfter(recording: Recording, count: number): Map<string, KubeObject> {
  const state = new Map(recording.initial.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  for (const { type, object } of recording.events.slice(0, count)) {
    const key = `${object.kind}/${object.metadata.name}`;
    if (type === 'DELETED') state.delete(key);
    else state.set(key, object);
  }
  return state;
}

function get(state: Map<string, KubeObject>, key: string): KubeObject {
  const object = state.get(key);
  assert.ok(object, key);
  return object;
}
const podsIn = (state: Map<string, KubeObject>) => [...state.values()].filter((o) => o.kind === 'Pod');
const names = (objects: readonly KubeObject[]) => objects.map((o) => o.metadata.name).sort();

const rollback = read<Recording>('recorded-forced-rollback');
const at = (test: (o: KubeObject, type: string) => boolean): number =>
  rollback.events.findIndex((e) => test(e.object, e.type)) + 1;
// The StatefulSet once its controller saw the fix; the DaemonSet likewise, its old pods still crashing.
const stsObserved = stateAfter(
  rollback,
  at(
    (o) =>
      o.kind === 'StatefulSet' &&
      o.status !== undefined &&
      (o.status as { observedGeneration?: number }).observedGeneration === 2,
  ),
);
const dsObserved = stateAfter(
  rollback,
  at((o) => o.kind === 'DaemonSet' && (o.status as { observedGeneration?: number }).observedGeneration === 2),
);

describe('pods of the update revision', () => {
  it('StatefulSet: only pods whose controller-revision-hash is status.updateRevision', () => {
    const sts = get(stsObserved, 'StatefulSet/db');
    const pods = podsIn(stsObserved);
    assert.deepEqual(names(ownedPods(sts, pods, [])), ['db-0']);
    assert.deepEqual(podsOwnedBy(sts, pods, []), [], 'db-0 is of the old revision');
    const done = stateAfter(rollback, rollback.events.length);
    assert.deepEqual(names(podsOwnedBy(get(done, 'StatefulSet/db'), podsIn(done), [])), ['db-0', 'db-1']);
  });

  it('StatefulSet before its controller wrote a status: none', () => {
    const sts = structuredClone(get(stsObserved, 'StatefulSet/db'));
    delete sts.status;
    assert.deepEqual(podsOwnedBy(sts, podsIn(stsObserved), []), []);
  });

  it('DaemonSet: only pods of the current template generation', () => {
    const ds = get(dsObserved, 'DaemonSet/agent');
    const pods = podsIn(dsObserved);
    assert.equal(ownedPods(ds, pods, []).length, 12);
    const current = podsOwnedBy(ds, pods, []);
    assert.equal(current.length, 6);
    assert.ok(current.every((p) => p.metadata.labels?.['pod-template-generation'] === '2'));
    assert.equal(earlyFailure(current), undefined, 'the new pods are only starting');
    assert.match(earlyFailure(ownedPods(ds, pods, [])) ?? '', /CrashLoopBackOff/, 'the old ones crash');
  });

  it('DaemonSet rolled back to a template it had: old pods with the current hash count too', () => {
    const ds = structuredClone(get(dsObserved, 'DaemonSet/agent'));
    ds.metadata.annotations = { 'deprecated.daemonset.template.generation': '3' };
    const pods = podsIn(dsObserved).map((p) => structuredClone(p));
    const [fresh] = pods.filter((p) => p.metadata.labels?.['pod-template-generation'] === '1');
    assert.ok(fresh?.metadata.labels);
    // One pod created from generation 3, with the hash generation 1 had.
    fresh.metadata.labels['pod-template-generation'] = '3';
    assert.equal(podsOwnedBy(ds, pods, []).length, 6, 'the six pods of generation 1 share the current hash');
  });
});

describe('a StatefulSet rollout blocked by a broken pod of an earlier revision', () => {
  const sts = get(stsObserved, 'StatefulSet/db');
  const pods = podsIn(stsObserved);

  it('OrderedReady, RollingUpdate: the old crashing pod blocks', () => {
    const blocking = blockingOldPods(sts, pods);
    assert.deepEqual(names(blocking.map((b) => b.pod)), ['db-0']);
    assert.equal(blocking[0]?.revision, 'db-699cbcb4f6');
    assert.match(blocking[0]?.problem ?? '', /^container db: CrashLoopBackOff/);
  });

  for (const [name, change] of [
    [
      'Parallel: the controller replaces it anyway',
      (s: KubeObject) => ((s.spec as Record<string, unknown>).podManagementPolicy = 'Parallel'),
    ],
    [
      'OnDelete: nothing rolls until pods are deleted',
      (s: KubeObject) => ((s.spec as Record<string, unknown>).updateStrategy = { type: 'OnDelete' }),
    ],
    [
      'a partition above the pod: it keeps the old revision anyway',
      (s: KubeObject) =>
        ((s.spec as Record<string, unknown>).updateStrategy = {
          type: 'RollingUpdate',
          rollingUpdate: { partition: 1 },
        }),
    ],
  ] as const) {
    it(name, () => {
      const changed = structuredClone(sts);
      change(changed);
      assert.deepEqual(blockingOldPods(changed, pods), []);
    });
  }

  it('a pod being deleted or one that ended does not block', () => {
    const terminating = stateAfter(
      rollback,
      at((o) => o.kind === 'Pod' && o.metadata.name === 'db-0' && !!o.metadata.deletionTimestamp),
    );
    assert.deepEqual(blockingOldPods(sts, podsIn(terminating)), []);
    const failed = pods.map((p) => structuredClone(p));
    for (const p of failed) (p.status as Record<string, unknown>).phase = 'Failed';
    assert.deepEqual(blockingOldPods(sts, failed), []);
  });

  it('judged early: fails with the pod and the command', () => {
    const judgment = judgeRollout({
      object: sts,
      pods: ownedPods(sts, pods, []),
      replicaSets: [],
      events: [],
    });
    assert.equal(judgment.blocking?.length, 1);
    assert.match(
      judgment.failure ?? '',
      /^rolling update blocked by broken pod db-0 \(container db: CrashLoopBackOff .*\) of an earlier revision; to unblock: kubectl delete pod db-0 -n shop$/,
    );
  });

  it('diagnosed: the most likely cause, with the pod shown', () => {
    const diagnosis = diagnose({ object: sts, pods, events: [], logs: {} });
    assert.match(
      diagnosis.mostLikelyCause,
      /^the rolling update to revision db-7b86d46c8 is blocked by pod db-0 of the earlier revision db-699cbcb4f6/,
    );
    assert.deepEqual(
      diagnosis.pods.map((p) => p.name),
      ['db-0'],
    );
  });

  it('at the deadline an old pod merely not Ready is named too', () => {
    const notReady = pods.map((p) => structuredClone(p));
    for (const p of notReady) {
      const status = p.status as { containerStatuses: Array<Record<string, unknown>> };
      status.containerStatuses = status.containerStatuses.map((c) => ({
        ...c,
        state: { running: {} },
        restartCount: 0,
        lastState: {},
      }));
    }
    assert.equal(
      judgeRollout({ object: sts, pods: notReady, replicaSets: [], events: [] }).failure,
      undefined,
      'not a reason to fail early',
    );
    const diagnosis = diagnose({ object: sts, pods: notReady, events: [], logs: {}, timedOut: true });
    assert.match(
      diagnosis.mostLikelyCause,
      /blocked by pod db-0 of the earlier revision db-699cbcb4f6 \(Running, not Ready\).*kubectl delete pod db-0 -n shop/,
    );
  });
});

describe('image pull errors', () => {
  const permanent = [
    'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/web:nope": failed to resolve reference "registry.example.com/shop/web:nope": registry.example.com/shop/web:nope: not found',
    'rpc error: code = Unknown desc = Error response from daemon: manifest for registry.example.com/shop/web:nope not found: manifest unknown: manifest unknown',
    'rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/acme/private:1": failed to resolve reference "ghcr.io/acme/private:1": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token: 401 Unauthorized',
    "Error response from daemon: pull access denied for acme/private, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
  ];
  const transient = [
    'rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/nginx:1.27": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:abc: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.',
    'rpc error: code = Unknown desc = failed to pull and unpack image "registry.example.com/shop/web:2": failed to resolve reference: failed to do request: Head "https://registry.example.com/v2/shop/web/manifests/2": dial tcp 10.0.0.5:443: i/o timeout',
    'rpc error: code = DeadlineExceeded desc = context deadline exceeded',
    'rpc error: code = Unknown desc = failed to pull and unpack image: read tcp 10.0.0.7:51234->10.0.0.5:443: read: connection reset by peer',
    'pull QPS exceeded',
  ];
  for (const message of permanent)
    it(`permanent: ${message.slice(-60)}`, () => assert.equal(pullVerdict(message), 'permanent'));
  for (const message of transient)
    it(`passing: ${message.slice(-60)}`, () => assert.equal(pullVerdict(message), 'transient'));
  it('unknown: the back-off message alone', () =>
    assert.equal(pullVerdict('Back-off pulling image "registry.example.com/shop/web:nope"'), 'unknown'));

  const pods = read<Record<string, KubeObject>>('pods');
  const backOff = pods.imagePullBackOff;
  const errPull = pods.errImagePull;
  assert.ok(backOff && errPull);
  const pullEvent = (message: string, image = 'registry.example.com/shop/web:nope'): DiagnosisEvent => ({
    type: 'Warning',
    reason: 'Failed',
    object: `Pod/${backOff.metadata.name ?? ''}`,
    message: `Failed to pull image "${image}": ${message}`,
    count: 1,
  });

  it('ImagePullBackOff fails early once the pull error event says not found', () => {
    assert.match(
      earlyFailure([backOff], { events: [pullEvent(permanent[0] ?? '')] }) ?? '',
      /^pod web-6f7c9d8b4-p8r7t container app: ImagePullBackOff: Back-off pulling image .*: Failed to pull image .*not found$/,
    );
  });
  it('ImagePullBackOff waits while the registry throttles', () => {
    assert.equal(earlyFailure([backOff], { events: [pullEvent(transient[0] ?? '')] }), undefined);
  });
  it('the latest pull error decides', () => {
    assert.equal(
      earlyFailure([backOff], { events: [pullEvent(permanent[0] ?? ''), pullEvent(transient[1] ?? '')] }),
      undefined,
    );
  });
  it('an event about another image or pod does not count', () => {
    assert.equal(earlyFailure([backOff], { events: [pullEvent(permanent[0] ?? '', 'other:1')] }), undefined);
    assert.equal(
      earlyFailure([backOff], { events: [{ ...pullEvent(permanent[0] ?? ''), object: 'Pod/other' }] }),
      undefined,
    );
  });
  it("kwok's event, which names no image, counts", () => {
    const kwok = {
      ...pullEvent(''),
      message: 'Failed to pull image: rpc error: code = NotFound desc = manifest unknown',
    };
    assert.match(earlyFailure([backOff], { events: [kwok] }) ?? '', /manifest unknown/);
  });
  it('ErrImagePull carries its error: an i/o timeout waits', () => {
    const pod = structuredClone(errPull);
    const [status] = (pod.status as { containerStatuses: Array<{ state: { waiting: { message: string } } }> })
      .containerStatuses;
    assert.ok(status);
    status.state.waiting.message = transient[1] ?? '';
    assert.equal(earlyFailure([pod]), undefined);
    assert.match(earlyFailure([errPull]) ?? '', /ErrImagePull: .*not found/);
  });
});

describe('a Job whose pods restart OnFailure', () => {
  const recording = read<Recording>('recorded-job-onfailure');
  const crashing =
    recording.events.findIndex(
      (e) => e.object.kind === 'Pod' && (e.object.status as { phase?: string }).phase === 'Running',
    ) + 1;

  it('its crashing pod does not fail it: the backoffLimit decides', () => {
    const state = stateAfter(recording, crashing);
    const job = get(state, 'Job/migrate');
    const pods = podsIn(state);
    assert.match(earlyFailure(pods) ?? '', /CrashLoopBackOff/, 'a crash loop by the pod rules');
    assert.deepEqual(judgeRollout({ object: job, pods, replicaSets: [], events: [] }), {});
    assert.equal(assessReadiness(job).status, 'pending');
  });

  it('fails once the Job itself says so', () => {
    const state = stateAfter(recording, recording.events.length);
    assert.deepEqual(assessReadiness(get(state, 'Job/migrate')), {
      status: 'failed',
      message: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
  });

  it('an image that does not exist still fails it early', () => {
    const pods = read<Record<string, KubeObject>>('pods');
    const job = get(stateAfter(recording, 0), 'Job/migrate');
    const pod = structuredClone(pods.errImagePull);
    assert.ok(pod);
    pod.metadata.namespace = 'shop';
    pod.metadata.ownerReferences = [
      { apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', uid: job.metadata.uid ?? '' },
    ];
    assert.match(
      judgeRollout({ object: job, pods: [pod], replicaSets: [], events: [] }).failure ?? '',
      /ErrImagePull/,
    );
  });
});

describe('pods refused by a ResourceQuota', () => {
  const recorded = read<{
    quota: KubeObject;
    objects: KubeObject[];
    pods: KubeObject[];
    events: KubeObject[];
  }>('recorded-quota');
  const events = summarizeEvents(recorded.events);
  const object = (kind: string) => {
    const found = recorded.objects.find((o) => o.kind === kind);
    assert.ok(found, kind);
    return found;
  };
  const deployment = object('Deployment');
  const replicaSets = [object('ReplicaSet')];
  const job = object('Job');

  it('reads the refusal: quota, what was asked, what is over', () => {
    const refusal = quotaRefusalOf(deployment, replicaSets, events);
    assert.deepEqual(refusal && { ...refusal, message: undefined }, {
      kind: 'exceeded',
      quota: 'compute',
      message: undefined,
      requested: { pods: '1', 'requests.cpu': '400m' },
      limited: { pods: '2', 'requests.cpu': '1' },
    });
    assert.equal(quotaRefusalOf(job, [], events)?.quota, 'compute');
    assert.equal(
      parseQuotaRefusal(
        '(combined from similar events): Error creating: pods "x" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2',
      )?.quota,
      'compute',
    );
    assert.deepEqual(
      parseQuotaRefusal('pods "x" is forbidden: failed quota: compute: must specify limits.cpu for: app'),
      {
        kind: 'unspecified',
        quota: 'compute',
        message: 'pods "x" is forbidden: failed quota: compute: must specify limits.cpu for: app',
      },
    );
  });

  it('still full: used plus requested over hard', () => {
    const refusal = quotaRefusalOf(deployment, replicaSets, events);
    assert.ok(refusal?.kind === 'exceeded');
    assert.deepEqual(quotaStillFull(refusal, recorded.quota), {
      full: true,
      detail: 'pods: 2 used of 2, 1 more requested',
    });
    const roomy = structuredClone(recorded.quota);
    (roomy.status as { used: Record<string, string> }).used = { pods: '1', 'requests.cpu': '400m' };
    assert.deepEqual(quotaStillFull(refusal, roomy), { full: false, detail: 'room again' });
    const uncounted = structuredClone(recorded.quota);
    delete uncounted.status;
    assert.equal(quotaStillFull(refusal, uncounted), undefined);
  });

  it('judged: read the quota first, then fail while it is full', () => {
    const input = { object: deployment, pods: recorded.pods, replicaSets, events };
    assert.deepEqual(judgeRollout(input), { readQuota: 'compute' });
    const full = judgeRollout({ ...input, quota: () => recorded.quota });
    assert.match(
      full.failure ?? '',
      /^a ResourceQuota refused the pods and ResourceQuota\/compute is still full \(pods: 2 used of 2, 1 more requested\): .*exceeded quota: compute/,
    );
    assert.equal(
      judgeRollout({ ...input, quota: () => null }).failure,
      undefined,
      'a quota that cannot be read: left to the deadline',
    );
    assert.equal(
      judgeRollout({ ...input, quota: () => recorded.quota, quotaMayFreeUp: true }).failure,
      undefined,
    );
    assert.match(
      judgeRollout({ object: job, pods: [], replicaSets: [], events, quota: () => recorded.quota }).failure ??
        '',
      /still full/,
    );
  });

  it('room may come by itself: pods terminating, Jobs running, old ReplicaSets to scale down', () => {
    const [pod] = recorded.pods;
    assert.ok(pod);
    assert.equal(quotaMayFreeUp(recorded.pods, [deployment], replicaSets), false);
    const terminating = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2026-12-01T08:06:40Z' } };
    assert.equal(quotaMayFreeUp([terminating], [], []), true);
    const jobPod = {
      ...pod,
      metadata: {
        ...pod.metadata,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'j' }],
      },
    };
    assert.equal(quotaMayFreeUp([jobPod], [], []), true);
    const oldSet = {
      ...structuredClone(replicaSets[0]),
      metadata: {
        ...replicaSets[0].metadata,
        name: 'web-old',
        annotations: { 'deployment.kubernetes.io/revision': '0' },
      },
    };
    const rolling = {
      ...deployment,
      metadata: { ...deployment.metadata, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    };
    const current = {
      ...replicaSets[0],
      metadata: { ...replicaSets[0].metadata, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    };
    assert.equal(
      quotaMayFreeUp([], [rolling], [current, oldSet]),
      false,
      'maxUnavailable 25% of 3 rounds down to 0, maxSurge to 1',
    );
    const tolerant: KubeObject = structuredClone(rolling);
    (tolerant.spec as Record<string, unknown>).strategy = {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1 },
    };
    assert.equal(quotaMayFreeUp([], [tolerant], [current, oldSet]), true);
  });

  it('a pod without the requests the quota needs fails at once', () => {
    const event: DiagnosisEvent = {
      type: 'Warning',
      reason: 'FailedCreate',
      object: `Job/${job.metadata.name ?? ''}`,
      message:
        'Error creating: pods "migrate-x" is forbidden: failed quota: compute: must specify requests.memory for: migrate',
      count: 1,
    };
    assert.match(
      judgeRollout({ object: job, pods: [], replicaSets: [], events: [event] }).failure ?? '',
      /^a ResourceQuota refused the pods: .*must specify requests.memory/,
    );
  });
});

describe('a Service with nothing in its phase to wait for', () => {
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web' } },
  };
  const workload = (
    kind: string,
    replicas: number | undefined,
    labels: Record<string, string> = { app: 'web', tier: 'front' },
  ): KubeObject => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: kind.toLowerCase(), namespace: 'shop' },
    spec: { ...(replicas === undefined ? {} : { replicas }), template: { metadata: { labels } } },
  });

  it('no workload of the phase selects its pods: ready without endpoints', () => {
    const backends = serviceBackends(service, [workload('Deployment', 2, { app: 'worker' })]);
    assert.deepEqual(backends, { workloads: [], replicas: 0 });
    assert.deepEqual(assessReadiness(service, { endpoints: [], backends }), {
      status: 'ready',
      message: 'endpoints not awaited: no workload of this phase runs the pods it selects',
    });
  });

  it('its workloads have zero replicas: ready without endpoints', () => {
    const backends = serviceBackends(service, [workload('Deployment', 0), workload('StatefulSet', 0)]);
    assert.deepEqual(assessReadiness(service, { endpoints: [], backends }), {
      status: 'ready',
      message: 'endpoints not awaited: Deployment/deployment, StatefulSet/statefulset have zero replicas',
    });
  });

  it('a workload with replicas: endpoints awaited', () => {
    const backends = serviceBackends(service, [
      workload('Deployment', undefined),
      { ...workload('Job', 1), apiVersion: 'batch/v1' },
    ]);
    assert.deepEqual(backends, { workloads: ['Deployment/deployment'], replicas: 1 });
    assert.deepEqual(assessReadiness(service, { endpoints: [], backends }), {
      status: 'pending',
      message: 'waiting for endpoints',
    });
  });

  it("a workload of another namespace does not count; without the waiter's knowledge endpoints are awaited", () => {
    const other = { ...workload('Deployment', 2), metadata: { name: 'web', namespace: 'other' } };
    assert.deepEqual(serviceBackends(service, [other]).workloads, []);
    assert.equal(assessReadiness(service, { endpoints: [] }).status, 'pending');
  });
});
