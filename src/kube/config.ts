import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CapstanError } from '../shared/index.js';
import { RefreshingCredentials, type KubeCredentials } from './credentials.js';
import { resolveProxy, type ProxySetting } from './proxy.js';
import { oidcNeedsRefresh, refreshOidcTokens, type OidcProviderConfig } from './oidc-refresh.js';

export interface KubeConnectionOptions {
  /** Path of a kubeconfig file; default: KUBECONFIG from `env`, then ~/.kube/config. */
  readonly kubeconfig?: string;
  /** Context name; default: the kubeconfig's current context. */
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface KubeConnection {
  readonly server: string;
  readonly context: string;
  /** The namespace of the context, or `default`. */
  readonly namespace: string;
  readonly user: string;
  /** TLS options (CA, client certificate); auth headers come from `credentials` for each request. */
  readonly requestOptions: RequestOptions;
  /** Fresh auth headers before each request and after a 401 (exec plugins, OIDC refresh, token files). */
  readonly credentials: KubeCredentials;
  /** The HTTP proxy requests tunnel through: the cluster's `proxy-url`, else HTTPS_PROXY unless NO_PROXY exempts the server. */
  readonly proxy?: ProxySetting;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where a pod's ServiceAccount files are: the kubelet's mount, or CAPSTAN_SERVICE_ACCOUNT_DIR (tests, unusual mounts). */
function serviceAccountDir(env: NodeJS.ProcessEnv): string {
  return env.CAPSTAN_SERVICE_ACCOUNT_DIR || SERVICE_ACCOUNT_DIR;
}

type KubeConfigInstance = InstanceType<(typeof import('@kubernetes/client-node'))['KubeConfig']>;

/** Where the kubeconfig comes from, decided from the options alone (no fallback address ever). */
export type KubeconfigSource =
  | {
      readonly kind: 'files';
      readonly files: readonly string[];
      readonly origin: 'option' | 'KUBECONFIG' | 'home';
    }
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'none'; readonly home: string };

/** kubectl's order: --kubeconfig, then KUBECONFIG (a list), then ~/.kube/config, then the pod's ServiceAccount. */
export function resolveKubeconfigSource(
  options: Pick<KubeConnectionOptions, 'kubeconfig' | 'env'>,
  exists: (path: string) => boolean = existsSync,
): KubeconfigSource {
  const env = options.env ?? {};
  if (options.kubeconfig) return { kind: 'files', files: [options.kubeconfig], origin: 'option' };
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length > 0) return { kind: 'files', files: listed, origin: 'KUBECONFIG' };
  const home = join(env.HOME || homedir(), '.kube', 'config');
  if (exists(home)) return { kind: 'files', files: [home], origin: 'home' };
  if (env.KUBERNETES_SERVICE_HOST && exists(join(serviceAccountDir(env), 'token')))
    return { kind: 'in-cluster' };
  return { kind: 'none', home };
}

/** Several kubeconfig files merge as kubectl merges them: the first file that sets a name or the current context wins. */
function mergeFiles(kc: KubeConfigInstance, files: readonly string[], load: () => KubeConfigInstance): void {
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) throw new Error(`no such file: ${files.join(', ')}`);
  kc.loadFromFile(present[0]);
  for (const file of present.slice(1)) {
    const next = load();
    next.loadFromFile(file);
    if (!kc.currentContext && next.currentContext) kc.setCurrentContext(next.currentContext);
    for (const cluster of next.clusters) if (!kc.getCluster(cluster.name)) kc.addCluster(cluster);
    for (const user of next.users) if (!kc.getUser(user.name)) kc.addUser(user);
    for (const context of next.contexts) if (!kc.getContextObject(context.name)) kc.addContext(context);
  }
}

/**
 * The pod's ServiceAccount as client-node's loadFromCluster describes it, but from the `env`
 * option rather than process.env: its tokenFile user re-reads the file the kubelet rotates.
 */
function loadInCluster(kc: KubeConfigInstance, env: NodeJS.ProcessEnv): void {
  const dir = serviceAccountDir(env);
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const namespaceFile = join(dir, 'namespace');
  kc.loadFromOptions({
    clusters: [
      {
        name: 'inCluster',
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        caFile: join(dir, 'ca.crt'),
        skipTLSVerify: false,
      },
    ],
    users: [
      {
        name: 'inClusterUser',
        authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } },
      },
    ],
    contexts: [
      {
        name: 'inClusterContext',
        cluster: 'inCluster',
        user: 'inClusterUser',
        namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined,
      },
    ],
    currentContext: 'inClusterContext',
  });
}

/**
 * The same clusters, users and contexts in a new KubeConfig, whose authenticators start with empty
 * caches: the exec plugin runs again, the token file is read again, and the OIDC provider goes by
 * the (possibly already refreshed) tokens that the shared user objects hold.
 */
function withFreshAuthenticators(from: KubeConfigInstance, fresh: KubeConfigInstance): KubeConfigInstance {
  fresh.loadFromOptions({
    clusters: from.getClusters(),
    users: from.getUsers(),
    contexts: from.getContexts(),
    currentContext: from.getCurrentContext(),
  });
  return fresh;
}

/** Refreshes an `auth-provider: oidc` user's tokens in place when due; true when it did. */
async function prepareOidc(user: string, kc: KubeConfigInstance, force: boolean): Promise<boolean> {
  const provider = kc.getCurrentUser()?.authProvider as
    { name?: string; config?: OidcProviderConfig } | undefined;
  if (provider?.name !== 'oidc' || !provider.config || !oidcNeedsRefresh(provider.config, force, Date.now()))
    return false;
  await refreshOidcTokens(user, provider.config);
  return true;
}

/** Reads a kubeconfig with the official client and turns it into TLS and auth options for requests. */
export async function loadConnection(options: KubeConnectionOptions = {}): Promise<KubeConnection> {
  const source = resolveKubeconfigSource(options);
  if (source.kind === 'none') {
    throw new CapstanError(
      'ERR_CAPSTAN_KUBECONFIG',
      `no kubeconfig found: KUBECONFIG is unset and ${source.home.replace(options.env?.HOME || homedir(), '~')} does not exist`,
      {
        hint: 'pass --kubeconfig FILE, set KUBECONFIG, or log in to your cluster so that ~/.kube/config exists',
      },
    );
  }
  // Loaded on first use: the client library is large and most commands start without it.
  const { KubeConfig } = await import('./kubeconfig-class.js');
  const kc = new KubeConfig();
  const file = source.kind === 'files' ? source.files.join(delimiter) : undefined;
  try {
    if (source.kind === 'files') mergeFiles(kc, source.files, () => new KubeConfig());
    else loadInCluster(kc, options.env ?? {});
  } catch (error) {
    const from = source.kind === 'in-cluster' ? "the pod's ServiceAccount" : `kubeconfig ${file}`;
    throw new CapstanError('ERR_CAPSTAN_KUBECONFIG', `cannot read ${from}: ${(error as Error).message}`, {
      cause: error,
      hint:
        source.kind === 'files' && source.origin === 'KUBECONFIG'
          ? 'check the files KUBECONFIG lists'
          : 'pass --kubeconfig or set KUBECONFIG',
    });
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new CapstanError(
        'ERR_CAPSTAN_KUBECONFIG',
        `kube context "${options.context}" not found in ${file ?? 'the kubeconfig'}`,
        {
          hint: known.length ? `known contexts: ${known.join(', ')}` : undefined,
        },
      );
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new CapstanError(
      'ERR_CAPSTAN_KUBECONFIG',
      `the kubeconfig ${file ?? ''} has no current cluster`.replace('  ', ' '),
      {
        hint: 'pass --context or set current-context in the kubeconfig',
      },
    );
  }
  const user = kc.getCurrentUser()?.name ?? 'unknown';
  const credentials = new RefreshingCredentials({
    kubeConfig: kc,
    user,
    rebuild: (from) => withFreshAuthenticators(from, new KubeConfig()),
    prepare: (from, force) => prepareOidc(user, from, force),
  });
  // Fail at connect, not at the first request, when the plugin is missing or the token file unreadable.
  await credentials.headers();
  const requestOptions: RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(requestOptions);
  } catch (error) {
    throw new CapstanError(
      'ERR_CAPSTAN_KUBECONFIG',
      `cannot read the TLS files of ${file ?? "the pod's ServiceAccount"}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  delete requestOptions.headers;
  delete requestOptions.auth;
  const context = kc.getContextObject(kc.getCurrentContext());
  const server = cluster.server.replace(/\/+$/, '');
  const proxy = resolveProxy(new URL(server), { proxyUrl: cluster.proxyUrl, env: options.env });
  return {
    server,
    ...(proxy ? { proxy } : {}),
    context: kc.getCurrentContext(),
    namespace: context?.namespace ?? 'default',
    user,
    requestOptions,
    credentials,
  };
}
