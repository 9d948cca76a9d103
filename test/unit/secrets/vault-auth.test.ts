import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedVaultConfig } from '../../../src/config/index.js';
import { resolveVaultSettings } from '../../../src/secrets/index.js';
import { ConfigError } from '../../../src/shared/index.js';

const FILE = '/app/.deploy/capstan.yaml';
const settings = (config: ResolvedVaultConfig | undefined, env: NodeJS.ProcessEnv) =>
  resolveVaultSettings(config, env, { configFile: FILE });
const config = (fields: Partial<ResolvedVaultConfig> = {}): ResolvedVaultConfig => ({
  timeoutMs: 10_000,
  auth: {},
  ...fields,
});

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((i) => `${i.file} ${i.path ?? ''}: ${i.message}`);
  }
  assert.fail('no ConfigError');
}

describe('resolveVaultSettings', () => {
  it('uses VAULT_TOKEN, else ~/.vault-token, when no method is chosen', () => {
    assert.deepEqual(settings(undefined, { VAULT_ADDR: 'http://127.0.0.1:8200/', VAULT_TOKEN: 't' }), {
      address: 'http://127.0.0.1:8200',
      timeoutMs: 10_000,
      auth: { method: 'token', token: 't' },
    });
    assert.deepEqual(settings(config({ address: 'https://v:8200' }), { HOME: '/home/ci' }).auth, {
      method: 'token',
      tokenFile: '/home/ci/.vault-token',
    });
  });

  it('lets the environment override capstan.yaml, field by field', () => {
    const file = config({
      address: 'https://file:8200',
      namespace: 'team-a',
      auth: { method: 'kubernetes', role: 'file-role', mount: 'k8s' },
    });
    const fromFile = settings(file, {});
    assert.deepEqual(fromFile, {
      address: 'https://file:8200',
      namespace: 'team-a',
      timeoutMs: 10_000,
      auth: {
        method: 'kubernetes',
        mount: 'k8s',
        role: 'file-role',
        tokenPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      },
    });
    const overridden = settings(file, {
      VAULT_ADDR: 'https://env:8200',
      VAULT_NAMESPACE: 'team-b',
      VAULT_AUTH_METHOD: 'jwt',
      VAULT_AUTH_ROLE: 'deploy',
      VAULT_JWT: 'eyJ.a.b',
    });
    assert.deepEqual(overridden, {
      address: 'https://env:8200',
      namespace: 'team-b',
      timeoutMs: 10_000,
      auth: {
        method: 'jwt',
        mount: 'k8s',
        role: 'deploy',
        jwt: { kind: 'value', variable: 'VAULT_JWT', jwt: 'eyJ.a.b' },
      },
    });
  });

  it("takes a JWT from VAULT_JWT, VAULT_ID_TOKEN, then GitHub Actions' token endpoint", () => {
    const jwt = (env: NodeJS.ProcessEnv) => {
      const auth = settings(
        config({ address: 'https://v', auth: { method: 'jwt', role: 'r', audience: 'vault' } }),
        env,
      ).auth;
      return auth.method === 'jwt' ? auth.jwt : undefined;
    };
    const github = {
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://gh/token?x=1',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req',
    };
    assert.deepEqual(jwt({ ...github, VAULT_ID_TOKEN: 'gitlab' }), {
      kind: 'value',
      variable: 'VAULT_ID_TOKEN',
      jwt: 'gitlab',
    });
    assert.deepEqual(jwt(github), {
      kind: 'github-actions',
      url: 'https://gh/token?x=1',
      requestToken: 'req',
      audience: 'vault',
    });
  });

  it('reads AppRole credentials, the secret_id from the environment only', () => {
    const auth = settings(config({ address: 'https://v', auth: { method: 'approle', roleId: 'rid' } }), {
      VAULT_SECRET_ID: 'sid',
    }).auth;
    assert.deepEqual(auth, { method: 'approle', mount: 'approle', roleId: 'rid', secretId: 'sid' });
  });

  it('lists every missing setting at once, naming where to set it', () => {
    assert.deepEqual(
      issuesOf(() => settings(config({ auth: { method: 'jwt' } }), {})),
      [
        `${FILE} vault.address: no Vault address: set VAULT_ADDR or vault.address`,
        '(environment) VAULT_JWT: jwt login needs a token: set VAULT_JWT (or VAULT_ID_TOKEN), or run in GitHub Actions with permissions id-token: write',
        `${FILE} vault.auth.role: jwt login needs a role: set VAULT_AUTH_ROLE or vault.auth.role`,
      ],
    );
    assert.deepEqual(
      issuesOf(() => settings(undefined, { VAULT_ADDR: 'vault:8200', VAULT_AUTH_METHOD: 'ldap' })),
      [
        '(environment) VAULT_ADDR: is not an http(s) URL',
        '(environment) VAULT_AUTH_METHOD: must be one of token, jwt, kubernetes, approle',
      ],
    );
    assert.deepEqual(
      issuesOf(() => settings(config({ address: 'https://v' }), { VAULT_AUTH_METHOD: 'approle' })),
      [
        '(environment) VAULT_ROLE_ID: AppRole login needs a role_id: set VAULT_ROLE_ID or vault.auth.roleId',
        '(environment) VAULT_SECRET_ID: AppRole login needs a secret_id: set VAULT_SECRET_ID',
      ],
    );
  });
});
