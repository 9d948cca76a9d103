// Which clusters of an environment take a deploy after a cutover: the one a cutover left (or is
// leaving) is not live, and the deploy goes to the others (docs/multicluster.md).
import { connectionOf, type ResolvedEnvironment } from '../config/index.js';
import { KubeClient } from '../kube/index.js';
import { liveClusters, readCutoverRecords, type ClusterRecords } from '../migrate/index.js';

const READ_TIMEOUT_MS = 15_000;

/**
 * The clusters that cutover records mark as not live, each with the reason. A cluster whose records
 * cannot be read here is judged by its siblings' records only; its own deploy reads them again and
 * stops when it cannot (an unreachable cluster fails the deploy, exit 3).
 */
export async function clustersNotLive(
  views: readonly ResolvedEnvironment[],
  options: {
    readonly given: { kubeconfig?: string; context?: string };
    readonly envVars?: NodeJS.ProcessEnv;
    readonly signal?: AbortSignal;
  },
): Promise<{ cluster: string; reason: string }[]> {
  const read = await Promise.all(views.map((view) => readRecords(view, options)));
  const known = read.filter((r): r is ClusterRecords => r !== undefined);
  if (known.every((r) => r.found.length === 0)) return [];
  return liveClusters(known).leftOut.map((l) => ({ cluster: l.cluster, reason: l.notLive.reason }));
}

async function readRecords(
  view: ResolvedEnvironment,
  options: Parameters<typeof clustersNotLive>[1],
): Promise<ClusterRecords | undefined> {
  let client: KubeClient | undefined;
  try {
    client = await KubeClient.connect({ ...connectionOf(view, options.given), env: options.envVars });
    const timeout = AbortSignal.timeout(READ_TIMEOUT_MS);
    // The copies in its own namespace: where `capstan rbac` lets a deployer list them.
    const namespaces = [view.namespace];
    const found = await readCutoverRecords(
      client,
      namespaces,
      options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    );
    return {
      cluster: view.cluster ?? view.name,
      server: client.connection.server,
      namespaces,
      app: view.app,
      env: view.name,
      found,
    };
  } catch {
    return undefined;
  } finally {
    client?.close();
  }
}
