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
