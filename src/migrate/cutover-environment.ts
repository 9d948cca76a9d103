// A cutover named by environment (`capstan cutover ENV --to NAME`): the two clusters, their
// connections and the scope come from capstan.yaml instead of contexts, kubeconfigs and -n.
import { connectionOf, resolveEnvironment, type LoadedConfig } from '../config/index.js';
import { CapstanError } from '../shared/index.js';
import type { CutoverEnvironment } from './cutover-plan.js';
import type { ClusterAccess } from './migrate.js';
import type { MigrationScope } from './types.js';

export interface CutoverEnvironmentInput {
  /** The cluster to cut over to, by its capstan.yaml name. */
  readonly to: string;
  /** The cluster to cut over from; optional when the environment has exactly two. */
  readonly from?: string;
  /** `--kubeconfig`: used for a cluster that names no kubeconfig of its own. */
  readonly kubeconfig?: string;
  /** Narrower than the environment's namespaces: a label selector, kinds. */
  readonly selector?: string;
  readonly includeKinds?: readonly string[];
  readonly excludeKinds?: readonly string[];
}

export interface ResolvedCutoverEnvironment {
  readonly from: ClusterAccess;
  readonly to: ClusterAccess;
  readonly scope: MigrationScope;
  readonly environment: CutoverEnvironment;
}

function usage(message: string, hint: string): CapstanError {
  return new CapstanError('ERR_CAPSTAN_USAGE', message, { hint });
}

/**
 * The clusters and scope of cutting an environment over from one of its clusters to another
 * (pure, from the loaded capstan.yaml). The scope is the environment's namespace and its extra
 * ones, which must be the same in both clusters: a cutover moves namespaces as they are.
 */
export function resolveCutoverEnvironment(
  loaded: LoadedConfig,
  envName: string,
  input: CutoverEnvironmentInput,
): ResolvedCutoverEnvironment {
  const env = resolveEnvironment(loaded, envName);
  if (!env.fleet)
    throw usage(
      `${envName} runs in one cluster: there is no other to cut over to by name`,
      'name its clusters under clusters: in capstan.yaml, or pass kube contexts: capstan cutover --from CONTEXT --to CONTEXT -n NAMESPACE',
    );
  const names = env.fleet.clusters.map((c) => c.name);
  const from = input.from ?? (names.length === 2 ? names.find((n) => n !== input.to) : undefined);
  if (from === undefined)
    throw usage(
      `${envName} runs in ${names.length} clusters (${names.join(', ')}): say which one to cut over from`,
      `pass --from NAME, e.g. --from ${names.find((n) => n !== input.to) ?? names[0]}`,
    );
  if (from === input.to)
    throw usage(
      `--from and --to both name cluster ${from}`,
      `the clusters of ${envName}: ${names.join(', ')}`,
    );
  const a = resolveEnvironment(loaded, envName, { cluster: from });
  const b = resolveEnvironment(loaded, envName, { cluster: input.to });
  if (a.namespace !== b.namespace)
    throw usage(
      `${envName} is in namespace ${a.namespace} in cluster ${from} and ${b.namespace} in cluster ${input.to}: a cutover moves a namespace as it is`,
      'give both clusters the same namespace, or cut over with contexts and -n',
    );
  const access = (view: typeof a): ClusterAccess =>
    connectionOf(view, input.kubeconfig === undefined ? {} : { kubeconfig: input.kubeconfig });
  return {
    from: access(a),
    to: access(b),
    scope: {
      namespaces: [a.namespace, ...a.extraNamespaces],
      ...(input.selector === undefined ? {} : { selector: input.selector }),
      ...(input.includeKinds ? { includeKinds: input.includeKinds } : {}),
      ...(input.excludeKinds ? { excludeKinds: input.excludeKinds } : {}),
    },
    environment: { name: envName, from, to: input.to },
  };
}
