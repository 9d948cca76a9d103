// Every wait ends at its deadline, counted from its first instant: an API server that refuses
// connections, or one that never answers, while the informers make their first list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Informer, KubeApiError } from '../../../src/kube/index.js';
import { waitForObjects, type WaitOptions } from '../../../src/rollout/waiter.js';
import type { Readiness } from '../../../src/rollout/types.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { FakeClient, until } from './fake-client.js';

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', uid: 'd-1', generation: 1 },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } } },
  },
};
const available = {
  ...deployment,
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 },
};

const refused = () =>
  new KubeApiError(
    0,
    'Unreachable',
    'cannot reach the Kubernetes API (GET /apis/apps/v1): connect ECONNREFUSED 127.0.0.1:6443',
  );

function options(client: FakeClient, extra: Partial<WaitOptions> = {}): WaitOptions {
  return {
    client: client.client,
    targets: [deployment],
    signal: new AbortController().signal,
    deadline: Date.now() + 1500,
    progressDeadlineMs: 60_000,
    since: new Date(0),
    ...extra,
  };
}

describe('waitForObjects with an API server away', () => {
  it('connections refused from the first list: retries, then times out saying since when', async () => {
    const client = new FakeClient({
      lists: { Deployment: refused(), Pod: refused(), Event: refused(), ReplicaSet: refused() },
    });
    const updates: Readiness[] = [];
    const before = Date.now();
    const result = await waitForObjects(options(client, { onUpdate: (_o, r) => updates.push(r) }));
    assert.equal(result.outcome, 'timed-out');
    assert.ok(result.unreachable, 'the result says the API server was unreachable');
    assert.ok(result.unreachable.since.getTime() >= before - 5);
    assert.ok(result.unreachable.retries >= 2, `retried (${result.unreachable.retries} failures)`);
    assert.match(result.unreachable.lastError ?? '', /ECONNREFUSED/);
    assert.ok(client.calls.filter((c) => c === 'list Deployment').length >= 2, 'the list was retried');
    assert.match(
      updates.at(-1)?.message ?? '',
      /^waiting for the API server \(no answer since \d{4}-\d\d-\d\dT/,
    );
    assert.equal(result.failed.length, 1, 'the pending object still gets a diagnosis');
  });

  it('a first list that never answers still ends at the deadline', async () => {
    const client = new FakeClient({
      lists: { Deployment: 'hang', Pod: 'hang', Event: 'hang', ReplicaSet: 'hang' },
    });
    const result = await waitForObjects(options(client, { deadline: Date.now() + 300 }));
    assert.equal(result.outcome, 'timed-out');
    assert.ok(result.unreachable);
    assert.equal(result.unreachable.retries, 0);
    assert.equal(result.unreachable.lastError, undefined);
  });

  it('the progress deadline counts the time spent listing', async () => {
    const client = new FakeClient({ lists: { Deployment: 'hang', Pod: [], Event: [], ReplicaSet: [] } });
    const result = await waitForObjects(
      options(client, { deadline: Date.now() + 60_000, progressDeadlineMs: 300 }),
    );
    assert.equal(result.outcome, 'no-progress');
    assert.ok(result.unreachable);
  });

  it('an API server back before the deadline: the wait goes on and succeeds', async () => {
    let failures = 2;
    const client = new FakeClient({
      lists: {
        Deployment: () => (failures-- > 0 ? refused() : [available]),
        Pod: [],
        Event: [],
        ReplicaSet: [],
      },
    });
    const result = await waitForObjects(options(client, { deadline: Date.now() + 20_000 }));
    assert.equal(result.outcome, 'ready');
    assert.equal(result.unreachable, undefined);
  });

  it('a refusal retrying cannot cure (403) ends the wait with that error', async () => {
    const forbidden = new KubeApiError(
      403,
      'Forbidden',
      'deployments.apps is forbidden: User "ci" cannot list resource "deployments"',
    );
    const client = new FakeClient({ lists: { Deployment: forbidden, Pod: [], Event: [], ReplicaSet: [] } });
    await assert.rejects(waitForObjects(options(client, { deadline: Date.now() + 20_000 })), /forbidden/);
  });

  it('events that may not be read only sharpen judgments: the wait goes on without them', async () => {
    const forbidden = new KubeApiError(403, 'Forbidden', 'events is forbidden');
    const client = new FakeClient({
      lists: { Deployment: [available], Pod: [], Event: forbidden, ReplicaSet: [] },
    });
    const result = await waitForObjects(options(client, { deadline: Date.now() + 20_000 }));
    assert.equal(result.outcome, 'ready');
  });

  it('an interruption during the first list ends the wait at once', async () => {
    const client = new FakeClient({
      lists: { Deployment: 'hang', Pod: 'hang', Event: 'hang', ReplicaSet: 'hang' },
    });
    const abort = new AbortController();
    const waiting = waitForObjects(options(client, { signal: abort.signal, deadline: Date.now() + 60_000 }));
    await until(() => client.calls.includes('list Deployment'), 'the first list');
    abort.abort();
    assert.equal((await waiting).outcome, 'interrupted');
  });
});

describe('Informer health', () => {
  it('records since when it fails, how often, and recovers on the next answered list', async () => {
    let clock = 1_000;
    let answer: Error | KubeObject[] = refused();
    const client = new FakeClient({ lists: { Deployment: () => answer } });
    const abort = new AbortController();
    const informer = new Informer(client, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      signal: abort.signal,
      onChange: () => {},
      now: () => clock,
    });
    try {
      assert.equal(informer.health.synced, false);
      assert.equal(informer.health.troubleSince, 1_000, 'a list not answered yet counts from its start');
      await until(() => informer.health.failures >= 1, 'a failure');
      clock = 5_000;
      assert.equal(informer.health.troubleSince, 1_000);
      assert.match(String(informer.health.lastError), /ECONNREFUSED/);
      answer = [available];
      await informer.synced;
      assert.deepEqual(informer.health, { synced: true, failures: 0 });
      assert.ok(informer.get('shop', 'web'));
    } finally {
      abort.abort();
    }
  });

  it('a watch that breaks after the sync is trouble until a list answers again', async () => {
    let clock = 1_000;
    let answer: Error | KubeObject[] = [available];
    const client = new FakeClient({ lists: { Deployment: () => answer } });
    const abort = new AbortController();
    const informer = new Informer(client, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      signal: abort.signal,
      onChange: () => {},
      now: () => clock,
    });
    try {
      await informer.synced;
      await until(() => client.watching('Deployment'), 'the watch');
      clock = 2_000;
      answer = refused();
      client.push('ERROR', {
        apiVersion: 'v1',
        kind: 'Deployment',
        metadata: {},
        code: 500,
        message: 'internal error',
      });
      await until(() => informer.health.failures >= 1, 'the watch failure');
      assert.equal(informer.health.troubleSince, 2_000);
      answer = [available];
      await until(() => informer.health.failures === 0, 'the recovery');
      assert.equal(informer.health.troubleSince, undefined);
    } finally {
      abort.abort();
    }
  });

  it('a refused first list rejects `synced` and is remembered', async () => {
    const client = new FakeClient({ lists: { Deployment: new KubeApiError(403, 'Forbidden', 'forbidden') } });
    const abort = new AbortController();
    const informer = new Informer(client, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      signal: abort.signal,
      onChange: () => {},
    });
    try {
      await assert.rejects(informer.synced, /forbidden/);
      assert.match(String(informer.health.refused), /forbidden/);
    } finally {
      abort.abort();
    }
  });
});
