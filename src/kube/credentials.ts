import { CapstanError } from '../shared/index.js';

type KubeConfigInstance = InstanceType<(typeof import('@kubernetes/client-node'))['KubeConfig']>;

/** What the transport needs: auth headers for the next request, and fresh ones after a 401. */
export interface KubeCredentials {
  /** Headers for the next request (Authorization, Impersonate-User); cheap while the credential is valid. */
  headers(): Promise<Readonly<Record<string, string>>>;
  /**
   * Obtains a fresh credential (the exec plugin runs again, the OIDC token is refreshed, the token
   * file is read again) unless one newer than `rejected` already exists: many requests refused at
   * once share one refresh.
   */
  refresh(rejected: Readonly<Record<string, string>>): Promise<Readonly<Record<string, string>>>;
}

/** Seconds since the epoch at which a JWT bearer token expires, and when it was issued; undefined for opaque tokens. */
export function bearerTokenTimes(
  authorization: string | undefined,
): { exp: number; iat?: number } | undefined {
  const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]*)$/.exec(authorization ?? '');
  if (!match) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(match[2], 'base64url').toString('utf8')) as {
      exp?: unknown;
      iat?: unknown;
    };
    if (typeof payload.exp !== 'number') return undefined;
    return { exp: payload.exp, iat: typeof payload.iat === 'number' ? payload.iat : undefined };
  } catch {
    return undefined;
  }
}

/**
 * When to obtain a new credential ahead of expiry: a tenth of its lifetime before it ends, at
 * least one second and at most a minute (a 10-minute token renews after 9, a 10-second one after 9).
 */
export function renewalTime(times: { exp: number; iat?: number }): number {
  const expMs = times.exp * 1000;
  const lifetimeMs = times.iat !== undefined ? expMs - times.iat * 1000 : 600_000;
  const margin = Math.min(60_000, Math.max(1000, lifetimeMs / 10));
  return expMs - margin;
}

/** Opaque tokens (no readable expiry) are asked of the client again after this long; its own caches decide. */
export const OPAQUE_TOKEN_RECHECK_MS = 30_000;

interface Cached {
  readonly headers: Readonly<Record<string, string>>;
  /** Epoch ms after which headers() asks for a credential again. */
  readonly renewAt: number;
  /** The token's expiry is known (a JWT): renewing then means fresh authenticators, not the client's cache. */
  readonly known: boolean;
}

export interface CredentialsOptions {
  readonly kubeConfig: KubeConfigInstance;
  /** A new KubeConfig with fresh authenticators over the same users (their caches start empty). */
  readonly rebuild: (from: KubeConfigInstance) => KubeConfigInstance;
  /**
   * Brings tokens the client cannot refresh itself up to date before it reads them (`force`
   * after a 401 or near expiry); true when it changed them, so fresh authenticators are needed.
   */
  readonly prepare?: (kubeConfig: KubeConfigInstance, force: boolean) => Promise<boolean>;
  /** For error messages: the kubeconfig user's name. */
  readonly user: string;
  readonly now?: () => number;
}

/**
 * Auth headers from @kubernetes/client-node's authenticators, asked before every request. The
 * client caches exec credentials until their expirationTimestamp and re-reads token files every
 * minute; what it lacks is renewal ahead of expiry, forcing a refresh after a 401, and sharing one
 * refresh between concurrent requests. A JWT bearer token's `exp` is read (not verified) to know
 * when to renew; opaque tokens are left to the client's own cache.
 */
export class RefreshingCredentials implements KubeCredentials {
  private kubeConfig: KubeConfigInstance;
  private cached: Cached | undefined;
  private pending: Promise<Cached> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: CredentialsOptions) {
    this.kubeConfig = options.kubeConfig;
    this.now = options.now ?? Date.now;
  }

  headers(): Promise<Readonly<Record<string, string>>> {
    const cached = this.cached;
    if (this.pending) return this.pending.then((c) => c.headers);
    if (cached && this.now() < cached.renewAt) return Promise.resolve(cached.headers);
    // Near the end of a known lifetime: ask for a fresh one (fresh authenticators) rather than the cached one.
    return this.obtain(cached?.known === true, cached).then((c) => c.headers);
  }

  refresh(rejected: Readonly<Record<string, string>>): Promise<Readonly<Record<string, string>>> {
    if (this.pending) return this.pending.then((c) => c.headers);
    const cached = this.cached;
    if (cached && cached.headers.Authorization !== rejected.Authorization)
      return Promise.resolve(cached.headers);
    return this.obtain(true, cached).then((c) => c.headers);
  }

  private obtain(fresh: boolean, previous: Cached | undefined): Promise<Cached> {
    const pending = (async () => {
      const changed = (await this.options.prepare?.(this.kubeConfig, fresh)) ?? false;
      if (fresh || changed) this.kubeConfig = this.options.rebuild(this.kubeConfig);
      const headers = await this.apply();
      const times = bearerTokenTimes(headers.Authorization);
      let renewAt = times ? renewalTime(times) : this.now() + OPAQUE_TOKEN_RECHECK_MS;
      // The plugin or provider handed back the same token (it caches too): use it until it really
      // expires instead of asking again on every request.
      if (times && previous?.headers.Authorization === headers.Authorization) renewAt = times.exp * 1000;
      const next: Cached = { headers, renewAt, known: times !== undefined };
      this.cached = next;
      return next;
    })();
    this.pending = pending;
    const clear = () => {
      if (this.pending === pending) this.pending = undefined;
    };
    pending.then(clear, clear);
    return pending;
  }

  private async apply(): Promise<Record<string, string>> {
    const options: { headers?: Record<string, unknown>; auth?: string } = {};
    try {
      await this.kubeConfig.applyToHTTPSOptions(options);
    } catch (error) {
      throw credentialError(this.options.user, this.kubeConfig, error);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value === 'string') headers[name] = value;
    }
    if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    return headers;
  }
}

/** An exec plugin that is missing or fails is named with its command and what it wrote to stderr. */
export function credentialError(
  user: string,
  kubeConfig: Pick<KubeConfigInstance, 'getCurrentUser'>,
  error: unknown,
): CapstanError {
  // client-node types these kubeconfig fields as any.
  const current = kubeConfig.getCurrentUser() as {
    exec?: { command?: string; args?: string[] };
    authProvider?: { name?: string };
  } | null;
  const detail = error instanceof Error ? error.message.trim() : String(error);
  if (current?.exec?.command) {
    const command = [current.exec.command, ...(current.exec.args ?? [])].join(' ');
    const missing = (error as { code?: string }).code === 'ENOENT';
    return new CapstanError(
      'ERR_CAPSTAN_KUBE_CREDENTIALS',
      missing
        ? `the exec credential plugin of kubeconfig user "${user}" is not installed: ${current.exec.command} not found`
        : `the exec credential plugin of kubeconfig user "${user}" failed (${command})${detail ? `: ${detail}` : ''}`,
      {
        cause: error,
        hint: missing
          ? `install ${current.exec.command} or put it on PATH`
          : 'run the command above yourself to see why it fails; you may need to log in again',
      },
    );
  }
  if (current?.authProvider?.name === 'oidc') {
    return new CapstanError(
      'ERR_CAPSTAN_KUBE_CREDENTIALS',
      `cannot refresh the OIDC token of kubeconfig user "${user}": ${detail}`,
      {
        cause: error,
        hint: "log in again to get a new refresh token (for example with kubelogin or your identity provider's CLI)",
      },
    );
  }
  return new CapstanError(
    'ERR_CAPSTAN_KUBE_CREDENTIALS',
    `cannot obtain credentials for kubeconfig user "${user}": ${detail}`,
    { cause: error },
  );
}
