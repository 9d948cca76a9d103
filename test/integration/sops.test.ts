// SOPS with age against the real tools and the real control plane: the sops v3.13.3 CLI and age's
// age-keygen v1.3.2, built once into the version-keyed cache by test/cluster/go-tool.sh (as
// .ci/run's SOPS_TOOL and AGE_KEYGEN_TOOL), decrypt what Capstan writes and write what Capstan
// decrypts; a Secret the real sops encrypted deploys with its values and no value in any output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { decryptSopsFileText, encryptSopsFile, loadAgeIdentities } from '../../src/secrets/index.js';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson } from './helpers.js';

const SOPS = ['sops', 'github.com/getsops/sops/v3', 'v3.13.3', 'github.com/getsops/sops/v3/cmd/sops'];
const AGE_KEYGEN = ['age-keygen', 'filippo.io/age', 'v1.3.2', 'filippo.io/age/cmd/age-keygen'];
const BUILD_DEADLINE_MS = 15 * 60_000;
const RUN_DEADLINE_MS = 30_000;
const run = promisify(execFile);

async function goTool(args: string[]): Promise<string | undefined> {
  const hasGo = await run('go', ['version'], { timeout: RUN_DEADLINE_MS }).then(
    () => true,
    () => false,
  );
  if (!hasGo) return undefined;
  const script = fileURLToPath(new URL('../cluster/go-tool.sh', import.meta.url));
  const { stdout } = await run(script, args, { timeout: BUILD_DEADLINE_MS });
  return stdout.trim().split('\n').pop();
}

const sops = await goTool(SOPS);
const ageKeygen = await goTool(AGE_KEYGEN);
const skip = sops && ageKeygen ? false : 'Go is not installed: cannot build sops and age-keygen';

let dir: string;
/** Two identities made by the real age-keygen: the team's, and one that opens nothing here. */
let keyFile: string;
let recipient: string;
let wrongKeyFile: string;

async function keygen(path: string): Promise<string> {
  await run(ageKeygen!, ['-o', path], { timeout: RUN_DEADLINE_MS });
  return /public key: (age1[0-9a-z]+)/.exec(await readFile(path, 'utf8'))![1];
}

/** The real sops, with only the identities given (no user config is read). */
function realSops(args: string[], env: Record<string, string> = {}) {
  return run(sops!, args, {
    timeout: RUN_DEADLINE_MS,
    env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), ...env },
  });
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'capstan-sops-'));
  keyFile = join(dir, 'keys.txt');
  wrongKeyFile = join(dir, 'wrong.txt');
  recipient = await keygen(keyFile);
  await keygen(wrongKeyFile);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const PLAINTEXTS = ['s0ps-database-password-4417', 'sk_live_sops_api_key_9902'];
const secretYaml = (password: string) => `apiVersion: v1
kind: Secret
metadata:
  name: app-secrets
type: Opaque
stringData:
  DATABASE_PASSWORD: ${password}
  API_KEY: ${PLAINTEXTS[1]}
  PORT: "5432"
  FEATURE: "false"
`;

/** A Deployment whose pods read the Secret (written on one line: every integration test has one). */
const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec: { replicas: 1, selector: { matchLabels: { app: web } }, template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: 'example.com/web:1', envFrom: [{ secretRef: { name: app-secrets } }] }] } } }
`;

/** A Secret encrypted by the real sops, the way Flux's documentation tells teams to. */
async function sopsEncrypted(plain: string): Promise<string> {
  const file = join(dir, `plain-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, plain);
  const { stdout } = await realSops([
    'encrypt',
    '--age',
    recipient,
    '--encrypted-regex',
    '^(data|stringData)$',
    file,
  ]);
  return stdout;
}

describe('SOPS files and the real sops', { skip }, () => {
  it('decrypts what the real sops encrypted, and the real sops decrypts what Capstan encrypted', async () => {
    const theirs = join(dir, 'theirs.sops.yaml');
    await writeFile(theirs, await sopsEncrypted(secretYaml(PLAINTEXTS[0])));
    const identities = await loadAgeIdentities({ env: { SOPS_AGE_KEY_FILE: keyFile } });
    const plain = await decryptSopsFileText(theirs, { identities });
    assert.match(plain, new RegExp(`DATABASE_PASSWORD: ${PLAINTEXTS[0]}`));
    assert.match(plain, /PORT: "5432"/);
    assert.match(plain, /FEATURE: "false"/);

    for (const name of ['ours.sops.yaml', 'ours.sops.json']) {
      const ours = join(dir, name);
      await writeFile(
        ours,
        name.endsWith('.json')
          ? JSON.stringify({
              kind: 'Secret',
              stringData: { PORT: '5432', FEATURE: 'false', n: 7, '2fa.key-x': 'ü' },
            })
          : secretYaml(PLAINTEXTS[0]),
      );
      await encryptSopsFile(ours, { recipients: [recipient], cwd: dir, env: {} });
      const { stdout } = await realSops(['decrypt', ours], { SOPS_AGE_KEY_FILE: keyFile });
      if (name.endsWith('.json'))
        assert.deepEqual(JSON.parse(stdout), {
          kind: 'Secret',
          stringData: { PORT: '5432', FEATURE: 'false', n: 7, '2fa.key-x': 'ü' },
        });
      else assert.equal(stdout.replaceAll('    ', '  '), secretYaml(PLAINTEXTS[0]));
      // The real sops changes and rotates a file Capstan wrote; Capstan reads the result.
      await realSops(['set', ours, '["stringData"]["PORT"]', '"6543"'], { SOPS_AGE_KEY_FILE: keyFile });
      await realSops(['rotate', '--in-place', ours], { SOPS_AGE_KEY_FILE: keyFile });
      assert.match(await decryptSopsFileText(ours, { identities }), /"?PORT"?: "6543"/);
      // And sops's own MAC check rejects a value Capstan wrote, then removed.
      const cut = (await readFile(ours, 'utf8')).replace(/^.*FEATURE.*\n/m, '');
      await writeFile(ours, cut);
      await assert.rejects(realSops(['decrypt', ours], { SOPS_AGE_KEY_FILE: keyFile }), /MAC/);
    }
  });

  it('deploys a Secret the real sops encrypted, with its values, and prints no value anywhere', async () => {
    const ns = await freshNamespace('sops');
    const secretsPath = '.deploy/test/10-configuration/app-secrets.sops.yaml';
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('sealed', ns.name),
      [secretsPath]: await sopsEncrypted(secretYaml(PLAINTEXTS[0])),
      '.deploy/test/30-deployment/web.yaml': WEB,
    });
    const env = { SOPS_AGE_KEY_FILE: keyFile };
    const printed: string[] = [];
    const cli = async (args: string[]) => {
      const r = await capstan(args, { cwd: app.dir, env });
      printed.push(r.stdout, r.stderr);
      return r;
    };
    try {
      const first = await cli(['deploy', 'test', '-o', 'json']);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const secret = await getJson(['get', 'secret', 'app-secrets', '-n', ns.name]);
      const value = (key: string) => Buffer.from(secret.data[key], 'base64').toString();
      assert.equal(value('DATABASE_PASSWORD'), PLAINTEXTS[0]);
      assert.equal(value('PORT'), '5432');
      assert.equal(value('FEATURE'), 'false');
      assert.equal(secret.metadata.labels['app.kubernetes.io/managed-by'], 'capstan');
      const checksum = async () =>
        (await getJson(['get', 'deployment', 'web', '-n', ns.name])).spec.template.metadata.annotations[
          'capstan.dev/config-checksum'
        ];
      const before = await checksum();
      assert.ok(before, 'the pods carry the checksum of the Secret they read');

      const rendered = await cli(['render', 'test']);
      assert.equal(rendered.code, 0, rendered.stderr);
      assert.match(rendered.stdout, /\[redacted\]/);

      // A new value, encrypted by the real sops: the diff names the key, never a value; pods roll.
      PLAINTEXTS.push('r0tated-sops-password-7310');
      app.write(secretsPath, await sopsEncrypted(secretYaml(PLAINTEXTS[2])));
      const diff = await cli(['diff', 'test']);
      assert.equal(diff.code, 0, diff.stderr);
      assert.match(diff.stdout, /DATABASE_PASSWORD/);
      const second = await cli(['deploy', 'test']);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.notEqual(await checksum(), before);
      const history = await cli(['history', 'test', '-o', 'json']);
      assert.equal(history.code, 0, history.stderr);

      for (const text of printed)
        for (const plaintext of PLAINTEXTS) {
          assert.ok(!text.includes(plaintext), `a secret value was printed: ${plaintext}`);
          assert.ok(!text.includes(Buffer.from(plaintext).toString('base64')), 'a base64 value was printed');
        }
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('refuses a tampered file and a wrong key with exit 2, naming the file, applying nothing', async () => {
    const ns = await freshNamespace('sops-bad');
    const secretsPath = '.deploy/test/10-configuration/app-secrets.sops.yaml';
    const encrypted = await sopsEncrypted(secretYaml(PLAINTEXTS[0]));
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('sealed', ns.name),
      [secretsPath]: encrypted,
      '.deploy/test/10-configuration/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n',
    });
    try {
      const wrong = await capstan(['deploy', 'test'], {
        cwd: app.dir,
        env: { SOPS_AGE_KEY_FILE: wrongKeyFile },
      });
      assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
      assert.match(
        wrong.stderr,
        /app-secrets\.sops\.yaml: sops\.age: none of the 1 age identities found opens it/,
      );

      // The plaintext in place of a ciphertext: sops's rule says it must be encrypted.
      const swapped = encrypted.replace(/^( {4}FEATURE: )ENC\[[^\]]+\]$/m, '$1"true"');
      assert.notEqual(swapped, encrypted);
      app.write(secretsPath, swapped);
      const tampered = await capstan(['deploy', 'test'], {
        cwd: app.dir,
        env: { SOPS_AGE_KEY_FILE: keyFile },
      });
      assert.equal(tampered.code, 2, tampered.stdout + tampered.stderr);
      assert.match(
        tampered.stderr,
        /app-secrets\.sops\.yaml: stringData\.FEATURE: the value should be encrypted/,
      );

      // A line removed: every value left decrypts, the MAC does not match.
      app.write(secretsPath, encrypted.replace(/^ {4}PORT: .*\n/m, ''));
      const cut = await capstan(['deploy', 'test'], { cwd: app.dir, env: { SOPS_AGE_KEY_FILE: keyFile } });
      assert.equal(cut.code, 2, cut.stdout + cut.stderr);
      assert.match(cut.stderr, /app-secrets\.sops\.yaml: sops\.mac: the MAC does not match/);

      for (const r of [wrong, tampered, cut])
        for (const plaintext of PLAINTEXTS) assert.ok(!(r.stdout + r.stderr).includes(plaintext));
      const objects = await getJson<{ items: any[] }>([
        'get',
        'configmaps,secrets',
        '-n',
        ns.name,
        '-l',
        'app.kubernetes.io/managed-by=capstan',
      ]);
      assert.deepEqual(
        objects.items.map((o) => o.metadata.name),
        [],
        'nothing was applied',
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
