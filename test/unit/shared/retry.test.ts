// The one retry loop: count, deadline, signal, which errors, and the back-off between attempts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, retry } from '../../../src/shared/index.js';

/** A function failing `failures` times, then answering 'ok'; records the attempts it saw. */
function flaky(failures: number, error: () => Error = () => new Error('down')) {
  const attempts: number[] = [];
  const fn = (attempt: number): Promise<string> => {
    attempts.push(attempt);
    return attempts.length <= failures ? Promise.reject(error()) : Promise.resolve('ok');
  };
  return { fn, attempts };
}

describe('retry', () => {
  it('retries until the function answers', async () => {
    const { fn, attempts } = flaky(2);
    assert.equal(await retry(fn, { retries: 5, firstDelayMs: 1 }), 'ok');
    assert.deepEqual(attempts, [0, 1, 2]);
  });

  it('rethrows the last error after `retries` retries', async () => {
    let n = 0;
    const { fn, attempts } = flaky(10, () => new Error(`down ${++n}`));
    await assert.rejects(retry(fn, { retries: 3, firstDelayMs: 1 }), /down 4/);
    assert.equal(attempts.length, 4);
  });

  it('does not retry an error it is told to leave', async () => {
    const { fn, attempts } = flaky(3, () => new TypeError('bad input'));
    await assert.rejects(
      retry(fn, { retries: 3, firstDelayMs: 1, retryIf: (e) => !(e instanceof TypeError) }),
      TypeError,
    );
    assert.equal(attempts.length, 1);
  });

  it('starts no retry that the deadline would pass', async () => {
    let clock = 0;
    const { fn, attempts } = flaky(10);
    // Each attempt takes 100 ms of a fake clock; after the third, a retry would end past 250 ms.
    const slow = (attempt: number) => ((clock += 100), fn(attempt));
    await assert.rejects(retry(slow, { deadlineMs: 250, firstDelayMs: 1, now: () => clock }), /down/);
    assert.equal(attempts.length, 3);
  });

  it('stops when the signal aborts, during the wait too', async () => {
    const controller = new AbortController();
    const { fn, attempts } = flaky(10);
    const pending = retry(fn, { retries: 100, firstDelayMs: 60_000, signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(pending, /down/);
    assert.equal(attempts.length, 1);
  });

  it('waits what the error asks for, within the maximum', async () => {
    const delays: number[] = [];
    const { fn } = flaky(2);
    await retry(fn, {
      retries: 3,
      firstDelayMs: 1,
      maxDelayMs: 5,
      delayOf: () => {
        delays.push(1);
        return 2;
      },
    });
    assert.equal(delays.length, 2);
  });

  it('needs a count or a deadline: no unbounded loop', async () => {
    await assert.rejects(
      retry(() => Promise.resolve(1), { firstDelayMs: 1 }),
      TypeError,
    );
  });
});

describe('backoffDelay', () => {
  it('doubles from the first delay up to the maximum', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, { firstDelayMs: 250, maxDelayMs: 4000 })),
      [250, 500, 1000, 2000, 4000, 4000],
    );
  });
});
