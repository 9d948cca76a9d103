import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { advanceIncidents } from '../../../src/watch/incidents.js';
import {
  EMPTY_RECORD,
  dueMessages,
  planMessages,
  recordAttempt,
  type WatchRecord,
} from '../../../src/watch/outbox.js';
import {
  addSilence,
  parseSilences,
  parseWorkloadRef,
  silenceOf,
  type Silence,
} from '../../../src/watch/silence.js';
import type { Finding } from '../../../src/watch/findings.js';
import { at } from './fixtures.js';

const silence = (workload: string, untilSeconds: number): Silence => ({
  workload,
  until: at(untilSeconds).toISOString(),
  reason: 'known: the database is being migrated',
  by: 'alice',
  at: at(0).toISOString(),
});

describe('silences', () => {
  it("reads kubectl's and the incidents' spellings of a workload; refuses anything else", () => {
    assert.equal(parseWorkloadRef('deployment/web'), 'Deployment/web');
    assert.equal(parseWorkloadRef('Deployment/web'), 'Deployment/web');
    assert.equal(parseWorkloadRef('sts/db'), 'StatefulSet/db');
    assert.equal(parseWorkloadRef('cronjob/report'), 'CronJob/report');
    for (const bad of ['web', 'deployment/', 'service/web', 'deployment/Web', 'deployment/web/x', ''])
      assert.throws(() => parseWorkloadRef(bad), { code: 'ERR_CAPSTAN_USAGE' });
  });

  it('property: any name a Deployment can have is kept as it is', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/), (name) => {
        assert.equal(parseWorkloadRef(`deployment/${name}`), `Deployment/${name}`);
      }),
    );
  });

  it('is in force until it ends; a new one of the workload replaces the old; expired ones are dropped', () => {
    const list = addSilence(
      [silence('Deployment/web', 60), silence('CronJob/report', 10)],
      silence('Deployment/web', 7200),
      at(30),
    );
    assert.deepEqual(
      list.map((s) => [s.workload, s.until]),
      [['Deployment/web', at(7200).toISOString()]],
    );
    assert.equal(
      silenceOf(list, 'Deployment/web', at(7199))?.reason,
      'known: the database is being migrated',
    );
    assert.equal(silenceOf(list, 'Deployment/web', at(7200)), undefined);
    assert.deepEqual(parseSilences(JSON.stringify(list)), list);
    assert.deepEqual(parseSilences('not json'), []);
    assert.deepEqual(parseSilences('[{"workload":1}]'), []);
  });

  it('a silenced incident is announced to nobody; still open when the silence ends, it is announced then', () => {
    const finding: Finding = {
      workload: 'Deployment/web',
      cause: 'crash-loop',
      summary: 's',
      pods: ['p'],
      subject: 'Deployment/web',
    };
    const silences = [silence('Deployment/web', 100)];
    const sent: string[] = [];
    let record: WatchRecord = EMPTY_RECORD;
    const step = (seconds: number, findings: Finding[]) => {
      const now = at(seconds);
      const transition = advanceIncidents(record.book, findings, { now, graceMs: 30_000 });
      record = planMessages(record, transition, {
        release: 1,
        configs: [{ type: 'webhook', urlEnv: 'HOOK_URL' }],
        silenced: (w) => silenceOf(silences, w, now) !== undefined,
      });
      for (const entry of dueMessages(record, now)) {
        sent.push(`${seconds} ${entry.kind}`);
        record = recordAttempt(record, entry, entry.pending, now);
      }
    };
    step(0, [finding]);
    step(50, [finding]);
    assert.deepEqual(sent, []);
    step(101, [finding]);
    step(110, [finding]);
    step(120, []);
    step(160, []);
    assert.deepEqual(sent, ['101 incident', '160 resolved']);
  });
});
