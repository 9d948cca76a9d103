import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnosis } from '../../../src/rollout/diagnosis.js';
import type { Diagnosis } from '../../../src/rollout/types.js';

const crashing: Diagnosis = {
  mostLikelyCause: 'container app keeps crashing (exit code 1); see its previous logs',
  pods: [
    {
      name: 'web-6f7c9d8b4-7kq2x',
      phase: 'Running',
      containers: [
        {
          name: 'app',
          reason: 'CrashLoopBackOff',
          detail: 'back-off 40s restarting failed container; last exit code 1 (Error)',
          restarts: 3,
        },
        { name: 'proxy', reason: 'Running', restarts: 0 },
      ],
    },
  ],
  logs: [
    {
      pod: 'web-6f7c9d8b4-7kq2x',
      container: 'app',
      previous: true,
      lines: ['booting', 'Error: DATABASE_URL is not set'],
    },
    { pod: 'web-6f7c9d8b4-7kq2x', container: 'app', previous: false, lines: [] },
  ],
  events: [
    {
      type: 'Warning',
      reason: 'BackOff',
      object: 'Pod/web-6f7c9d8b4-7kq2x',
      message: 'Back-off restarting failed container app',
      count: 11,
      lastSeen: '2025-05-14T10:05:02.000Z',
    },
    { type: 'Warning', reason: 'FailedMount', object: 'Pod/web-1', message: 'timed out', count: 1 },
  ],
};

describe('formatDiagnosis', () => {
  it('puts the cause first, then pods, log tails and Warning events', () => {
    assert.equal(
      formatDiagnosis('Deployment/web', crashing),
      [
        'Most likely cause: container app keeps crashing (exit code 1); see its previous logs',
        'Pods of Deployment/web that are not ready:',
        '  web-6f7c9d8b4-7kq2x (Running)',
        '    app: CrashLoopBackOff, 3 restarts - back-off 40s restarting failed container; last exit code 1 (Error)',
        '    proxy: Running',
        'Logs:',
        '  last 2 lines of web-6f7c9d8b4-7kq2x/app (previous container):',
        '    | booting',
        '    | Error: DATABASE_URL is not set',
        '  no log lines from web-6f7c9d8b4-7kq2x/app (current container)',
        'Warning events:',
        '  Pod/web-6f7c9d8b4-7kq2x BackOff: Back-off restarting failed container app (11 times) [2025-05-14T10:05:02.000Z]',
        '  Pod/web-1 FailedMount: timed out',
      ].join('\n'),
    );
  });

  it('is a single line when there is nothing else to show', () => {
    const text = formatDiagnosis('Service/web', {
      mostLikelyCause: "no ready pod matches the Service's selector app=web",
      pods: [],
      logs: [],
      events: [],
    });
    assert.equal(text, "Most likely cause: no ready pod matches the Service's selector app=web");
  });

  it('says "last 20 lines" for a full tail', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const text = formatDiagnosis('Job/seeds', {
      mostLikelyCause: 'x',
      pods: [],
      logs: [{ pod: 'seeds-abc', container: 'seed', previous: false, lines }],
      events: [],
    });
    assert.match(text, /^ {2}last 20 lines of seeds-abc\/seed \(current container\):$/m);
  });

  it('caps the pod list at 10', () => {
    const pods = Array.from({ length: 13 }, (_, i) => ({
      name: `web-${i}`,
      phase: 'Pending',
      containers: [],
    }));
    const text = formatDiagnosis('Deployment/web', { mostLikelyCause: 'x', pods, logs: [], events: [] });
    assert.match(text, /web-9 \(Pending\)\n {2}\.\.\. and 3 more$/);
    assert.doesNotMatch(text, /web-10/);
  });
});

describe('formatDiagnosis: Warning events that differ only by pod name', () => {
  const quota = (i: number, second: number) => ({
    type: 'Warning',
    reason: 'FailedCreate',
    object: 'ReplicaSet/web-6f7c9d8b4',
    message: `Error creating: pods "web-6f7c9d8b4-${['b2x4k', 'c5m7q', 'd9z2w', 'f4h6j', 'g7k8l', 'h2n4p', 'j5r6s', 'k8t9v', 'l2w4x', 'm5z6b'][i]}" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2`,
    count: 1,
    lastSeen: new Date(Date.UTC(2026, 11, 1, 7, 59, 2) + second * 1000).toISOString(),
  });
  const base: Diagnosis = { mostLikelyCause: 'quota', pods: [], logs: [], events: [] };

  it('collapses ten quota refusals into one line with the count and the time range', () => {
    const events = Array.from({ length: 10 }, (_, i) => quota(i, i === 9 ? 81 : i));
    const lines = formatDiagnosis('Deployment/web', { ...base, events }).split('\n');
    assert.deepEqual(lines.slice(1), [
      'Warning events:',
      '  ReplicaSet/web-6f7c9d8b4 FailedCreate x10 (07:59:02-08:00:23): Error creating: pods "web-6f7c9d8b4-*" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2',
    ]);
  });

  it('counts the correlator\'s "combined from similar events" in the same line', () => {
    const combined = {
      ...quota(1, 20),
      message: `(combined from similar events): ${quota(1, 20).message}`,
      count: 4,
    };
    const lines = formatDiagnosis('Deployment/web', { ...base, events: [quota(0, 0), combined] }).split('\n');
    assert.deepEqual(lines.slice(2), [
      '  ReplicaSet/web-6f7c9d8b4 FailedCreate x5 (07:59:02-07:59:22): Error creating: pods "web-6f7c9d8b4-*" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2',
    ]);
  });

  it('collapses the same event of several pods, naming how many, and keeps different messages apart', () => {
    const backOff = (pod: string, count: number, at: string) => ({
      type: 'Warning',
      reason: 'BackOff',
      object: `Pod/${pod}`,
      message: 'Back-off restarting failed container app',
      count,
      lastSeen: at,
    });
    const events = [
      backOff('web-6f7c9d8b4-7kq2x', 3, '2026-12-01T08:00:01.000Z'),
      backOff('web-6f7c9d8b4-8rt4z', 2, '2026-12-01T08:00:09.000Z'),
      {
        type: 'Warning',
        reason: 'BackOff',
        object: 'Pod/web-6f7c9d8b4-8rt4z',
        message: 'Back-off pulling image',
        count: 1,
      },
    ];
    const lines = formatDiagnosis('Deployment/web', { ...base, events }).split('\n');
    assert.deepEqual(lines.slice(2), [
      '  Pod/web-6f7c9d8b4-* (2 pods) BackOff x5 (08:00:01-08:00:09): Back-off restarting failed container app',
      '  Pod/web-6f7c9d8b4-8rt4z BackOff: Back-off pulling image',
    ]);
  });
});
