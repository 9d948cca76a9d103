// Shared by integration tests: the run's local cluster, fresh namespaces, kubectl.
import { randomBytes } from 'node:crypto';
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
