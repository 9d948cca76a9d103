// Reading a cluster: what it serves (every version, each group's preferred one) and its objects,
// listed page by page, many types and namespaces at once.
import { isKubeApiError, type KubeClient, type ResourceType } from '../kube/index.js';
import { isCapstanError, mapLimit, type KubeObject } from '../shared/index.js';
import type { KindChoice, ServedTypes } from './kinds.js';
import type { MigrationScope } from './types.js';

interface ApiResourceList {
  resources: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }>;
}

interface ApiGroupList {
  groups: Array<{
    name: string;
    versions: Array<{ groupVersion: string; version: string }>;
    preferredVersion?: { version: string };
  }>;
}

/**
 * Every served type at every version, tolerating group-versions that do not answer (an aggregated
 * API whose backend is down must not stop a migration). Written here rather than with
 * `Discovery.all`, which fails as a whole and does not report preferred versions.
 */
export async function discoverTypes(
  client: KubeClient,
  signal?: AbortSignal,
): Promise<ServedTypes & { readonly errors: string[] }> {
  const groups = await client.getPath<ApiGroupList>('/apis', signal);
  const preferred = new Map<string, string>([['', 'v1']]);
  const versions: Array<{ group: string; version: string; apiVersion: string }> = [
    { group: '', version: 'v1', apiVersion: 'v1' },
  ];
  for (const g of groups.groups) {
    preferred.set(g.name, g.preferredVersion?.version ?? g.versions[0]?.version ?? '');
    for (const v of g.versions)
      versions.push({ group: g.name, version: v.version, apiVersion: v.groupVersion });
  }
  const errors: string[] = [];
  const lists = await mapLimit(versions, 16, async ({ group, version, apiVersion }) => {
    try {
      const list = await client.getPath<ApiResourceList>(
        apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`,
        signal,
      );
      return list.resources
        .filter((r) => !r.name.includes('/'))
        .map((r): ResourceType => ({
          group,
          version,
          apiVersion,
          kind: r.kind,
          resource: r.name,
          namespaced: r.namespaced,
          verbs: r.verbs ?? [],
        }));
    } catch (error) {
      // A group version listed a moment ago and now not found went away meanwhile (its CRD or
      // APIService deleted), and its objects with it: nothing to read. Listed still, it is an error.
      if (!(await goneSince(client, apiVersion, error, signal)))
        errors.push(`cannot discover ${apiVersion}: ${(error as Error).message}`);
      return [];
    }
  });
  return { types: lists.flat(), preferred, errors };
}

/** Whether `apiVersion` answered 404 because it is no longer served (not in /apis any more). */
async function goneSince(
  client: KubeClient,
  apiVersion: string,
  error: unknown,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!isKubeApiError(error) || !error.notFound || apiVersion === 'v1') return false;
  try {
    const now = await client.getPath<ApiGroupList>('/apis', signal);
    return !now.groups.some((g) => g.versions.some((v) => v.groupVersion === apiVersion));
  } catch {
    return false;
  }
}

export interface ReadResult {
  readonly objects: KubeObject[];
  /** Kinds that could not be listed, with the reason; the inventory is incomplete when there are any. */
  readonly errors: string[];
}

/**
 * Lists the chosen kinds: namespaced ones in each namespace of the scope (or across all),
 * with the scope's label selector; cluster-scoped ones whole, the plan filters them.
 */
export async function readObjects(
  client: KubeClient,
  kinds: readonly KindChoice[],
  scope: MigrationScope,
  options: {
    readonly concurrency: number;
    readonly signal?: AbortSignal;
    readonly served?: (choice: KindChoice) => boolean;
  },
): Promise<ReadResult> {
  const tasks: Array<{ choice: KindChoice; namespace?: string }> = [];
  for (const choice of kinds) {
    if (options.served && !options.served(choice)) continue;
    if (choice.type.namespaced && scope.namespaces)
      for (const namespace of scope.namespaces) tasks.push({ choice, namespace });
    else tasks.push({ choice });
  }
  const errors: string[] = [];
  const pages = await mapLimit(tasks, options.concurrency, async ({ choice, namespace }) => {
    const { apiVersion, kind, namespaced } = choice.type;
    try {
      const result = await client.list(apiVersion, kind, {
        namespace,
        allNamespaces: namespaced && namespace === undefined,
        labelSelector: namespaced ? scope.selector : undefined,
        signal: options.signal,
      });
      return result.items;
    } catch (error) {
      // A kind B does not serve yet (its CRD is not copied yet) simply has no objects there.
      if (isCapstanError(error) && error.code === 'ERR_CAPSTAN_UNKNOWN_KIND') return [];
      if (isKubeApiError(error) && error.notFound) return [];
      if (options.signal?.aborted) throw error;
      errors.push(
        `cannot list ${kind} (${apiVersion})${namespace ? ` in ${namespace}` : ''}: ${(error as Error).message}`,
      );
      return [];
    }
  });
  return { objects: pages.flat(), errors };
}
