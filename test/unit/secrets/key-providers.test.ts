// Key generation, the key directory, environment and custom providers, and the lookup errors.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapstanError } from '../../../src/shared/index.js';
import {
  DEFAULT_EJSON_KEYDIR,
  envKeyProvider,
  generateKeyPair,
  keydirKeyProvider,
  resolveKeydir,
  resolvePrivateKey,
  SecretsErrorCode,
  staticKeyProvider,
  writePrivateKeyFile,
} from '../../../src/secrets/index.js';
import type { KeyProvider } from '../../../src/secrets/index.js';

const validPubKey = '8d8647e2eeb6d2e31228e6df7da3df921ec3b799c3f66a171cd37a1ed3004e7d';
const validPrivKey = 'c5caa31a5b8cb2be0074b37c56775f533b368b81d8fd33b94181f79bd6e47f87';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capstan-keys-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<CapstanError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CapstanError, `expected a CapstanError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('generateKeyPair', () => {
  it('gives 64-hex keys that belong together, from the injected source', () => {
    const fixed = generateKeyPair((n) => Buffer.from(validPrivKey, 'hex').subarray(0, n));
    assert.deepEqual(fixed, { publicKey: validPubKey, privateKey: validPrivKey });
    const random = generateKeyPair();
    assert.match(random.publicKey, /^[0-9a-f]{64}$/);
    assert.match(random.privateKey, /^[0-9a-f]{64}$/);
    assert.notEqual(random.privateKey, generateKeyPair().privateKey);
  });
});

describe('writePrivateKeyFile', () => {
  it('writes <keydir>/<public key> with mode 0600, creating the folder', async () => {
    const keydir = join(dir, 'new', 'keys');
    const keyPair = generateKeyPair();
    const path = await writePrivateKeyFile({ keydir, keyPair });
    assert.equal(path, join(keydir, keyPair.publicKey));
    assert.equal(await readFile(path, 'utf8'), `${keyPair.privateKey}\n`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const again = await rejection(writePrivateKeyFile({ keydir, keyPair }));
    assert.equal(again.code, SecretsErrorCode.keyFileExists);
  });
});

describe('key directory', () => {
  it('defaults to EJSON_KEYDIR, then /opt/ejson/keys', () => {
    assert.equal(resolveKeydir({ EJSON_KEYDIR: '/k' }), '/k');
    assert.equal(resolveKeydir({}), DEFAULT_EJSON_KEYDIR);
    assert.equal(DEFAULT_EJSON_KEYDIR, '/opt/ejson/keys');
  });

  it('finds the key file named by the public key, trimmed; quiet when only the owner can read it', async () => {
    await writeFile(join(dir, validPubKey), `\n  ${validPrivKey}  \n`, { mode: 0o600 });
    const warnings: string[] = [];
    const provider = keydirKeyProvider({ keydir: dir, warn: (m) => warnings.push(m) });
    const resolved = await resolvePrivateKey(validPubKey.toUpperCase(), [provider]);
    assert.equal(Buffer.from(resolved.privateKey).toString('hex'), validPrivKey);
    assert.equal(resolved.source, `key directory ${dir}`);
    assert.deepEqual(warnings, []);
  });

  it('warns when group or others can read the key file', async () => {
    const file = join(dir, validPubKey);
    for (const mode of [0o640, 0o604, 0o440]) {
      await chmod(file, mode);
      const warnings: string[] = [];
      await resolvePrivateKey(validPubKey, [
        keydirKeyProvider({ keydir: dir, warn: (m) => warnings.push(m) }),
      ]);
      assert.equal(warnings.length, 1, `mode ${mode.toString(8)}`);
      assert.match(warnings[0], /readable by other users .*chmod 600/);
      assert.doesNotMatch(warnings[0], new RegExp(validPrivKey));
    }
    await chmod(file, 0o600);
  });

  it('a missing file or folder means "not here"', async () => {
    assert.equal(await keydirKeyProvider({ keydir: dir }).findPrivateKey('0'.repeat(64)), undefined);
    assert.equal(
      await keydirKeyProvider({ keydir: join(dir, 'absent') }).findPrivateKey(validPubKey),
      undefined,
    );
  });

  it('a key file that cannot be read is an error, not "not found"', async () => {
    const keydir = await mkdtemp(join(dir, 'odd-'));
    await mkdir(join(keydir, validPubKey));
    const error = await rejection(keydirKeyProvider({ keydir }).findPrivateKey(validPubKey));
    assert.equal(error.code, SecretsErrorCode.keyFileUnreadable);
    assert.match(error.message, /EISDIR/);
  });
});

describe('resolvePrivateKey', () => {
  const missing: KeyProvider = {
    description: 'Secret ejson-keys in namespace demo',
    findPrivateKey: () => Promise.resolve(undefined),
  };

  it('uses providers in order and skips those that have nothing', async () => {
    const asked: string[] = [];
    const custom: KeyProvider = {
      description: 'Secret ejson-keys in namespace demo',
      findPrivateKey: (pub) => {
        asked.push(pub);
        return Promise.resolve(pub === validPubKey ? validPrivKey : undefined);
      },
    };
    const resolved = await resolvePrivateKey(validPubKey, [
      envKeyProvider({ env: {} }),
      custom,
      staticKeyProvider('zz', 'never asked'),
    ]);
    assert.equal(resolved.source, 'Secret ejson-keys in namespace demo');
    assert.deepEqual(asked, [validPubKey]);
  });

  it('reads EJSON_PRIVATE_KEY or another named variable', async () => {
    const env = { EJSON_PRIVATE_KEY: validPrivKey, OTHER: ` ${validPrivKey}\n` };
    assert.equal(
      (await resolvePrivateKey(validPubKey, [envKeyProvider({ env })])).source,
      'environment variable EJSON_PRIVATE_KEY',
    );
    assert.equal(
      (await resolvePrivateKey(validPubKey, [envKeyProvider({ env, name: 'OTHER' })])).source,
      'environment variable OTHER',
    );
    assert.equal(
      await envKeyProvider({ env: { EJSON_PRIVATE_KEY: ' ' } }).findPrivateKey(validPubKey),
      undefined,
    );
  });

  it('not found: names the public key and every place looked', async () => {
    const error = await rejection(
      resolvePrivateKey(validPubKey, [
        envKeyProvider({ env: {} }),
        keydirKeyProvider({ keydir: join(dir, 'none') }),
        missing,
      ]),
    );
    assert.equal(error.code, SecretsErrorCode.keyNotFound);
    assert.match(error.message, new RegExp(`public key ${validPubKey} not found`));
    assert.match(error.message, /environment variable EJSON_PRIVATE_KEY/);
    assert.match(error.message, new RegExp(`key directory ${join(dir, 'none')}`));
    assert.match(error.message, /Secret ejson-keys in namespace demo/);
    assert.match(error.hint ?? '', /EJSON_KEYDIR/);
    const custom = await rejection(
      resolvePrivateKey(validPubKey, [missing], { hint: 'create Secret ejson-keys' }),
    );
    assert.equal(custom.hint, 'create Secret ejson-keys');
  });

  it('a key for another public key is skipped; if nothing matches it is a mismatch', async () => {
    const other = generateKeyPair();
    const wrong = staticKeyProvider(other.privateKey, 'standard input');
    const right = staticKeyProvider(validPrivKey, 'environment variable EJSON_PRIVATE_KEY');
    assert.equal(
      (await resolvePrivateKey(validPubKey, [wrong, right])).source,
      'environment variable EJSON_PRIVATE_KEY',
    );
    const error = await rejection(resolvePrivateKey(validPubKey, [wrong, missing]));
    assert.equal(error.code, SecretsErrorCode.keyMismatch);
    assert.match(
      error.message,
      new RegExp(`standard input holds the private key of public key ${other.publicKey}`),
    );
    assert.ok(!error.message.includes(other.privateKey));
  });

  it('a malformed key is an error naming where it came from', async () => {
    const error = await rejection(
      resolvePrivateKey(validPubKey, [staticKeyProvider('abc', 'standard input')]),
    );
    assert.equal(error.code, SecretsErrorCode.invalidPrivateKey);
    assert.match(error.message, /invalid private key from standard input/);
  });
});
