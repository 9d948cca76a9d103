// Compatibility with the real ejson: builds Shopify's Go CLI once into a version-keyed cache folder
// and checks both directions. Needs Go, not a Kubernetes cluster.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  decryptEjsonFile,
  encryptEjsonFile,
  generateKeyPair,
  keydirKeyProvider,
  writePrivateKeyFile,
} from '../../src/secrets/index.js';

/** The latest v1 tag of github.com/Shopify/ejson. */
const EJSON_VERSION = 'v1.5.4';
const BUILD_DEADLINE_MS = 10 * 60_000;
const RUN_DEADLINE_MS = 30_000;
const run = promisify(execFile);

/** The ejson binary, built by test/cluster/go-tool.sh (a wrapper module and `go build`, cached
 * by version); undefined when Go is missing. */
async function ensureEjson(): Promise<string | undefined> {
  if (
    !(await run('go', ['version'], { timeout: RUN_DEADLINE_MS }).then(
      () => true,
      () => false,
    ))
  )
    return undefined;
  const script = fileURLToPath(new URL('../cluster/go-tool.sh', import.meta.url));
  const { stdout } = await run(
    script,
    ['ejson', 'github.com/Shopify/ejson', EJSON_VERSION, 'github.com/Shopify/ejson/cmd/ejson'],
    {
      timeout: BUILD_DEADLINE_MS,
    },
  );
  return stdout.trim().split('\n').pop();
}

const ejson = await ensureEjson();
const skip = ejson === undefined ? 'Go is not installed: cannot build the ejson CLI' : false;

let dir: string;
let keydir: string;
const keys = generateKeyPair();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capstan-ejson-compat-'));
  keydir = join(dir, 'keys');
  await writePrivateKeyFile({ keydir, keyPair: keys });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ejsonRun(args: string[]): Promise<Buffer> {
  const { stdout } = await run(ejson!, ['--keydir', keydir, ...args], {
    encoding: 'buffer',
    timeout: RUN_DEADLINE_MS,
  });
  return stdout;
}

async function capstanDecrypt(file: string, keyDir = keydir): Promise<Buffer> {
  return Buffer.from(
    (await decryptEjsonFile(file, { keyProviders: [keydirKeyProvider({ keydir: keyDir })] })).output,
  );
}

/** ejson v1.5.4 (the release) still HTML-escapes `<>&` when it writes decrypted values; its
 * main branch no longer does, and neither does Capstan. This fixture avoids those characters so
 * the decrypted bytes must match exactly. */
function fixture(publicKey: string): string {
  return [
    '{',
    `  "_public_key": "${publicKey}",`,
    '  "kubernetes_secrets": {',
    '    "db": {"_type": "Opaque", "data": {"password": "p@ss \\"w0rd\\" \\\\ \\/", "_username": "app"}},',
    '    "tls": {"_type": "kubernetes.io/tls", "data": {"tls.key": "-----BEGIN KEY-----\\nabc\\n-----END KEY-----\\n"}}',
    '  },',
    '  "unicode": "caf\\u00e9 ✓ 😀 \\ud83d\\ude00",',
    '  "control": "tab\\there \\u0001 \\r\\n",',
    '  "numbers": [1, -2.5e3, true, false, null, "in array"],',
    '  "a": [{"_b": "c"}, "d"],',
    '  "_e": ["f", {"g": "h"}, "i"],',
    '  "\\u005fescaped_underscore": "encrypted",',
    '  "empty": ""',
    '}',
    '',
  ].join('\n');
}

const masked = (bytes: Buffer): string => bytes.toString('latin1').replace(/EJ\[1:[^"]*\]/g, 'EJ');

describe(`compatibility with ejson ${EJSON_VERSION}`, { skip }, () => {
  it('ejson decrypts what Capstan encrypted, byte for byte as Capstan does', async () => {
    const file = join(dir, 'capstan.ejson');
    await writeFile(file, fixture(keys.publicKey));
    await encryptEjsonFile(file);
    const theirs = await ejsonRun(['decrypt', file]);
    assert.deepEqual(JSON.parse(theirs.toString()), JSON.parse(fixture(keys.publicKey)));
    assert.equal(theirs.toString(), await capstanDecrypt(file).then(String));
  });

  it('Capstan decrypts what ejson encrypted, byte for byte as ejson does', async () => {
    const file = join(dir, 'ejson.ejson');
    await writeFile(file, fixture(keys.publicKey));
    await ejsonRun(['encrypt', file]);
    const ours = await capstanDecrypt(file);
    assert.deepEqual(JSON.parse(ours.toString()), JSON.parse(fixture(keys.publicKey)));
    assert.equal(ours.toString(), await ejsonRun(['decrypt', file]).then(String));
  });

  it('both encrypt exactly the same values and keep the same bytes around them', async () => {
    const input = fixture(keys.publicKey).replace('"empty": ""', '"multi": "raw\nline\r\nbreaks"');
    const [ours, theirs] = [join(dir, 'same-ours.ejson'), join(dir, 'same-theirs.ejson')];
    await writeFile(ours, input);
    await writeFile(theirs, input);
    await encryptEjsonFile(ours);
    await ejsonRun(['encrypt', theirs]);
    assert.equal(masked(await readFile(ours)), masked(await readFile(theirs)));
  });

  it("each leaves the other's encrypted file unchanged (idempotent encrypt)", async () => {
    const [ours, theirs] = [join(dir, 'idem-ours.ejson'), join(dir, 'idem-theirs.ejson')];
    await writeFile(ours, fixture(keys.publicKey));
    await writeFile(theirs, fixture(keys.publicKey));
    await encryptEjsonFile(ours);
    await ejsonRun(['encrypt', theirs]);
    const [oursBefore, theirsBefore] = [await readFile(ours), await readFile(theirs)];
    await ejsonRun(['encrypt', ours]);
    assert.equal((await encryptEjsonFile(theirs)).changed, false);
    assert.deepEqual(await readFile(ours), oursBefore);
    assert.deepEqual(await readFile(theirs), theirsBefore);
  });

  it('values with <, > and & survive both ways (equal as JSON)', async () => {
    const input = `{"_public_key": "${keys.publicKey}", "html": "<a href=\\"x\\">&amp;</a>"}\n`;
    const [ours, theirs] = [join(dir, 'html-ours.ejson'), join(dir, 'html-theirs.ejson')];
    await writeFile(ours, input);
    await writeFile(theirs, input);
    await encryptEjsonFile(ours);
    await ejsonRun(['encrypt', theirs]);
    const expected = JSON.parse(input) as unknown;
    assert.deepEqual(JSON.parse((await ejsonRun(['decrypt', ours])).toString()), expected);
    assert.equal((await capstanDecrypt(theirs)).toString(), input);
  });

  it('keys made by either tool work with the other', async () => {
    const ejsonKeydir = join(dir, 'ejson-keys');
    await mkdir(ejsonKeydir);
    const { stdout } = await run(ejson!, ['--keydir', ejsonKeydir, 'keygen', '--write'], {
      timeout: RUN_DEADLINE_MS,
    });
    const ejsonPublic = stdout.trim();
    const file = join(dir, 'ejson-key.ejson');
    await writeFile(file, `{"_public_key": "${ejsonPublic}", "a": "b"}`);
    await encryptEjsonFile(file);
    await chmod(join(ejsonKeydir, ejsonPublic), 0o600);
    assert.equal(
      (await capstanDecrypt(file, ejsonKeydir)).toString(),
      `{"_public_key": "${ejsonPublic}", "a": "b"}`,
    );

    const ours = generateKeyPair();
    await writePrivateKeyFile({ keydir, keyPair: ours });
    const second = join(dir, 'capstan-key.ejson');
    await writeFile(second, `{"_public_key": "${ours.publicKey}", "a": "b"}`);
    await ejsonRun(['encrypt', second]);
    assert.equal(
      (await ejsonRun(['decrypt', second])).toString(),
      `{"_public_key": "${ours.publicKey}", "a": "b"}`,
    );
    assert.equal((await capstanDecrypt(second)).toString(), `{"_public_key": "${ours.publicKey}", "a": "b"}`);
  });
});
