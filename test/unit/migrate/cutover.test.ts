// The pure half of a cutover: the steps planned from a migration plan, what a run does with the
// record it finds, the patches each step makes and takes back, and a record read fail-closed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cutoverRecordName,
  decide,
  describeStep,
  newestRecord,
  parseCutoverRecord,
  pendingSteps,
  planCutover,
  stepPatch,
  stripForCopy,
  SUSPENDED_BY_MIGRATE,
  withStep,
  type CutoverRecord,
  type CutoverState,
  type CutoverStep,
  type PlannedObject,
} from '../../../src/migrate/index.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { hookEnv } from '../../../src/cli/cutover-hook.js';

const cronJob = (name: string, suspend?: boolean): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: 'shop' },
  spec: { schedule: '0 3 * * *', ...(suspend === undefined ? {} : { suspend }), jobTemplate: {} },
});
const workload = (kind: string, name: string, replicas?: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name, namespace: 'shop' },
  spec: replicas === undefined ? {} : { replicas },
});

/** A planned object as migrate plans it: A's stripped form, and B's copy (made by an earlier migrate). */
function planned(a: KubeObject, inB = true): PlannedObject {
  const object = stripForCopy(a, { suspendCronJobs: true });
  const group = a.apiVersion.includes('/') ? a.apiVersion.split('/')[0] : '';
  return {
    key: `${a.kind}.${group}/shop/${a.metadata.name}`,
    ref: { kind: a.kind, group, namespace: 'shop', name: a.metadata.name! },
    wave: 5,
    object,
    ...(inB ? { current: object } : {}),
  };
}

const objects = [
  planned(cronJob('nightly')),
  planned(cronJob('hourly', false)),
  planned(cronJob('paused', true)),
  planned(workload('Deployment', 'web', 3)),
  planned(workload('StatefulSet', 'db')),
  planned(workload('ReplicaSet', 'legacy', 0)),
  planned(workload('DaemonSet', 'agent')),
];

function record(state: CutoverState, steps: CutoverStep[] = [], seq = 3): CutoverRecord {
  return {
    version: 1,
    seq,
    by: 'alice',
    startedAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:01:00.000Z',
    from: { server: 'https://a' },
    to: { server: 'https://b' },
    scope: { namespaces: ['shop'] },
    scaleDownSource: true,
    state,
    steps,
  };
}

describe('planCutover', () => {
  it("suspends A's running CronJobs, runs the hook, resumes B's marked ones, then scales A down", () => {
    const steps = planCutover({ objects, scaleDownSource: true, command: 'switch-lb.sh green' });
    assert.deepEqual(
      steps.map((s) => describeStep(s)),
      [
        'suspend CronJob shop/hourly in A (suspend false → true)',
        'suspend CronJob shop/nightly in A (suspend false → true)',
        'run the hook (forward): switch-lb.sh green',
        'resume CronJob shop/hourly in B (suspend true → false)',
        'resume CronJob shop/nightly in B (suspend true → false)',
        'scale Deployment shop/web in A (replicas 3 → 0)',
        'scale StatefulSet shop/db in A (replicas 1 → 0)',
      ],
    );
    assert.ok(steps.every((s) => !s.applied));
    const resume = steps.find((s) => s.action === 'resume-cronjob');
    assert.equal(resume?.action === 'resume-cronjob' && resume.mark, 'false');
  });

  it('never resumes a CronJob that B has without the mark, nor one B lacks; scales only when asked', () => {
    const unmarked = stripForCopy(cronJob('nightly'), { suspendCronJobs: true });
    delete unmarked.metadata.annotations;
    const steps = planCutover({
      objects: [{ ...planned(cronJob('nightly')), current: unmarked }, planned(cronJob('other'), false)],
      scaleDownSource: false,
    });
    assert.deepEqual(
      steps.map((s) => s.action),
      ['suspend-cronjob', 'suspend-cronjob'],
    );
    assert.deepEqual(
      planCutover({ objects: [planned(workload('Deployment', 'web', 2))], scaleDownSource: false }),
      [],
    );
  });
});

describe('decide', () => {
  it('a cutover starts afresh without a record or once A is live again, and is a no-op when B is live', () => {
    assert.equal(decide(undefined, 'forward').kind, 'fresh');
    assert.equal(decide(record('back'), 'forward').kind, 'fresh');
    assert.equal(decide(record('rolled-back'), 'forward').kind, 'fresh');
    const noop = decide(record('live'), 'forward');
    assert.equal(noop.kind, 'noop');
    assert.match(noop.kind === 'noop' ? noop.message : '', /already cut over .* by alice/);
  });

  it('an interrupted run is continued in the direction asked for', () => {
    for (const state of ['cutting-over', 'going-back', 'rolling-back'] as const) {
      assert.equal(decide(record(state), 'forward').kind, 'continue');
      assert.equal(decide(record(state), 'back').kind, 'continue');
    }
    assert.equal(decide(record('live'), 'back').kind, 'continue');
  });

  it('--back without a record fails, and after a --back it is a no-op', () => {
    assert.equal(decide(undefined, 'back').kind, 'none');
    assert.equal(decide(record('back'), 'back').kind, 'noop');
  });
});

describe('pendingSteps and withStep', () => {
  const steps = planCutover({ objects, scaleDownSource: true, command: 'true' });
  it('forward takes the unapplied steps in order; back the applied ones in reverse', () => {
    let r = record('cutting-over', steps);
    r = withStep(withStep(r, 0, true), 1, true);
    assert.deepEqual(pendingSteps(r.steps, 'forward'), [2, 3, 4, 5, 6]);
    assert.deepEqual(pendingSteps(r.steps, 'back'), [1, 0]);
    assert.equal(steps[0].applied, false, 'withStep does not change its input');
  });

  it("keeps the hook's result", () => {
    const result = { direction: 'forward' as const, exitCode: 0, timedOut: false, durationMs: 5, ok: true };
    const step = withStep(record('cutting-over', steps), 2, true, result).steps[2];
    assert.deepEqual(step, { action: 'hook', command: 'true', applied: true, result });
  });
});

describe('stepPatch', () => {
  const [suspend, , , resume, , scale] = planCutover({
    objects,
    scaleDownSource: true,
    command: 'x',
  }) as Array<Exclude<CutoverStep, { action: 'hook' }>>;
  it('suspends and resumes A', () => {
    assert.deepEqual(stepPatch(suspend, 'forward'), { spec: { suspend: true } });
    assert.deepEqual(stepPatch(suspend, 'back'), { spec: { suspend: false } });
  });
  it("resumes B and removes migrate's mark; back puts both back", () => {
    assert.deepEqual(stepPatch(resume, 'forward'), {
      metadata: { annotations: { [SUSPENDED_BY_MIGRATE]: null } },
      spec: { suspend: false },
    });
    assert.deepEqual(stepPatch(resume, 'back'), {
      metadata: { annotations: { [SUSPENDED_BY_MIGRATE]: 'false' } },
      spec: { suspend: true },
    });
  });
  it('scales to 0 and back to the recorded count', () => {
    assert.deepEqual(stepPatch(scale, 'forward'), { spec: { replicas: 0 } });
    assert.deepEqual(stepPatch(scale, 'back'), { spec: { replicas: 3 } });
  });
});

describe('the record', () => {
  const steps = planCutover({ objects, scaleDownSource: true, command: 'switch-lb.sh green' });
  it('round-trips through JSON', () => {
    const r = record('live', steps);
    assert.deepEqual(parseCutoverRecord(JSON.stringify(r)), r);
  });

  it('is refused when it cannot be read (fail closed)', () => {
    const bad: Array<[string, string, RegExp]> = [
      ['not JSON', '{"version":1', /unreadable/],
      ['another version', JSON.stringify({ ...record('live'), version: 2 }), /version 2/],
      ['an unknown state', JSON.stringify({ ...record('live'), state: 'half' }), /state "half"/],
      [
        'an unknown step',
        JSON.stringify(record('live', [{ action: 'delete', applied: true } as unknown as CutoverStep])),
        /steps\[0\]\.action "delete"/,
      ],
      [
        'a step without applied',
        JSON.stringify(record('live', [{ ...steps[0], applied: 'yes' } as unknown as CutoverStep])),
        /steps\[0\]\.applied/,
      ],
      [
        'a scale without a count',
        JSON.stringify(record('live', [{ ...steps[5], before: -1 } as unknown as CutoverStep])),
        /steps\[0\]\.before/,
      ],
    ];
    for (const [what, text, message] of bad)
      assert.throws(() => parseCutoverRecord(text), { code: 'ERR_CAPSTAN_CUTOVER_RECORD', message }, what);
  });

  it('of the two clusters, the one written last wins', () => {
    assert.equal(newestRecord([undefined, undefined]), undefined);
    assert.equal(newestRecord([record('cutting-over', [], 4), record('live', [], 5)])?.state, 'live');
    assert.equal(newestRecord([record('going-back', [], 7), undefined])?.state, 'going-back');
  });

  it('is named after the scope and the two clusters, whatever the order of namespaces', () => {
    const name = cutoverRecordName('https://a', 'https://b', { namespaces: ['shop', 'web'] });
    assert.match(name, /^cutover-[0-9a-f]{12}$/);
    assert.equal(name, cutoverRecordName('https://a', 'https://b', { namespaces: ['web', 'shop'] }));
    assert.notEqual(name, cutoverRecordName('https://b', 'https://a', { namespaces: ['shop', 'web'] }));
    assert.notEqual(name, cutoverRecordName('https://a', 'https://b', { app: 'shop' }));
  });
});

describe('the hook environment', () => {
  it('names the contexts, servers, direction and the cluster that becomes live', () => {
    const from = { context: 'blue', server: 'https://a' };
    const to = { server: 'https://b' };
    assert.deepEqual(hookEnv({ direction: 'forward', from, to }), {
      CAPSTAN_CUTOVER_DIRECTION: 'forward',
      CAPSTAN_CUTOVER_FROM: 'blue',
      CAPSTAN_CUTOVER_TO: '',
      CAPSTAN_CUTOVER_FROM_SERVER: 'https://a',
      CAPSTAN_CUTOVER_TO_SERVER: 'https://b',
      CAPSTAN_CUTOVER_LIVE: 'to',
    });
    assert.equal(hookEnv({ direction: 'back', from, to }).CAPSTAN_CUTOVER_LIVE, 'from');
  });
});
