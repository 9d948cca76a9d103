// Watches started before the apply (startWaitWatches) may hold a target's copy from before it: the
// wait judges a copy only once it is at least as new as the object as applied.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startWaitWatches, waitForObjects } from '../../../src/rollout/waiter.js';
import { compareResourceVersions } from '../../../src/rollout/watch-set.js';
import type { Readiness } from '../../../src/rollout/types.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { FakeClient, until } from './fake-client.js';

function deployment(resourceVersion: string, generation: number, observed: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion, generation },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } } },
    },
    status: {
      observedGeneration: observed,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [
        { type: 'Available', status: 'True' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
}

describe('compareResourceVersions', () => {
  it('orders integers by value, not as text; anything else compares only for equality', () => {
    assert.equal(compareResourceVersions('9', '10'), -1);
    assert.equal(compareResourceVersions('100', '99'), 1);
    assert.equal(compareResourceVersions('42', '42'), 0);
    assert.equal(compareResourceVersions('abc', 'abc'), 0);
    assert.equal(compareResourceVersions('abc', '12'), undefined);
    assert.equal(compareResourceVersions('012', '12'), undefined);
    assert.equal(compareResourceVersions('0', '1'), undefined);
    assert.equal(compareResourceVersions(undefined, '1'), undefined);
  });
});

describe('a wait on watches started before the apply', () => {
  it('does not take the copy from before the apply (ready at the old generation) for the applied one', async () => {
    // Listed before the apply: generation 1, fully rolled out.
    const client = new FakeClient({
      lists: { Deployment: [deployment('5', 1, 1)], Pod: [], ReplicaSet: [], Event: [] },
    });
    const stop = new AbortController();
    const applied = deployment('7', 2, 1);
    const watches = startWaitWatches(client.client, [applied], { signal: stop.signal });
    await until(() => client.watching('Deployment') && client.watching('Pod'), 'the watches');
    const updates: Readiness[] = [];
    let done = false;
    const waiting = waitForObjects({
      client: client.client,
      targets: [applied],
      watches,
      signal: new AbortController().signal,
      deadline: Date.now() + 20_000,
      progressDeadlineMs: 20_000,
      since: new Date(0),
      onUpdate: (_o, r) => updates.push(r),
    }).finally(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(done, false);
    assert.ok(updates.every((u) => u.status === 'pending'));
    assert.deepEqual(
      updates.map((u) => u.message),
      ['waiting for the watch to deliver the object as applied'],
    );
    // The watch delivers the applied object, then the controller's status for it.
    client.push('MODIFIED', applied);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(done, false);
    client.push('MODIFIED', deployment('8', 2, 2));
    const result = await waiting;
    stop.abort();
    assert.equal(result.outcome, 'ready');
  });
});
