import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assessReadiness } from '../../../src/rollout/readiness.js';
import type { Readiness } from '../../../src/rollout/types.js';
import type { KubeObject } from '../../../src/shared/index.js';

const load = (name: string): Record<string, KubeObject> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rollout/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    KubeObject
  >;

function table(name: string, cases: Array<[state: string, expected: Readiness]>): void {
  const states = load(name);
  describe(`${name} readiness`, () => {
    for (const [state, expected] of cases) {
      it(state, () => {
        const object = states[state];
        assert.ok(object, `fixture ${name}.${state}`);
        assert.deepEqual(assessReadiness(object), expected);
      });
    }
  });
}

table('deployments', [
  ['midRollout', { status: 'pending', message: '1 of 3 new replicas updated' }],
  ['oldPendingTermination', { status: 'pending', message: '1 old replica pending termination' }],
  ['updatedNotAvailable', { status: 'pending', message: '2 of 3 updated replicas available' }],
  ['unobserved', { status: 'pending', message: 'waiting for the controller to observe generation 3' }],
  ['complete', { status: 'ready', message: '3 of 3 replicas available' }],
  ['scaledToZero', { status: 'ready', message: '0 of 0 replicas available' }],
  [
    'deadlineExceeded',
    {
      status: 'failed',
      message: 'ProgressDeadlineExceeded: ReplicaSet "web-6f7c9d8b4" has timed out progressing.',
    },
  ],
  // A quota refusal is not final: the quota may be raised before the progress deadline.
  ['quotaRefused', { status: 'pending', message: '0 of 3 new replicas updated' }],
  ['paused', { status: 'ready', message: 'paused, rollout not awaited (0 of 3 new replicas updated)' }],
]);

table('statefulsets', [
  ['rollingComplete', { status: 'ready', message: '3 of 3 pods ready at revision db-7c9f5b6d8' }],
  ['rollingInProgress', { status: 'pending', message: '1 of 3 pods updated' }],
  [
    'revisionNotSettled',
    { status: 'pending', message: 'waiting for all pods to reach revision db-5f6d7c8b9' },
  ],
  ['podsNotReady', { status: 'pending', message: '1 of 3 pods ready' }],
  ['partitionPending', { status: 'pending', message: '1 of 2 pods updated (partition 3)' }],
  [
    'partitionDone',
    { status: 'ready', message: 'partitioned rollout complete: 2 pods updated, partition 3' },
  ],
  [
    'onDeleteReady',
    {
      status: 'ready',
      message: '2 of 2 pods ready (OnDelete: pods take the new template only when deleted)',
    },
  ],
  ['onDeleteNotReady', { status: 'pending', message: '1 of 2 pods ready' }],
  ['unobserved', { status: 'pending', message: 'waiting for the controller to observe generation 1' }],
  ['scalingDown', { status: 'pending', message: '1 extra pod pending deletion (scaling down to 2)' }],
]);

table('daemonsets', [
  ['complete', { status: 'ready', message: '3 of 3 pods available' }],
  ['updating', { status: 'pending', message: '1 of 3 pods updated' }],
  ['updatedNotAvailable', { status: 'pending', message: '2 of 3 pods available' }],
  ['unobserved', { status: 'pending', message: 'waiting for the controller to observe generation 4' }],
  ['onDeleteOld', { status: 'ready', message: '3 of 3 pods available' }],
  ['noNodes', { status: 'ready', message: '0 of 0 pods available' }],
]);

table('jobs', [
  ['active', { status: 'pending', message: '0 of 1 completions (1 active, 0 failed)' }],
  ['complete', { status: 'ready', message: 'completed (1 succeeded)' }],
  [
    'backoffLimitExceeded',
    { status: 'failed', message: 'BackoffLimitExceeded: Job has reached the specified backoff limit' },
  ],
  [
    'failureTargetOnly',
    { status: 'failed', message: 'BackoffLimitExceeded: Job has reached the specified backoff limit' },
  ],
  [
    'deadlineExceeded',
    { status: 'failed', message: 'DeadlineExceeded: Job was active longer than specified deadline' },
  ],
  ['retrying', { status: 'pending', message: '0 of 1 completions (1 active, 2 failed)' }],
  ['indexedPartial', { status: 'pending', message: '1 of 4 completions (2 active, 0 failed)' }],
  ['workQueue', { status: 'pending', message: '0 succeeded (3 active, 0 failed)' }],
  ['suspended', { status: 'pending', message: 'job is suspended' }],
]);

describe('ReplicaSet readiness', () => {
  const [oldSet, newSet] = JSON.parse(
    readFileSync(new URL('../../fixtures/rollout/replicasets.json', import.meta.url), 'utf8'),
  ) as [KubeObject, KubeObject];
  it('is ready when every desired replica is available', () => {
    assert.deepEqual(assessReadiness(oldSet), { status: 'ready', message: '3 of 3 replicas available' });
  });
  it('waits for available replicas', () => {
    assert.deepEqual(assessReadiness(newSet), { status: 'pending', message: '0 of 1 replicas available' });
  });
});

describe('rendered objects without status', () => {
  it('a Deployment without generation or status waits for replicas', () => {
    const rendered: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 2 },
    };
    assert.deepEqual(assessReadiness(rendered), {
      status: 'pending',
      message: '0 of 2 new replicas updated',
    });
  });
  it('a Job without status waits for its one completion', () => {
    const rendered: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'seeds', generation: 1 },
    };
    assert.deepEqual(assessReadiness(rendered), {
      status: 'pending',
      message: '0 of 1 completions (0 active, 0 failed)',
    });
  });
});
