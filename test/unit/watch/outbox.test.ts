import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { NotificationConfig } from '../../../src/config/index.js';
import { advanceIncidents, type Incident } from '../../../src/watch/incidents.js';
import {
  dueMessages,
  EMPTY_RECORD,
  parseWatchRecord,
  planMessages,
  recordAttempt,
  type WatchRecord,
} from '../../../src/watch/outbox.js';
import type { Finding } from '../../../src/watch/findings.js';
import { at } from './fixtures.js';

const slack: NotificationConfig = { type: 'slack', urlEnv: 'SLACK_URL' };
const hook: NotificationConfig = { type: 'webhook', urlEnv: 'HOOK_URL', events: ['incident'] };
const crashLoop: Finding = {
  workload: 'Deployment/web',
  cause: 'crash-loop',
  summary: 'container app keeps crashing (exit code 1); see its previous logs',
  pods: ['web-a', 'web-b'],
  subject: 'Deployment/web',
};

/** One evaluation at `seconds` with `findings`, then an attempt to send what is due, taken by `takes`. */
function step(
  record: WatchRecord,
  seconds: number,
  findings: Finding[],
  takes: (config: string) => boolean,
  release = 1,
  sent: string[] = [],
): WatchRecord {
  const now = at(seconds);
  const transition = advanceIncidents(record.book, findings, { now, graceMs: 60_000 });
  let next = planMessages(record, transition, { release, configs: [slack, hook] });
  for (const entry of dueMessages(next, now)) {
    const delivered = entry.pending.filter(takes);
    for (const c of delivered)
      sent.push(`${seconds} ${entry.kind} ${entry.incident.workload} r${entry.release} -> ${c}`);
    next = recordAttempt(next, entry, delivered, now);
  }
  // Stored and read back, as a restarted watcher would.
  return parseWatchRecord(JSON.stringify(next));
}

describe('watch outbox', () => {
  it('one message per incident and configuration, one resolved message where it is wanted', () => {
    const sent: string[] = [];
    let record = EMPTY_RECORD;
    for (const s of [0, 5, 10, 20]) record = step(record, s, [crashLoop], () => true, 1, sent);
    for (const s of [30, 60, 95]) record = step(record, s, [], () => true, 1, sent);
    assert.deepEqual(sent, [
      '0 incident Deployment/web r1 -> slack:SLACK_URL',
      '0 incident Deployment/web r1 -> webhook:HOOK_URL',
      '95 resolved Deployment/web r1 -> slack:SLACK_URL',
    ]);
    assert.deepEqual(record, EMPTY_RECORD);
  });

  it('a failed send is retried with back-off and recorded only once delivered, to that configuration only', () => {
    const sent: string[] = [];
    let record = EMPTY_RECORD;
    let hookUp = false;
    const takes = (c: string) => c.startsWith('slack') || hookUp;
    record = step(record, 0, [crashLoop], takes, 1, sent); // hook fails: retry at 2 s
    record = step(record, 1, [crashLoop], takes, 1, sent); // not due yet
    record = step(record, 2, [crashLoop], takes, 1, sent); // fails again: retry at 6 s
    assert.equal(record.outbox[0]?.nextAttemptAt, at(6).toISOString());
    hookUp = true;
    record = step(record, 4, [crashLoop], takes, 1, sent);
    record = step(record, 6, [crashLoop], takes, 1, sent);
    assert.deepEqual(sent, [
      '0 incident Deployment/web r1 -> slack:SLACK_URL',
      '6 incident Deployment/web r1 -> webhook:HOOK_URL',
    ]);
    assert.deepEqual(record.outbox, []);
  });

  it('an incident resolved before any configuration took it leaves without a resolved message', () => {
    const sent: string[] = [];
    let record = EMPTY_RECORD;
    record = step(record, 0, [crashLoop], () => false, 1, sent);
    for (const s of [10, 80]) record = step(record, s, [], () => false, 1, sent);
    assert.deepEqual(sent, []);
    assert.deepEqual(record.outbox, []);
  });

  it('a new release while the incident goes on is announced again, once', () => {
    const sent: string[] = [];
    let record = EMPTY_RECORD;
    record = step(record, 0, [crashLoop], (c) => c.startsWith('slack'), 1, sent);
    for (const s of [10, 20, 30])
      record = step(record, s, [crashLoop], (c) => c.startsWith('slack'), 2, sent);
    assert.deepEqual(sent, [
      '0 incident Deployment/web r1 -> slack:SLACK_URL',
      '10 incident Deployment/web r2 -> slack:SLACK_URL',
    ]);
  });

  it('property: whatever the deliveries, a configuration never gets an incident twice under one release, nor a new one before the resolution of the last', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 90 })), { maxLength: 40 }),
        (script) => {
          const sent: string[] = [];
          let record = EMPTY_RECORD;
          let seconds = 0;
          for (const [broken, up, gap] of script) {
            seconds += gap;
            record = step(record, seconds, broken ? [crashLoop] : [], () => up, 1, sent);
          }
          const perOpening = new Map<string, number>();
          let opening = 0;
          for (const line of sent) {
            const [, kind, , , , config] = line.split(' ');
            if (kind === 'resolved') opening++;
            const key = `${opening} ${kind} ${config}`;
            perOpening.set(key, (perOpening.get(key) ?? 0) + 1);
          }
          for (const [key, n] of perOpening) assert.equal(n, 1, `${key}: ${sent.join('; ')}`);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a damaged stored record starts afresh', () => {
    assert.deepEqual(parseWatchRecord('{"book":'), EMPTY_RECORD);
    assert.deepEqual(parseWatchRecord(undefined), EMPTY_RECORD);
    const incident: Incident = { ...crashLoop, since: at(0).toISOString(), openedAt: at(0).toISOString() };
    assert.deepEqual(parseWatchRecord(JSON.stringify({ book: { incidents: [incident] } })).book.incidents, [
      incident,
    ]);
  });
});
