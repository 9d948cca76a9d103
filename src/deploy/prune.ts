import type { KubeClient, ResourceType } from '../kube/index.js';
import { settleLimit, type KubeObject } from '../shared/index.js';

/** Kinds never pruned: data and namespaces outlive a deploy unless someone asks. */
const NEVER_PRUNE = new Set(['PersistentVolumeClaim', 'Namespace', 'Event', 'Lease']);

/** Kinds that belong to controllers, not to users: pruning their owners is enough. */
const OWNED_KINDS = new Set(['Pod', 'ReplicaSet', 'ControllerRevision', 'EndpointSlice', 'Endpoints']);

export function prunableTypes(types: readonly ResourceType[]): ResourceType[] {
  const seen = new Set<string>();
  return types.filter((t) => {
    if (!t.verbs.includes('list') || !t.verbs.includes('delete')) return false;
    if (NEVER_PRUNE.has(t.kind) || OWNED_KINDS.has(t.kind)) return false;
    const key = `${t.group}/${t.kind}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Lists every object carrying the selector, over the given types, in one namespace (and cluster-scoped ones). */
export async function listLabelled(
  client: KubeClient,
  types: readonly ResourceType[],
  options: { namespace: string; selector: string; signal?: AbortSignal },
): Promise<KubeObject[]> {
  const results = await settleLimit(types, 16, async (t) =>
    (await client.list(t.apiVersion, t.kind, { namespace: options.namespace, labelSelector: options.selector, signal: options.signal })).items,
  );
  // A type we may not list (restricted identity) simply cannot hold objects we own.
  return results.flatMap((r) => (r.ok ? r.value : []));
}
