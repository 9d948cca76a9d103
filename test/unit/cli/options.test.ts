import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { durationOption, formatDurationDefault, integerOption } from '../../../src/cli/options.js';

describe('option parsers', () => {
  it('takes whole numbers and refuses anything else as a usage error', () => {
    const parse = integerOption();
    assert.equal(parse('8'), 8);
    assert.equal(parse(' 32 '), 32);
    for (const bad of ['abc', '', '1.5', '0', '-3', '1e400', '8abc']) {
      assert.throws(() => parse(bad), InvalidArgumentError, bad);
    }
    assert.equal(integerOption(0)('0'), 0);
  });

  it('reads durations and refuses wrong ones as a usage error', () => {
    assert.equal(durationOption('10m'), 600_000);
    assert.throws(() => durationOption('5q'), InvalidArgumentError);
  });

  it('shows duration defaults as durations', () => {
    assert.equal(formatDurationDefault(3_600_000), '1h');
    assert.equal(formatDurationDefault(90_000), '90s');
    assert.equal(formatDurationDefault(0), '0s');
    assert.equal(formatDurationDefault(1500), '1500ms');
  });
});

describe('output into a pipe that closes early', () => {
  const app = mkdtempSync(join(tmpdir(), 'capstan-epipe-'));
  after(() => rmSync(app, { recursive: true, force: true }));
  mkdirSync(join(app, '.deploy', 'test', '10-config'), { recursive: true });
  writeFileSync(
    join(app, '.deploy', 'capstan.yaml'),
    'app: shop\nenvironments:\n  test:\n    namespace: shop-test\n',
  );
  const docs = Array.from(
    { length: 3000 },
    (_, i) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata: {value: "${'x'.repeat(200)}"}\n`,
  );
  writeFileSync(join(app, '.deploy', 'test', '10-config', 'many.yaml'), docs.join('---\n'));

  it('ends quietly, like `capstan render staging | head`', async () => {
    const bin = new URL('../../../bin/capstan.js', import.meta.url);
    const child = spawn(process.execPath, [bin.pathname, '--cwd', app, 'render', 'test'], {
      env: { ...process.env, CAPSTAN_USE_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Read a little, then go away as `head -1` does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
