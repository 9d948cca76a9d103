import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { advanceOutage, afterOutageAttempt, parseOutage, type Outage } from '../../../src/watch/outage.js';
import { EMPTY_RECORD, parseWatchRecord } from '../../../src/watch/outbox.js';

const T0 = Date.parse('2026-12-07T21:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const GRACE = 30_000;

describe('advanceOutage', () => {
  it('says nothing within the grace period, then announces once, then resolves once', () => {
    let step = advanceOutage(undefined, at(0), { now: at(2), graceMs: GRACE });
    assert.equal(step.send, undefined);
    assert.deepEqual(step.outage, { since: at(0).toISOString() });
    step = advanceOutage(step.outage, at(0), { now: at(30), graceMs: GRACE });
    assert.equal(step.send, 'incident');
    const announced = afterOutageAttempt(step.outage!, 'incident', true, at(30));
    assert.equal(announced?.announcedAt, at(30).toISOString());
    assert.equal(advanceOutage(announced, at(0), { now: at(60), graceMs: GRACE }).send, undefined);
    step = advanceOutage(announced, undefined, { now: at(62), graceMs: GRACE });
    assert.equal(step.send, 'resolved');
    assert.equal(afterOutageAttempt(step.outage!, 'resolved', true, at(62)), undefined);
  });

  it('lets an outage shorter than the grace period pass quietly', () => {
    const step = advanceOutage({ since: at(0).toISOString() }, undefined, { now: at(10), graceMs: GRACE });
    assert.deepEqual(step, {});
  });

  it('keeps a message no configuration took due', () => {
    const outage: Outage = { since: at(0).toISOString() };
    assert.deepEqual(afterOutageAttempt(outage, 'incident', false, at(31)), outage);
    const announced = { ...outage, announcedAt: at(31).toISOString() };
    assert.deepEqual(afterOutageAttempt(announced, 'resolved', false, at(40)), announced);
    assert.equal(advanceOutage(announced, undefined, { now: at(42), graceMs: GRACE }).send, 'resolved');
  });

  it('over any run of answers and silences, sends incident and resolved alternately, each outage at most once', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ down: fc.boolean(), taken: fc.boolean(), step: fc.integer({ min: 1, max: 20 }) }),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 0, max: 40_000 }),
        (observations, graceMs) => {
          let outage: Outage | undefined;
          let troubleSince: Date | undefined;
          let clock = 0;
          const sent: string[] = [];
          for (const o of observations) {
            clock += o.step;
            troubleSince = o.down ? (troubleSince ?? at(clock)) : undefined;
            const step = advanceOutage(outage, troubleSince, { now: at(clock), graceMs });
            outage = step.outage;
            if (step.send === undefined) continue;
            if (step.send === 'incident')
              assert.ok(
                clock * 1000 - Date.parse(outage!.since) + T0 >= graceMs,
                'not before the grace period',
              );
            if (o.taken) sent.push(step.send);
            outage = afterOutageAttempt(outage!, step.send, o.taken, at(clock));
          }
          // Taken messages alternate, starting with an incident.
          sent.forEach((kind, i) => assert.equal(kind, i % 2 === 0 ? 'incident' : 'resolved'));
          // An announced outage is remembered until its resolution is taken.
          if (sent.length % 2 === 1) assert.ok(outage?.announcedAt !== undefined);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the outage in the record', () => {
  it('is read back, and a damaged one is dropped', () => {
    const outage = { since: at(0).toISOString(), announcedAt: at(30).toISOString() };
    assert.deepEqual(parseWatchRecord(JSON.stringify({ ...EMPTY_RECORD, outage })).outage, outage);
    assert.equal(
      parseWatchRecord(JSON.stringify({ ...EMPTY_RECORD, outage: { since: 5 } })).outage,
      undefined,
    );
    assert.equal(parseOutage('yesterday'), undefined);
    assert.equal(parseOutage({ since: 'not a time' }), undefined);
  });
});
