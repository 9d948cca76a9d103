import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { diagnose } from '../../../src/rollout/diagnosis.js';
import type { KubeObject } from '../../../src/shared/index.js';

const read = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rollout/${name}.json`, import.meta.url), 'utf8')) as T;
const fixtures = {
  pods: read<Record<string, KubeObject>>('pods'),
  events: read<Record<string, KubeObject>>('events'),
  deployments: read<Record<string, KubeObject>>('deployments'),
  jobs: read<Record<string, KubeObject>>('jobs'),
};
const replicaSets = read<KubeObject[]>('replicasets');
const since = new Date('2025-05-14T10:00:00Z');

function one(group: keyof typeof fixtures, key: string): KubeObject {
  const object = fixtures[group][key];
  assert.ok(object, `fixture ${group}.${key}`);
  return object;
}
const take = (group: keyof typeof fixtures, keys: string[]): KubeObject[] =>
  keys.map((key) => one(group, key));

const web = one('deployments', 'deadlineExceeded');

describe('diagnosis contents', () => {
  it('lists only unhealthy pods of the current rollout', () => {
    const diagnosis = diagnose({
      object: web,
      pods: take('pods', ['runningReady', 'oldRunningReady', 'crashLoop', 'terminating']),
      replicaSets,
      events: [],
      logs: {},
    });
    assert.deepEqual(diagnosis.pods, [
      {
        name: 'web-6f7c9d8b4-7kq2x',
        phase: 'Running',
        containers: [
          {
            name: 'app',
            reason: 'CrashLoopBackOff',
            detail:
              'back-off 40s restarting failed container=app pod=web-6f7c9d8b4-7kq2x_shop-staging(pod-web-6f7c9d8b4-7kq2x); last exit code 1 (Error)',
            restarts: 3,
          },
        ],
      },
    ]);
  });

  it('shows no old pods when the current ReplicaSet has none', () => {
    const diagnosis = diagnose({
      object: one('deployments', 'quotaRefused'),
      pods: take('pods', ['oldRunningReady']),
      replicaSets,
      events: [],
      logs: {},
    });
    assert.deepEqual(diagnosis.pods, []);
  });

  it('describes unschedulable, terminated and init-blocked pods', () => {
    const diagnosis = diagnose({
      object: one('jobs', 'backoffLimitExceeded'),
      pods: take('pods', ['jobFailedExit']),
      events: [],
      logs: {},
    });
    assert.deepEqual(diagnosis.pods, [
      {
        name: 'db-migrate-z9y8x',
        phase: 'Failed',
        containers: [{ name: 'app', reason: 'Error', detail: 'exit code 2 (Error)', restarts: 0 }],
      },
    ]);
    const blocked = diagnose({
      object: web,
      pods: take('pods', ['unschedulable', 'initCrashing']),
      replicaSets,
      events: [],
      logs: {},
    });
    assert.deepEqual(
      blocked.pods.map((p) => [p.phase, p.containers.map((c) => `${c.name}:${c.reason}`)]),
      [
        ['Pending (Unschedulable)', []],
        ['Pending', ['wait-for-db:CrashLoopBackOff', 'app:PodInitializing']],
      ],
    );
  });

  it('keeps Warning events since the deploy started, deduplicated, most recent last', () => {
    const diagnosis = diagnose({
      object: web,
      pods: [],
      replicaSets,
      events: take('events', [
        'crashBackOffLater',
        'beforeDeploy',
        'scheduledNormal',
        'crashBackOff',
        'livenessFailed',
      ]),
      logs: {},
      since,
    });
    assert.deepEqual(
      diagnosis.events.map((e) => `${e.reason} x${e.count}`),
      ['Unhealthy x9', 'BackOff x15'],
    );
  });

  it('keeps the last 20 log lines, previous container first', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const diagnosis = diagnose({
      object: web,
      pods: take('pods', ['crashLoop']),
      replicaSets,
      events: [],
      logs: {
        'web-6f7c9d8b4-7kq2x': [{ container: 'app', current: ['starting', ''], previous: [...lines, ''] }],
      },
    });
    assert.deepEqual(diagnosis.logs, [
      { pod: 'web-6f7c9d8b4-7kq2x', container: 'app', previous: true, lines: lines.slice(10) },
      { pod: 'web-6f7c9d8b4-7kq2x', container: 'app', previous: false, lines: ['starting'] },
    ]);
  });

  it('orders logs by the order of the pods', () => {
    const diagnosis = diagnose({
      object: web,
      pods: take('pods', ['crashLoop', 'oomKilled']),
      replicaSets,
      events: [],
      logs: {
        'web-6f7c9d8b4-00m1k': [{ container: 'app', current: ['b'] }],
        'web-6f7c9d8b4-7kq2x': [{ container: 'app', current: ['a'] }],
      },
    });
    assert.deepEqual(
      diagnosis.logs.map((l) => l.lines[0]),
      ['a', 'b'],
    );
  });
});
