// Shared by integration tests: the run's local cluster, fresh namespaces, kubectl.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { kubectl as kubectlOf, RESTRICTED_CLUSTER_ROLE, type ClusterInfo } from '../cluster/cluster.js';

export function testCluster(): ClusterInfo {
  const text = process.env.CAPSTAN_TEST_CLUSTER;
  if (!text)
    throw new Error(
      'CAPSTAN_TEST_CLUSTER is not set: run integration tests with `npm test` or `npm run test:integration`',
    );
  return JSON.parse(text) as ClusterInfo;
}

export function kubectl(args: string[], input?: string, kubeconfig?: string): Promise<string> {
  const info = testCluster();
  return kubectlOf({ binDir: info.binDir, kubeconfig: kubeconfig ?? info.kubeconfig }, args, input);
}

/** A new namespace for one test; delete it in `finally` with the returned function. */
export async function freshNamespace(prefix: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 60);
  await kubectl(['create', 'namespace', name]);
  return {
    name,
    remove: async () => {
      await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
    },
  };
}

/** Lets the restricted identity deploy into one namespace, and nothing else. */
export async function grantRestricted(namespace: string): Promise<void> {
  await kubectl([
    'create',
    'rolebinding',
    'capstan-deployer',
    `--clusterrole=${RESTRICTED_CLUSTER_ROLE}`,
    '--group=capstan:deployers',
    '-n',
    namespace,
  ]);
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
  );
}

export async function getJson<T = Record<string, any>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/**
 * A webhook receiver on loopback answering with `statuses` in turn (the last one repeats). It keeps
 * each request body as sent (`texts`, to scan bytes) and parsed as JSON where it is JSON (`bodies`).
 */
export async function webhookReceiver(
  statuses: readonly number[] = [200],
): Promise<{ url: string; texts: string[]; bodies: any[]; close: () => Promise<void> }> {
  const texts: string[] = [];
  const bodies: any[] = [];
  let i = 0;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      texts.push(text);
      try {
        bodies.push(JSON.parse(text));
      } catch {
        bodies.push(undefined);
      }
      res.statusCode = statuses[Math.min(i++, statuses.length - 1)]!;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    texts,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
