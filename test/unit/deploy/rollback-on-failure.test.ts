import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rollbackTargetBefore, wantsRollback } from '../../../src/deploy/rollback-on-failure.js';
import type { ReleaseRecord } from '../../../src/release/index.js';

function record(release: number, outcome: ReleaseRecord['outcome']): ReleaseRecord {
  return { release, outcome } as ReleaseRecord;
}

describe('rolling back after a failed deploy', () => {
  it('happens only after a failure or a timeout that changed the cluster under a recorded release', () => {
    assert.equal(wantsRollback('failed', 4, 3), true);
    assert.equal(wantsRollback('timed-out', 4, 1), true);
    for (const outcome of ['succeeded', 'invalid', 'locked', 'lock-lost', 'interrupted'] as const)
      assert.equal(wantsRollback(outcome, 4, 3), false, outcome);
    assert.equal(wantsRollback('failed', undefined, 3), false, 'no release recorded (--no-record)');
    assert.equal(wantsRollback('failed', 4, 0), false, 'nothing applied');
  });

  it('goes back to the newest succeeded release before the failed one, never to a later one', () => {
    const records = [
      record(7, 'succeeded'), // another deploy's, after ours
      record(6, 'failed'),
      record(5, 'rolled-back'),
      record(4, 'failed'),
      record(3, 'succeeded'),
      record(2, 'interrupted'),
      record(1, 'succeeded'),
    ];
    assert.equal(rollbackTargetBefore(records, 6), 3);
    assert.equal(rollbackTargetBefore(records, 3), 1);
    assert.equal(rollbackTargetBefore(records, 1), undefined);
    assert.equal(rollbackTargetBefore([], 1), undefined);
  });
});
