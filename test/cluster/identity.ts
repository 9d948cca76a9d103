// Identities of the local control plane beyond client certificates: the test OpenID issuer
// (started as a process, trusted through an AuthenticationConfiguration) and the kubeconfigs of
// every common kind that tests log in with: exec plugin, auth-provider oidc, static bearer token,
// and in-cluster style (service host/port variables plus a ServiceAccount token file).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startProcess } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);

export interface MintRequest {
  /** Mapped to the username (claim `email`, prefix `oidc:`). */
  readonly email: string;
  /** Mapped to groups (claim `groups`, prefix `oidc:`). */
  readonly groups: readonly string[];
  readonly lifetimeSeconds: number;
  /** The `aud` claim and OAuth client id; default `kubernetes`. */
  readonly clientId?: string;
}

export interface TokenSet {
  readonly id_token: string;
  readonly refresh_token: string;
  readonly expires_in: number;
  /** Seconds since the epoch. */
  readonly expires_at: number;
}

export interface IssuerInfo {
  readonly url: string;
  /** PEM of the CA that signed the issuer's serving certificate (not the cluster CA). */
  readonly caFile: string;
  readonly clientId: string;
}

/** What a cluster needs to know to reach its API server and issuer. */
export interface IdentityCluster {
  readonly runDir: string;
  readonly binDir: string;
  readonly kubeconfig: string;
  readonly server: string;
  readonly oidc: IssuerInfo;
}

export const OIDC_CLIENT_ID = 'kubernetes';
export const OIDC_PREFIX = 'oidc:';
/** The OIDC group bound to ClusterRole capstan:deployer per namespace (as capstan:deployers is for certificates). */
export const OIDC_DEPLOYERS = 'deployers';

/** `node` with tsx, for the TypeScript scripts of this folder run as their own processes. */
function nodeWithTsx(): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', import.meta.resolve('tsx')] };
}

/** The structured authentication config that makes kube-apiserver trust the issuer. */
export function authenticationConfigYaml(issuer: IssuerInfo): string {
  const ca = readFileSync(issuer.caFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: AuthenticationConfiguration',
    'jwt:',
    '  - issuer:',
    `      url: ${issuer.url}`,
    `      audiences: [${issuer.clientId}]`,
    '      certificateAuthority: |',
    ca,
    '    claimMappings:',
    `      username: { claim: email, prefix: "${OIDC_PREFIX}" }`,
    `      groups: { claim: groups, prefix: "${OIDC_PREFIX}" }`,
    '',
  ].join('\n');
}

/** Starts the issuer process (pid file like every component); resolves once it serves discovery. */
export async function startIssuer(runDir: string, port: number): Promise<IssuerInfo> {
  const tsx = nodeWithTsx();
  startProcess({
    runDir,
    name: 'oidc-issuer',
    command: tsx.command,
    args: [...tsx.args, join(here, 'oidc-issuer.ts'), runDir, String(port)],
  });
  const issuer: IssuerInfo = {
    url: `https://127.0.0.1:${port}`,
    caFile: join(runDir, 'pki', 'oidc-ca.crt'),
    clientId: OIDC_CLIENT_ID,
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await issuerRequest(issuer, 'GET', '/.well-known/openid-configuration');
      return issuer;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `the test OpenID issuer did not answer within 30 s; see ${join(runDir, 'logs', 'oidc-issuer.log')}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function issuerRequest<T>(
  issuer: IssuerInfo,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${issuer.url}${path}`,
      {
        method,
        ca: readFileSync(issuer.caFile),
        headers: { 'Content-Type': 'application/json' },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(text) as T)
            : reject(new Error(`issuer ${path}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`issuer ${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** An ID token (and refresh token) for a chosen user and groups, living `lifetimeSeconds`. */
export function mintToken(cluster: Pick<IdentityCluster, 'oidc'>, mint: MintRequest): Promise<TokenSet> {
  return issuerRequest(cluster.oidc, 'POST', '/mint', mint);
}

/** How many tokens the issuer minted and refreshed since it started. */
export function issuerStats(
  cluster: Pick<IdentityCluster, 'oidc'>,
): Promise<{ minted: number; refreshed: number; refusedRefresh: number }> {
  return issuerRequest(cluster.oidc, 'GET', '/stats');
}

function clusterCaData(cluster: IdentityCluster): string {
  return readFileSync(join(cluster.runDir, 'pki', 'ca.crt')).toString('base64');
}

function kubeconfigWithUser(
  cluster: IdentityCluster,
  user: string,
  userLines: readonly string[],
  namespace = 'default',
): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: capstan-test',
    '  cluster:',
    `    server: ${cluster.server}`,
    `    certificate-authority-data: ${clusterCaData(cluster)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    ...userLines.map((line) => `    ${line}`),
    'contexts:',
    `- name: ${user}@capstan-test`,
    '  context:',
    '    cluster: capstan-test',
    `    user: ${user}`,
    `    namespace: ${namespace}`,
    `current-context: ${user}@capstan-test`,
    '',
  ].join('\n');
}

export interface ExecKubeconfigOptions {
  readonly file: string;
  readonly email: string;
  readonly groups: readonly string[];
  readonly lifetimeSeconds: number;
  /** Each plugin run appends a line here. */
  readonly countFile?: string;
  /** Makes the plugin fail with this message on stderr. */
  readonly fail?: string;
}

/** A kubeconfig whose user runs the exec plugin (client.authentication.k8s.io/v1) against the issuer. */
export function writeExecKubeconfig(cluster: IdentityCluster, options: ExecKubeconfigOptions): string {
  const tsx = nodeWithTsx();
  const env: Record<string, string> = {
    CAPSTAN_OIDC_ISSUER: cluster.oidc.url,
    CAPSTAN_OIDC_CA: cluster.oidc.caFile,
    CAPSTAN_OIDC_EMAIL: options.email,
    CAPSTAN_OIDC_GROUPS: options.groups.join(','),
    CAPSTAN_OIDC_LIFETIME: String(options.lifetimeSeconds),
    ...(options.countFile ? { CAPSTAN_PLUGIN_COUNT_FILE: options.countFile } : {}),
    ...(options.fail ? { CAPSTAN_PLUGIN_FAIL: options.fail } : {}),
  };
  const lines = [
    'exec:',
    '  apiVersion: client.authentication.k8s.io/v1',
    `  command: ${JSON.stringify(tsx.command)}`,
    `  args: ${JSON.stringify([...tsx.args, join(here, 'oidc-exec-plugin.ts')])}`,
    '  interactiveMode: Never',
    '  provideClusterInfo: false',
    '  env:',
    ...Object.entries(env).map(([name, value]) => `  - { name: ${name}, value: ${JSON.stringify(value)} }`),
  ];
  writeFileSync(options.file, kubeconfigWithUser(cluster, `oidc-exec-${options.email}`, lines), {
    mode: 0o600,
  });
  return options.file;
}

/** A kubeconfig with the legacy `auth-provider: oidc` user: an ID token plus a refresh token for the issuer's token endpoint. */
export function writeOidcKubeconfig(cluster: IdentityCluster, file: string, tokens: TokenSet): string {
  const lines = [
    'auth-provider:',
    '  name: oidc',
    '  config:',
    `    idp-issuer-url: ${cluster.oidc.url}`,
    `    client-id: ${cluster.oidc.clientId}`,
    `    id-token: ${tokens.id_token}`,
    `    refresh-token: ${tokens.refresh_token}`,
    `    idp-certificate-authority-data: ${readFileSync(cluster.oidc.caFile).toString('base64')}`,
  ];
  writeFileSync(file, kubeconfigWithUser(cluster, 'oidc-provider', lines), { mode: 0o600 });
  return file;
}

/** A kubeconfig with a static bearer token. */
export function writeTokenKubeconfig(cluster: IdentityCluster, file: string, token: string): string {
  writeFileSync(file, kubeconfigWithUser(cluster, 'static-token', [`token: ${token}`]), { mode: 0o600 });
  return file;
}

async function kubectl(cluster: IdentityCluster, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    join(cluster.binDir, 'kubectl'),
    ['--kubeconfig', cluster.kubeconfig, ...args],
    { encoding: 'utf8' },
  );
  return stdout;
}

/** A ServiceAccount token from the TokenRequest API, bound to a Secret so that deleting the Secret revokes it. */
export async function requestServiceAccountToken(
  cluster: IdentityCluster,
  options: { namespace: string; serviceAccount: string; boundSecret?: string; durationSeconds?: number },
): Promise<string> {
  const args = [
    'create',
    'token',
    options.serviceAccount,
    '-n',
    options.namespace,
    `--duration=${options.durationSeconds ?? 3600}s`,
  ];
  if (options.boundSecret)
    args.push('--bound-object-kind=Secret', `--bound-object-name=${options.boundSecret}`);
  return (await kubectl(cluster, args)).trim();
}

export interface InClusterIdentity {
  /** What the pod's environment would hold: KUBERNETES_SERVICE_HOST/PORT and where the ServiceAccount files are. */
  readonly env: Record<string, string>;
  /** The folder holding `token`, `ca.crt` and `namespace`, as the kubelet mounts it. */
  readonly dir: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The Secret the current token is bound to. */
  readonly boundSecret: string;
}

let generation = 0;

async function boundToken(
  cluster: IdentityCluster,
  namespace: string,
  serviceAccount: string,
): Promise<{ token: string; secret: string }> {
  const secret = `${serviceAccount}-token-${process.pid}-${++generation}`;
  await kubectl(cluster, ['create', 'secret', 'generic', secret, '-n', namespace]);
  return {
    token: await requestServiceAccountToken(cluster, {
      namespace,
      serviceAccount,
      boundSecret: secret,
      durationSeconds: 3600,
    }),
    secret,
  };
}

/** Writes the token file as the kubelet does: the new content appears at once, never half-written. */
function writeTokenFile(dir: string, token: string): void {
  const next = join(dir, '.token.next');
  writeFileSync(next, token, { mode: 0o600 });
  renameSync(next, join(dir, 'token'));
}

/**
 * In-cluster style credentials for a ServiceAccount (which must exist): a token file from the
 * TokenRequest API, the cluster CA and the namespace, plus the environment a pod would see.
 */
export async function writeInClusterIdentity(
  cluster: IdentityCluster,
  options: { dir: string; namespace: string; serviceAccount: string },
): Promise<InClusterIdentity> {
  mkdirSync(options.dir, { recursive: true });
  const { token, secret } = await boundToken(cluster, options.namespace, options.serviceAccount);
  writeFileSync(join(options.dir, 'ca.crt'), readFileSync(join(cluster.runDir, 'pki', 'ca.crt')));
  writeFileSync(join(options.dir, 'namespace'), options.namespace);
  writeTokenFile(options.dir, token);
  const url = new URL(cluster.server);
  return {
    env: {
      KUBERNETES_SERVICE_HOST: url.hostname,
      KUBERNETES_SERVICE_PORT: url.port,
      CAPSTAN_SERVICE_ACCOUNT_DIR: options.dir,
    },
    dir: options.dir,
    namespace: options.namespace,
    serviceAccount: options.serviceAccount,
    boundSecret: secret,
  };
}

/**
 * Rotates the token file as the kubelet would, then revokes the old token (deletes the Secret it
 * is bound to), so that only a client that re-reads the file keeps working.
 */
export async function rotateInClusterToken(
  cluster: IdentityCluster,
  identity: InClusterIdentity,
): Promise<InClusterIdentity> {
  const { token, secret } = await boundToken(cluster, identity.namespace, identity.serviceAccount);
  writeTokenFile(identity.dir, token);
  await kubectl(cluster, ['delete', 'secret', identity.boundSecret, '-n', identity.namespace, '--wait=true']);
  return { ...identity, boundSecret: secret };
}
