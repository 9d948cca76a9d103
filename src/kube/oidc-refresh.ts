import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { CapstanError } from '../shared/index.js';
import { bearerTokenTimes, renewalTime } from './credentials.js';

/** The `config` map of a kubeconfig `auth-provider: oidc` user, as kubectl writes it. */
export type OidcProviderConfig = Record<string, string | undefined>;

/**
 * True when the provider's ID token must be refreshed now: forced (after a 401), missing, or
 * within the last tenth of its lifetime.
 */
export function oidcNeedsRefresh(config: OidcProviderConfig, force: boolean, now: number): boolean {
  if (!config['refresh-token'] || !config['idp-issuer-url'] || !config['client-id']) return false;
  if (force) return true;
  const times = bearerTokenTimes(`Bearer ${config['id-token'] ?? ''}`);
  return times === undefined || now >= renewalTime(times);
}

interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
}

function httpsCall(
  url: string,
  options: { method: 'GET' | 'POST'; ca?: Buffer; headers?: Record<string, string>; body?: string },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method, ca: options.ca, headers: options.headers, timeout: 30_000 },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within 30 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

function issuerCa(config: OidcProviderConfig): Buffer | undefined {
  if (config['idp-certificate-authority-data'])
    return Buffer.from(config['idp-certificate-authority-data'], 'base64');
  if (config['idp-certificate-authority']) return readFileSync(config['idp-certificate-authority']);
  return undefined;
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The refresh_token grant of a kubeconfig `auth-provider: oidc` user, done here because
 * client-node 1.4's own refresh fails before sending anything (it hands openid-client a string
 * where a URL is required) and ignores idp-certificate-authority. Updates `id-token` and
 * `refresh-token` in place, as kubectl does in memory; the tokens are never logged.
 */
export async function refreshOidcTokens(user: string, config: OidcProviderConfig): Promise<void> {
  const issuer = (config['idp-issuer-url'] ?? '').replace(/\/+$/, '');
  const fail = (why: string, cause?: unknown) =>
    new CapstanError(
      'ERR_CAPSTAN_KUBE_CREDENTIALS',
      `cannot refresh the OIDC token of kubeconfig user "${user}" at ${issuer}: ${why}`,
      {
        cause,
        hint: "log in again to get a new refresh token (for example with kubelogin or your identity provider's CLI)",
      },
    );
  let ca: Buffer | undefined;
  try {
    ca = issuerCa(config);
  } catch (error) {
    throw fail(`cannot read idp-certificate-authority: ${(error as Error).message}`, error);
  }
  let tokenEndpoint: string;
  try {
    const discovery = await httpsCall(`${issuer}/.well-known/openid-configuration`, { method: 'GET', ca });
    const doc = parseJson(discovery.body);
    if (discovery.status !== 200 || typeof doc.token_endpoint !== 'string')
      throw new Error(`discovery answered HTTP ${discovery.status} without a token_endpoint`);
    tokenEndpoint = doc.token_endpoint;
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: config['refresh-token'] ?? '',
    client_id: config['client-id'] ?? '',
  });
  if (config['client-secret']) form.set('client_secret', config['client-secret']);
  let answer: HttpsAnswer;
  try {
    answer = await httpsCall(tokenEndpoint, {
      method: 'POST',
      ca,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: form.toString(),
    });
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  const body = parseJson(answer.body);
  if (answer.status !== 200) {
    const reason = [body.error, body.error_description].filter((v) => typeof v === 'string').join(': ');
    throw fail(`the token endpoint answered HTTP ${answer.status}${reason ? ` (${reason})` : ''}`);
  }
  if (typeof body.id_token !== 'string') throw fail('the token endpoint answered without an id_token');
  config['id-token'] = body.id_token;
  if (typeof body.refresh_token === 'string') config['refresh-token'] = body.refresh_token;
}
