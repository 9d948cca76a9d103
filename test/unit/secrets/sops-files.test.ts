// SOPS files on disk: `capstan secrets` (encrypt, decrypt, edit, rotate) on *.sops.* files, where
// age identities come from, .sops.yaml creation rules, and a phase's SOPS file as objects.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { Command } from 'commander';
import { createSecretsRenderer } from '../../../src/apply/index.js';
import { registerSecretsCommands } from '../../../src/cli/secrets.js';
import { phaseFileKind } from '../../../src/render/phases.js';
import { loadAgeIdentities, secretValues } from '../../../src/secrets/index.js';
import { CapstanError, ConfigError, type KubeObject } from '../../../src/shared/index.js';

let dir: string;
let identity: string;
let recipient: string;
let other: string;
let otherRecipient: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capstan-sops-files-'));
  identity = await generateX25519Identity();
  recipient = await identityToRecipient(identity);
  other = await generateX25519Identity();
  otherRecipient = await identityToRecipient(other);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  port: "5432"
  enabled: "false"
  password: hunter2-sops-value
`;

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const program = new Command('capstan').exitOverride();
  registerSecretsCommands(program, {
    stdout,
    stderr: new PassThrough(),
    stdin: Readable.from(['']),
    env: { PATH: process.env.PATH, XDG_CONFIG_HOME: join(dir, 'no-config'), ...env },
  });
  await program.parseAsync(['secrets', ...args], { from: 'user' });
  return Buffer.concat(chunks).toString();
}

async function fresh(name: string, text = SECRET): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

const encValues = (text: string) => text.match(/ENC\[[^\]]+\]/g) ?? [];

describe('capstan secrets on SOPS files', () => {
  it('encrypts for --age recipients (Secret values only by default) and decrypts back', async () => {
    const file = await fresh('a.sops.yaml');
    const said = await run(['encrypt', '--age', `${recipient},${otherRecipient}`, file]);
    assert.match(said, /encrypted for 2 age recipients \(encrypted_regex \^\(data\|stringData\)\$\)/);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('hunter2'));
    assert.match(text, /^kind: Secret$/m);
    assert.equal(encValues(text).length, 4, 'three values and the MAC');
    for (const key of [identity, other]) {
      const plain = await run(['decrypt', file], { SOPS_AGE_KEY: key });
      assert.match(plain, /password: hunter2-sops-value/);
      assert.match(plain, /port: "5432"/);
    }
  });

  it('takes recipients and rules from the nearest .sops.yaml creation rule matching the path', async () => {
    const project = join(dir, 'project');
    await mkdir(join(project, 'deep'), { recursive: true });
    await writeFile(
      join(project, '.sops.yaml'),
      `creation_rules:\n  - path_regex: ^other/\n    age: ${otherRecipient}\n  - path_regex: deep/.*\\.sops\\.yaml$\n    age:\n      - ${recipient}\n    unencrypted_suffix: _clear\n`,
    );
    const file = await fresh('project/deep/b.sops.yaml', 'token: t0k3n-value\nnote_clear: readable\n');
    const cwd = process.cwd();
    process.chdir(join(project, 'deep'));
    try {
      await run(['encrypt', 'b.sops.yaml']);
    } finally {
      process.chdir(cwd);
    }
    const text = await readFile(file, 'utf8');
    assert.match(text, /note_clear: readable/);
    assert.match(text, new RegExp(`recipient: ${recipient}`));
    assert.ok(!text.includes(otherRecipient));
    assert.match(await run(['decrypt', file], { SOPS_AGE_KEY: identity }), /token: t0k3n-value/);
  });

  it('refuses to encrypt twice, and needs a recipient', async () => {
    const file = await fresh('c.sops.yaml');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const none = await run(['encrypt', file]).catch((e: unknown) => e);
      assert.ok(none instanceof CapstanError && /no age recipient/.test(none.message));
      await run(['encrypt', '--age', recipient, file]);
      const twice = await run(['encrypt', '--age', recipient, file]).catch((e: unknown) => e);
      assert.ok(twice instanceof ConfigError && /encrypted already/.test(twice.message));
    } finally {
      process.chdir(cwd);
    }
  });

  it('edits in place: unchanged values keep their ciphertext, the data key stays', async () => {
    const file = await fresh('d.sops.yaml');
    await run(['encrypt', '--age', recipient, file]);
    const before = await readFile(file, 'utf8');
    await run(['edit', file], {
      SOPS_AGE_KEY: identity,
      EDITOR: 'sed -i s/hunter2-sops-value/changed-sops-value/',
    });
    const after = await readFile(file, 'utf8');
    const [b, a] = [encValues(before), encValues(after)];
    assert.equal(a[0], b[0], 'port kept its ciphertext');
    assert.equal(a[1], b[1], 'enabled kept its ciphertext');
    assert.notEqual(a[2], b[2], 'password changed');
    assert.equal(after.match(/enc: \|[\s\S]*?END AGE/)?.[0], before.match(/enc: \|[\s\S]*?END AGE/)?.[0]);
    assert.match(await run(['decrypt', file], { SOPS_AGE_KEY: identity }), /changed-sops-value/);
    const untouched = await run(['edit', file], { SOPS_AGE_KEY: identity, EDITOR: 'true' });
    assert.match(untouched, /no changes/);
  });

  it('rotates: a new data key, every value encrypted anew, recipients added and removed', async () => {
    const file = await fresh('e.sops.yaml');
    await run(['encrypt', '--age', recipient, file]);
    const before = await readFile(file, 'utf8');
    await run(['rotate', '--add-age', otherRecipient, '--rm-age', recipient, file], {
      SOPS_AGE_KEY: identity,
    });
    const after = await readFile(file, 'utf8');
    for (const value of encValues(before)) assert.ok(!after.includes(value));
    const refused = await run(['decrypt', file], { SOPS_AGE_KEY: identity }).catch((e: unknown) => e);
    assert.ok(refused instanceof ConfigError, 'the removed recipient no longer opens it');
    assert.match(await run(['decrypt', file], { SOPS_AGE_KEY: other }), /hunter2-sops-value/);
  });

  it('speaks JSON for *.sops.json', async () => {
    const file = await fresh('f.sops.json', '{"stringData": {"port": "5432", "n": 7}}\n');
    await run(['encrypt', '--age', recipient, file]);
    assert.match(await readFile(file, 'utf8'), /"port": "ENC\[/);
    assert.equal(
      await run(['decrypt', file], { SOPS_AGE_KEY: identity }),
      '{\n\t"stringData": {\n\t\t"port": "5432",\n\t\t"n": 7\n\t}\n}\n',
    );
  });
});

describe('age identities, as sops looks for them', () => {
  it('merges SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD and $XDG_CONFIG_HOME/sops/age/keys.txt', async () => {
    const keyFile = join(dir, 'keys-file.txt');
    await writeFile(keyFile, `# created: now\n# public key: ${recipient}\n${identity}\n`);
    const config = join(dir, 'xdg');
    await mkdir(join(config, 'sops', 'age'), { recursive: true });
    await writeFile(join(config, 'sops', 'age', 'keys.txt'), `${other}\n`);
    const found = await loadAgeIdentities({
      env: {
        SOPS_AGE_KEY: other,
        SOPS_AGE_KEY_FILE: keyFile,
        SOPS_AGE_KEY_CMD: `cat ${keyFile}`,
        XDG_CONFIG_HOME: config,
      },
    });
    assert.deepEqual(
      found.map((i) => [i.source.replace(dir, '<dir>'), i.recipient]),
      [
        ['SOPS_AGE_KEY', otherRecipient],
        ['SOPS_AGE_KEY_FILE (<dir>/keys-file.txt)', recipient],
        ['SOPS_AGE_KEY_CMD', recipient],
        ['<dir>/xdg/sops/age/keys.txt', otherRecipient],
      ],
    );
    const home = await loadAgeIdentities({ env: { HOME: join(dir, 'nohome') } });
    assert.deepEqual(home, [], 'a missing default keys file is no error');
  });

  it('names a bad line by number only, and a failing command by its exit status', async () => {
    const bad = await loadAgeIdentities({
      env: { SOPS_AGE_KEY: `${identity}\nAGE-SECRET-KEY-1NOTAKEY-secretish` },
    }).catch((e: unknown) => e);
    assert.ok(bad instanceof CapstanError);
    assert.equal(bad.message, 'SOPS_AGE_KEY, line 2, is not an age identity (AGE-SECRET-KEY-1...)');
    const failed = await loadAgeIdentities({ env: { SOPS_AGE_KEY_CMD: 'exit 3' } }).catch((e: unknown) => e);
    assert.ok(failed instanceof CapstanError && /SOPS_AGE_KEY_CMD failed \(exit 3\)/.test(failed.message));
  });
});

describe('a phase SOPS file', () => {
  const render = async (text: string, name = 'secret.sops.yaml') => {
    const file = await fresh(name, text);
    await run([
      'encrypt',
      '--age',
      recipient,
      '--unencrypted-regex',
      '^(apiVersion|kind|metadata|type)$',
      file,
    ]);
    const renderer = createSecretsRenderer({
      app: 'a',
      env: 'e',
      envVars: { SOPS_AGE_KEY: identity },
      warn: () => {},
    });
    return renderer(file, 'ns', undefined);
  };

  it('is read as secrets, beside *.ejson', () => {
    assert.equal(phaseFileKind('db.sops.yaml'), 'secrets');
    assert.equal(phaseFileKind('db.sops.yml'), 'secrets');
    assert.equal(phaseFileKind('db.sops.json'), 'secrets');
    assert.equal(phaseFileKind('db.yaml'), 'yaml');
  });

  it('becomes its objects with their values, every one learnt for redaction', async () => {
    const objects = await render(SECRET);
    assert.deepEqual((objects[0] as KubeObject & { stringData: unknown }).stringData, {
      port: '5432',
      enabled: 'false',
      password: 'hunter2-sops-value',
    });
    assert.deepEqual(secretValues(objects).sort(), ['5432', 'false', 'hunter2-sops-value']);
  });

  it('refuses encrypted values outside a Secret, and typed values in stringData, naming paths only', async () => {
    const error = await render(
      `${SECRET}  flag: false\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  leaked: cm-secret-value\n`,
      'bad.sops.yaml',
    ).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.issues.map((i) => i.path),
      ['data.leaked', 'stringData.flag'],
    );
    assert.match(error.message, /data\.leaked: is encrypted in a ConfigMap that is not a Secret/);
    assert.match(error.message, /stringData\.flag: is a boolean, not text: quote it/);
    assert.ok(!error.message.includes('cm-secret-value') && !error.message.includes('hunter2'));
  });

  it('is refused with a wrong key, naming the file', async () => {
    const file = await fresh('wrong.sops.yaml');
    await run(['encrypt', '--age', otherRecipient, file]);
    await chmod(file, 0o600);
    const renderer = createSecretsRenderer({
      app: 'a',
      env: 'e',
      envVars: { SOPS_AGE_KEY: identity },
      warn: () => {},
    });
    const error = await renderer(file, 'ns', undefined).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /wrong\.sops\.yaml: sops\.age: none of the 1 age identities found opens it/);
  });
});
