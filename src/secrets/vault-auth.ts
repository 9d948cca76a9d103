// Which Vault to ask and how to log in: capstan.yaml's `vault:` block, overridden by the
// environment (VAULT_ADDR, VAULT_AUTH_METHOD, ...). Pure: files and token requests are read later.
import type { ResolvedVaultConfig, VaultAuthMethod } from '../config/index.js';
import type { Issue } from '../shared/index.js';
import { ConfigError } from '../shared/index.js';

export const VAULT_AUTH_METHODS = ['token', 'jwt', 'kubernetes', 'approle'] as const;

export const DEFAULT_VAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_KUBERNETES_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where a JWT comes from: a variable holding it, or GitHub Actions' token endpoint. */
export type JwtSource =
  | { readonly kind: 'value'; readonly variable: string; readonly jwt: string }
  | {
      readonly kind: 'github-actions';
      readonly url: string;
      readonly requestToken: string;
      readonly audience?: string;
    };

export type VaultAuth =
  | { readonly method: 'token'; readonly token?: string; readonly tokenFile?: string }
  | { readonly method: 'jwt'; readonly mount: string; readonly role: string; readonly jwt: JwtSource }
  | {
      readonly method: 'kubernetes';
      readonly mount: string;
      readonly role: string;
      readonly tokenPath: string;
    }
  | {
      readonly method: 'approle';
      readonly mount: string;
      readonly roleId: string;
      readonly secretId: string;
    };

export interface VaultSettings {
  /** Without a trailing `/`. */
  readonly address: string;
  readonly namespace?: string;
  readonly timeoutMs: number;
  readonly auth: VaultAuth;
}

/** Where an environment variable's problem is reported (issues name a file). */
const ENVIRONMENT = '(environment)';

/**
 * The address, namespace and login of this run. An environment variable wins over capstan.yaml
 * (the runner knows its own credentials); every problem is reported at once as a ConfigError.
 */
export function resolveVaultSettings(
  config: ResolvedVaultConfig | undefined,
  env: NodeJS.ProcessEnv,
  options: { readonly configFile: string },
): VaultSettings {
  const issues: Issue[] = [];
  const fromFile = (path: string, message: string) =>
    issues.push({ file: options.configFile, path: `vault.${path}`, message });
  const fromEnv = (variable: string, message: string) =>
    issues.push({ file: ENVIRONMENT, path: variable, message });
  const value = (variable: string, configured?: string) => nonEmpty(env[variable]) ?? configured;

  const address = value('VAULT_ADDR', config?.address);
  if (address === undefined) fromFile('address', 'no Vault address: set VAULT_ADDR or vault.address');
  else if (!/^https?:\/\/[^/\s]+/i.test(address))
    (env['VAULT_ADDR'] ? fromEnv.bind(null, 'VAULT_ADDR') : fromFile.bind(null, 'address'))(
      'is not an http(s) URL',
    );
  const auth = config?.auth ?? {};
  const methodText = value('VAULT_AUTH_METHOD', auth.method) ?? 'token';
  if (!(VAULT_AUTH_METHODS as readonly string[]).includes(methodText))
    fromEnv('VAULT_AUTH_METHOD', `must be one of ${VAULT_AUTH_METHODS.join(', ')}`);
  const method = methodText as VaultAuthMethod;
  const mount = (value('VAULT_AUTH_MOUNT', auth.mount) ?? method).replace(/^\/+|\/+$/g, '');
  const role = value('VAULT_AUTH_ROLE', auth.role);
  const needRole = (): string => {
    if (role === undefined)
      fromFile('auth.role', `${method} login needs a role: set VAULT_AUTH_ROLE or vault.auth.role`);
    return role ?? '';
  };

  let login: VaultAuth | undefined;
  if (method === 'token') {
    const token = nonEmpty(env['VAULT_TOKEN']);
    const home = nonEmpty(env['HOME']);
    login = token
      ? { method, token }
      : { method, ...(home === undefined ? {} : { tokenFile: `${home.replace(/\/+$/, '')}/.vault-token` }) };
  } else if (method === 'jwt') {
    const jwt = jwtSource(env, value('VAULT_JWT_AUDIENCE', auth.audience));
    if (!jwt)
      fromEnv(
        'VAULT_JWT',
        'jwt login needs a token: set VAULT_JWT (or VAULT_ID_TOKEN), or run in GitHub Actions with permissions id-token: write',
      );
    login = {
      method,
      mount,
      role: needRole(),
      jwt: jwt ?? { kind: 'value', variable: 'VAULT_JWT', jwt: '' },
    };
  } else if (method === 'kubernetes') {
    const tokenPath = value('VAULT_KUBERNETES_TOKEN_PATH', auth.tokenPath) ?? DEFAULT_KUBERNETES_TOKEN_PATH;
    login = { method, mount, role: needRole(), tokenPath };
  } else if (method === 'approle') {
    const roleId = value('VAULT_ROLE_ID', auth.roleId);
    const secretId = nonEmpty(env['VAULT_SECRET_ID']);
    if (roleId === undefined)
      fromEnv('VAULT_ROLE_ID', 'AppRole login needs a role_id: set VAULT_ROLE_ID or vault.auth.roleId');
    if (secretId === undefined)
      fromEnv('VAULT_SECRET_ID', 'AppRole login needs a secret_id: set VAULT_SECRET_ID');
    login = { method, mount, roleId: roleId ?? '', secretId: secretId ?? '' };
  }
  if (issues.length > 0 || !login || address === undefined)
    throw new ConfigError(issues, { hint: 'docs/vault.md says how Capstan finds Vault and logs in' });
  const namespace = value('VAULT_NAMESPACE', config?.namespace);
  return {
    address: address.replace(/\/+$/, ''),
    ...(namespace === undefined ? {} : { namespace }),
    timeoutMs: config?.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS,
    auth: login,
  };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/** VAULT_JWT, then VAULT_ID_TOKEN (GitLab's id_tokens convention), then GitHub Actions' endpoint. */
function jwtSource(env: NodeJS.ProcessEnv, audience: string | undefined): JwtSource | undefined {
  for (const variable of ['VAULT_JWT', 'VAULT_ID_TOKEN']) {
    const jwt = nonEmpty(env[variable]);
    if (jwt) return { kind: 'value', variable, jwt };
  }
  const url = nonEmpty(env['ACTIONS_ID_TOKEN_REQUEST_URL']);
  const requestToken = nonEmpty(env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']);
  if (url && requestToken)
    return { kind: 'github-actions', url, requestToken, ...(audience === undefined ? {} : { audience }) };
  return undefined;
}

/** The secrets this login sends, so that no message built from Vault's answer can repeat them. */
export function authCredentials(auth: VaultAuth): string[] {
  switch (auth.method) {
    case 'token':
      return auth.token ? [auth.token] : [];
    case 'jwt':
      return auth.jwt.kind === 'value' ? [auth.jwt.jwt] : [auth.jwt.requestToken];
    case 'approle':
      return [auth.secretId];
    case 'kubernetes':
      return [];
  }
}
