import type { ResolvedEnvironment } from '../config/index.js';
import { KubeApiError, type KubeClient, type ResourceType } from '../kube/index.js';
import {
  readReleases,
  type DamagedReleaseError,
  type ReleaseRecord,
  type ReleaseScope,
} from '../release/index.js';
import { CapstanError, objectKey, settleLimit, type KubeObject } from '../shared/index.js';
import { HOOK_LABEL, TASK_LABEL } from '../tasks/index.js';
import { keyOfEntry } from './recorder.js';

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

/** Lists every object carrying the selector, over the given types, in each namespace (cluster-scoped ones once). */
export async function listLabelled(
  client: KubeClient,
  types: readonly ResourceType[],
  options: { namespaces: readonly string[]; selector: string; signal?: AbortSignal },
): Promise<KubeObject[]> {
  const requests = types.flatMap((type): { type: ResourceType; namespace?: string }[] =>
    type.namespaced
      ? options.namespaces.map((namespace) => ({ type, namespace }))
      : [{ type, namespace: undefined }],
  );
  const results = await settleLimit(
    requests,
    16,
    async ({ type, namespace }) =>
      (
        await client.list(type.apiVersion, type.kind, {
          namespace,
          labelSelector: options.selector,
          signal: options.signal,
        })
      ).items,
  );
  // A type we may not list (restricted identity) simply cannot hold objects we own.
  return results.flatMap((r) => (r.ok ? r.value : []));
}

/** The release history as prune sees it: every record, or why it cannot be relied on. */
export type PruneHistory =
  | { readonly readable: true; readonly records: readonly ReleaseRecord[] }
  | { readonly readable: false; readonly reason: string };

/**
 * Reads the records prune relies on. One damaged record, a refusal (RBAC) or an unreachable API
 * server makes the whole history unreadable: prune then deletes nothing, rather than fall back to
 * everything carrying the app's labels.
 */
export async function readPruneHistory(client: KubeClient, scope: ReleaseScope): Promise<PruneHistory> {
  const damaged: DamagedReleaseError[] = [];
  try {
    const records = await readReleases(client, { ...scope, onDamaged: (error) => damaged.push(error) });
    if (damaged.length === 0) return { readable: true, records };
    return {
      readable: false,
      reason: damaged.map((e) => (e.hint ? `${e.message}; ${e.hint}` : e.message)).join('; '),
    };
  } catch (error) {
    if (scope.signal?.aborted || !(error instanceof KubeApiError || error instanceof CapstanError))
      throw error;
    const why =
      error instanceof KubeApiError && error.forbidden ? 'this identity may not list its Secrets: ' : '';
    return { readable: false, reason: `${why}${error.message}` };
  }
}

/** The warning a deploy or a diff gives when the history cannot be read. */
export function unreadableHistoryWarning(scope: { app: string; env: string }, reason: string): string {
  return `nothing will be pruned: the release history of ${scope.app}/${scope.env} cannot be read (${reason})`;
}

/** Namespaces prune lists: the environment's, its extra ones, and any an earlier release applied to. */
export function pruneNamespaces(
  env: Pick<ResolvedEnvironment, 'namespace' | 'extraNamespaces'>,
  records: readonly ReleaseRecord[],
): string[] {
  const recorded = records.flatMap((r) => r.inventory.flatMap((i) => (i.namespace ? [i.namespace] : [])));
  return [...new Set([env.namespace, ...env.extraNamespaces, ...recorded])];
}

/** Hook Jobs and one-off tasks of earlier deploys are not pruned; their own cleanup removes them. */
function isKeptJob(object: KubeObject): boolean {
  const labels = object.metadata.labels ?? {};
  return object.kind === 'Job' && (labels[HOOK_LABEL] !== undefined || labels[TASK_LABEL] !== undefined);
}

/**
 * What to delete (pure): existing objects no longer rendered that an earlier release applied. With
 * a readable history that has no record yet, whatever carries the labels; with an unreadable one, nothing.
 */
export function planPrune(
  existing: readonly KubeObject[],
  rendered: readonly KubeObject[],
  history: PruneHistory,
): KubeObject[] {
  if (!history.readable) return [];
  const renderedKeys = new Set(rendered.map(objectKey));
  const applied =
    history.records.length > 0
      ? new Set(history.records.flatMap((r) => r.inventory.map(keyOfEntry)))
      : undefined;
  return existing.filter(
    (o) => !renderedKeys.has(objectKey(o)) && !isKeptJob(o) && (!applied || applied.has(objectKey(o))),
  );
}

export interface FindExistingOptions {
  /** Everything this deploy renders. */
  readonly rendered: readonly KubeObject[];
  readonly selector: string;
  /** Whether release records are read (they narrow what is listed and what may be pruned). */
  readonly readHistory: boolean;
  /** The history, when already read. */
  readonly history?: PruneHistory;
  readonly signal: AbortSignal;
  readonly warn: (message: string) => void;
}

/**
 * What of this app and environment exists now, and what a deploy would prune. With records, only
 * the kinds rendered or applied by a release are listed; with none yet, every prunable kind;
 * with an unreadable history, the rendered kinds, and nothing is pruned.
 */
export async function findExisting(
  client: KubeClient,
  env: ResolvedEnvironment,
  options: FindExistingOptions,
): Promise<{ existing: KubeObject[]; toPrune: KubeObject[] }> {
  const scope = { namespace: env.namespace, app: env.app, env: env.name, signal: options.signal };
  const history: PruneHistory =
    options.history ??
    (options.readHistory ? await readPruneHistory(client, scope) : { readable: true, records: [] });
  if (!history.readable) options.warn(unreadableHistoryWarning(scope, history.reason));
  const records = history.readable ? history.records : [];
  const kinds = new Set([
    ...options.rendered.map((o) => o.kind),
    ...records.flatMap((r) => r.inventory.map((i) => i.kind)),
  ]);
  // A preview owns its namespace only: the cluster-scoped objects carrying its labels are those of
  // the environment it copies (same app and environment labels), never the preview's to prune.
  const types = prunableTypes(
    (await client.discovery.all()).filter(
      (t) => t.namespaced || (env.preview === undefined && t.kind !== 'Namespace'),
    ),
  );
  const everyKind = history.readable && records.length === 0;
  const existing = await listLabelled(client, everyKind ? types : types.filter((t) => kinds.has(t.kind)), {
    namespaces: pruneNamespaces(env, records),
    selector: options.selector,
    signal: options.signal,
  });
  return { existing, toPrune: planPrune(existing, options.rendered, history) };
}
