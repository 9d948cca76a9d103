import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  loadConfig,
  mergeValues,
  parseDuration,
  parseSetEntry,
  resolveEnvironment,
  type LoadedConfig,
} from '../../../src/config/index.js';
import { CapstanError, ConfigError } from '../../../src/shared/index.js';
import { lines, writeDeployTree } from '../../fixtures/deploy-tree.js';

const CONFIG = lines(
  'app: shop',
  'image: registry.example/shop:base',
  'values:',
  '  replicas: 1',
  '  db: { host: db, pool: 5, options: { ssl: false } }',
  '  hosts: [a, b]',
  'environments:',
  '  staging:',
  '    namespace: shop-staging',
  '    values: { db: { pool: 10 }, hosts: [c] }',
  '  production:',
  '    namespace: shop-production',
  '    context: prod-cluster',
  '    image: registry.example/shop:prod',
  '    extraNamespaces: [monitoring, shop-jobs]',
  'notifications:',
  '  - { type: webhook, urlEnv: HOOK_URL }',
  'releases: { keep: 3 }',
  'deploy: { timeout: 90s, concurrency: 2 }',
);

async function load(files: Record<string, string> = {}): Promise<LoadedConfig> {
  const cwd = await writeDeployTree({ 'capstan.yaml': CONFIG, 'staging/10-a/x.yaml': '', ...files });
  return loadConfig({ cwd });
}

describe('loadConfig', () => {
  it('finds .deploy/capstan.yaml under cwd', async () => {
    const loaded = await load();
    assert.equal(loaded.config.app, 'shop');
    assert.equal(loaded.file, join(loaded.deployDir, 'capstan.yaml'));
    assert.ok(loaded.deployDir.endsWith('/.deploy'));
  });

  it('accepts another deploy folder, relative to cwd', async () => {
    const cwd = await writeDeployTree({});
    const loaded = await loadConfig({ cwd: join(cwd, '..'), deployDir: join(cwd, '.deploy') });
    assert.equal(loaded.config.app, 'shop');
  });

  it('throws a ConfigError with every issue, located', async () => {
    const cwd = await writeDeployTree({
      'capstan.yaml': lines('app: 1', 'environments:', '  s: { namespace: a, nope: 1 }'),
    });
    await assert.rejects(loadConfig({ cwd }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(
        error.issues.map((i) => [i.line, i.column, i.path]),
        [
          [1, 6, 'app'],
          [3, 22, 'environments.s.nope'],
        ],
      );
      assert.ok(error.issues.every((i) => i.file === join(cwd, '.deploy', 'capstan.yaml')));
      return true;
    });
  });

  it('says where it looked when there is no capstan.yaml', async () => {
    const cwd = await writeDeployTree({});
    await assert.rejects(loadConfig({ cwd, deployDir: 'elsewhere' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.issues[0]?.file, join(cwd, 'elsewhere', 'capstan.yaml'));
      assert.match(error.message, /no capstan\.yaml found/);
      return true;
    });
  });
});

describe('resolveEnvironment', () => {
  it('merges values deeply: top-level < environment < --set; lists are replaced', async () => {
    const env = resolveEnvironment(await load(), 'staging', {
      set: [
        'db.options.ssl=true',
        'replicas=3',
        'db.host=primary',
        'new.deep.key=null',
        'label="007"',
        'port=007',
        'empty=',
      ],
    });
    assert.deepEqual(env.values, {
      replicas: 3,
      db: { host: 'primary', pool: 10, options: { ssl: true } },
      hosts: ['c'],
      new: { deep: { key: null } },
      label: '007',
      port: 7,
      empty: '',
    });
    assert.ok(Object.isFrozen(env.values) && Object.isFrozen(env.values['db']));
  });

  it('resolves the environment with defaults and overrides', async () => {
    const loaded = await load({ 'production/10-a/x.yaml': '' });
    const staging = resolveEnvironment(loaded, 'staging');
    assert.equal(staging.image, 'registry.example/shop:base');
    assert.equal(staging.context, undefined);
    assert.equal(staging.envDir, join(loaded.deployDir, 'staging'));
    assert.equal(staging.configFile, loaded.file);
    assert.equal(staging.timeoutMs, 90_000);
    assert.equal(staging.concurrency, 2);
    assert.equal(staging.releasesKeep, 3);
    assert.deepEqual(staging.notifications, [{ type: 'webhook', urlEnv: 'HOOK_URL' }]);
    const production = resolveEnvironment(loaded, 'production');
    assert.equal(production.image, 'registry.example/shop:prod');
    assert.equal(production.context, 'prod-cluster');
    assert.equal(production.namespace, 'shop-production');
    assert.deepEqual(production.extraNamespaces, ['monitoring', 'shop-jobs']);
    assert.deepEqual(staging.extraNamespaces, [], 'no extra namespace unless listed');
  });

  it('uses defaults when capstan.yaml sets nothing', async () => {
    const cwd = await writeDeployTree({ 'staging/10-a/x.yaml': '' });
    const env = resolveEnvironment(await loadConfig({ cwd }), 'staging');
    assert.equal(env.timeoutMs, 600_000);
    assert.equal(env.releasesKeep, 10);
    assert.equal(env.concurrency, 32);
    assert.deepEqual(env.tasks, {});
    assert.equal(env.image, undefined);
  });

  it('lists the known environments for an unknown one', () => {
    assert.throws(
      () => resolveEnvironment(loadedSync, 'prod'),
      (error: unknown) =>
        error instanceof ConfigError &&
        /unknown environment "prod"/.test(error.message) &&
        error.hint === 'known environments: staging, production',
    );
  });

  it('fails when the environment has no folder', async () => {
    const loaded = await load();
    await mkdir(join(loaded.deployDir, 'other'));
    assert.throws(
      () => resolveEnvironment(loaded, 'production'),
      (error: unknown) =>
        error instanceof ConfigError && error.issues[0]?.file === join(loaded.deployDir, 'production'),
    );
  });

  it('rejects malformed --set entries, all at once', async () => {
    const loaded = await load();
    assert.throws(
      () => resolveEnvironment(loaded, 'staging', { set: ['novalue', 'a..b=1', '=x', 'ok=1'] }),
      (error: unknown) => error instanceof ConfigError && error.issues.length === 3,
    );
  });
});

// Built once for tests that only need a valid LoadedConfig object (no folder checks reached).
const loadedSync: LoadedConfig = {
  config: { app: 'shop', environments: { staging: { namespace: 's' }, production: { namespace: 'p' } } },
  file: '/nowhere/.deploy/capstan.yaml',
  deployDir: '/nowhere/.deploy',
};

describe('parseSetEntry and mergeValues', () => {
  it('parses dotted keys, escaped dots and YAML scalars', () => {
    assert.deepEqual(parseSetEntry('a.b=2'), { path: ['a', 'b'], value: 2 });
    assert.deepEqual(parseSetEntry('annotations.example\\.com/x=on'), {
      path: ['annotations', 'example.com/x'],
      value: 'on',
    });
    assert.deepEqual(parseSetEntry('x=true'), { path: ['x'], value: true });
    assert.deepEqual(parseSetEntry('x=a=b'), { path: ['x'], value: 'a=b' });
    assert.deepEqual(parseSetEntry('x=[1, 2]'), { path: ['x'], value: '[1, 2]' });
    assert.deepEqual(parseSetEntry('x="quoted"'), { path: ['x'], value: 'quoted' });
    assert.equal(typeof parseSetEntry('__proto__.polluted=1'), 'string');
  });

  it('does not modify its inputs', () => {
    const base = { a: { b: 1 } };
    const merged = mergeValues(base, { a: { c: 2 } });
    assert.deepEqual(merged, { a: { b: 1, c: 2 } });
    assert.deepEqual(base, { a: { b: 1 } });
  });
});

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['10m', 600_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['2m30s', 150_000],
  ] as const) {
    it(`reads ${text}`, () => assert.equal(parseDuration(text), ms));
  }
  for (const text of ['', '10', 'ten minutes', '10x', '-5m', 'm']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseDuration(text),
        (e: unknown) => e instanceof CapstanError && e.code === 'ERR_CAPSTAN_INVALID_DURATION',
      );
    });
  }
});

describe('resolveEnvironment: vault', () => {
  it("puts the environment's vault fields over the top-level ones, auth field by field", async () => {
    const cwd = await writeDeployTree({
      'capstan.yaml': lines(
        'app: shop',
        'vault: { address: "https://vault:8200", auth: { method: jwt, role: ci, mount: jwt-ci } }',
        'environments:',
        '  staging: { namespace: s, vault: { namespace: team, timeout: 3s, auth: { role: staging } } }',
        '  production: { namespace: p }',
      ),
      'staging/10-a/x.yaml': '',
      'production/10-a/x.yaml': '',
    });
    const loaded = await loadConfig({ cwd });
    assert.deepEqual(resolveEnvironment(loaded, 'staging').vault, {
      address: 'https://vault:8200',
      namespace: 'team',
      timeoutMs: 3000,
      auth: { method: 'jwt', role: 'staging', mount: 'jwt-ci' },
    });
    assert.equal(resolveEnvironment(loaded, 'production').vault?.timeoutMs, 10_000);
    const none = await writeDeployTree({
      'capstan.yaml': lines('app: a', 'environments: { s: { namespace: s } }'),
      's/10-a/x.yaml': '',
    });
    assert.equal(resolveEnvironment(await loadConfig({ cwd: none }), 's').vault, undefined);
  });
});
