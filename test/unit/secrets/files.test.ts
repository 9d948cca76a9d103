// The file edge: encrypt in place, decrypt with providers, and edit through a private temporary file.
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapstanError, ConfigError } from '../../../src/shared/index.js';
import {
  decryptEjsonFile,
  defaultKeyProviders,
  editEjsonFile,
  encryptEjsonFile,
  generateKeyPair,
  SecretsErrorCode,
  writePrivateKeyFile,
} from '../../../src/secrets/index.js';

let dir: string;
let keydir: string;
let tempDir: string;
const keys = generateKeyPair();
const plain = `{\n  "_public_key": "${keys.publicKey}",\n  "db": {"password": "hunter2", "_user": "app"},\n  "token": "abc123"\n}\n`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capstan-files-test-'));
  keydir = join(dir, 'keys');
  tempDir = join(dir, 'tmp');
  await writePrivateKeyFile({ keydir, keyPair: keys });
  await mkdir(tempDir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, content: string, mode = 0o640): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, content, { mode });
  return file;
}

const providers = () => defaultKeyProviders({ env: {}, keydir });

describe('encryptEjsonFile', () => {
  it('encrypts in place, keeps the mode, and rewrites nothing the second time', async () => {
    const file = await fixture('enc.ejson', plain);
    const first = await encryptEjsonFile(file);
    assert.deepEqual(
      { ...first, publicKey: undefined },
      { file, publicKey: undefined, encrypted: 2, alreadyEncrypted: 0, changed: true },
    );
    assert.equal((await stat(file)).mode & 0o777, 0o640);
    const encrypted = await readFile(file, 'utf8');
    assert.doesNotMatch(encrypted, /hunter2|abc123/);
    assert.match(encrypted, /"_user": "app"/);
    const second = await encryptEjsonFile(file);
    assert.equal(second.changed, false);
    assert.equal(second.alreadyEncrypted, 2);
    assert.equal(await readFile(file, 'utf8'), encrypted);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });

  it('a missing file is a CapstanError naming it', async () => {
    await assert.rejects(encryptEjsonFile(join(dir, 'absent.ejson')), (error: unknown) => {
      return (
        error instanceof CapstanError &&
        error.code === SecretsErrorCode.fileUnreadable &&
        error.message.includes('absent.ejson')
      );
    });
  });
});

describe('decryptEjsonFile', () => {
  it('finds the key in the key directory and says so', async () => {
    const file = await fixture('dec.ejson', plain);
    await encryptEjsonFile(file);
    const result = await decryptEjsonFile(file, { keyProviders: providers() });
    assert.equal(Buffer.from(result.output).toString(), plain);
    assert.equal(result.publicKey, keys.publicKey);
    assert.equal(result.keySource, `key directory ${keydir}`);
  });

  it('reports a missing key with the places looked', async () => {
    const file = await fixture('nokey.ejson', `{"_public_key": "${generateKeyPair().publicKey}"}`);
    await assert.rejects(decryptEjsonFile(file, { keyProviders: providers() }), (error: unknown) => {
      return (
        error instanceof CapstanError &&
        error.code === SecretsErrorCode.keyNotFound &&
        error.message.includes(keydir)
      );
    });
  });
});

describe('editEjsonFile', () => {
  async function encryptedFixture(name: string): Promise<{ file: string; before: string }> {
    const file = await fixture(name, plain, 0o600);
    await encryptEjsonFile(file);
    return { file, before: await readFile(file, 'utf8') };
  }

  it('decrypts into a 0600 file, re-encrypts the edit, keeps unchanged ciphertexts, removes the temp folder', async () => {
    const { file, before } = await encryptedFixture('edit.ejson');
    let seen = '';
    const result = await editEjsonFile({
      file,
      keyProviders: providers(),
      tempDir,
      openEditor: async (path) => {
        seen = path;
        assert.equal((await stat(path)).mode & 0o777, 0o600);
        assert.equal((await stat(join(path, '..'))).mode & 0o777, 0o700);
        const text = await readFile(path, 'utf8');
        assert.equal(text, plain);
        await writeFile(
          path,
          text.replace('abc123', 'rotated').replace(/\n}\n$/, ',\n  "added": "new"\n}\n'),
        );
      },
    });
    assert.deepEqual(result, { changed: true, encrypted: 2 });
    await assert.rejects(access(seen));
    assert.deepEqual(await readdir(tempDir), []);
    const after = await readFile(file, 'utf8');
    const password = (text: string) => /"password": "(EJ[^"]+)"/.exec(text)![1];
    assert.equal(password(after), password(before));
    assert.doesNotMatch(after, /rotated|"new"/);
    const output = (await decryptEjsonFile(file, { keyProviders: providers() })).output;
    const decrypted = JSON.parse(Buffer.from(output).toString()) as {
      token: string;
      added: string;
      db: { password: string };
    };
    assert.equal(decrypted.token, 'rotated');
    assert.equal(decrypted.added, 'new');
    assert.equal(decrypted.db.password, 'hunter2');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('saving nothing new leaves the file untouched', async () => {
    const { file, before } = await encryptedFixture('noop.ejson');
    const result = await editEjsonFile({
      file,
      keyProviders: providers(),
      tempDir,
      openEditor: async () => {},
    });
    assert.deepEqual(result, { changed: false, encrypted: 0 });
    assert.equal(await readFile(file, 'utf8'), before);
  });

  it('removes the temporary file when the editor fails, leaving the file as it was', async () => {
    const { file, before } = await encryptedFixture('fail.ejson');
    const failure = new CapstanError(SecretsErrorCode.editorFailed, 'editor exited with code 1');
    await assert.rejects(
      editEjsonFile({
        file,
        keyProviders: providers(),
        tempDir,
        openEditor: async () => Promise.reject(failure),
      }),
      failure,
    );
    assert.deepEqual(await readdir(tempDir), []);
    assert.equal(await readFile(file, 'utf8'), before);
  });

  it('removes the temporary file when the edit is not valid JSON, and reports where', async () => {
    const { file, before } = await encryptedFixture('broken.ejson');
    await assert.rejects(
      editEjsonFile({
        file,
        keyProviders: providers(),
        tempDir,
        openEditor: (path) => writeFile(path, '{\n  "a": \n}'),
      }),
      (error: unknown) =>
        error instanceof ConfigError && error.issues[0].line === 3 && error.issues[0].file === file,
    );
    assert.deepEqual(await readdir(tempDir), []);
    assert.equal(await readFile(file, 'utf8'), before);
  });
});
