// How a rollback of several clusters ends, from what each cluster came to (pure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rollbackOutcome } from '../../../src/fleet/rollback.js';

describe('rollbackOutcome', () => {
  it('succeeds when every cluster did', () => {
    assert.deepEqual(
      rollbackOutcome(
        [
          { cluster: 'eu', outcome: 'succeeded', exitCode: 0, release: 5 },
          { cluster: 'us-east.2', outcome: 'succeeded', exitCode: 0, release: 5 },
        ],
        3,
      ),
      { outcome: 'succeeded', exitCode: 0, message: 'rolled back eu, us-east.2 to release 3' },
    );
  });

  it('fails when one cluster failed, naming each outcome', () => {
    assert.deepEqual(
      rollbackOutcome(
        [
          { cluster: 'eu', outcome: 'succeeded', exitCode: 0 },
          { cluster: 'us', outcome: 'failed', exitCode: 1, message: 'web: CrashLoopBackOff' },
        ],
        3,
      ),
      { outcome: 'failed', exitCode: 1, message: 'rollback to release 3: eu succeeded, us failed' },
    );
  });

  it('ends as the failures did when they all ended alike, else failed with exit 1', () => {
    const timedOut = { outcome: 'timed-out', exitCode: 3 } as const;
    assert.equal(
      rollbackOutcome(
        [
          { cluster: 'eu', ...timedOut },
          { cluster: 'us', ...timedOut },
        ],
        2,
      ).exitCode,
      3,
    );
    const mixed = rollbackOutcome(
      [
        { cluster: 'eu', ...timedOut },
        { cluster: 'us', outcome: 'interrupted', exitCode: 130 },
      ],
      2,
    );
    assert.deepEqual([mixed.outcome, mixed.exitCode], ['failed', 1]);
    const interrupted = rollbackOutcome(
      [
        { cluster: 'eu', outcome: 'succeeded', exitCode: 0 },
        { cluster: 'us', outcome: 'interrupted', exitCode: 130 },
      ],
      2,
    );
    assert.deepEqual([interrupted.outcome, interrupted.exitCode], ['interrupted', 130]);
  });
});
