// `capstan secrets ...` through commander, with temp-dir fixtures and captured output.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerSecretsCommands } from '../../../src/cli/secrets.js';
import { CapstanError, ConfigError } from '../../../src/shared/index.js';
import { generateKeyPair, SecretsErrorCode } from '../../../src/secrets/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capstan-secrets-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString();
}

async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdinText = '',
): Promise<{ stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = capture(stdout);
  const err = capture(stderr);
  const program = new Command('capstan').exitOverride();
  registerSecretsCommands(program, {
    stdout,
    stderr,
    stdin: Readable.from([stdinText]),
    env: { PATH: process.env.PATH, ...env },
  });
  await program.parseAsync(['secrets', ...args], { from: 'user' });
  return { stdout: out(), stderr: err() };
}

async function rejection(promise: Promise<unknown>): Promise<CapstanError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CapstanError, `expected a CapstanError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('secrets keygen', () => {
  it("prints both keys in ejson's format", async () => {
    const { stdout } = await run(['keygen']);
    assert.match(stdout, /^Public Key:\n[0-9a-f]{64}\nPrivate Key:\n[0-9a-f]{64}\n$/);
  });

  it('--write stores the private key (0600) in --keydir or EJSON_KEYDIR and prints the public key', async () => {
    const keydir = join(dir, 'keys-flag');
    const { stdout, stderr } = await run(['keygen', '--write', '--keydir', keydir]);
    const publicKey = stdout.trim();
    assert.match(publicKey, /^[0-9a-f]{64}$/);
    assert.equal((await stat(join(keydir, publicKey))).mode & 0o777, 0o600);
    assert.match(stderr, /wrote the private key to/);
    const envKeydir = join(dir, 'keys-env');
    const second = await run(['keygen', '-w'], { EJSON_KEYDIR: envKeydir });
    assert.deepEqual(await readdir(envKeydir), [second.stdout.trim()]);
  });
});

describe('secrets encrypt / decrypt / edit', () => {
  const keys = generateKeyPair();
  const plain = `{"_public_key": "${keys.publicKey}", "password": "hunter2", "_note": "plain"}\n`;
  let keydir: string;
  let file: string;

  before(async () => {
    keydir = join(dir, 'keys');
    await mkdir(keydir);
    await writeFile(join(keydir, keys.publicKey), keys.privateKey, { mode: 0o600 });
    file = join(dir, 'secrets.ejson');
    await writeFile(file, plain);
  });

  it('encrypt rewrites the files and says what it did', async () => {
    const other = join(dir, 'other.ejson');
    await writeFile(other, `{"_public_key": "${keys.publicKey}"}`);
    const { stdout } = await run(['encrypt', file, other]);
    assert.equal(stdout, `${file}: encrypted 1 value\n${other}: nothing to encrypt\n`);
    assert.doesNotMatch(await readFile(file, 'utf8'), /hunter2/);
    assert.equal((await run(['encrypt', file])).stdout, `${file}: nothing to encrypt, 1 already encrypted\n`);
  });

  it('decrypt writes the document to stdout, with the key from --keydir, the environment or stdin', async () => {
    assert.equal((await run(['decrypt', file, '--keydir', keydir])).stdout, plain);
    assert.equal((await run(['decrypt', file], { EJSON_KEYDIR: keydir })).stdout, plain);
    assert.equal(
      (await run(['decrypt', file], { EJSON_PRIVATE_KEY: keys.privateKey, EJSON_KEYDIR: join(dir, 'none') }))
        .stdout,
      plain,
    );
    assert.equal(
      (
        await run(['decrypt', file, '--key-env', 'MY_KEY'], {
          MY_KEY: keys.privateKey,
          EJSON_KEYDIR: '/nonexistent',
        })
      ).stdout,
      plain,
    );
    assert.equal(
      (
        await run(
          ['decrypt', file, '--key-from-stdin'],
          { EJSON_KEYDIR: '/nonexistent' },
          `${keys.privateKey}\n`,
        )
      ).stdout,
      plain,
    );
  });

  it('decrypt without a key names every place it looked', async () => {
    const error = await rejection(run(['decrypt', file], { EJSON_KEYDIR: join(dir, 'none') }));
    assert.equal(error.code, SecretsErrorCode.keyNotFound);
    assert.match(error.message, /environment variable EJSON_PRIVATE_KEY/);
    assert.match(error.message, /key directory .*none/);
  });

  it('decrypt warns about a key file others can read', async () => {
    const loose = join(dir, 'loose-keys');
    await mkdir(loose);
    await writeFile(join(loose, keys.publicKey), keys.privateKey, { mode: 0o644 });
    const { stderr } = await run(['decrypt', file, '--keydir', loose]);
    assert.match(stderr, /^warning: key file .* is readable by other users/);
  });

  it('edit runs $EDITOR on the decrypted copy and re-encrypts', async () => {
    const { stdout } = await run(['edit', file, '--keydir', keydir], {
      EDITOR: "sed -i 's/hunter2/rotated/'",
      TMPDIR: dir,
    });
    assert.equal(stdout, `${file}: saved, 1 value encrypted anew\n`);
    assert.doesNotMatch(await readFile(file, 'utf8'), /rotated/);
    assert.match((await run(['decrypt', file, '--keydir', keydir])).stdout, /"password": "rotated"/);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('capstan-secrets-')),
      [],
    );
  });

  it('edit fails clearly when the editor fails, and leaves the file alone', async () => {
    const before = await readFile(file, 'utf8');
    const error = await rejection(run(['edit', file, '--keydir', keydir], { EDITOR: 'false', TMPDIR: dir }));
    assert.equal(error.code, SecretsErrorCode.editorFailed);
    assert.match(error.message, /exited with code 1/);
    assert.equal(await readFile(file, 'utf8'), before);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('capstan-secrets-')),
      [],
    );
  });

  it('malformed files fail with a ConfigError carrying line and column', async () => {
    const bad = join(dir, 'bad.ejson');
    await writeFile(bad, '{\n  "a": "b"]\n');
    await assert.rejects(
      run(['encrypt', bad]),
      (error: unknown) => error instanceof ConfigError && error.issues[0].line === 2,
    );
  });
});
