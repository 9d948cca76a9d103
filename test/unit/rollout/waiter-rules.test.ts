// The waiter on recorded states: a Job whose pod crashloops fails only when the Job does, a quota
// refusal fails as soon as the quota is read full, and Services with nothing to serve are not awaited.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { KubeApiError, type WatchEvent } from '../../../src/kube/index.js';
import { formatDiagnosis } from '../../../src/rollout/diagnosis.js';
import { waitForObjects, type WaitOptions } from '../../../src/rollout/waiter.js';
import type { Readiness } from '../../../src/rollout/types.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { FakeClient, until } from './fake-client.js';

const read = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rollout/${name}.json`, import.meta.url), 'utf8')) as T;

function options(client: FakeClient, targets: KubeObject[], extra: Partial<WaitOptions> = {}): WaitOptions {
  return {
    client: client.client,
    targets,
    signal: new AbortController().signal,
    deadline: Date.now() + 20_000,
    progressDeadlineMs: 20_000,
    since: new Date(0),
    ...extra,
  };
}

interface Recording {
  initial: KubeObject[];
  events: Array<{ type: WatchEvent['type']; object: KubeObject }>;
}

const jobLists = (recording: Recording) => ({
  Job: recording.initial.filter((o) => o.kind === 'Job'),
  Pod: recording.initial.filter((o) => o.kind === 'Pod'),
  Event: [],
});

/** Waits for the recording's Job while its watch events are pushed, a few ms apart. */
async function replayJob(client: FakeClient, recording: Recording, extra: Partial<WaitOptions> = {}) {
  let done = false;
  const waiting = waitForObjects(options(client, [recording.initial[1]], extra)).finally(() => (done = true));
  await until(() => client.watching('Job') && client.watching('Pod'), 'the watches');
  for (const { type, object } of recording.events) {
    if (done) break;
    client.push(type, object);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  return waiting;
}

describe('a Job whose pod restarts OnFailure, replayed', () => {
  const recording = read<Recording>('recorded-job-onfailure');

  it("keeps waiting through the crash loop and fails with the Job's own reason", async () => {
    const client = new FakeClient({ lists: jobLists(recording) });
    const updates: Readiness[] = [];
    const result = await replayJob(client, recording, { onUpdate: (_o, r) => updates.push(r) });
    assert.equal(result.outcome, 'failed');
    assert.equal(
      result.failed[0]?.readiness.message,
      'BackoffLimitExceeded: Job has reached the specified backoff limit',
    );
    assert.ok(!updates.some((u) => /CrashLoopBackOff/.test(u.message) && u.status === 'failed'));
  });
});

describe('the diagnosis of a crash loop whose logs cannot all be read', () => {
  const recording = read<Recording>('recorded-job-onfailure');

  it('names the refusal where the log would be, and keeps the log that came', async () => {
    const client = new FakeClient({
      lists: jobLists(recording),
      logs: (_pod, { previous }) =>
        previous
          ? 'boom\n'
          : new KubeApiError(403, 'Forbidden', 'pods "x" is forbidden: may not get pods/log\nsecond line'),
    });
    const result = await replayJob(client, recording);
    const diagnosis = result.failed[0]?.diagnosis;
    assert.ok(diagnosis, result.outcome);
    const unreadable = diagnosis.logs.filter((l) => l.unreadable !== undefined);
    assert.ok(unreadable.length > 0, JSON.stringify(diagnosis.logs));
    assert.ok(unreadable.every((l) => l.unreadable === 'pods "x" is forbidden: may not get pods/log'));
    assert.ok(diagnosis.logs.some((l) => l.previous && l.lines.join() === 'boom'));
    assert.match(
      formatDiagnosis('Job/x', diagnosis),
      /^ {2}could not read the logs of [\w.-]+\/[\w.-]+: pods "x" is forbidden: may not get pods\/log$/m,
    );
  });
});

describe('a quota refusal', () => {
  const recorded = read<{
    quota: KubeObject;
    objects: KubeObject[];
    pods: KubeObject[];
    events: KubeObject[];
  }>('recorded-quota');
  const byKind = (kind: string) => recorded.objects.filter((o) => o.kind === kind);
  const lists = {
    Deployment: byKind('Deployment'),
    ReplicaSet: byKind('ReplicaSet'),
    Job: byKind('Job'),
    Pod: recorded.pods,
    Event: recorded.events,
  };

  it('fails as soon as the quota is read still full', async () => {
    const client = new FakeClient({
      lists,
      get: (kind, name) => (kind === 'ResourceQuota' && name === 'compute' ? recorded.quota : undefined),
    });
    const result = await waitForObjects(options(client, [...byKind('Deployment'), ...byKind('Job')]));
    assert.equal(result.outcome, 'failed');
    assert.ok(client.calls.includes('get ResourceQuota/compute'));
    for (const failed of result.failed) {
      assert.match(
        failed.readiness.message,
        /^a ResourceQuota refused the pods and ResourceQuota\/compute is still full \(pods: 2 used of 2, 1 more requested\)/,
      );
    }
  });

  it('a quota that may not be read: waits until the deadline, then names the refusal', async () => {
    const client = new FakeClient({
      lists,
      get: () => new KubeApiError(403, 'Forbidden', 'resourcequotas "compute" is forbidden'),
    });
    const result = await waitForObjects(
      options(client, byKind('Deployment'), { deadline: Date.now() + 600 }),
    );
    assert.equal(result.outcome, 'timed-out');
    assert.match(
      result.failed[0]?.diagnosis.mostLikelyCause ?? '',
      /^a ResourceQuota refused the pods: .*exceeded quota: compute/,
    );
    assert.equal(
      client.calls.filter((c) => c.startsWith('get ResourceQuota')).length,
      1,
      'a refusal to read is remembered',
    );
  });
});

describe('Services with nothing to serve', () => {
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: 's' },
    spec: { selector: { app: 'web' } },
  };
  const deployment = (replicas: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'd', generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } } },
    },
    status: { observedGeneration: 1, replicas, updatedReplicas: replicas, availableReplicas: replicas },
  });

  it('its workload scaled to zero: both ready, no endpoints awaited', async () => {
    const client = new FakeClient({
      lists: {
        Service: [service],
        Deployment: [deployment(0)],
        EndpointSlice: [],
        Pod: [],
        Event: [],
        ReplicaSet: [],
      },
    });
    const result = await waitForObjects(options(client, [service, deployment(0)]));
    assert.equal(result.outcome, 'ready');
  });

  it('its workload comes in a later phase: ready', async () => {
    const client = new FakeClient({ lists: { Service: [service], EndpointSlice: [] } });
    const updates: Readiness[] = [];
    const result = await waitForObjects(options(client, [service], { onUpdate: (_o, r) => updates.push(r) }));
    assert.equal(result.outcome, 'ready');
    assert.equal(
      updates.at(-1)?.message,
      'endpoints not awaited: no workload of this phase runs the pods it selects',
    );
  });

  it('its workload has replicas: endpoints awaited', async () => {
    const client = new FakeClient({
      lists: {
        Service: [service],
        Deployment: [deployment(2)],
        EndpointSlice: [],
        Pod: [],
        Event: [],
        ReplicaSet: [],
      },
    });
    const result = await waitForObjects(
      options(client, [service, deployment(2)], { deadline: Date.now() + 300 }),
    );
    assert.equal(result.outcome, 'timed-out');
    assert.deepEqual(
      result.failed.map((f) => f.object.kind),
      ['Service'],
    );
  });
});
