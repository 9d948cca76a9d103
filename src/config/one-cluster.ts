// Commands that act on one cluster of an environment: choosing it, and naming it in their errors.
import { CapstanError, ConfigError, settleLimit } from '../shared/index.js';
import { resolveClusters, resolveEnvironment } from './resolve-environment.js';
import type { LoadedConfig, ResolvedEnvironment } from './types.js';

/**
 * The view of an environment a one-cluster command acts on: the environment itself, or the cluster
 * `cluster` names. A multi-cluster environment without one is an input error naming its clusters:
 * running a task, cleaning Jobs or removing a lock in every region at once is rarely what is meant.
 */
export function resolveOneCluster(
  loaded: LoadedConfig,
  envName: string,
  options: { set?: readonly string[]; cluster?: string; command: string },
): ResolvedEnvironment {
  const env = resolveEnvironment(loaded, envName, options);
  if (env.fleet && env.cluster === undefined) {
    const names = env.fleet.clusters.map((c) => c.name);
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `${envName} runs in ${names.length} clusters (${names.join(', ')}): ${options.command} acts on one of them`,
      { hint: `name it with --cluster, e.g. --cluster ${names[0] ?? ''}` },
    );
  }
  return env;
}

/**
 * An error met in one cluster of several, with the cluster named in its message (and in each
 * issue of a ConfigError, so that file:line annotations keep it); its code, hint and exit code
 * stay. Errors that are not Capstan's (bugs) pass unchanged.
 */
export function inCluster(cluster: string, error: unknown): unknown {
  if (error instanceof ConfigError)
    return new ConfigError(
      error.issues.map((issue) => ({ ...issue, message: `cluster ${cluster}: ${issue.message}` })),
      { hint: error.hint, cause: error },
    );
  if (error instanceof CapstanError)
    return new CapstanError(error.code, `cluster ${cluster}: ${error.message}`, {
      hint: error.hint,
      cause: error,
    });
  return error;
}

/** Clusters a read-only command (diff, audit) works on at once: each sends its own requests in parallel. */
const CLUSTERS_AT_ONCE = 4;

/**
 * Runs `work` on each view of the environment (each cluster, or only `cluster`; the environment
 * itself when it has one cluster), a few at once, results in capstan.yaml's order. An error in
 * one fails the whole, naming its cluster.
 */
export async function eachCluster<T>(
  loaded: LoadedConfig,
  envName: string,
  options: { set?: readonly string[]; cluster?: string },
  work: (env: ResolvedEnvironment) => Promise<T>,
): Promise<T[]> {
  const views = resolveClusters(loaded, envName, options);
  const results = await settleLimit(views, CLUSTERS_AT_ONCE, work);
  return results.map((r, i) => {
    if (r.ok) return r.value;
    const cluster = views[i]?.cluster;
    throw views.length > 1 && cluster !== undefined ? inCluster(cluster, r.error) : r.error;
  });
}
