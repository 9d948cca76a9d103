// Reaching the API server through an HTTP proxy: the kubeconfig's `proxy-url`, HTTPS_PROXY, and
// NO_PROXY exempting the server. A tiny CONNECT proxy on loopback counts the tunnels it opens.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, testCluster } from './helpers.js';

/** An HTTP proxy that only tunnels (CONNECT), as corporate proxies do for TLS. */
async function connectProxy(): Promise<{ url: string; tunnels: () => number; close: () => Promise<void> }> {
  let tunnels = 0;
  const server: Server = createServer((_req, res) => {
    res.statusCode = 405;
    res.end();
  });
  server.on('connect', (req, client, head) => {
    tunnels++;
    const [host, port] = (req.url ?? '').split(':');
    // The proxy knows a name this machine does not: `kubernetes` (in the test CA's names) is the
    // API server here, so a client that reaches it by that name went through the proxy.
    const upstream = connect(Number(port), host === 'kubernetes' ? '127.0.0.1' : host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const drop = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', drop);
    client.on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels: () => tunnels,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const config = `apiVersion: v1
kind: ConfigMap
metadata: { name: proxied }
data: { GREETING: hello }
`;

describe('proxies', () => {
  let proxy: Awaited<ReturnType<typeof connectProxy>>;
  let ns: Awaited<ReturnType<typeof freshNamespace>>;
  let app: ReturnType<typeof writeApp>;
  let scratch: string;
  before(async () => {
    proxy = await connectProxy();
    ns = await freshNamespace('proxy');
    app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('proxied', ns.name),
      '.deploy/test/10-configuration/config.yaml': config,
    });
    scratch = mkdtempSync(join(tmpdir(), 'capstan-proxy-'));
  });
  after(async () => {
    app?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    await proxy?.close();
    await ns?.remove();
  });

  const deploy = (options: { kubeconfig?: string; env?: NodeJS.ProcessEnv }) =>
    capstan(['deploy', 'test', '--image', 'x:1', '--timeout', '1m'], { cwd: app.dir, ...options });

  it("tunnels every connection through the kubeconfig's proxy-url", async () => {
    const kubeconfig = parse(readFileSync(testCluster().kubeconfig, 'utf8')) as {
      clusters: Array<{ cluster: Record<string, string> }>;
    };
    for (const c of kubeconfig.clusters) c.cluster['proxy-url'] = proxy.url;
    const file = join(scratch, 'proxied.kubeconfig');
    writeFileSync(file, stringify(kubeconfig), { mode: 0o600 });
    const before = proxy.tunnels();
    const run = await deploy({ kubeconfig: file });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.ok(proxy.tunnels() > before, 'the deploy went through the proxy');
  });

  /** The test cluster's kubeconfig with its server named `kubernetes`, a name only the proxy resolves. */
  function byName(): string {
    const kubeconfig = parse(readFileSync(testCluster().kubeconfig, 'utf8')) as {
      clusters: Array<{ cluster: Record<string, string> }>;
    };
    for (const c of kubeconfig.clusters)
      c.cluster['server'] = c.cluster['server'].replace('127.0.0.1', 'kubernetes');
    const file = join(scratch, 'by-name.kubeconfig');
    writeFileSync(file, stringify(kubeconfig), { mode: 0o600 });
    return file;
  }

  it('tunnels through HTTPS_PROXY, unless NO_PROXY names the server or it is loopback', async () => {
    let before = proxy.tunnels();
    const through = await deploy({ kubeconfig: byName(), env: { HTTPS_PROXY: proxy.url } });
    assert.equal(through.code, 0, through.stdout + through.stderr);
    assert.ok(proxy.tunnels() > before, 'HTTPS_PROXY was used');

    before = proxy.tunnels();
    const exempt = await deploy({ env: { https_proxy: proxy.url, NO_PROXY: 'example.com,kubernetes' } });
    assert.equal(exempt.code, 0, exempt.stdout + exempt.stderr);
    // As kubectl does, a proxy from the environment is never used for a loopback server.
    const loopback = await deploy({ env: { HTTPS_PROXY: proxy.url } });
    assert.equal(loopback.code, 0, loopback.stdout + loopback.stderr);
    assert.equal(proxy.tunnels(), before, 'NO_PROXY and loopback bypassed the proxy');
  });

  it('says which proxy setting failed when the proxy is not there', async () => {
    const run = await deploy({ kubeconfig: byName(), env: { HTTPS_PROXY: 'http://127.0.0.1:1' } });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /through the proxy 127\.0\.0\.1:1 \(HTTPS_PROXY\)/);
  });
});
