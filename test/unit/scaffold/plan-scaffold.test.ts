// capstan init's files: what the pure plan writes for the flags, that the result renders and passes
// the offline audit with no finding, and that an existing file stops the write before anything is written.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { runCli } from '../../../src/cli/main.js';
import {
  parseCommand,
  planScaffold,
  writeScaffold,
  type ScaffoldOptions,
} from '../../../src/scaffold/index.js';
import { decryptEjson, generateKeyPair, readEjsonPublicKey } from '../../../src/secrets/index.js';

const FULL: ScaffoldOptions = {
  app: 'shop-api',
  image: 'registry.example.com/shop:1.4.2',
  web: 'bin/server --port 5432',
  port: 5432,
  workers: ['bin/worker --queues default,mailers', `bin/worker --queues 'low priority' --verbose false`],
  migrate: 'bin/rails db:migrate',
  envs: ['staging', 'prod-eu'],
  ingressHost: 'shop.example.com',
};

const keyPair = generateKeyPair();
const plan = (options: ScaffoldOptions) =>
  planScaffold(options, { publicKey: keyPair.publicKey, secretKeyBase: 'c2VjcmV0LWtleS1iYXNl' });

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(args, {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env,
    cwd: process.cwd(),
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

describe('planScaffold', () => {
  it('writes capstan.yaml, the shared partials and every phase of every environment', () => {
    const files = plan(FULL).files;
    const perEnv = (env: string) => [
      `.deploy/${env}/10-configuration/app.configmap.yaml.ejs`,
      `.deploy/${env}/10-configuration/secrets.ejson`,
      `.deploy/${env}/20-predeployment/db-migrate.job.yaml.ejs`,
      `.deploy/${env}/30-deployment/web.deployment.yaml.ejs`,
      `.deploy/${env}/30-deployment/web.service.yaml.ejs`,
      `.deploy/${env}/30-deployment/web.pdb.yaml.ejs`,
      `.deploy/${env}/30-deployment/web.ingress.yaml.ejs`,
      `.deploy/${env}/30-deployment/worker-1.deployment.yaml.ejs`,
      `.deploy/${env}/30-deployment/worker-2.deployment.yaml.ejs`,
    ];
    assert.deepEqual(
      [...files.keys()],
      [
        '.deploy/capstan.yaml',
        '.deploy/templates/pod.yaml.ejs',
        '.deploy/templates/deployment.yaml.ejs',
        ...perEnv('staging'),
        ...perEnv('prod-eu'),
      ],
    );
    const config = parse(files.get('.deploy/capstan.yaml')!);
    assert.equal(config.app, 'shop-api');
    assert.equal(config.image, 'registry.example.com/shop:1.4.2');
    assert.deepEqual(config.environments, {
      staging: { namespace: 'shop-api-staging' },
      'prod-eu': { namespace: 'shop-api-prod-eu' },
    });
    assert.equal(config.values.port, 5432);
    assert.equal(config.values.host, 'shop.example.com');
    assert.deepEqual(config.values.web.command, ['bin/server', '--port', '5432']);
    assert.deepEqual(config.values.workers['worker-2'].command, [
      'bin/worker',
      '--queues',
      'low priority',
      '--verbose',
      'false',
    ]);
    assert.deepEqual(config.values.migrate.command, ['bin/rails', 'db:migrate']);
  });

  it('encrypts the generated secret to the given public key', () => {
    const ejson = plan(FULL).files.get('.deploy/staging/10-configuration/secrets.ejson')!;
    assert.equal(readEjsonPublicKey(ejson), keyPair.publicKey);
    assert.doesNotMatch(ejson, /c2VjcmV0LWtleS1iYXNl/);
    const decrypted = JSON.parse(decryptEjson(ejson, keyPair.privateKey));
    assert.deepEqual(decrypted.kubernetes_secrets['shop-api-secrets'], {
      _type: 'Opaque',
      data: { SECRET_KEY_BASE: 'c2VjcmV0LWtleS1iYXNl' },
    });
  });

  it('leaves out what the flags do not ask for: one worker is "worker", no migration, no Ingress', () => {
    const files = plan({ app: 'jobs', port: 8080, workers: ['bin/worker'], envs: ['staging'] }).files;
    assert.deepEqual(
      [...files.keys()].filter((f) => f.startsWith('.deploy/staging/')),
      [
        '.deploy/staging/10-configuration/app.configmap.yaml.ejs',
        '.deploy/staging/10-configuration/secrets.ejson',
        '.deploy/staging/30-deployment/worker.deployment.yaml.ejs',
      ],
    );
    const config = parse(files.get('.deploy/capstan.yaml')!);
    assert.equal(config.image, undefined);
    assert.match(files.get('.deploy/capstan.yaml')!, /capstan deploy ENV --image REF/);
  });

  it('reports every problem with the flags at once', () => {
    assert.throws(
      () =>
        plan({
          app: 'Shop_API',
          port: 70000,
          workers: [],
          envs: ['staging', 'prod.eu', 'staging'],
          ingressHost: 'shop example',
        }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_CAPSTAN_USAGE');
        for (const part of [
          '--app "Shop_API"',
          'environment "prod.eu"',
          'names an environment twice',
          '--port 70000',
          '--ingress-host "shop example"',
          '--ingress-host needs --web',
          'nothing to deploy',
        ])
          assert.ok(error.message.includes(part), `${part} in ${error.message}`);
        return true;
      },
    );
  });

  it('splits commands as a shell quotes them', () => {
    assert.deepEqual(parseCommand(`sh -c 'echo "a b" && exit 0'`, '--web'), [
      'sh',
      '-c',
      'echo "a b" && exit 0',
    ]);
    assert.deepEqual(parseCommand(`bin/x "say \\"hi\\"" a\\ b ''`, '--web'), [
      'bin/x',
      'say "hi"',
      'a b',
      '',
    ]);
    assert.throws(() => parseCommand(`bin/x 'open`, '--worker'), /--worker: the quote ' is never closed/);
    assert.throws(() => parseCommand('   ', '--migrate'), /--migrate: the command is empty/);
  });
});

describe('capstan init', () => {
  it('writes a tree that renders and passes the offline audit with no finding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-init-'));
    try {
      const env = { EJSON_KEYDIR: join(dir, 'keys') };
      const flags = ['--app', 'shop-api', '--image', FULL.image!, '--web', FULL.web!, '--port', '5432'];
      const more = ['--worker', 'bin/worker', '--migrate', 'bin/migrate', '--envs', 'staging,prod-eu'];
      const init = await cli(
        ['--cwd', join(dir, 'app'), 'init', ...flags, ...more, '--ingress-host', 'shop.example.com'],
        env,
      );
      assert.equal(init.code, 0, init.err);
      assert.match(init.out, /^wrote \.deploy\/capstan\.yaml$/m);
      const keys = readdirSync(join(dir, 'keys'));
      assert.equal(keys.length, 1);
      const ejson = readFileSync(join(dir, 'app/.deploy/prod-eu/10-configuration/secrets.ejson'), 'utf8');
      assert.equal(readEjsonPublicKey(ejson), keys[0]);
      for (const envName of ['staging', 'prod-eu']) {
        const audit = await cli(
          ['--cwd', join(dir, 'app'), 'audit', envName, '--offline', '-o', 'json'],
          env,
        );
        assert.equal(audit.code, 0, audit.err);
        assert.equal(audit.out, '', `findings in ${envName}: ${audit.out}`);
      }
      const render = await cli(['--cwd', join(dir, 'app'), 'render', 'staging'], env);
      assert.equal(render.code, 0, render.err);
      for (const kind of [
        'ConfigMap',
        'Secret',
        'Job',
        'Deployment',
        'Service',
        'PodDisruptionBudget',
        'Ingress',
      ])
        assert.match(render.out, new RegExp(`^kind: ${kind}$`, 'm'));
      assert.match(render.out, /readOnlyRootFilesystem: true/);
      assert.match(render.out, /prometheus\.io\/port: "5432"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to overwrite: names the file, exits 2, writes nothing and stores no key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-init-'));
    try {
      const existing = join(dir, '.deploy/staging/30-deployment/web.service.yaml.ejs');
      mkdirSync(join(dir, '.deploy/staging/30-deployment'), { recursive: true });
      writeFileSync(existing, 'mine: true\n');
      const env = { EJSON_KEYDIR: join(dir, 'keys') };
      const init = await cli(
        ['--cwd', dir, 'init', '--app', 'shop', '--web', 'bin/server', '--envs', 'staging'],
        env,
      );
      assert.equal(init.code, 2);
      assert.match(init.err, /\.deploy\/staging\/30-deployment\/web\.service\.yaml\.ejs already exists/);
      assert.equal(readFileSync(existing, 'utf8'), 'mine: true\n');
      assert.equal(existsSync(join(dir, '.deploy/capstan.yaml')), false);
      assert.equal(existsSync(join(dir, 'keys')), false);
      await assert.rejects(
        writeScaffold({ ...FULL, envs: ['staging'], cwd: dir, keydir: join(dir, 'keys') }),
        /web\.service\.yaml\.ejs already exists/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
