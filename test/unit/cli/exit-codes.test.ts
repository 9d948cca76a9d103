// The CLI's exit code for errors with a code of their own: a lock held or lost is 4.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { reportError } from '../../../src/cli/main.js';
import { LockHeldError, LockLostError } from '../../../src/release/index.js';
import { CapstanError } from '../../../src/shared/index.js';

function exitOf(error: unknown): { code: number; text: string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const code = reportError(error, { stderr });
  return { code, text };
}

describe('reportError exit codes', () => {
  const scope = { app: 'shop', env: 'prod' };

  it('exits 4 for a lost lock, with its message and hint', () => {
    const { code, text } = exitOf(
      new LockLostError(
        { ...scope, name: 'capstan-lock-shop-prod' },
        'it was removed or taken over by someone else',
      ),
    );
    assert.equal(code, 4);
    assert.match(text, /^error: lost the lock capstan-lock-shop-prod of shop\/prod: it was removed/);
    assert.match(text, /hint: another deploy may be running now/);
  });

  it('exits 4 for a held lock and 130 for an interrupted wait for it', () => {
    const state = { holder: 'alice', leaseSeconds: 60, namespaces: ['shop'] };
    assert.equal(
      exitOf(new LockHeldError(scope, state, { remainingMs: 1000, now: new Date(0), renewed: true })).code,
      4,
    );
    assert.equal(
      exitOf(new CapstanError('ERR_CAPSTAN_INTERRUPTED', 'interrupted while waiting for the lock')).code,
      130,
    );
  });
});
