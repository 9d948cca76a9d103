// An exec credential plugin (client.authentication.k8s.io/v1) for the test OpenID issuer, as
// kubelogin would be: it fetches a fresh ID token and prints an ExecCredential with its expiry.
// Every invocation appends one line to CAPSTAN_PLUGIN_COUNT_FILE, so tests can see re-runs.
// Configured through the kubeconfig's exec.env: CAPSTAN_OIDC_ISSUER, CAPSTAN_OIDC_CA (a file),
// CAPSTAN_OIDC_EMAIL, CAPSTAN_OIDC_GROUPS (comma-separated), CAPSTAN_OIDC_LIFETIME (seconds).
import { appendFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { TokenSet } from './identity.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`oidc-exec-plugin: ${name} is not set\n`);
    process.exit(1);
  }
  return value;
}

const issuer = required('CAPSTAN_OIDC_ISSUER');
const body = JSON.stringify({
  email: required('CAPSTAN_OIDC_EMAIL'),
  groups: (process.env.CAPSTAN_OIDC_GROUPS ?? '').split(',').filter(Boolean),
  lifetimeSeconds: Number(required('CAPSTAN_OIDC_LIFETIME')),
});
if (process.env.CAPSTAN_PLUGIN_COUNT_FILE)
  appendFileSync(process.env.CAPSTAN_PLUGIN_COUNT_FILE, `${new Date().toISOString()}\n`);
if (process.env.CAPSTAN_PLUGIN_FAIL) {
  process.stderr.write(`oidc-exec-plugin: ${process.env.CAPSTAN_PLUGIN_FAIL}\n`);
  process.exit(1);
}

const set = await new Promise<TokenSet>((resolve, reject) => {
  const req = request(
    `${issuer}/mint`,
    {
      method: 'POST',
      ca: readFileSync(required('CAPSTAN_OIDC_CA')),
      headers: { 'Content-Type': 'application/json' },
      timeout: 10_000,
    },
    (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(JSON.parse(text) as TokenSet)
          : reject(new Error(`issuer answered ${res.statusCode}: ${text}`)),
      );
    },
  );
  req.on('timeout', () => req.destroy(new Error('issuer did not answer within 10 s')));
  req.on('error', reject);
  req.end(body);
}).catch((error: unknown) => {
  process.stderr.write(`oidc-exec-plugin: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

process.stdout.write(
  JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: set.id_token, expirationTimestamp: new Date(set.expires_at * 1000).toISOString() },
  }) + '\n',
);
