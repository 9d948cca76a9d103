// The Vault client and resolver against test/fixtures/vault-api.ts, an HTTP server on 127.0.0.1 that
// answers the documented Vault calls (no Vault binary builds here; see the README's Vault tests).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startVaultApi, type VaultApi } from '../../fixtures/vault-api.js';
import {
  collectVaultReferences,
  resolveVaultReferences,
  type ResolveVaultOptions,
  type VaultReferenceSite,
} from '../../../src/secrets/index.js';
import { CapstanError, ConfigError, type KubeObject } from '../../../src/shared/index.js';

const ROOT = 'root-token-for-tests';
let vault: VaultApi;

before(async () => {
  vault = await startVaultApi({
    rootToken: ROOT,
    mounts: {
      'secret/': { type: 'kv', version: '2' },
      'team/kv/': { type: 'kv', version: '2' },
      'old/': { type: 'kv', version: '1' },
    },
    logins: {
      jwt: { accept: (b) => b['role'] === 'deploy' && b['jwt'] === 'good.jwt' },
      approle: { accept: (b) => b['role_id'] === 'rid' && b['secret_id'] === 'sid' },
      kubernetes: { accept: (b) => b['role'] === 'deploy' && b['jwt'] === 'sa-token' },
    },
  });
  vault.put('secret/app/db', { password: 'v1-pass', user: 'app' });
  vault.put('secret/app/db', { password: 'v2-pass', user: 'app', port: 5432, on: false });
  vault.put('team/kv/api', { key: 'k-123' });
});
after(() => vault.close());

function sites(...refs: string[]): VaultReferenceSite[] {
  const object: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db' },
    stringData: Object.fromEntries(refs.map((r, i) => [`k${i}`, r])),
  };
  return collectVaultReferences([{ object, source: { file: 'db.yaml' } }]).sites;
}

const options = (env: NodeJS.ProcessEnv = {}): ResolveVaultOptions => ({
  config: undefined,
  configFile: 'capstan.yaml',
  env: { VAULT_ADDR: vault.url, VAULT_TOKEN: ROOT, ...env },
});

describe('resolveVaultReferences', () => {
  it('reads each secret once, finding mounts with slashes, pinned versions and scalar values', async () => {
    const from = vault.calls.length;
    const values = await resolveVaultReferences(
      sites(
        'ref+vault://secret/app/db#password',
        'ref+vault://secret/app/db#user',
        'ref+vault://secret/app/db?version=1#password',
        'ref+vault://team/kv/api#key',
        'ref+vault://secret/app/db#port',
        'ref+vault://secret/app/db#on',
      ),
      options({ VAULT_NAMESPACE: 'ns1' }),
    );
    assert.deepEqual(values, ['v2-pass', 'app', 'v1-pass', 'k-123', '5432', 'false']);
    const calls = vault.calls.slice(from);
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.path}`),
      [
        'GET /v1/sys/internal/ui/mounts/secret/app/db',
        'GET /v1/secret/data/app/db',
        'GET /v1/secret/data/app/db',
        'GET /v1/sys/internal/ui/mounts/team/kv/api',
        'GET /v1/team/kv/data/api',
      ],
    );
    assert.ok(calls.every((c) => c.namespace === 'ns1' && c.token === ROOT));
    // A token Capstan was given is not revoked.
    assert.equal(vault.revoked.size, 0);
  });

  it('lists every missing secret and key at once, naming path and key, never a value', async () => {
    const error = await resolveVaultReferences(
      sites(
        'ref+vault://secret/app/db#nope',
        'ref+vault://secret/app/gone#password',
        'ref+vault://secret/app/db?version=9#password',
        'ref+vault://nomount/x#k',
        'ref+vault://old/x#k',
      ),
      options(),
    ).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.issues.map((i) => `${i.file} ${i.path}: ${i.message}`),
      [
        'db.yaml stringData.k0: Secret/db: ref+vault://secret/app/db#nope: the secret has no key "nope"',
        'db.yaml stringData.k1: Secret/db: ref+vault://secret/app/gone#password: no such secret (or its latest version is deleted)',
        'db.yaml stringData.k2: Secret/db: ref+vault://secret/app/db?version=9#password: no version 9 of this secret (or it is deleted)',
        'db.yaml stringData.k3: Secret/db: ref+vault://nomount/x#k: permission denied, or no secrets engine is mounted there (the policy needs "read" on MOUNT/data/PATH)',
        'db.yaml stringData.k4: Secret/db: ref+vault://old/x#k: the mount old/ is KV version 1; Capstan reads KV version 2',
      ],
    );
    assert.doesNotMatch(error.message, /v1-pass|v2-pass/);
  });

  it('logs in once with a JWT, AppRole or ServiceAccount token and revokes that token', async () => {
    const logins: NodeJS.ProcessEnv[] = [
      { VAULT_AUTH_METHOD: 'jwt', VAULT_AUTH_ROLE: 'deploy', VAULT_JWT: 'good.jwt' },
      { VAULT_AUTH_METHOD: 'approle', VAULT_ROLE_ID: 'rid', VAULT_SECRET_ID: 'sid' },
      {
        VAULT_AUTH_METHOD: 'kubernetes',
        VAULT_AUTH_ROLE: 'deploy',
        VAULT_KUBERNETES_TOKEN_PATH: '/sa/token',
      },
    ];
    for (const env of logins) {
      const from = vault.issued.length;
      const values = await resolveVaultReferences(
        sites('ref+vault://secret/app/db#user', 'ref+vault://team/kv/api#key'),
        {
          ...options({ ...env, VAULT_TOKEN: '' }),
          readFile: (path) => Promise.resolve(path === '/sa/token' ? 'sa-token\n' : ''),
        },
      );
      assert.deepEqual(values, ['app', 'k-123'], env['VAULT_AUTH_METHOD']);
      assert.equal(vault.issued.length, from + 1, 'one login');
      assert.ok(vault.revoked.has(vault.issued[from]), 'the token is revoked');
    }
  });

  it('refuses a failed login without repeating the credential', async () => {
    const error = await resolveVaultReferences(sites('ref+vault://secret/app/db#user'), {
      ...options({
        VAULT_TOKEN: '',
        VAULT_AUTH_METHOD: 'jwt',
        VAULT_AUTH_ROLE: 'deploy',
        VAULT_JWT: 'bad.jwt',
      }),
    }).catch((e: unknown) => e);
    assert.ok(error instanceof CapstanError);
    assert.equal(error.code, 'ERR_CAPSTAN_VAULT');
    assert.match(
      error.message,
      /Vault refused the jwt login at \/v1\/auth\/jwt\/login: HTTP 400 \(invalid credentials\)/,
    );
    assert.doesNotMatch(error.message, /bad\.jwt/);
  });

  it('fails closed when Vault does not answer in time or cannot be reached', async () => {
    const silent = await startVaultApi({ rootToken: ROOT, mounts: {}, silent: true });
    try {
      const started = Date.now();
      const error = await resolveVaultReferences(sites('ref+vault://secret/app/db#user'), {
        ...options({ VAULT_ADDR: silent.url }),
        config: { timeoutMs: 200, auth: {} },
      }).catch((e: unknown) => e);
      assert.ok(error instanceof CapstanError);
      assert.match(
        error.message,
        /did not answer GET \/v1\/sys\/internal\/ui\/mounts\/secret\/app\/db: no answer within 200 ms/,
      );
      assert.ok(Date.now() - started < 5000);
    } finally {
      await silent.close();
    }
    const closed = await startVaultApi({ rootToken: ROOT, mounts: {} });
    const url = closed.url;
    await closed.close();
    const error = await resolveVaultReferences(
      sites('ref+vault://secret/app/db#user'),
      options({ VAULT_ADDR: url }),
    ).catch((e: unknown) => e);
    assert.ok(error instanceof CapstanError);
    assert.match(error.message, /^Vault at http:\/\/127\.0\.0\.1:\d+ did not answer GET .*ECONNREFUSED/);
  });

  it('asks for nothing when there is no reference', async () => {
    assert.deepEqual(await resolveVaultReferences([], { config: undefined, configFile: 'x', env: {} }), []);
  });
});
