// The Vault the integration tests talk to: a real `vault server -dev` when CAPSTAN_VAULT_TOOL names
// a binary (.ci/run builds one when it can), else test/fixtures/vault-api.ts, the in-process double
// of the documented API (README, "Vault tests"). Both listen on 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { startVaultApi, type VaultCall, type VaultLoginSpec } from '../fixtures/vault-api.js';

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
  /** Writes a new version of a KV v2 secret, e.g. put('secret/app/db', { password }). */
  put(path: string, data: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** `logins`: the double's auth mounts (a real server is configured through its API instead). */
export async function startTestVault(
  logins: Readonly<Record<string, VaultLoginSpec>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestVault> {
  const tool = env['CAPSTAN_VAULT_TOOL'];
  if (tool && existsSync(tool)) return startRealVault(tool);
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
    put: (path, data) => kvPut(double.url, path, data),
    close: () => double.close(),
  };
}

function kvPut(url: string, path: string, data: Record<string, string>): Promise<void> {
  const [mount, ...rest] = path.split('/');
  return rootCall(url, `${mount}/data/${rest.join('/')}`, { data });
}

/** One write with the root token (POST /v1/PATH); throws unless Vault accepts it. */
async function rootCall(url: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/v1/${path}`, {
    method: 'POST',
    headers: { 'x-vault-token': ROOT_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_DEADLINE_MS),
  });
  if (!res.ok) throw new Error(`POST ${path} to the test Vault: HTTP ${res.status} ${await res.text()}`);
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
    put: (p, d) => kvPut(url, p, d),
    close: stop,
  };
}
