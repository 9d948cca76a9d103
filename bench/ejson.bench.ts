// Encrypting and decrypting an ejson file of 1,000 values with Capstan (in process), and, when the
// Go ejson CLI is in the cache (built by test/integration/ejson-compat.test.ts), with ejson as a
// process, next to the floor of starting that process. Run: node --import tsx bench/ejson.bench.ts
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decryptEjsonFile,
  encryptEjsonFile,
  generateKeyPair,
  keydirKeyProvider,
  writePrivateKeyFile,
} from '../src/secrets/index.js';
import { compare, timeCommand } from './harness.js';
import type { Case } from './harness.js';

const EJSON_VERSION = 'v1.5.4';
const runs = Number(process.env.RUNS ?? 7);
const secrets = 10;
const keysPerSecret = 100;

const cacheRoot =
  process.env.CAPSTAN_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'capstan');
const ejsonBinary = join(cacheRoot, `ejson-${EJSON_VERSION}`, 'ejson');
const ejson = (await access(ejsonBinary, constants.X_OK).then(
  () => true,
  () => false,
))
  ? ejsonBinary
  : undefined;

const dir = await mkdtemp(join(tmpdir(), 'capstan-ejson-bench-'));
const keydir = join(dir, 'keys');
const keyPair = generateKeyPair();
await writePrivateKeyFile({ keydir, keyPair });

function plaintextDocument(): string {
  const entries: string[] = [];
  for (let s = 0; s < secrets; s++) {
    const data: string[] = [];
    for (let k = 0; k < keysPerSecret; k++)
      data.push(`        "key_${k}": "value-${s}-${k}-${'x'.repeat(24)}"`);
    entries.push(
      `    "secret-${s}": {\n      "_type": "Opaque",\n      "data": {\n${data.join(',\n')}\n      }\n    }`,
    );
  }
  return `{\n  "_public_key": "${keyPair.publicKey}",\n  "kubernetes_secrets": {\n${entries.join(',\n')}\n  }\n}\n`;
}

const plaintext = plaintextDocument();
const plainFile = join(dir, 'plain.ejson');
const encryptedFile = join(dir, 'encrypted.ejson');
await writeFile(encryptedFile, plaintext);
const { encrypted } = await encryptEjsonFile(encryptedFile);
console.log(
  `${encrypted} values, ${Buffer.byteLength(plaintext)} bytes of plaintext JSON; ejson CLI: ${ejson ?? 'not built (run the ejson-compat integration test first)'}\n`,
);

const timed = async (fn: () => Promise<unknown>) => {
  const started = performance.now();
  await fn();
  return { ms: performance.now() - started };
};
const resetPlain = async () => writeFile(plainFile, plaintext);
const keyProviders = [keydirKeyProvider({ keydir })];

const encryptCases: Case[] = [
  {
    name: 'capstan encrypt (in process)',
    setup: resetPlain,
    run: () => timed(() => encryptEjsonFile(plainFile)),
  },
];
const decryptCases: Case[] = [
  {
    name: 'capstan decrypt (in process)',
    run: () => timed(() => decryptEjsonFile(encryptedFile, { keyProviders })),
  },
];
if (ejson) {
  const floor: Case = { name: 'floor: ejson --version', run: () => timeCommand(ejson, ['--version']) };
  encryptCases.push(
    {
      name: 'ejson encrypt (process)',
      setup: resetPlain,
      run: () => timeCommand(ejson, ['encrypt', plainFile]),
    },
    floor,
  );
  decryptCases.push(
    {
      name: 'ejson decrypt (process)',
      run: () => timeCommand(ejson, ['--keydir', keydir, 'decrypt', encryptedFile]),
    },
    floor,
  );
}

try {
  await compare(`encrypt ${encrypted} values`, encryptCases, runs);
  console.log('');
  await compare(`decrypt ${encrypted} values`, decryptCases, runs);
} finally {
  await rm(dir, { recursive: true, force: true });
}
