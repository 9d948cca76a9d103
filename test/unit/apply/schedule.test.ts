import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyScheduled, scheduleOrder, serialLane } from '../../../src/apply/index.js';
import { SERIAL_IN_FLIGHT } from '../../../src/apply/schedule.js';
import type { KubeClient } from '../../../src/kube/index.js';
import type { RenderedObject } from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const rendered = (name: string): RenderedObject => ({
  object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' } },
  source: { file: `${name}.yaml` },
});

/**
 * A client that logs starts and tracks concurrency; `slow` finishes only after `c` has: whatever
 * the machine's timers do, anything that ran behind it would hang the test.
 */
function fakeClient(options: { fail?: string } = {}) {
  let cDone: () => void = () => {};
  const cFinished = new Promise<void>((resolve) => (cDone = resolve));
  const started: string[] = [];
  const finished: string[] = [];
  let inFlight = 0;
  let peak = 0;
  const client = {
    apply: async (object: KubeObject) => {
      const name = object.metadata.name ?? '';
      started.push(name);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await (name === 'slow' ? cFinished : new Promise((resolve) => setImmediate(resolve)));
      inFlight--;
      finished.push(name);
      if (name === 'c') cDone();
      if (name === options.fail) throw Object.assign(new Error(`refused ${name}`), { status: 422 });
      return { ...object, metadata: { ...object.metadata, resourceVersion: '1' } };
    },
  } as unknown as KubeClient;
  return { client, started, finished, peak: () => peak };
}

describe('applyScheduled', () => {
  it('starts an object only once its dependencies are applied, never more than `concurrency` at once', async () => {
    const names = ['slow', 'a', 'b', 'needs-slow', 'c'];
    const fake = fakeClient();
    const outcomes = await applyScheduled(fake.client, names.map(rendered), {
      concurrency: 2,
      dependencies: [[], [], [], [0], []],
    });
    assert.equal(outcomes.length, 5);
    assert.ok(outcomes.every((o) => o.live !== undefined));
    assert.ok(fake.peak() <= 2);
    // Not blocked behind the slow one: a, b and c go while it is in flight.
    assert.ok(fake.started.indexOf('c') < fake.started.indexOf('needs-slow'));
    assert.ok(fake.finished.indexOf('slow') < fake.started.indexOf('needs-slow'));
  });

  it('starts nothing new after a failure and reports what was started', async () => {
    const fake = fakeClient({ fail: 'a' });
    const seen: string[] = [];
    const outcomes = await applyScheduled(fake.client, ['a', 'b', 'c'].map(rendered), {
      concurrency: 1,
      dependencies: [[], [], []],
      onOutcome: (o) => seen.push(o.source.object.metadata.name ?? ''),
    });
    assert.deepEqual(fake.started, ['a']);
    assert.equal(outcomes.length, 1);
    assert.ok(outcomes[0].error instanceof Error);
    assert.deepEqual(seen, ['a']);
  });

  it('does not start what depends on a failed object', async () => {
    const fake = fakeClient({ fail: 'a' });
    const outcomes = await applyScheduled(fake.client, ['a', 'b'].map(rendered), {
      concurrency: 4,
      dependencies: [[], [0]],
    });
    assert.deepEqual(fake.started, ['a']);
    assert.equal(outcomes.length, 1);
  });

  it('keeps the serial lane (Services) busy from the start, never more than SERIAL_IN_FLIGHT while others wait', async () => {
    const kinds = [
      'Service',
      'Service',
      'Service',
      'Service',
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
    ];
    const objects: RenderedObject[] = kinds.map((kind, i) => ({
      object: {
        apiVersion: 'v1',
        kind,
        metadata: { name: `${kind === 'Service' ? 's' : 'c'}${i}`, namespace: 'ns' },
      },
      source: { file: `${i}.yaml` },
    }));
    const started: string[] = [];
    const inFlight = new Set<string>();
    const serialWhileOthersWaited: number[] = [];
    const client = {
      apply: async (object: KubeObject) => {
        const name = object.metadata.name ?? '';
        started.push(name);
        inFlight.add(name);
        const configMapsLeft = objects.some(
          (o) => o.object.kind === 'ConfigMap' && !started.includes(o.object.metadata.name ?? ''),
        );
        if (configMapsLeft)
          serialWhileOthersWaited.push([...inFlight].filter((n) => n.startsWith('s')).length);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight.delete(name);
        return { ...object, metadata: { ...object.metadata, resourceVersion: '1' } };
      },
    } as unknown as KubeClient;
    const serial = serialLane(objects.map((o) => o.object));
    assert.deepEqual(serial, [true, true, true, true, false, false, false, false]);
    const outcomes = await applyScheduled(client, objects, {
      concurrency: 3,
      dependencies: objects.map(() => []),
      // Priorities alone would put every ConfigMap first.
      priorities: kinds.map((k) => (k === 'Service' ? 2 : 1)),
      serial,
    });
    assert.equal(outcomes.length, 8);
    assert.deepEqual(started.slice(0, 3), ['s0', 's1', 'c4']);
    assert.ok(Math.max(...serialWhileOthersWaited) <= SERIAL_IN_FLIGHT);
    // One worker: the lane first, in render order, then the rest by priority.
    assert.deepEqual(
      scheduleOrder(
        objects.map(() => []),
        [2, 2, 2, 2, 1, 1, 1, 1],
        serial,
      ),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('the serial lane is the core Service only, not a custom kind of the same name', () => {
    const svc = (apiVersion: string): KubeObject => ({
      apiVersion,
      kind: 'Service',
      metadata: { name: 'x' },
    });
    assert.deepEqual(serialLane([svc('v1'), svc('serving.knative.dev/v1')]), [true, false]);
  });
});
