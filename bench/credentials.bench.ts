// What asking for auth headers before every request costs: the cached path of
// RefreshingCredentials against calling client-node's applyToHTTPSOptions each time (what a naive
// "always ask the client" transport would do), for an exec-plugin user whose credential is cached.
//   node --import tsx bench/credentials.bench.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import { loadConnection } from '../src/kube/config.js';

const dir = mkdtempSync(join(tmpdir(), 'capstan-credentials-bench-'));
try {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const token = `${part({ alg: 'none' })}.${part({ iat: now, exp: now + 3600 })}.sig`;
  const plugin = join(dir, 'plugin.mjs');
  writeFileSync(
    plugin,
    `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(token)}, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));`,
  );
  writeFileSync(join(dir, 'ca.crt'), '');
  const kubeconfig = join(dir, 'config.json');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      clusters: [
        {
          name: 'k',
          cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority': join(dir, 'ca.crt') },
        },
      ],
      users: [
        {
          name: 'u',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: process.execPath,
              args: [plugin],
            },
          },
        },
      ],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    }),
  );
  const connection = await loadConnection({ kubeconfig, env: {} });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await kc.applyToHTTPSOptions({});
  const rounds = 20_000;
  const time = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    for (let i = 0; i < rounds; i++) await fn();
    return (performance.now() - start) / rounds;
  };
  const client = await time(() => kc.applyToHTTPSOptions({}));
  const cached = await time(() => connection.credentials.headers());
  console.log(
    `applyToHTTPSOptions (client-node, exec credential cached): ${(client * 1000).toFixed(1)} µs per request`,
  );
  console.log(
    `RefreshingCredentials.headers() (cached JWT):              ${(cached * 1000).toFixed(1)} µs per request`,
  );
  console.log(`ratio: ${(client / cached).toFixed(0)}x cheaper`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
