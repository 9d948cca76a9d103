import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeClient } from '../../../src/kube/client.js';
import { loadConnection } from '../../../src/kube/config.js';
import { bearerTokenTimes, RefreshingCredentials, renewalTime } from '../../../src/kube/credentials.js';
import { KubeApiError } from '../../../src/kube/errors.js';
import { oidcNeedsRefresh, refreshOidcTokens } from '../../../src/kube/oidc-refresh.js';

const dir = mkdtempSync(join(tmpdir(), 'capstan-credentials-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function jwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(payload)}.sig`;
}

describe('bearer token expiry', () => {
  it('reads exp and iat of a JWT and nothing from opaque tokens', () => {
    assert.deepEqual(bearerTokenTimes(`Bearer ${jwt({ exp: 200, iat: 100 })}`), { exp: 200, iat: 100 });
    assert.deepEqual(bearerTokenTimes(`Bearer ${jwt({ exp: 200 })}`), { exp: 200, iat: undefined });
    assert.equal(bearerTokenTimes(`Bearer ${jwt({ sub: 'x' })}`), undefined);
    assert.equal(bearerTokenTimes('Bearer k8s-aws-v1.aHR0cHM6Ly9zdHM'), undefined);
    assert.equal(bearerTokenTimes('Bearer a.b.c'), undefined);
    assert.equal(bearerTokenTimes('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerTokenTimes(undefined), undefined);
  });

  it('renews a tenth of the lifetime before expiry, between one second and one minute', () => {
    assert.equal(renewalTime({ exp: 110, iat: 100 }), 109_000);
    assert.equal(renewalTime({ exp: 1000, iat: 400 }), 940_000);
    assert.equal(renewalTime({ exp: 10_000, iat: 0 }), 9_940_000);
    assert.equal(renewalTime({ exp: 101, iat: 100 }), 100_000);
  });
});

/** A stand-in for client-node's KubeConfig: each authenticator generation hands out tokens from `issue`. */
function fakeKubeConfig(issue: () => string, log: string[]) {
  const make = (generation: number) => ({
    generation,
    getCurrentUser: () => ({ name: 'u' }),
    applyToHTTPSOptions: async (opts: { headers?: Record<string, string> }) => {
      await new Promise((resolve) => setImmediate(resolve));
      const token = issue();
      log.push(`gen${generation}:${token}`);
      opts.headers = { Authorization: `Bearer ${token}` };
    },
  });
  return { initial: make(0), rebuild: (from: { generation: number }) => make(from.generation + 1) };
}

describe('RefreshingCredentials', () => {
  it('asks once while the JWT is fresh, renews with fresh authenticators near expiry, and shares concurrent refreshes', async () => {
    let now = 1_000_000;
    let serial = 0;
    const log: string[] = [];
    const fake = fakeKubeConfig(() => jwt({ n: ++serial, iat: now / 1000, exp: now / 1000 + 10 }), log);
    const credentials = new RefreshingCredentials({
      kubeConfig: fake.initial as never,
      rebuild: fake.rebuild as never,
      user: 'u',
      now: () => now,
    });
    const first = await credentials.headers();
    await Promise.all([credentials.headers(), credentials.headers()]);
    assert.equal(log.length, 1);
    now += 8_500;
    assert.equal(await credentials.headers(), first, 'still more than a tenth of the lifetime left');
    now += 600;
    const [a, b, c] = await Promise.all([
      credentials.headers(),
      credentials.headers(),
      credentials.headers(),
    ]);
    assert.notEqual(a.Authorization, first.Authorization);
    assert.equal(a, b);
    assert.equal(b, c);
    assert.deepEqual(
      log.map((l) => l.split(':')[0]),
      ['gen0', 'gen1'],
      'one renewal, with a new authenticator generation',
    );
    // Many requests refused with the same token share one refresh; a refusal of an older token reuses the newer one.
    const [r1, r2] = await Promise.all([credentials.refresh(a), credentials.refresh(a)]);
    assert.equal(r1, r2);
    assert.equal(log.length, 3);
    assert.equal(await credentials.refresh(a), r1);
    assert.equal(log.length, 3);
  });

  it('uses a token that comes back unchanged until it really expires instead of asking on every request', async () => {
    let now = 1_000_000;
    const token = jwt({ iat: now / 1000, exp: now / 1000 + 10 });
    const log: string[] = [];
    const fake = fakeKubeConfig(() => token, log);
    const credentials = new RefreshingCredentials({
      kubeConfig: fake.initial as never,
      rebuild: fake.rebuild as never,
      user: 'u',
      now: () => now,
    });
    await credentials.headers();
    now += 9_500;
    await credentials.headers();
    await credentials.headers();
    await credentials.headers();
    assert.equal(log.length, 2);
  });

  it('asks the client again for opaque tokens only after a while, leaving expiry to its own caches', async () => {
    let now = 0;
    const log: string[] = [];
    const fake = fakeKubeConfig(() => 'opaque-token', log);
    const credentials = new RefreshingCredentials({
      kubeConfig: fake.initial as never,
      rebuild: fake.rebuild as never,
      user: 'u',
      now: () => now,
    });
    await credentials.headers();
    now += 29_000;
    await credentials.headers();
    now += 2_000;
    await credentials.headers();
    assert.deepEqual(log, ['gen0:opaque-token', 'gen0:opaque-token']);
  });
});

describe('KubeClient with an exec credential plugin', () => {
  let server: Server;
  let url = '';
  /** Only the newest token the plugin handed out is accepted, as after an expiry. */
  const state = { accepted: '', requests: [] as string[] };
  const plugin = join(dir, 'plugin.mjs');
  const counter = join(dir, 'count');

  before(async () => {
    writeFileSync(counter, '0');
    writeFileSync(
      plugin,
      [
        "import { readFileSync, writeFileSync } from 'node:fs';",
        `const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;`,
        `writeFileSync(${JSON.stringify(counter)}, String(n));`,
        "if (process.env.PLUGIN_FAIL) { process.stderr.write('login required: run sso-login\\n'); process.exit(3); }",
        // An opaque token with a far expiry: only a 401 tells Capstan that it is no longer good.
        "process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'token-' + n, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));",
      ].join('\n'),
    );
    server = createServer((req, res) => {
      state.requests.push(req.headers.authorization ?? '');
      const ok = req.headers.authorization === `Bearer ${state.accepted}`;
      res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
      res.end(
        ok
          ? '{"gitVersion":"v1.36.1"}'
          : '{"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(() => server.close());

  function kubeconfig(
    name: string,
    env: Record<string, string> = {},
    command = process.execPath,
    args = [plugin],
  ): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'c',
        clusters: [{ name: 'k', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [
          {
            name: name,
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command,
                args,
                env: Object.entries(env).map(([n, value]) => ({ name: n, value })),
              },
            },
          },
        ],
        contexts: [{ name: 'c', context: { cluster: 'k', user: name } }],
      }),
    );
    return file;
  }

  it('runs the plugin again after a 401 and retries the request once', async () => {
    writeFileSync(counter, '0');
    state.accepted = 'token-1';
    const client = await KubeClient.connect({ kubeconfig: kubeconfig('exec-user'), env: {} });
    try {
      assert.deepEqual(await client.getPath('/version'), { gitVersion: 'v1.36.1' });
      state.accepted = 'token-2'; // token-1 expired or was revoked on the server side
      state.requests.length = 0;
      assert.deepEqual(await client.getPath('/version'), { gitVersion: 'v1.36.1' });
      assert.deepEqual(state.requests, ['Bearer token-1', 'Bearer token-2']);
      assert.equal(readFileSync(counter, 'utf8'), '2');
      // A credential the server keeps refusing is reported, after one retry only.
      state.accepted = 'never';
      state.requests.length = 0;
      await assert.rejects(
        client.getPath('/version'),
        (error: unknown) => error instanceof KubeApiError && error.status === 401,
      );
      assert.equal(state.requests.length, 2);
    } finally {
      client.close();
    }
  });

  it('names a failing plugin with its command and stderr', async () => {
    writeFileSync(counter, '0');
    await assert.rejects(
      KubeClient.connect({ kubeconfig: kubeconfig('failing-user', { PLUGIN_FAIL: '1' }), env: {} }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_CAPSTAN_KUBE_CREDENTIALS');
        assert.match(error.message, /exec credential plugin of kubeconfig user "failing-user" failed/);
        assert.ok(error.message.includes(plugin), error.message);
        assert.match(error.message, /login required: run sso-login/);
        return true;
      },
    );
  });

  it('names a plugin that is not installed', async () => {
    const file = kubeconfig('m', {}, 'capstan-no-such-plugin', ['get-token']);
    await assert.rejects(
      KubeClient.connect({ kubeconfig: file, env: {} }),
      /exec credential plugin of kubeconfig user "m" is not installed: capstan-no-such-plugin not found/,
    );
  });
});

describe('OIDC refresh of an auth-provider oidc user', () => {
  let server: HttpsServer;
  let issuer = '';
  let ca = '';
  const seen: string[] = [];

  before(async () => {
    const certDir = mkdtempSync(join(dir, 'tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '1',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-subj',
        '/CN=issuer',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { cwd: certDir, stdio: 'ignore' },
    );
    ca = readFileSync(join(certDir, 'cert.pem')).toString('base64');
    server = createHttpsServer(
      { cert: readFileSync(join(certDir, 'cert.pem')), key: readFileSync(join(certDir, 'key.pem')) },
      (req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          res.setHeader('Content-Type', 'application/json');
          if (req.url === '/.well-known/openid-configuration') {
            res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token` }));
            return;
          }
          const form = new URLSearchParams(body);
          seen.push(`${form.get('grant_type')} ${form.get('client_id')} ${form.get('refresh_token')}`);
          const ok = form.get('refresh_token') === 'r1';
          res.statusCode = ok ? 200 : 400;
          res.end(
            JSON.stringify(
              ok
                ? {
                    id_token: jwt({ exp: 2e9, iat: 1e9 }),
                    refresh_token: 'r2',
                    access_token: 'a',
                    token_type: 'Bearer',
                  }
                : { error: 'invalid_grant', error_description: 'refresh token already used' },
            ),
          );
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    issuer = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(() => server.close());

  it('is due when forced, when the ID token is near its end or unreadable, and never without a refresh token', () => {
    const base = { 'idp-issuer-url': 'https://idp', 'client-id': 'k', 'refresh-token': 'r' };
    const token = jwt({ iat: 100, exp: 200 });
    assert.equal(oidcNeedsRefresh({ ...base, 'id-token': token }, false, 150_000), false);
    assert.equal(oidcNeedsRefresh({ ...base, 'id-token': token }, true, 150_000), true);
    assert.equal(oidcNeedsRefresh({ ...base, 'id-token': token }, false, 191_000), true);
    assert.equal(oidcNeedsRefresh({ ...base, 'id-token': 'opaque' }, false, 0), true);
    assert.equal(
      oidcNeedsRefresh({ ...base, 'refresh-token': undefined, 'id-token': token }, true, 0),
      false,
    );
  });

  it('uses the refresh token at the discovered token endpoint, trusting idp-certificate-authority-data, and updates the tokens in place', async () => {
    const config: Record<string, string | undefined> = {
      'idp-issuer-url': `${issuer}/`,
      'client-id': 'kubernetes',
      'refresh-token': 'r1',
      'id-token': 'old',
      'idp-certificate-authority-data': ca,
    };
    await refreshOidcTokens('me', config);
    assert.deepEqual(seen.at(-1), 'refresh_token kubernetes r1');
    assert.equal(config['refresh-token'], 'r2');
    assert.deepEqual(bearerTokenTimes(`Bearer ${config['id-token']}`), { exp: 2e9, iat: 1e9 });
  });

  it('reports what the identity provider said, never the tokens', async () => {
    const config = {
      'idp-issuer-url': issuer,
      'client-id': 'kubernetes',
      'refresh-token': 'secret-refresh-value',
      'idp-certificate-authority-data': ca,
    };
    await assert.rejects(
      refreshOidcTokens('me', config),
      (error: Error & { code?: string; hint?: string }) => {
        assert.equal(error.code, 'ERR_CAPSTAN_KUBE_CREDENTIALS');
        assert.match(
          error.message,
          /kubeconfig user "me".*HTTP 400 \(invalid_grant: refresh token already used\)/,
        );
        assert.doesNotMatch(error.message + (error.hint ?? ''), /secret-refresh-value/);
        assert.match(error.hint ?? '', /log in again/);
        return true;
      },
    );
  });

  it('refuses an issuer whose certificate is not trusted', async () => {
    await assert.rejects(
      refreshOidcTokens('me', { 'idp-issuer-url': issuer, 'client-id': 'k', 'refresh-token': 'r1' }),
      /cannot refresh the OIDC token.*(self-signed|certificate)/,
    );
  });
});

describe('in-cluster credentials', () => {
  it('come from the env option (never process.env) and the token file is read again after a 401', async () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'token'), 'first-token');
    writeFileSync(join(sa, 'namespace'), 'ci\n');
    writeFileSync(join(sa, 'ca.crt'), '');
    const env = {
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '6443',
      CAPSTAN_SERVICE_ACCOUNT_DIR: sa,
      HOME: mkdtempSync(join(dir, 'home-')),
    };
    const connection = await loadConnection({ env });
    assert.equal(connection.server, 'https://10.96.0.1:6443');
    assert.equal(connection.namespace, 'ci');
    const first = await connection.credentials.headers();
    assert.equal(first.Authorization, 'Bearer first-token');
    writeFileSync(join(sa, 'token'), 'rotated-token'); // the kubelet rotated it
    assert.equal(
      (await connection.credentials.headers()).Authorization,
      'Bearer first-token',
      'cached until refused',
    );
    assert.equal((await connection.credentials.refresh(first)).Authorization, 'Bearer rotated-token');
  });
});
