// How the CLI picks its output: the live view on a real terminal, CI or not; lines elsewhere.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { CliIo } from '../../../src/cli/options.js';
import { Reporter } from '../../../src/cli/reporter.js';
import { outputMode } from '../../../src/cli/session.js';

const io = (isTTY: boolean, env: NodeJS.ProcessEnv = {}): CliIo =>
  ({ stdout: Object.assign(new PassThrough(), { isTTY }), env }) as unknown as CliIo;

describe('outputMode', () => {
  it('gives a real terminal the live view, under CI too (GitHub/GitLab runners, CI=true in a shell)', () => {
    assert.equal(outputMode(io(true)), 'tty');
    assert.equal(outputMode(io(true, { CI: 'true' })), 'tty');
    assert.equal(outputMode(io(true, { CI: 'true', GITHUB_ACTIONS: 'true' })), 'tty');
  });

  it('prints lines without a terminal, on a dumb one, or when asked to', () => {
    assert.equal(outputMode(io(false)), 'plain');
    assert.equal(outputMode(io(false, { CI: 'true' })), 'plain');
    assert.equal(outputMode(io(true, { TERM: 'dumb' })), 'plain');
    assert.equal(outputMode(io(true), 'plain'), 'plain');
    assert.equal(outputMode(io(true), 'json'), 'json');
    assert.equal(outputMode(io(false), 'json'), 'json');
  });

  it('keeps the live view without colours under NO_COLOR', () => {
    assert.equal(outputMode(io(true, { NO_COLOR: '1' })), 'tty');
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const reporter = new Reporter(out, 'tty', undefined, { env: { NO_COLOR: '1' } });
    reporter.event({ type: 'warning', message: 'careful' });
    assert.match(text, /careful/);
    assert.doesNotMatch(text, /\x1b\[\d+m/, 'no colour escapes');
  });
});
