import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { summarizeEvents } from '../../../src/rollout/events.js';
import type { KubeObject } from '../../../src/shared/index.js';

const events = JSON.parse(
  readFileSync(new URL('../../fixtures/rollout/events.json', import.meta.url), 'utf8'),
) as Record<string, KubeObject>;
const pick = (...keys: string[]): KubeObject[] =>
  keys.map((key) => {
    const event = events[key];
    assert.ok(event, `fixture ${key}`);
    return event;
  });
const deployStart = new Date('2025-05-14T10:00:00Z');

describe('summarizeEvents', () => {
  it('keeps only Warning events', () => {
    const summary = summarizeEvents(pick('scheduledNormal', 'pullBackOffNormal', 'pullFailed'));
    assert.deepEqual(
      summary.map((e) => e.reason),
      ['Failed'],
    );
  });

  it('drops events last seen before the deploy started', () => {
    assert.equal(summarizeEvents(pick('beforeDeploy', 'crashBackOff'), deployStart).length, 1);
    assert.equal(summarizeEvents(pick('beforeDeploy', 'crashBackOff')).length, 2);
  });

  it('keeps an event first seen before the deploy when it recurred after', () => {
    const [original] = pick('beforeDeploy');
    assert.ok(original);
    const recurring = structuredClone(original);
    recurring.lastTimestamp = '2025-05-14T10:01:00Z';
    assert.equal(summarizeEvents([recurring], deployStart).length, 1);
  });

  it('keeps events without any timestamp', () => {
    const bare: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'x' },
      type: 'Warning',
      reason: 'FailedMount',
      message: 'timed out',
      involvedObject: { kind: 'Pod', name: 'web-1' },
    };
    assert.deepEqual(summarizeEvents([bare], deployStart), [
      { type: 'Warning', reason: 'FailedMount', object: 'Pod/web-1', message: 'timed out', count: 1 },
    ]);
  });

  it('counts one event object seen twice once, with its latest count', () => {
    const [only, ...rest] = summarizeEvents(pick('crashBackOff', 'crashBackOffLater'));
    assert.equal(rest.length, 0);
    assert.equal(only?.count, 15);
    assert.equal(only?.lastSeen, '2025-05-14T10:07:02.000Z');
  });

  it('merges distinct events with the same content, adding counts', () => {
    const summary = summarizeEvents(pick('readinessFailed', 'readinessFailedTwin'));
    assert.deepEqual(summary, [
      {
        type: 'Warning',
        reason: 'Unhealthy',
        object: 'Pod/web-6f7c9d8b4-r3dy0',
        message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
        count: 42,
        lastSeen: '2025-05-14T10:06:30.000Z',
      },
    ]);
  });

  it('reads scheduler events with eventTime and series', () => {
    assert.deepEqual(summarizeEvents(pick('failedScheduling'), deployStart), [
      {
        type: 'Warning',
        reason: 'FailedScheduling',
        object: 'Pod/web-6f7c9d8b4-s9h8d',
        message:
          '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
        count: 4,
        lastSeen: '2025-05-14T10:07:11.402Z',
      },
    ]);
  });

  it('reads events.k8s.io/v1 events (regarding, note)', () => {
    assert.deepEqual(summarizeEvents(pick('newApi')), [
      {
        type: 'Warning',
        reason: 'Unhealthy',
        object: 'Pod/web-6f7c9d8b4-r3dy0',
        message: 'Startup probe failed: command "/bin/check" timed out',
        count: 2,
        lastSeen: '2025-05-14T10:03:30.000Z',
      },
    ]);
  });

  it('orders the most recent last', () => {
    const summary = summarizeEvents(
      pick('readinessFailed', 'quota', 'failedMount', 'jobBackoff'),
      deployStart,
    );
    assert.deepEqual(
      summary.map((e) => e.lastSeen),
      [
        '2025-05-14T10:02:40.000Z',
        '2025-05-14T10:04:15.000Z',
        '2025-05-14T10:04:30.000Z',
        '2025-05-14T10:06:00.000Z',
      ],
    );
  });
});
