// A small OpenID Connect issuer for the local control plane, run as its own process beside
// kube-apiserver (which fetches the JWKS from it whenever it starts or the keys rotate).
//   node --import tsx test/cluster/oidc-issuer.ts RUN_DIR PORT
// Endpoints: the discovery document, the JWKS, a token endpoint for the refresh_token grant, and
// /mint for tests (ID token with a chosen lifetime for a chosen user and groups). It listens on
// 127.0.0.1 only, with the issuer CA of RUN_DIR/pki; ID tokens are RS256 with RUN_DIR/pki/oidc-signing.key.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { exportJWK, importPKCS8, SignJWT, type CryptoKey } from 'jose';
import type { MintRequest, TokenSet } from './identity.js';

interface Grant {
  readonly request: Required<MintRequest>;
}

const [runDir, portText] = process.argv.slice(2);
const port = Number.parseInt(portText ?? '', 10);
if (!runDir || !Number.isInteger(port)) {
  console.error('usage: oidc-issuer.ts RUN_DIR PORT');
  process.exit(2);
}
const pki = join(runDir, 'pki');
const issuer = `https://127.0.0.1:${port}`;
const kid = 'capstan-test-1';
const pem = readFileSync(join(pki, 'oidc-signing.key'), 'utf8');
const signingKey: CryptoKey = await importPKCS8(
  createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString(),
  'RS256',
);
const jwk = await exportJWK(createPublicKey(pem));
const grants = new Map<string, Grant>();
const counts = { minted: 0, refreshed: 0, refusedRefresh: 0 };

async function issue(request: Required<MintRequest>): Promise<TokenSet> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + request.lifetimeSeconds;
  const idToken = await new SignJWT({
    email: request.email,
    email_verified: true,
    groups: [...request.groups],
  })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(request.clientId)
    .setSubject(request.email)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(signingKey);
  // Refresh tokens rotate and the old one stops working, as strict identity providers do.
  const refreshToken = randomBytes(24).toString('base64url');
  grants.set(refreshToken, { request });
  return {
    id_token: idToken,
    refresh_token: refreshToken,
    expires_in: request.lifetimeSeconds,
    expires_at: exp,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', issuer);
  if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
    return send(res, 200, {
      issuer,
      jwks_uri: `${issuer}/keys`,
      token_endpoint: `${issuer}/token`,
      authorization_endpoint: `${issuer}/authorize`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      grant_types_supported: ['refresh_token'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'email', 'groups'],
    });
  }
  if (req.method === 'GET' && url.pathname === '/keys') {
    return send(res, 200, { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] });
  }
  if (req.method === 'GET' && url.pathname === '/stats') return send(res, 200, counts);
  if (req.method === 'POST' && url.pathname === '/mint') {
    const body = JSON.parse(await readBody(req)) as MintRequest;
    if (typeof body.email !== 'string' || !Array.isArray(body.groups) || !(body.lifetimeSeconds > 0)) {
      return send(res, 400, {
        error: 'invalid_request',
        error_description: 'email, groups and lifetimeSeconds are required',
      });
    }
    counts.minted++;
    return send(res, 200, await issue({ clientId: 'kubernetes', ...body }));
  }
  if (req.method === 'POST' && url.pathname === '/token') {
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'refresh_token') {
      return send(res, 400, { error: 'unsupported_grant_type' });
    }
    const token = form.get('refresh_token') ?? '';
    const grant = grants.get(token);
    if (!grant) {
      counts.refusedRefresh++;
      return send(res, 400, {
        error: 'invalid_grant',
        error_description: 'unknown or already used refresh token',
      });
    }
    grants.delete(token);
    counts.refreshed++;
    const set = await issue(grant.request);
    return send(res, 200, { ...set, access_token: set.id_token, token_type: 'Bearer' });
  }
  return send(res, 404, { error: 'not_found' });
}

const server = createServer(
  { cert: readFileSync(join(pki, 'oidc-serving.crt')), key: readFileSync(join(pki, 'oidc-serving.key')) },
  (req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) send(res, 500, { error: 'server_error' });
    });
  },
);
server.listen(port, '127.0.0.1', () => console.error(`oidc issuer listening on ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
