import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { observeFindings, type ObservedState } from '../../../src/watch/findings.js';
import {
  advanceIncidents,
  EMPTY_BOOK,
  incidentKey,
  openIncidents,
  type IncidentBook,
} from '../../../src/watch/incidents.js';
import { at, crash, deployment, empty, healthy, iso, webWith } from './fixtures.js';

const GRACE = 120_000;

/** Runs recorded states through the lifecycle; returns what each step opened and resolved. */
function replay(steps: Array<[seconds: number, state: ObservedState]>, book: IncidentBook = EMPTY_BOOK) {
  const log: string[] = [];
  for (const [seconds, state] of steps) {
    const now = at(seconds);
    const step = advanceIncidents(book, observeFindings(state, { now, graceMs: GRACE }), {
      now,
      graceMs: GRACE,
    });
    for (const i of step.opened) log.push(`${seconds} opened ${incidentKey(i)}`);
    for (const i of step.resolved) log.push(`${seconds} resolved ${incidentKey(i)}`);
    book = step.book;
  }
  return { log, book };
}

describe('incident lifecycle', () => {
  it('the kwok crash loop cycle of two pods opens one incident, and recovery resolves it once after the grace period', () => {
    const cycle: Array<(pod: string) => Record<string, unknown>> = [
      () => crash.running(0),
      () => crash.exited(0, 1, 'Error'),
      (p) => crash.backOff(p, 1, 1, 'Error'),
      () => crash.running(1, { exitCode: 1, reason: 'Error' }),
      () => crash.exited(1, 1, 'Error'),
      (p) => crash.backOff(p, 2, 1, 'Error'),
      () => crash.running(2, { exitCode: 1, reason: 'Error' }),
    ];
    const steps: Array<[number, ObservedState]> = cycle.map((status, i) => [i * 3, webWith(2, status)]);
    // Recovered: a new release's pods are ready; checked every 10 s for 3 minutes.
    for (let s = 30; s <= 210; s += 10) steps.push([s, webWith(2, healthy, 2)]);
    const { log, book } = replay(steps);
    assert.deepEqual(log, ['6 opened Deployment/web crash-loop', '150 resolved Deployment/web crash-loop']);
    assert.deepEqual(book.incidents, []);
  });

  it('a relapse inside the grace period keeps the incident open: no resolved message, no second one', () => {
    const crashing = webWith(2, (p) => crash.backOff(p, 3, 1, 'Error'));
    const { log } = replay([
      [0, crashing],
      [30, webWith(2, healthy, 2)],
      [100, crashing],
      [130, webWith(2, healthy, 2)],
      [260, webWith(2, healthy, 2)],
    ]);
    assert.deepEqual(log, ['0 opened Deployment/web crash-loop', '260 resolved Deployment/web crash-loop']);
  });

  it('between back-offs, missing replicas of a crash-looping Deployment are no second incident', () => {
    const gap = (state: ObservedState): ObservedState => ({
      ...state,
      workloads: [
        deployment('web', 2, 0, {
          conditions: [
            {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              lastTransitionTime: iso(-600),
            },
          ],
        }),
      ],
    });
    const { log } = replay([
      [0, gap(webWith(2, (p) => crash.backOff(p, 1, 1, 'Error')))],
      [5, gap(webWith(2, () => crash.running(1, { exitCode: 1, reason: 'Error' })))],
      [6, gap(webWith(2, () => crash.exited(1, 1, 'Error')))],
      [7, gap(webWith(2, (p) => crash.backOff(p, 2, 1, 'Error')))],
    ]);
    assert.deepEqual(log, ['0 opened Deployment/web crash-loop']);
  });

  it('a Deployment below its replicas opens only after the grace period, and not when it recovers sooner', () => {
    const short = replay([
      [0, { ...empty, workloads: [deployment('web', 2, 1)] }],
      [60, { ...empty, workloads: [deployment('web', 2, 1)] }],
      [90, { ...empty, workloads: [deployment('web', 2, 2)] }],
      [400, { ...empty, workloads: [deployment('web', 2, 2)] }],
    ]);
    assert.deepEqual(short.log, []);
    const long = replay([
      [0, { ...empty, workloads: [deployment('web', 2, 1)] }],
      [60, { ...empty, workloads: [deployment('web', 2, 1)] }],
      [125, { ...empty, workloads: [deployment('web', 2, 1)] }],
    ]);
    assert.deepEqual(long.log, ['125 opened Deployment/web unavailable']);
  });

  it('evidence older than the grace period opens at once: what --once and a restarted watcher see', () => {
    const web = deployment('web', 2, 0, {
      conditions: [
        {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          lastTransitionTime: iso(-600),
        },
      ],
    });
    const { log } = replay([[0, { ...empty, workloads: [web] }]]);
    assert.deepEqual(log, ['0 opened Deployment/web unavailable']);
  });

  it('a watcher restarted with its stored book neither repeats nor forgets', () => {
    const crashing = webWith(2, (p) => crash.backOff(p, 3, 1, 'Error'));
    const first = replay([
      [0, crashing],
      [10, crashing],
    ]);
    const stored = JSON.parse(JSON.stringify(first.book)) as IncidentBook;
    const second = replay(
      [
        [40, crashing],
        [60, webWith(2, healthy, 2)],
        [200, webWith(2, healthy, 2)],
      ],
      stored,
    );
    assert.deepEqual(second.log, ['200 resolved Deployment/web crash-loop']);
  });

  it('property: per workload and cause, opens and resolutions alternate, opening first', () => {
    const kinds = ['healthy', 'crash', 'oom', 'short'] as const;
    const stateOf = (kind: (typeof kinds)[number], pods: number): ObservedState =>
      kind === 'healthy'
        ? webWith(pods, healthy, pods)
        : kind === 'crash'
          ? webWith(pods, (p) => crash.backOff(p, 2, 1, 'Error'))
          : kind === 'oom'
            ? webWith(pods, (p) => crash.backOff(p, 2, 137, 'OOMKilled'))
            : { ...empty, workloads: [deployment('web', pods, 0)] };
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(...kinds),
            fc.integer({ min: 1, max: 6 }),
            fc.integer({ min: 1, max: 200 }),
          ),
          {
            maxLength: 40,
          },
        ),
        (script) => {
          let seconds = 0;
          const steps: Array<[number, ObservedState]> = script.map(([kind, pods, gap]) => {
            seconds += gap;
            return [seconds, stateOf(kind, pods)];
          });
          const { log, book } = replay(steps);
          const open = new Set<string>();
          for (const line of log) {
            const [, what, ...rest] = line.split(' ');
            const key = rest.join(' ');
            if (what === 'opened') {
              assert.ok(!open.has(key), `${key} opened twice: ${log.join('; ')}`);
              open.add(key);
            } else {
              assert.ok(open.delete(key), `${key} resolved while not open`);
            }
          }
          assert.deepEqual(new Set(openIncidents(book).map(incidentKey)), open);
          // One workload: never more than one open incident per cause.
          assert.ok(openIncidents(book).length <= 3);
        },
      ),
    );
  });
});
