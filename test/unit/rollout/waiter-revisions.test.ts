// The waiter replaying a recorded rollout: a StatefulSet and a DaemonSet whose pods crashloop get
// their fix. Only pods of the update revision are judged; the StatefulSet's old broken pod blocks
// its OrderedReady rollout, which fails with the command, or is deleted with replaceBrokenPods.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { WatchEvent } from '../../../src/kube/index.js';
import { waitForObjects, type WaitResult } from '../../../src/rollout/waiter.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { FakeClient, until } from './fake-client.js';

interface Recording {
  initial: KubeObject[];
  events: Array<{ type: WatchEvent['type']; object: KubeObject }>;
}
const recording = JSON.parse(
  readFileSync(new URL('../../fixtures/rollout/recorded-forced-rollback.json', import.meta.url), 'utf8'),
) as Recording;
const { initial, events } = recording;
const ofKind = (kind: string) => initial.filter((o) => o.kind === kind);
const applied = (kind: string): KubeObject => {
  const event = events.find((e) => e.object.kind === kind);
  assert.ok(event, kind);
  return event.object;
};
/** Index of the first event where `test` holds. */
const indexOf = (test: (object: KubeObject, type: string) => boolean): number => {
  const index = events.findIndex((e) => test(e.object, e.type));
  assert.ok(index >= 0);
  return index;
};
const deletionOfDb0 = indexOf(
  (o) => o.kind === 'Pod' && o.metadata.name === 'db-0' && !!o.metadata.deletionTimestamp,
);

function start(
  targets: KubeObject[],
  replaceBrokenPods = false,
): { client: FakeClient; result: Promise<WaitResult> } {
  const client = new FakeClient({
    // What the waiter lists right after the apply: the new generation, not yet observed.
    lists: {
      StatefulSet: [applied('StatefulSet')],
      DaemonSet: [applied('DaemonSet')],
      Pod: ofKind('Pod'),
      Event: [],
      ReplicaSet: [],
    },
  });
  const result = waitForObjects({
    client: client.client,
    targets,
    signal: new AbortController().signal,
    deadline: Date.now() + 30_000,
    progressDeadlineMs: 30_000,
    since: new Date('2026-12-01T07:52:00Z'),
    replaceBrokenPods,
  });
  return { client, result };
}

/** Pushes events one at a time, letting the waiter judge each state; stops early once it has decided. */
async function replay(
  client: FakeClient,
  settled: () => boolean,
  from: number,
  to = events.length,
): Promise<void> {
  const kinds = new Set(['Pod', ...client.listed]);
  await until(() => [...kinds].every((k) => client.watching(k) || k === 'Event') || settled(), 'the watches');
  for (const { type, object } of events.slice(from, to)) {
    if (settled()) return;
    client.push(type, object);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

function track(result: Promise<WaitResult>): () => boolean {
  let done = false;
  void result.finally(() => (done = true));
  return () => done;
}

describe('waiting on a recorded fix of crashlooping pods', () => {
  it("DaemonSet: the old revision's crashing pods are not judged; the fix becomes ready", async () => {
    const { client, result } = start([applied('DaemonSet')]);
    await replay(client, track(result), 0);
    const outcome = await result;
    assert.equal(outcome.outcome, 'ready', JSON.stringify(outcome.failed.map((f) => f.readiness)));
  });

  it('StatefulSet without replaceBrokenPods: fails at once, naming the old pod and the command', async () => {
    const { client, result } = start([applied('StatefulSet')]);
    await replay(client, track(result), 0, deletionOfDb0);
    const outcome = await result;
    assert.equal(outcome.outcome, 'failed');
    const [failed] = outcome.failed;
    assert.ok(failed);
    assert.equal(
      failed.readiness.message,
      'rolling update blocked by broken pod db-0 (container db: CrashLoopBackOff (exit code 1, 2 restarts)) of an earlier revision; to unblock: kubectl delete pod db-0 -n shop',
    );
    assert.match(
      failed.diagnosis.mostLikelyCause,
      /^the rolling update to revision db-7b86d46c8 is blocked by pod db-0 of the earlier revision db-699cbcb4f6 .*OrderedReady.*kubectl delete pod db-0 -n shop \(or deploy again with --replace-broken-pods\)$/,
    );
    assert.deepEqual(client.deleted, []);
  });

  it('StatefulSet with replaceBrokenPods: deletes the old pod once, then the fix becomes ready', async () => {
    const { client, result } = start([applied('StatefulSet')], true);
    const settled = track(result);
    // The controller's answer to the deletion is the rest of the recording.
    await replay(client, settled, 0, deletionOfDb0);
    await until(() => client.deleted.length > 0 || settled(), 'the deletion');
    assert.deepEqual(client.deleted, ['Pod/db-0']);
    await replay(client, settled, deletionOfDb0);
    const outcome = await result;
    assert.equal(outcome.outcome, 'ready', JSON.stringify(outcome.failed.map((f) => f.readiness)));
    assert.deepEqual(client.deleted, ['Pod/db-0'], 'deleted once');
  });
});
