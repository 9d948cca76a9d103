import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FleetConfig } from '../../../src/config/index.js';
import type { ClusterOutcome } from '../../../src/events/index.js';
import {
  clustersToRollBack,
  fleetMessage,
  fleetOutcome,
  inParallel,
  planWaves,
} from '../../../src/fleet/index.js';

const fleetOf = (waves: string[][], maxParallel = 2): FleetConfig => ({
  clusters: waves.flat().map((name) => ({ name, namespace: 'shop' })),
  waves,
  soakMs: 0,
  maxParallel,
});

describe('planWaves', () => {
  it('keeps the waves in order without the skipped clusters, dropping a wave left empty', () => {
    const plan = planWaves(fleetOf([['eu-1'], ['us.east', 'us-west'], ['ap']]), ['eu-1', 'ap']);
    assert.deepEqual(plan.waves, [['us.east', 'us-west']]);
    assert.deepEqual(plan.skipped, ['eu-1', 'ap']);
  });

  it('refuses an unknown cluster, and skipping every cluster', () => {
    assert.throws(() => planWaves(fleetOf([['eu'], ['us']]), ['mars']), /mars: not a cluster/);
    assert.throws(() => planWaves(fleetOf([['eu'], ['us']]), ['eu', 'us']), /every cluster is skipped/);
  });

  it('deploys every cluster not skipped exactly once, in the order of its wave (any waves, any skips)', () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(names, fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean()), (all, size, skips) => {
        const waves: string[][] = [];
        for (let i = 0; i < all.length; i += size) waves.push(all.slice(i, i + size));
        const skip = all.filter((_, i) => skips[i]);
        if (skip.length === all.length) return;
        const plan = planWaves(fleetOf(waves), skip);
        assert.deepEqual(
          plan.waves.flat(),
          all.filter((n) => !skip.includes(n)),
        );
        assert.ok(plan.waves.every((w) => w.length > 0));
        assert.deepEqual(plan.skipped, skip);
      }),
    );
  });
});

describe('inParallel', () => {
  it('runs at most `limit` at once and keeps the order of the items', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(5), { maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        async (delays, limit) => {
          let running = 0;
          let most = 0;
          const out = await inParallel(delays, limit, async (d) => {
            running++;
            most = Math.max(most, running);
            await new Promise((resolve) => setTimeout(resolve, d));
            running--;
            return d * 2;
          });
          assert.deepEqual(
            out,
            delays.map((d) => d * 2),
          );
          assert.ok(most <= limit);
        },
      ),
      { numRuns: 40 },
    );
  });
});

const outcome = (
  cluster: string,
  o: ClusterOutcome['outcome'],
  extra: Partial<ClusterOutcome> = {},
): ClusterOutcome => ({
  cluster,
  outcome: o,
  exitCode: { succeeded: 0, failed: 1, invalid: 2, 'timed-out': 3, locked: 4 }[o as string] ?? 0,
  ...extra,
});

describe('fleetOutcome and fleetMessage', () => {
  it('succeeds when every deployed cluster did, skipped ones aside', () => {
    const all = [outcome('eu', 'succeeded'), outcome('us', 'skipped')];
    assert.deepEqual(fleetOutcome(all), { outcome: 'succeeded', exitCode: 0 });
    assert.equal(fleetMessage(all), undefined);
  });

  it('takes the cause from the first cluster in wave order that did not succeed', () => {
    const all = [
      outcome('eu', 'succeeded', { release: 7 }),
      outcome('us', 'locked', { message: 'held by ci@runner-7' }),
      outcome('ap', 'not-deployed'),
    ];
    assert.equal(fleetOutcome(all).exitCode, 4);
    assert.equal(fleetOutcome(all).cause?.cluster, 'us');
    assert.equal(fleetMessage(all), 'cluster us: held by ci@runner-7\nnot deployed: ap');
  });

  it('names every cluster that failed, not only the first', () => {
    const all = [outcome('eu', 'invalid', { message: 'a' }), outcome('us', 'timed-out', { message: 'b' })];
    assert.equal(fleetOutcome(all).exitCode, 2);
    assert.equal(fleetMessage(all), 'cluster eu: a\ncluster us: b');
  });
});

describe('clustersToRollBack', () => {
  it('puts back the clusters that recorded the release, failed or not, and none that were not deployed', () => {
    const all = [
      outcome('eu', 'succeeded', { release: 4 }),
      outcome('us', 'failed', { release: 4 }),
      outcome('ap', 'not-deployed'),
      outcome('sa', 'invalid'),
      outcome('af', 'skipped'),
    ];
    assert.deepEqual(clustersToRollBack(all), ['eu', 'us']);
  });
});
