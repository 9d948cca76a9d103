import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { observeFindings, type ObservedState } from '../../../src/watch/findings.js';
import {
  at,
  crash,
  cronJob,
  deployment,
  empty,
  event,
  healthy,
  iso,
  job,
  NS,
  pod,
  readyConditions,
  replicaSet,
  webWith,
} from './fixtures.js';

const brief = (state: ObservedState, seconds = 30) =>
  observeFindings(state, { now: at(seconds) }).map((f) => [f.workload, f.cause, f.summary]);

describe('watch findings', () => {
  it('a crash loop of two pods is one finding of the Deployment, worded as the deploy words it', () => {
    const state = webWith(2, (name) => crash.backOff(name, 3, 1, 'Error'));
    assert.deepEqual(brief(state), [
      ['Deployment/web', 'crash-loop', 'container app keeps crashing (exit code 1); see its previous logs'],
    ]);
    assert.equal(observeFindings(state, { now: at(30) })[0]?.pods.length, 2);
  });

  it('any number of pods of one workload crash-looping is still one finding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 255 }), (n, code) => {
        const state = webWith(n, (name) => crash.backOff(name, 1, code, 'Error'));
        const findings = observeFindings(state, { now: at(30) });
        assert.equal(findings.length, 1);
        assert.equal(findings[0]?.pods.length, n);
        assert.match(findings[0].summary, new RegExp(`exit code ${code}\\)`));
      }),
    );
  });

  it('names a liveness probe behind the restarts, from the kubelet event', () => {
    const state = webWith(1, (name) => crash.backOff(name, 2, 137, 'Error'));
    const podName = state.pods[0].metadata.name!;
    const withEvent = {
      ...state,
      events: [
        event(
          `Pod/${podName}`,
          'Unhealthy',
          'Liveness probe failed: HTTP probe failed with statuscode: 500',
          iso(20),
        ),
      ],
    };
    assert.deepEqual(brief(withEvent), [
      [
        'Deployment/web',
        'crash-loop',
        'container app is restarted by its liveness probe failing: HTTP probe failed with statuscode: 500',
      ],
    ]);
  });

  it('OOMKilled, from lastState, is its own cause and not also a crash loop', () => {
    const state = webWith(2, (name) => crash.backOff(name, 1, 137, 'OOMKilled'));
    assert.deepEqual(brief(state), [
      ['Deployment/web', 'oom-killed', 'container app ran out of memory (no memory limit set)'],
    ]);
  });

  it('an OOM kill long ago of a container that is ready now is not an incident', () => {
    const recovered = webWith(
      1,
      () => ({
        ...healthy(),
        restartCount: 1,
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: iso(0) } },
      }),
      1,
    );
    assert.deepEqual(brief(recovered, 30), [
      ['Deployment/web', 'oom-killed', 'container app ran out of memory (no memory limit set)'],
    ]);
    assert.deepEqual(brief(recovered, 600), []);
  });

  it('a crash that has not repeated is no crash loop; the kwok cycle counts from the first back-off', () => {
    assert.deepEqual(brief(webWith(1, () => crash.running(0), 0)), [
      ['Deployment/web', 'unavailable', '0 of 1 wanted replica available'],
    ]);
    assert.deepEqual(
      brief(webWith(1, () => crash.exited(0, 1, 'Error'))).map((f) => f[1]),
      ['unavailable'],
    );
    assert.deepEqual(
      brief(webWith(1, (n) => crash.backOff(n, 1, 1, 'Error'))).map((f) => f[1]),
      ['crash-loop'],
    );
    // Running again after the back-off, still not ready, with the crash in lastState.
    assert.deepEqual(
      brief(webWith(1, () => crash.running(2, { exitCode: 1, reason: 'Error' }))).map((f) => f[1]),
      ['crash-loop'],
    );
  });

  it('image pulls, with the kubelet messages of ErrImagePull and ImagePullBackOff', () => {
    const img = 'registry.example/shop:1.4.2';
    const notFound = `rpc error: code = NotFound desc = failed to pull and unpack image "${img}": failed to resolve reference "${img}": ${img}: not found`;
    const errPull = webWith(1, () => ({
      image: img,
      name: 'app',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: 'ErrImagePull', message: notFound } },
    }));
    assert.deepEqual(brief(errPull), [
      ['Deployment/web', 'image-pull', `the image cannot be pulled: ${img} (${notFound})`],
    ]);
    const backOff = webWith(1, () => ({
      image: img,
      name: 'app',
      ready: false,
      restartCount: 0,
      state: {
        waiting: {
          reason: 'ImagePullBackOff',
          message: `Back-off pulling image "${img}": ErrImagePull: ${notFound}`,
        },
      },
    }));
    assert.deepEqual(brief(backOff), [
      ['Deployment/web', 'image-pull', `the image cannot be pulled: ${img} (${notFound})`],
    ]);
  });

  it('CreateContainerConfigError, but not while the kubelet syncs its cache', () => {
    const missing = webWith(1, () => ({
      name: 'app',
      ready: false,
      restartCount: 0,
      state: {
        waiting: { reason: 'CreateContainerConfigError', message: 'configmap "shop-config" not found' },
      },
    }));
    assert.deepEqual(brief(missing), [
      [
        'Deployment/web',
        'config-error',
        'container app references a missing ConfigMap, Secret or key: configmap "shop-config" not found',
      ],
    ]);
    const syncing = webWith(1, () => ({
      name: 'app',
      ready: false,
      restartCount: 0,
      state: {
        waiting: {
          reason: 'CreateContainerConfigError',
          message: 'failed to sync configmap cache: timed out waiting for the condition',
        },
      },
    }));
    assert.deepEqual(
      brief(syncing).map((f) => f[1]),
      ['unavailable'],
    );
  });

  it('an evicted pod is news for the grace period, then history', () => {
    const rs = replicaSet('web');
    const evicted = pod(
      'web-6f7c9d8b4-bh2q7',
      { kind: 'ReplicaSet', name: rs.metadata.name! },
      {
        phase: 'Failed',
        reason: 'Evicted',
        message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi.',
        conditions: [{ type: 'DisruptionTarget', status: 'True', lastTransitionTime: iso(0) }],
      },
    );
    const fresh = pod(
      'web-6f7c9d8b4-ck4z9',
      { kind: 'ReplicaSet', name: rs.metadata.name! },
      { containers: [healthy()], conditions: readyConditions },
    );
    const state = {
      ...empty,
      workloads: [deployment('web', 1, 1)],
      replicaSets: [rs],
      pods: [evicted, fresh],
    };
    assert.deepEqual(brief(state, 10), [
      [
        'Deployment/web',
        'evicted',
        'pod web-6f7c9d8b4-bh2q7 failed: Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi.',
      ],
    ]);
    assert.deepEqual(brief(state, 300), []);
  });

  it("a CronJob's failed Job is the CronJob's finding, until a later Job of it succeeds", () => {
    const failed = job('report-29012345', 'Failed', iso(0), 'report');
    const failedPod = pod(
      'report-29012345-x7k2p',
      { kind: 'Job', name: 'report-29012345' },
      {
        phase: 'Failed',
        containers: [
          {
            name: 'app',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 3, reason: 'Error' } },
          },
        ],
      },
    );
    const state: ObservedState = {
      ...empty,
      workloads: [cronJob('report')],
      jobs: [failed],
      pods: [failedPod],
    };
    const [finding] = observeFindings(state, { now: at(30) });
    assert.equal(finding?.workload, 'CronJob/report');
    assert.equal(finding?.cause, 'job-failed');
    assert.equal(finding?.subject, 'Job/report-29012345');
    assert.equal(
      finding?.summary,
      'the Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit (backoffLimit 1); container app of pod report-29012345-x7k2p exited with code 3; see its logs',
    );
    const running = { ...state, jobs: [failed, job('report-29012350', 'Running', iso(300), 'report')] };
    assert.equal(brief(running).length, 1, 'a running Job does not clear the failure');
    const later = { ...state, jobs: [failed, job('report-29012350', 'Complete', iso(300), 'report')] };
    assert.deepEqual(brief(later), []);
  });

  it("a deploy's hook Jobs are left to the deploy", () => {
    const state: ObservedState = { ...empty, jobs: [job('migrate', 'Failed', iso(0))] };
    assert.deepEqual(
      brief(state).map((f) => f[0]),
      ['Job/migrate'],
    );
    assert.deepEqual(observeFindings(state, { now: at(30), ignoreJobs: new Set(['migrate']) }), []);
  });

  it('unschedulable pods carry when they became so; the Deployment is not also unavailable', () => {
    const rs = replicaSet('web');
    const pending = pod(
      'web-6f7c9d8b4-bh2q7',
      { kind: 'ReplicaSet', name: rs.metadata.name! },
      {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message:
              '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
            lastTransitionTime: iso(5),
          },
        ],
      },
    );
    const state = { ...empty, workloads: [deployment('web', 1, 0)], replicaSets: [rs], pods: [pending] };
    const findings = observeFindings(state, { now: at(30) });
    assert.deepEqual(
      findings.map((f) => [f.cause, f.since]),
      [['unschedulable', iso(5)]],
    );
    assert.match(
      findings[0].summary,
      /^the pods cannot be scheduled: 0\/3 nodes are available: 3 Insufficient cpu/,
    );
  });

  it('a StatefulSet and a DaemonSet below their wanted replicas, with the Available condition as evidence', () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS },
      spec: { replicas: 3 },
      status: { availableReplicas: 2 },
    };
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: NS },
      status: { desiredNumberScheduled: 4, numberAvailable: 4 },
    };
    const web = deployment('web', 2, 1, {
      conditions: [
        {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          lastTransitionTime: iso(1),
        },
      ],
    });
    const findings = observeFindings({ ...empty, workloads: [sts, ds, web] }, { now: at(30) });
    assert.deepEqual(
      findings.map((f) => [f.workload, f.cause, f.summary, f.since]),
      [
        ['Deployment/web', 'unavailable', '1 of 2 wanted replicas available', iso(1)],
        ['StatefulSet/db', 'unavailable', '2 of 3 wanted replicas available', undefined],
      ],
    );
  });

  it('healthy workloads and terminating pods have no findings', () => {
    const state = webWith(3, healthy, 3);
    assert.deepEqual(brief(state), []);
    const crashing = webWith(1, (n) => crash.backOff(n, 4, 1, 'Error'), 1);
    crashing.pods[0].metadata.deletionTimestamp = iso(1);
    assert.deepEqual(brief(crashing), []);
  });
});
