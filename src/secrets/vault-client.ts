// The few Vault (and OpenBao) HTTP calls a deploy makes: log in, find the mount of a path, read a
// KV v2 secret, revoke the token it logged in for. Every call has a deadline; no answer fails closed.
import { readFile } from 'node:fs/promises';
import { CapstanError, isRecord } from '../shared/index.js';
import { authCredentials, type VaultAuth, type VaultSettings } from './vault-auth.js';

export const ERR_VAULT = 'ERR_CAPSTAN_VAULT';

export interface VaultClientOptions {
  readonly fetch?: typeof fetch;
  /** Aborts every call (the deploy's own signal). */
  readonly signal?: AbortSignal;
  /** Reads the token file and the ServiceAccount token (default: the file system). */
  readonly readFile?: (path: string) => Promise<string>;
}

export interface VaultAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A KV mount found for a path: its path with a trailing `/`, and its KV version. */
export interface VaultMount {
  readonly path: string;
  readonly type: string;
  readonly version: string | undefined;
}

export class VaultClient {
  private token: string | undefined;
  /** True when the token came from a login (and is revoked by close). */
  private obtained = false;
  private readonly send: typeof fetch;
  private readonly hide: string[];

  constructor(
    readonly settings: VaultSettings,
    private readonly options: VaultClientOptions = {},
  ) {
    this.send = options.fetch ?? fetch;
    this.hide = authCredentials(settings.auth);
  }

  /** One call; throws a CapstanError naming the call (never a value) when Vault does not answer. */
  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<VaultAnswer> {
    const { address, namespace, timeoutMs } = this.settings;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'capstan' };
    if (this.token !== undefined) headers['x-vault-token'] = this.token;
    if (namespace !== undefined) headers['x-vault-namespace'] = namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    // A referenced timer (unlike AbortSignal.timeout) keeps the process alive until the deadline.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    const signal = this.options.signal
      ? AbortSignal.any([this.options.signal, controller.signal])
      : controller.signal;
    const what = `${method} ${path}`;
    try {
      const res = await this.send(`${address}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
        redirect: 'error',
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed };
    } catch (error) {
      throw new CapstanError(ERR_VAULT, `Vault at ${address} did not answer ${what}: ${describe(error)}`, {
        hint: 'check VAULT_ADDR (or vault.address) and that Vault is reachable from here; nothing was applied',
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Vault's own error text for a refused call, without any credential this client sent. */
  failure(what: string, answer: VaultAnswer): CapstanError {
    const errors = isRecord(answer.body) && Array.isArray(answer.body['errors']) ? answer.body['errors'] : [];
    let text = errors
      .filter((e): e is string => typeof e === 'string')
      .join('; ')
      .slice(0, 300);
    for (const secret of this.hide) if (secret) text = text.split(secret).join('[REDACTED]');
    return new CapstanError(
      ERR_VAULT,
      `Vault refused ${what}: HTTP ${answer.status}${text ? ` (${text})` : ''}`,
      { hint: 'docs/vault.md says how Capstan logs in and which policy a deploy needs; nothing was applied' },
    );
  }

  /** Logs in once (or takes the given token). */
  async login(): Promise<void> {
    const { auth } = this.settings;
    if (auth.method === 'token') {
      this.token = auth.token ?? (await this.readTokenFile(auth.tokenFile));
      return;
    }
    const body = await this.loginBody(auth);
    const path = `/v1/auth/${encodePath(auth.mount)}/login`;
    const answer = await this.call('POST', path, body);
    const token = dig(answer.body, ['auth', 'client_token']);
    if (answer.status !== 200 || typeof token !== 'string' || token === '')
      throw this.failure(`the ${auth.method} login at ${path}`, answer);
    this.token = token;
    this.obtained = true;
  }

  private async readTokenFile(file: string | undefined): Promise<string> {
    const text = file === undefined ? undefined : await this.read(file).catch(() => undefined);
    const token = text?.trim();
    if (!token)
      throw new CapstanError(
        ERR_VAULT,
        'no Vault token: VAULT_TOKEN is not set and ~/.vault-token is missing or empty',
        {
          hint: 'set VAULT_TOKEN, run vault login, or choose another method with VAULT_AUTH_METHOD (docs/vault.md)',
        },
      );
    return token;
  }

  private read(path: string): Promise<string> {
    return this.options.readFile ? this.options.readFile(path) : readFile(path, 'utf8');
  }

  private async loginBody(auth: Exclude<VaultAuth, { method: 'token' }>): Promise<Record<string, string>> {
    if (auth.method === 'approle') return { role_id: auth.roleId, secret_id: auth.secretId };
    if (auth.method === 'kubernetes') {
      const jwt = (await this.read(auth.tokenPath).catch(() => '')).trim();
      if (!jwt)
        throw new CapstanError(
          ERR_VAULT,
          `kubernetes login: cannot read a ServiceAccount token from ${auth.tokenPath}`,
          {
            hint: 'run inside a pod, or set VAULT_KUBERNETES_TOKEN_PATH (vault.auth.tokenPath)',
          },
        );
      return { role: auth.role, jwt };
    }
    const source = auth.jwt;
    if (source.kind === 'value') return { role: auth.role, jwt: source.jwt };
    return { role: auth.role, jwt: await this.githubActionsToken(source) };
  }

  /** GitHub Actions' ID token: GET the request URL (plus the audience) with the request token. */
  private async githubActionsToken(source: Extract<VaultAuth, { method: 'jwt' }>['jwt']): Promise<string> {
    if (source.kind !== 'github-actions') return '';
    const url = new URL(source.url);
    if (source.audience !== undefined) url.searchParams.set('audience', source.audience);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.settings.timeoutMs);
    try {
      const res = await this.send(url, {
        headers: { authorization: `Bearer ${source.requestToken}`, accept: 'application/json' },
        signal: controller.signal,
      });
      const body: unknown = await res.json().catch(() => undefined);
      const value = isRecord(body) ? body['value'] : undefined;
      if (!res.ok || typeof value !== 'string')
        throw new CapstanError(ERR_VAULT, `GitHub Actions gave no ID token (HTTP ${res.status})`, {
          hint: 'the workflow needs permissions: id-token: write',
        });
      return value;
    } catch (error) {
      if (error instanceof CapstanError) throw error;
      throw new CapstanError(
        ERR_VAULT,
        `GitHub Actions' ID token endpoint did not answer: ${describe(error)}`,
        {
          cause: error,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** The mount holding `path` (sys/internal/ui/mounts), or the refused answer. */
  async mountOf(path: string): Promise<VaultMount | VaultAnswer> {
    const answer = await this.call('GET', `/v1/sys/internal/ui/mounts/${encodePath(path)}`);
    const data = dig(answer.body, ['data']);
    if (answer.status !== 200 || !isRecord(data) || typeof data['path'] !== 'string') return answer;
    const version = dig(data, ['options', 'version']);
    return {
      path: data['path'].replace(/^\/+/, ''),
      type: typeof data['type'] === 'string' ? data['type'] : '',
      version: typeof version === 'string' ? version : undefined,
    };
  }

  /** A KV v2 secret's key/values (`data.data`), or the refused answer (404: no such secret/version). */
  async readKv2(
    mount: string,
    path: string,
    version: number | undefined,
  ): Promise<{ data: Record<string, unknown> } | VaultAnswer> {
    const query = version === undefined ? '' : `?version=${version}`;
    const answer = await this.call('GET', `/v1/${encodePath(mount)}/data/${encodePath(path)}${query}`);
    const data = dig(answer.body, ['data', 'data']);
    if (answer.status !== 200 || !isRecord(data)) return answer;
    return { data };
  }

  /** Revokes a token this client logged in for; a token it was given is left alone. */
  async close(): Promise<string | undefined> {
    if (!this.obtained) return undefined;
    this.obtained = false;
    try {
      const answer = await this.call('POST', '/v1/auth/token/revoke-self');
      return answer.status === 204 || answer.status === 200
        ? undefined
        : `could not revoke the Vault token of this deploy: HTTP ${answer.status}; it expires with its TTL`;
    } catch (error) {
      return `could not revoke the Vault token of this deploy (${(error as Error).message}); it expires with its TTL`;
    } finally {
      this.token = undefined;
    }
  }
}

/** Each segment percent-encoded; `/` kept. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

function dig(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return error.message || 'timed out';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}
