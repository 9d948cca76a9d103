// Whether a cluster takes a deploy, judged from the cutover records found in it (and in the
// environment's other clusters): pure, from records as they are written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cutoverCommand,
  judgeLiveness,
  liveClusters,
  parseCutoverRecord,
  scopeConcerns,
  type CutoverRecord,
  type CutoverState,
  type FoundCutoverRecord,
  type LivenessTarget,
  type MigrationScope,
} from '../../../src/migrate/index.js';

const A = 'https://10.0.0.1:6443';
const B = 'https://10.0.0.2:6443';
const C = 'https://10.0.0.3:6443';

function record(state: CutoverState, extra: Partial<Omit<CutoverRecord, 'state'>> = {}): CutoverRecord {
  return {
    version: 1,
    seq: 4,
    by: 'kubernetes-admin alice@laptop',
    startedAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:05:00.000Z',
    from: { server: A, context: 'blue.eu-1' },
    to: { server: B, context: 'green.eu-1' },
    scope: { namespaces: ['shop-production'] },
    scaleDownSource: true,
    state,
    steps: [],
    copies: ['shop-production'],
    ...extra,
  };
}

const found = (r: CutoverRecord, side?: 'A' | 'B', namespace = 'shop-production'): FoundCutoverRecord => ({
  location: { namespace, name: 'cutover-0123456789ab' },
  record: r,
  ...(side ? { side } : {}),
});

const target = (server: string, extra: Partial<LivenessTarget> = {}): LivenessTarget => ({
  server,
  namespaces: ['shop-production'],
  app: 'shop',
  env: 'production',
  ...extra,
});

describe('judgeLiveness', () => {
  it('refuses A once B is live, naming the record, when, both clusters and the two ways on', () => {
    const notLive = judgeLiveness([found(record('live'), 'A')], target(A));
    assert.ok(notLive);
    assert.equal(notLive.side, 'A');
    const { reason } = notLive;
    assert.match(reason, /this cluster is not live/);
    assert.match(
      reason,
      /cutover record cutover-0123456789ab \(ConfigMap in capstan-system, copy in shop-production\)/,
    );
    assert.match(
      reason,
      /from context blue\.eu-1, https:\/\/10\.0\.0\.1:6443 \(A\) to context green\.eu-1, https:\/\/10\.0\.0\.2:6443 \(B\)/,
    );
    assert.match(
      reason,
      /says B is live, cut over from .* at 2026-03-01T10:05:00\.000Z by kubernetes-admin alice@laptop/,
    );
    assert.match(reason, /deploy to the live cluster \(context green\.eu-1, https:\/\/10\.0\.0\.2:6443\)/);
    assert.match(reason, /`capstan cutover --from blue\.eu-1 --to green\.eu-1 -n shop-production --back`/);
  });

  it('lets B take deploys once it is live, and both once the cutover is reversed or rolled back', () => {
    assert.equal(judgeLiveness([found(record('live'), 'B')], target(B)), undefined);
    for (const state of ['back', 'rolled-back'] as const) {
      assert.equal(judgeLiveness([found(record(state), 'A')], target(A)), undefined, state);
      assert.equal(judgeLiveness([found(record(state), 'B')], target(B)), undefined, state);
    }
  });

  it('refuses both sides while a cutover is unfinished, saying how to finish it', () => {
    const forward = judgeLiveness([found(record('cutting-over'), 'B')], target(B));
    assert.match(forward?.reason ?? '', /unfinished cutover/);
    assert.match(
      forward?.reason ?? '',
      /finish it with `capstan cutover --from blue\.eu-1 .* -n shop-production`/,
    );
    for (const state of ['going-back', 'rolling-back'] as const) {
      const reason = judgeLiveness([found(record(state), 'A')], target(A))?.reason ?? '';
      assert.match(reason, /finish reversing it with `capstan cutover .* --back` \(then A is live\)/, state);
      assert.ok(judgeLiveness([found(record(state), 'B')], target(B)), state);
    }
  });

  it("takes the copy's side over the API server URL (a cluster reached at another address)", () => {
    const elsewhere = 'https://blue.internal:443';
    assert.equal(judgeLiveness([found(record('live'), 'A')], target(elsewhere))?.side, 'A');
    assert.equal(judgeLiveness([found(record('live'), 'B')], target(elsewhere)), undefined);
    // Without a side, the URL tells.
    assert.equal(judgeLiveness([found(record('live'))], target(A))?.side, 'A');
    assert.equal(judgeLiveness([found(record('live'))], target(B)), undefined);
  });

  it('refuses when neither the side nor the URL tells which cluster this is (fail closed)', () => {
    const notLive = judgeLiveness([found(record('live'))], target('https://blue.internal:443'));
    assert.equal(notLive?.side, undefined);
    assert.match(notLive?.reason ?? '', /cannot tell whether this cluster is live/);
    assert.match(notLive?.reason ?? '', /https:\/\/blue\.internal:443/);
  });

  it('is not concerned by cutovers of other namespaces or other apps', () => {
    const other = record('live', { scope: { namespaces: ['billing'] } });
    assert.equal(judgeLiveness([found(other, 'A', 'shop-production')], target(A)), undefined);
    const otherApp = record('live', { scope: { app: 'billing' } });
    assert.equal(judgeLiveness([found(otherApp, 'A')], target(A)), undefined);
    const sameApp = record('live', { scope: { app: 'shop' } });
    assert.ok(judgeLiveness([found(sameApp, 'A')], target(A)));
  });

  it('of records between the same two clusters the newest decides: a later cutover back to A makes A live', () => {
    const there = record('live', { updatedAt: '2026-03-01T10:05:00.000Z' });
    const andBack = record('live', {
      updatedAt: '2026-03-02T08:00:00.000Z',
      from: { server: B, context: 'green.eu-1' },
      to: { server: A, context: 'blue.eu-1' },
    });
    assert.equal(judgeLiveness([found(there), found(andBack)], target(A)), undefined);
    assert.ok(judgeLiveness([found(there), found(andBack)], target(B)));
  });

  it('a chain A → B → C leaves only C live', () => {
    const first = record('live');
    const second = record('live', {
      updatedAt: '2026-03-03T08:00:00.000Z',
      from: { server: B, context: 'green.eu-1' },
      to: { server: C, context: 'red.eu-1' },
    });
    // Each cluster keeps the records of the cutovers it took part in.
    assert.ok(judgeLiveness([found(first)], target(A)));
    assert.match(judgeLiveness([found(first), found(second)], target(B))?.reason ?? '', /context red\.eu-1/);
    assert.equal(judgeLiveness([found(second)], target(C)), undefined);
  });
});

describe('scopeConcerns', () => {
  const deploy = { namespaces: ['shop-production', 'shop-jobs'], app: 'shop', env: 'production' };
  const cases: Array<[MigrationScope, boolean]> = [
    [{}, true],
    [{ namespaces: ['shop-jobs'] }, true],
    [{ namespaces: ['billing'] }, false],
    [{ namespaces: ['shop-production'], selector: 'tier=web' }, true],
    [{ app: 'shop' }, true],
    [{ app: 'billing' }, false],
  ];
  for (const [scope, concerns] of cases)
    it(`${JSON.stringify(scope)}: ${concerns}`, () => assert.equal(scopeConcerns(scope, deploy), concerns));
  it('an app scope concerns a deploy whose app is not known', () =>
    assert.equal(scopeConcerns({ app: 'billing' }, { namespaces: ['x'] }), true));
});

describe('liveClusters', () => {
  const byName = record('live', {
    environment: { name: 'production', from: 'eu', to: 'us' },
  });
  it('leaves the cut-over source out and names the environment form of --back', () => {
    const result = liveClusters([
      { ...target(A), cluster: 'eu', found: [found(byName, 'A')] },
      { ...target(B), cluster: 'us', found: [found(byName, 'B')] },
    ]);
    assert.deepEqual(result.live, ['us']);
    assert.deepEqual(
      result.leftOut.map((l) => l.cluster),
      ['eu'],
    );
    assert.match(result.leftOut[0].notLive.reason, /cluster us of production, context green\.eu-1/);
    assert.match(result.leftOut[0].notLive.reason, /`capstan cutover production --from eu --to us --back`/);
  });

  it("judges a cluster by its siblings' copies too, when they name its API server", () => {
    const result = liveClusters([
      { ...target(A), cluster: 'eu', found: [] },
      { ...target(B), cluster: 'us', found: [found(byName, 'B')] },
    ]);
    assert.deepEqual(result.live, ['us']);
    assert.deepEqual(
      result.leftOut.map((l) => l.cluster),
      ['eu'],
    );
  });

  it("a sibling's copy that names neither URL says nothing about this cluster", () => {
    const elsewhere = record('live', { from: { server: C }, to: { server: B } });
    const result = liveClusters([
      { ...target(A), cluster: 'eu', found: [] },
      { ...target(B), cluster: 'us', found: [found(elsewhere, 'B')] },
    ]);
    assert.deepEqual(result.live, ['eu', 'us']);
  });

  it('every cluster live without records; none when all are in an unfinished cutover', () => {
    assert.deepEqual(
      liveClusters([
        { ...target(A), cluster: 'eu', found: [] },
        { ...target(B), cluster: 'us', found: [] },
      ]).live,
      ['eu', 'us'],
    );
    const unfinished = record('cutting-over');
    assert.deepEqual(
      liveClusters([
        { ...target(A), cluster: 'eu', found: [found(unfinished, 'A')] },
        { ...target(B), cluster: 'us', found: [found(unfinished, 'B')] },
      ]).live,
      [],
    );
  });
});

describe('cutoverCommand', () => {
  it('repeats the scope and the clusters as flags, with placeholders for kubeconfigs', () => {
    const r = record('live', {
      from: { server: A },
      scope: { app: 'shop', includeKinds: ['CronJob', 'Deployment'] },
    });
    assert.equal(
      cutoverCommand(r, true),
      `capstan cutover --from-kubeconfig <kubeconfig of ${A}> --to green.eu-1 --app shop --include-kinds CronJob,Deployment --back`,
    );
    assert.equal(
      cutoverCommand(record('live', { scope: {} }), false),
      'capstan cutover --from blue.eu-1 --to green.eu-1 -A',
    );
  });
});

describe('the record', () => {
  it('keeps its environment and copies, and refuses them malformed', () => {
    const r = record('live', { environment: { name: 'production', from: 'eu', to: 'us' } });
    assert.deepEqual(parseCutoverRecord(JSON.stringify(r)), r);
    assert.throws(
      () => parseCutoverRecord(JSON.stringify({ ...r, environment: { name: 'production', from: 5 } })),
      /environment\.from is not a string/,
    );
    assert.throws(
      () => parseCutoverRecord(JSON.stringify({ ...r, copies: 'shop' })),
      /copies is not a list of namespaces/,
    );
  });
});
