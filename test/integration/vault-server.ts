// The Vault the integration tests talk to: a real `vault server -dev` (Vault v1.21.0, built from the
// Go module proxy by test/cluster/go-tool.sh, which .ci/run starts in the background) when
// CAPSTAN_VAULT_TOOL names a binary or the build is in the cache; else test/fixtures/vault-api.ts,
// the in-process double of the documented API (README, "Vault tests"). The first test says which.
// A cold build takes longer than the integration tests wait for anything (about 35 minutes on 2
// cores), so a run never waits for it. Both listen on 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startVaultApi, type VaultCall, type VaultLoginSpec } from '../fixtures/vault-api.js';

/**
 * What .ci/run's VAULT_TOOL builds: Vault v1.21.0 builds as a dependency with the vault/sdk v0.20.0
 * and vault/api v1.22.0 its go.mod requires, once its own two replace lines are repeated (v1.21.4
 * does not: its published sdk no longer matches its code).
 */
export const VAULT_TOOL = [
  'vault',
  'github.com/hashicorp/vault',
  'v1.21.0',
  'github.com/hashicorp/vault',
  'github.com/99designs/keyring=github.com/Jeffail/keyring@v1.2.3',
  'github.com/ma314smith/signedxml@v1.1.1=github.com/moov-io/signedxml@v1.1.1',
] as const;

/** The vault binary to run, or undefined for the double. */
function findVaultTool(env: NodeJS.ProcessEnv): string | undefined {
  const named = env['CAPSTAN_VAULT_TOOL'];
  if (named) {
    if (!existsSync(named)) throw new Error(`CAPSTAN_VAULT_TOOL=${named}: no such file`);
    return named;
  }
  const cache =
    env['CAPSTAN_CACHE_DIR'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'capstan');
  const cached = join(cache, `${VAULT_TOOL[0]}-${VAULT_TOOL[2]}`, VAULT_TOOL[0]);
  return existsSync(cached) ? cached : undefined;
}

export const ROOT_TOKEN = 'capstan-test-root-token';
const START_DEADLINE_MS = 60_000;
const CALL_DEADLINE_MS = 10_000;

export interface TestVault {
  readonly url: string;
  readonly rootToken: string;
  /** `vault` for the real server, `double` for the in-process one. */
  readonly kind: 'vault' | 'double';
  /** The calls the double saw (undefined for the real server). */
  readonly calls: VaultCall[] | undefined;
  /** Tokens issued by a login and revoked since (the double only). */
  readonly revoked: Set<string> | undefined;
  readonly issued: string[] | undefined;
  /** How many tokens are valid now (the root token included). */
  liveTokens(): Promise<number>;
  /** Writes a new version of a KV v2 secret, e.g. put('secret/app/db', { password }). */
  put(path: string, data: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** `logins`: the double's auth mounts (a real server is configured through its API instead). */
export async function startTestVault(
  logins: Readonly<Record<string, VaultLoginSpec>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestVault> {
  const tool = findVaultTool(env);
  if (tool) return startRealVault(tool);
  const double = await startVaultApi({
    rootToken: ROOT_TOKEN,
    mounts: { 'secret/': { type: 'kv', version: '2' } },
    logins,
  });
  return {
    url: double.url,
    rootToken: ROOT_TOKEN,
    kind: 'double',
    calls: double.calls,
    revoked: double.revoked,
    issued: double.issued,
    liveTokens: () => Promise.resolve(1 + double.issued.length - double.revoked.size),
    put: (path, data) => kvPut(double.url, path, data),
    close: () => double.close(),
  };
}

function kvPut(url: string, path: string, data: Record<string, string>): Promise<void> {
  const [mount, ...rest] = path.split('/');
  return rootCall(url, `${mount}/data/${rest.join('/')}`, { data });
}

/** One call with the root token (POST with a body, else GET /v1/PATH); its JSON answer, if any. */
export async function rootCall(url: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}/v1/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-vault-token': ROOT_TOKEN, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(CALL_DEADLINE_MS),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path} on the test Vault: HTTP ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** The number of token accessors (LIST auth/token/accessors, root only). */
async function countAccessors(url: string): Promise<number> {
  const res = await fetch(`${url}/v1/auth/token/accessors?list=true`, {
    headers: { 'x-vault-token': ROOT_TOKEN },
    signal: AbortSignal.timeout(CALL_DEADLINE_MS),
  });
  const body = (await res.json()) as { data?: { keys?: string[] } };
  return body.data?.keys?.length ?? 0;
}

export interface JwtLoginSetup {
  readonly mount: string;
  readonly role: string;
  readonly issuer: string;
  /** PEM of the CA of the issuer's serving certificate. */
  readonly issuerCa: string;
  readonly audience: string;
  readonly email: string;
}

/**
 * A real server's jwt auth method trusting the test cluster's OIDC issuer (discovery and JWKS over
 * HTTPS with its CA): one role bound to the audience and the email claim, reading secret/.
 */
export async function configureRealJwt(vault: TestVault, setup: JwtLoginSetup): Promise<void> {
  await rootCall(vault.url, 'sys/policies/acl/capstan-read', {
    policy: 'path "secret/data/*" { capabilities = ["read"] }',
  });
  await rootCall(vault.url, `sys/auth/${setup.mount}`, { type: 'jwt' });
  await rootCall(vault.url, `auth/${setup.mount}/config`, {
    oidc_discovery_url: setup.issuer,
    oidc_discovery_ca_pem: setup.issuerCa,
    bound_issuer: setup.issuer,
  });
  await rootCall(vault.url, `auth/${setup.mount}/role/${setup.role}`, {
    role_type: 'jwt',
    user_claim: 'email',
    bound_audiences: [setup.audience],
    bound_claims: { email: setup.email },
    token_policies: ['capstan-read'],
    token_ttl: '5m',
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRealVault(tool: string): Promise<TestVault> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    tool,
    ['server', '-dev', `-dev-root-token-id=${ROOT_TOKEN}`, `-dev-listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'], HOME: process.env['HOME'] } },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    const ready = await fetch(`${url}/v1/sys/health`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`vault server -dev did not start on ${url}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    rootToken: ROOT_TOKEN,
    kind: 'vault',
    calls: undefined,
    revoked: undefined,
    issued: undefined,
    liveTokens: () => countAccessors(url),
    put: (p, d) => kvPut(url, p, d),
    close: stop,
  };
}
