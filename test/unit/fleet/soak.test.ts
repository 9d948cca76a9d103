import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/shared/index.js';
import { restartsOf, soakProblem, soakTargets } from '../../../src/fleet/index.js';

const pod = (name: string, status: Record<string, unknown>, owner = 'ReplicaSet'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'shop',
    ownerReferences: [{ kind: owner, name: 'x', uid: '1', apiVersion: 'v1' }],
  },
  spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] },
  status,
});

const running = (restartCount: number, lastState: Record<string, unknown> = {}) => ({
  phase: 'Running',
  conditions: [{ type: 'Ready', status: 'True' }],
  containerStatuses: [
    {
      name: 'web',
      ready: true,
      restartCount,
      state: { running: { startedAt: '2026-12-07T10:00:00Z' } },
      lastState,
    },
  ],
});

describe('soakProblem', () => {
  it('passes pods that stay ready without restarts', () => {
    const pods = [pod('web-1', running(2))];
    assert.equal(soakProblem(pods, restartsOf(pods)), undefined);
  });

  it('names a restart since the soak began, with the exit code and reason the kubelet gave', () => {
    const before = restartsOf([pod('web-1', running(0))]);
    const after = [pod('web-1', running(1, { terminated: { exitCode: 137, reason: 'OOMKilled' } }))];
    assert.equal(
      soakProblem(after, before),
      'container web of pod web-1 restarted during the soak (exit code 137, OOMKilled)',
    );
  });

  it('names a crash loop and a failed pod, and leaves the pods of Jobs alone', () => {
    const looping = pod('web-2', {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'web',
          restartCount: 3,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: 'back-off 40s restarting failed container=web pod=web-2_shop',
            },
          },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        },
      ],
    });
    assert.match(soakProblem([looping], new Map()) ?? '', /^pod web-2 /);
    const evicted = pod('web-3', {
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: memory.',
    });
    assert.equal(
      soakProblem([evicted], new Map()),
      'pod web-3 failed (Evicted): The node was low on resource: memory.',
    );
    const job = pod('migrate-1', { phase: 'Failed' }, 'Job');
    assert.equal(soakProblem([job], new Map()), undefined);
  });
});

describe('soakTargets', () => {
  it('watches the pods of each workload applied, by its selector, in its namespace', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web.v2', namespace: 'shop-eu' },
      spec: { selector: { matchLabels: { app: 'web', tier: 'front-end' } } },
    } as KubeObject;
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } } as KubeObject;
    assert.deepEqual(soakTargets([deployment, configMap], 'shop'), [
      { namespace: 'shop-eu', selector: 'app=web,tier=front-end', workload: 'Deployment/web.v2' },
    ]);
  });
});
