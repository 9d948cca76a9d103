// ref+vault:// references in a deploy, against the real kube-apiserver and the test Vault
// (vault-server.ts: a real `vault server -dev` when built, else the in-process API double):
// resolved before any write, rotated values roll exactly the pods that read them, a missing key or
// a reference outside a Secret is refused with nothing applied, and no value is ever printed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { mintToken } from '../cluster/identity.js';
import { capstan, capstanYaml, writeApp, type CliRun } from './cli-helpers.js';
import { freshNamespace, getJson, testCluster } from './helpers.js';
import { configureRealJwt, startTestVault, type TestVault } from './vault-server.js';

/** The audience CI asks its ID token for, and the one identity the Vault role binds. */
const AUDIENCE = 'https://vault.capstan.test';
const CI_IDENTITY = 'ci@example.com';
const REQUEST_TOKEN = 'actions-request-token-for-tests';

let vault: TestVault;
let actions: { url: string; server: Server };
before(async () => {
  // The JWT login checks the ID token against the test cluster's OIDC issuer: signature (its JWKS),
  // issuer, audience and the bound claim, as Vault's jwt auth method does with oidc_discovery_url.
  const { oidc } = testCluster();
  const keys = createLocalJWKSet(await httpsJson<JSONWebKeySet>(`${oidc.url}/keys`, oidc.caFile));
  vault = await startTestVault({
    'jwt-ci': {
      accept: async (body) => {
        if (body['role'] !== 'deploy' || typeof body['jwt'] !== 'string') return false;
        const verified = await jwtVerify(body['jwt'], keys, { issuer: oidc.url, audience: AUDIENCE }).catch(
          () => undefined,
        );
        return verified?.payload['email'] === CI_IDENTITY;
      },
    },
  });
  if (vault.kind === 'vault')
    await configureRealJwt(vault, {
      mount: 'jwt-ci',
      role: 'deploy',
      issuer: oidc.url,
      issuerCa: readFileSync(oidc.caFile, 'utf8'),
      audience: AUDIENCE,
      email: CI_IDENTITY,
    });
  actions = await startActionsTokenEndpoint();
});
after(async () => {
  await vault?.close();
  actions?.server.closeAllConnections();
  actions?.server.close();
});

function httpsJson<T>(url: string, caFile: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(caFile), timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(text) as T) : reject(new Error(text)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * GitHub Actions' ID token endpoint as a job sees it (ACTIONS_ID_TOKEN_REQUEST_URL): a GET with the
 * request token as bearer and `audience`, answering `{ value }`; the token is minted by the cluster's
 * OIDC issuer for CI_IDENTITY with that audience.
 */
async function startActionsTokenEndpoint(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const audience = url.searchParams.get('audience');
    if (req.headers.authorization !== `Bearer ${REQUEST_TOKEN}` || !audience) {
      res.writeHead(401).end();
      return;
    }
    mintToken(testCluster(), {
      email: CI_IDENTITY,
      groups: [],
      lifetimeSeconds: 300,
      clientId: audience,
    }).then(
      (tokens) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ value: tokens.id_token })),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token?api-version=2.0`, server };
}

const workload = (name: string, secret: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: ${name}
          image: <%= image %>
          envFrom: [{ secretRef: { name: ${secret} } }]
`;

const secrets = (path: string) => `apiVersion: v1
kind: Secret
metadata: { name: db }
stringData:
  DATABASE_PASSWORD: ref+vault://secret/${path}/db#password
  DATABASE_USER: ref+vault://secret/${path}/db#user
---
apiVersion: v1
kind: Secret
metadata: { name: api }
data:
  API_KEY: ref+vault://secret/${path}/api?version=1#key
`;

const checksum = async (name: string, ns: string) => {
  const d = await getJson(['get', 'deployment', name, '-n', ns]);
  return {
    sum: d.spec.template.metadata.annotations['capstan.dev/config-checksum'] as string,
    generation: d.metadata.generation as number,
  };
};

function assertNothingShows(printed: readonly string[], values: readonly string[]): void {
  for (const text of printed)
    for (const value of values) {
      assert.ok(!text.includes(value), `a secret value was printed: ${value}`);
      assert.ok(!text.includes(Buffer.from(value).toString('base64')), 'a base64 secret value was printed');
    }
}

describe('Vault references in a deploy', () => {
  it('deploys resolved values, rolls only the pods of a rotated value, never prints a value', async (t) => {
    t.diagnostic(
      `Vault: ${vault.kind === 'vault' ? 'a real vault server -dev' : 'the in-process API double'}`,
    );
    const ns = await freshNamespace('vault');
    const values = [
      'pw-first-7d1c9e',
      'app-user-4410',
      'api-key-one-88f2',
      'pw-rotated-c07b21',
      'api-key-two-19aa',
    ];
    await vault.put(`secret/${ns.name}/db`, { password: values[0], user: values[1] });
    await vault.put(`secret/${ns.name}/api`, { key: values[2] });
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('vault', ns.name),
      '.deploy/test/10-configuration/secrets.yaml': secrets(ns.name),
      '.deploy/test/30-deployment/web.yaml.ejs': workload('web', 'db'),
      '.deploy/test/30-deployment/worker.yaml.ejs': workload('worker', 'api'),
    });
    const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken };
    const printed: string[] = [];
    const run = async (args: string[]): Promise<CliRun> => {
      const r = await capstan(args, { cwd: app.dir, env });
      printed.push(r.stdout, r.stderr);
      return r;
    };
    try {
      const first = await run(['deploy', 'test', '--image', 'x:1', '-o', 'json']);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const db = await getJson(['get', 'secret', 'db', '-n', ns.name]);
      assert.equal(Buffer.from(db.data.DATABASE_PASSWORD, 'base64').toString(), values[0]);
      assert.equal(Buffer.from(db.data.DATABASE_USER, 'base64').toString(), values[1]);
      const api = await getJson(['get', 'secret', 'api', '-n', ns.name]);
      assert.equal(Buffer.from(api.data.API_KEY, 'base64').toString(), values[2]);
      const web1 = await checksum('web', ns.name);
      const worker1 = await checksum('worker', ns.name);

      // Rotate the password (a new version); the API key is pinned to version 1, so its new version is not read.
      await vault.put(`secret/${ns.name}/db`, { password: values[3], user: values[1] });
      await vault.put(`secret/${ns.name}/api`, { key: values[4] });
      const diff = await run(['diff', 'test', '--image', 'x:1']);
      assert.equal(diff.code, 0, diff.stderr);
      // The diff names the Secret's changed key, not the value; the API key's pinned version is unchanged.
      assert.match(diff.stdout, /Secret keys: DATABASE_PASSWORD changed/);
      assert.doesNotMatch(diff.stdout, /API_KEY changed/);
      const rendered = await run(['render', 'test', '--image', 'x:1']);
      assert.equal(rendered.code, 0, rendered.stderr);
      assert.match(rendered.stdout, /\[redacted\]/);

      const second = await run(['deploy', 'test', '--image', 'x:1']);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      const rotated = await getJson(['get', 'secret', 'db', '-n', ns.name]);
      assert.equal(Buffer.from(rotated.data.DATABASE_PASSWORD, 'base64').toString(), values[3]);
      const web2 = await checksum('web', ns.name);
      const worker2 = await checksum('worker', ns.name);
      assert.notEqual(web2.sum, web1.sum, 'the pods reading the rotated value roll');
      assert.equal(web2.generation, web1.generation + 1);
      assert.deepEqual(worker2, worker1, 'the pods reading unchanged values do not');

      const history = await run(['history', 'test', '-o', 'json']);
      assert.equal(history.code, 0, history.stderr);
      assertNothingShows(printed, values);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it("logs in with the CI's OIDC ID token (GitHub Actions' flow), once, and revokes the token", async () => {
    const ns = await freshNamespace('vault-jwt');
    await vault.put(`secret/${ns.name}/db`, { password: 'jwt-read-pass-91d2', user: 'jwt-user-3c4d' });
    await vault.put(`secret/${ns.name}/api`, { key: 'jwt-api-key-77e1' });
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml(
        'vault',
        ns.name,
        `    vault: { auth: { method: jwt, mount: jwt-ci, role: deploy, audience: "${AUDIENCE}" } }\n`,
      ),
      '.deploy/test/10-configuration/secrets.yaml': secrets(ns.name),
    });
    const env = {
      VAULT_ADDR: vault.url,
      ACTIONS_ID_TOKEN_REQUEST_URL: actions.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    };
    try {
      const issued = vault.issued?.length ?? 0;
      const live = await vault.liveTokens();
      const ok = await capstan(['deploy', 'test', '--image', 'x:1', '-o', 'json'], { cwd: app.dir, env });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const db = await getJson(['get', 'secret', 'db', '-n', ns.name]);
      assert.equal(Buffer.from(db.data.DATABASE_PASSWORD, 'base64').toString(), 'jwt-read-pass-91d2');
      assert.equal(await vault.liveTokens(), live, 'the token it logged in for is revoked');
      if (vault.kind === 'double') {
        assert.equal(vault.issued!.length, issued + 1, 'one login for the deploy');
        assert.ok(vault.revoked!.has(vault.issued![issued]), 'the token it logged in for is revoked');
      }
      assertNothingShows([ok.stdout, ok.stderr], ['jwt-read-pass-91d2', 'jwt-user-3c4d', 'jwt-api-key-77e1']);

      // Another audience: the issuer's token is valid, but not for this Vault role.
      app.write(
        '.deploy/capstan.yaml',
        capstanYaml(
          'vault',
          ns.name,
          '    vault: { auth: { method: jwt, mount: jwt-ci, role: deploy, audience: other } }\n',
        ),
      );
      const refused = await capstan(['deploy', 'test', '--image', 'x:1'], { cwd: app.dir, env });
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /Vault refused the jwt login at \/v1\/auth\/jwt-ci\/login: HTTP 400/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('refuses missing keys and secrets, naming path and key, applying nothing', async () => {
    await refused(
      'vault-missing',
      (ns) => ({
        '.deploy/test/10-configuration/secrets.yaml': secrets(ns),
        // The password is there; the user and the API key's version 1 are not.
        before: () => vault.put(`secret/${ns}/db`, { password: 'present-value-5c2e' }),
      }),
      (r) => {
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(
          r.stderr,
          /secrets\.yaml:\d+: stringData\.DATABASE_USER: Secret\/db: ref\+vault:\/\/secret\/[\w-]+\/db#user: the secret has no key "user"/,
        );
        assert.match(
          r.stderr,
          /secrets\.yaml:\d+: data\.API_KEY: Secret\/api: ref\+vault:\/\/secret\/[\w-]+\/api\?version=1#key: no version 1 of this secret/,
        );
        assert.doesNotMatch(r.stderr + r.stdout, /present-value-5c2e/);
      },
    );
  });

  it('refuses a reference in a ConfigMap or a container env as an input error, before asking Vault', async () => {
    const asked = vault.calls?.length;
    await refused(
      'vault-misplaced',
      (ns) => ({
        '.deploy/test/10-configuration/url.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: url }\ndata:\n  url: ref+vault://secret/${ns}/db#password\n`,
        '.deploy/test/30-deployment/web.yaml.ejs': workload('web', 'db').replace(
          'envFrom: [{ secretRef: { name: db } }]',
          `env: [{ name: P, value: "ref+vault://secret/${ns}/db#password" }]`,
        ),
      }),
      (r) => {
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(
          r.stderr,
          /url\.yaml:5: data\.url: ConfigMap\/url: a Vault reference is allowed only as a value of a Secret's data or stringData/,
        );
        assert.match(
          r.stderr,
          /web\.yaml\.ejs:\d+: spec\.template\.spec\.containers\.0\.env\.0\.value: Deployment\/web/,
        );
        if (asked !== undefined) assert.equal(vault.calls?.length, asked, 'Vault was not asked');
      },
    );
  });

  it('fails closed when Vault cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const down = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    await refused(
      'vault-down',
      (ns) => ({
        '.deploy/test/10-configuration/secrets.yaml': secrets(ns),
        env: { VAULT_ADDR: down, VAULT_TOKEN: 'any' },
        vault: '    vault: { timeout: 2s }\n',
      }),
      (r) => {
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.ok(
          r.stderr.includes(`Vault at ${down} did not answer GET /v1/sys/internal/ui/mounts/secret/`),
          r.stderr,
        );
        assert.match(r.stderr, /ECONNREFUSED/);
      },
    );
  });
});

interface RefusedCase {
  readonly before?: () => Promise<void>;
  readonly env?: NodeJS.ProcessEnv;
  /** Lines added to the environment in capstan.yaml. */
  readonly vault?: string;
  readonly [file: string]: unknown;
}

/** A deploy of a phase-10 ConfigMap `c` plus `files` that must be refused, with nothing applied. */
async function refused(
  prefix: string,
  files: (ns: string) => RefusedCase,
  check: (run: CliRun) => void,
): Promise<void> {
  const ns = await freshNamespace(prefix);
  const { before, env, vault: extra, ...rest } = files(ns.name);
  const app = writeApp({
    '.deploy/capstan.yaml': capstanYaml('vault', ns.name, extra ?? ''),
    '.deploy/test/10-configuration/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n',
    ...(rest as Record<string, string>),
  });
  try {
    await before?.();
    check(
      await capstan(['deploy', 'test', '--image', 'x:1'], {
        cwd: app.dir,
        env: env ?? { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken },
      }),
    );
    const applied = await getJson<{ items: unknown[] }>([
      'get',
      'configmaps,secrets',
      '-n',
      ns.name,
      '-l',
      'app.kubernetes.io/managed-by=capstan',
    ]);
    assert.equal(applied.items.length, 0, 'nothing applied');
  } finally {
    app.cleanup();
    await ns.remove();
  }
}
