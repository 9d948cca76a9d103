// The Vault client against a real `vault server -dev` (skipped, saying so, when none is built; see
// vault-server.ts): mount discovery for a mount of two segments, a KV version 1 mount and no mount
// as Vault answers them, and the AppRole and Kubernetes logins, the latter checked by Vault through
// the test cluster's TokenReview API; each token it logged in for is revoked.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  collectVaultReferences,
  resolveVaultReferences,
  type VaultReferenceSite,
} from '../../src/secrets/index.js';
import { ConfigError, type KubeObject } from '../../src/shared/index.js';
import { freshNamespace, kubectl, testCluster } from './helpers.js';
import { rootCall, startTestVault, type TestVault } from './vault-server.js';

let vault: TestVault;
before(async () => {
  vault = await startTestVault();
  if (vault.kind !== 'vault') return;
  await rootCall(vault.url, 'sys/mounts/team/kv', { type: 'kv', options: { version: '2' } });
  await rootCall(vault.url, 'sys/mounts/old', { type: 'kv', options: { version: '1' } });
  await rootCall(vault.url, 'team/kv/data/shop/api', { data: { key: 'team-key-2b81', port: 5432 } });
  await rootCall(vault.url, 'old/shop', { key: 'v1-value' });
  await vault.put('secret/shop/db', { password: 'real-pass-61f0' });
  await rootCall(vault.url, 'sys/policies/acl/shop-read', {
    policy:
      'path "secret/data/shop/*" { capabilities = ["read"] }\npath "team/kv/data/shop/*" { capabilities = ["read"] }',
  });
});
after(() => vault?.close());

function sites(...refs: string[]): VaultReferenceSite[] {
  const object: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'shop' },
    stringData: Object.fromEntries(refs.map((r, i) => [`k${i}`, r])),
  };
  return collectVaultReferences([{ object, source: { file: 'shop.yaml' } }]).sites;
}

const REFS = [
  'ref+vault://team/kv/shop/api#key',
  'ref+vault://team/kv/shop/api#port',
  'ref+vault://secret/shop/db#password',
];
const VALUES = ['team-key-2b81', '5432', 'real-pass-61f0'];

describe('the Vault client against a real vault server -dev', () => {
  it('finds a mount of two segments, and reports a KV v1 mount and a path with no mount', async (t) => {
    if (vault.kind !== 'vault')
      return t.skip('no vault binary is built (see test/integration/vault-server.ts)');
    const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken };
    assert.deepEqual(
      await resolveVaultReferences(sites(...REFS), { config: undefined, configFile: 'c', env }),
      VALUES,
    );
    const error = await resolveVaultReferences(
      sites('ref+vault://old/shop#key', 'ref+vault://nothing/here#k'),
      {
        config: undefined,
        configFile: 'c',
        env,
      },
    ).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.issues.map((i) => i.message.replace(/^.*#\w+: /, '')),
      [
        'the mount old/ is KV version 1; Capstan reads KV version 2',
        'permission denied, or no secrets engine is mounted there (the policy needs "read" on MOUNT/data/PATH)',
      ],
    );
  });

  it('logs in with AppRole, reads within its policy, and revokes the token', async (t) => {
    if (vault.kind !== 'vault')
      return t.skip('no vault binary is built (see test/integration/vault-server.ts)');
    await rootCall(vault.url, 'sys/auth/approle', { type: 'approle' });
    await rootCall(vault.url, 'auth/approle/role/deploy', { token_policies: ['shop-read'], token_ttl: '5m' });
    const roleId = (await rootCall(vault.url, 'auth/approle/role/deploy/role-id')).data.role_id as string;
    const secretId = (await rootCall(vault.url, 'auth/approle/role/deploy/secret-id', {})).data
      .secret_id as string;
    const live = await vault.liveTokens();
    const env = {
      VAULT_ADDR: vault.url,
      VAULT_AUTH_METHOD: 'approle',
      VAULT_ROLE_ID: roleId,
      VAULT_SECRET_ID: secretId,
    };
    assert.deepEqual(
      await resolveVaultReferences(sites(...REFS), { config: undefined, configFile: 'c', env }),
      VALUES,
    );
    assert.equal(await vault.liveTokens(), live, 'the token is revoked');
    // Outside the policy: the path is named, the read refused.
    const error = await resolveVaultReferences(sites('ref+vault://secret/other/db#password'), {
      config: undefined,
      configFile: 'c',
      env,
    }).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /ref\+vault:\/\/secret\/other\/db#password: permission denied/);
  });

  it("logs in with a ServiceAccount token that Vault checks with the cluster's TokenReview", async (t) => {
    if (vault.kind !== 'vault')
      return t.skip('no vault binary is built (see test/integration/vault-server.ts)');
    const cluster = testCluster();
    const ns = await freshNamespace('vault-k8s');
    const binding = `${ns.name}-vault-delegator`;
    const dir = await mkdtemp(join(tmpdir(), 'capstan-vault-sa-'));
    try {
      await kubectl(['create', 'serviceaccount', 'deployer', '-n', ns.name]);
      // Without a reviewer token, Vault reviews the login's own token: it needs auth-delegator.
      await kubectl([
        'create',
        'clusterrolebinding',
        binding,
        '--clusterrole=system:auth-delegator',
        `--serviceaccount=${ns.name}:deployer`,
      ]);
      await writeFile(
        join(dir, 'token'),
        await kubectl(['create', 'token', 'deployer', '-n', ns.name, '--duration=600s']),
      );
      await rootCall(vault.url, 'sys/auth/kubernetes', { type: 'kubernetes' });
      await rootCall(vault.url, 'auth/kubernetes/config', {
        kubernetes_host: cluster.server,
        kubernetes_ca_cert: await readFile(join(cluster.runDir, 'pki', 'ca.crt'), 'utf8'),
        disable_local_ca_jwt: true,
      });
      await rootCall(vault.url, 'auth/kubernetes/role/deploy', {
        bound_service_account_names: ['deployer'],
        bound_service_account_namespaces: [ns.name],
        token_policies: ['shop-read'],
        token_ttl: '5m',
      });
      const live = await vault.liveTokens();
      const env = {
        VAULT_ADDR: vault.url,
        VAULT_AUTH_METHOD: 'kubernetes',
        VAULT_AUTH_ROLE: 'deploy',
        VAULT_KUBERNETES_TOKEN_PATH: join(dir, 'token'),
      };
      assert.deepEqual(
        await resolveVaultReferences(sites(...REFS), { config: undefined, configFile: 'c', env }),
        VALUES,
      );
      assert.equal(await vault.liveTokens(), live, 'the token is revoked');
    } finally {
      await kubectl(['delete', 'clusterrolebinding', binding, '--ignore-not-found']);
      await rm(dir, { recursive: true, force: true });
      await ns.remove();
    }
  });
});
