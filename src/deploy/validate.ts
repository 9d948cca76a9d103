// The read-only first half of a deploy, shared by `deploy` and `diff`: prepare the phases,
// dry-run every object, and find what exists and what would be pruned.
import type { ResolvedEnvironment } from '../config/index.js';
import { KubeApiError, type KubeClient } from '../kube/index.js';
import { managedLabels, type RenderedObject, type RenderedPhase } from '../render/index.js';
import { ConfigError, objectKey, type Issue, type KubeObject } from '../shared/index.js';
import { HOOK_LABEL } from '../tasks/index.js';
import { applyAll, issuesFromApplyError } from '../apply/index.js';
import { planHookJobs, withSpecHash, type HookJobPlan } from './hook-jobs.js';
import { findExisting, readPruneHistory, type PruneHistory } from './prune.js';
import { newestRecord, planUnchanged } from './unchanged.js';

export type PreparedPhase = RenderedPhase & { objects: RenderedObject[] };

export interface ValidateOptions {
  readonly deployId: string;
  readonly selector: string;
  readonly concurrency: number;
  readonly forceConflicts?: boolean;
  /** A running phase Job of another spec is deleted at once instead of waited for. */
  readonly replaceRunningJobs?: boolean;
  /** Whether the objects to prune are wanted (deploy --no-prune without a plan skips the listing). */
  readonly listExisting: boolean;
  /** Keep the dry-run results' managedFields (a diff reads them); else each is dropped on arrival. */
  readonly keepManagedFields?: boolean;
  /** Whether release records are read (they narrow what is listed and what may be pruned). */
  readonly readHistory: boolean;
  /**
   * Leave out of the dry run (and so of the apply) the objects unchanged since Capstan last
   * applied them (docs/apply-order.md); needs the listing and the history.
   */
  readonly skipUnchanged?: boolean;
  readonly signal: AbortSignal;
  readonly warn: (message: string) => void;
}

export interface ValidatedObject {
  readonly source: RenderedObject;
  /** The dry-run result, in the environment's namespace even when validated elsewhere. */
  readonly desired: KubeObject;
}

export interface Validation {
  /** Phases with hook Jobs marked and, when missing, the namespace first. */
  readonly phases: PreparedPhase[];
  /** The namespace did not exist and this deploy creates it (it is `phases[0].objects[0]`). */
  readonly createsNamespace: boolean;
  readonly validated: readonly ValidatedObject[];
  /** Custom resources whose CRD this deploy creates: validated once it is established. */
  readonly deferred: readonly RenderedObject[];
  /** Objects of this app and environment in the cluster now. */
  readonly existing: readonly KubeObject[];
  /** What a deploy would delete: existing, not rendered, applied by an earlier release when there are records. */
  readonly toPrune: readonly KubeObject[];
  /** What becomes of each rendered Job whose name a live Job already has, by object key. */
  readonly hookJobs: ReadonlyMap<string, HookJobPlan>;
  /** Objects unchanged since Capstan last applied them, as listed, by key: neither dry-run nor sent. */
  readonly unchanged: ReadonlyMap<string, KubeObject>;
  /** With unchanged objects: the newest release recorded when they were judged (checked again under the lock). */
  readonly newestRelease?: number;
}

async function namespaceExists(client: KubeClient, name: string, signal: AbortSignal): Promise<boolean> {
  try {
    return (await client.get({ apiVersion: 'v1', kind: 'Namespace', name }, signal)) !== undefined;
  } catch (error) {
    // An identity without cluster-wide reads cannot see namespaces: assume it exists.
    if (error instanceof KubeApiError && error.forbidden) return true;
    throw error;
  }
}

/**
 * Jobs of a phase are hooks: labelled by name without the deploy id, kept for a while after they
 * finish, and annotated with the hash of their spec (whether a later deploy must run them again).
 */
export function markHookJob(rendered: RenderedObject, deployId: string): RenderedObject {
  if (rendered.object.kind !== 'Job') return rendered;
  const name = rendered.object.metadata.name ?? '';
  const hook = name.replace(deployId, '').replace(/-{2,}/g, '-').replace(/^-|-$/g, '') || name;
  const spec = (rendered.object as { spec?: Record<string, unknown> }).spec ?? {};
  return {
    ...rendered,
    object: withSpecHash({
      ...rendered.object,
      metadata: {
        ...rendered.object.metadata,
        labels: { ...rendered.object.metadata.labels, [HOOK_LABEL]: hook.slice(0, 63) },
      },
      spec: { ttlSecondsAfterFinished: 7 * 86_400, ...spec },
    }),
  };
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** Dry-runs objects and throws one ConfigError listing every refusal (and the `issues` found before). */
export async function dryRunAll(
  client: KubeClient,
  objects: readonly RenderedObject[],
  options: {
    concurrency: number;
    force?: boolean;
    signal: AbortSignal;
    hint: string;
    asNew?: (source: RenderedObject) => boolean;
    issues?: readonly Issue[];
    keepManagedFields?: boolean;
  },
): Promise<KubeObject[]> {
  const results = await applyAll(client, objects, {
    concurrency: options.concurrency,
    force: options.force,
    signal: options.signal,
    dryRun: true,
    asNew: options.asNew,
    ...(options.keepManagedFields === false ? { dropManagedFields: true } : {}),
  });
  const issues: Issue[] = [
    ...(options.issues ?? []),
    ...results.flatMap((r) => (r.error === undefined ? [] : issuesFromApplyError(r.source, r.error))),
  ];
  if (issues.length > 0) throw new ConfigError(issues, { hint: options.hint });
  return results.map((r) => r.live!);
}

/**
 * What the dry run validates: custom resources whose CRD this deploy defines wait (deferred) until
 * the API serves them; while the namespace does not exist, its objects are validated in `default`.
 */
async function sortForDryRun(
  client: KubeClient,
  all: readonly RenderedObject[],
  where: { readonly nsMissing: boolean; readonly namespace: string },
): Promise<{ toValidate: RenderedObject[]; sources: RenderedObject[]; deferred: RenderedObject[] }> {
  const crdGroups = new Set(
    all
      .filter((o) => o.object.kind === 'CustomResourceDefinition')
      .map((o) => (o.object as { spec?: { group?: string } }).spec?.group ?? ''),
  );
  const toValidate: RenderedObject[] = [];
  const sources: RenderedObject[] = [];
  const deferred: RenderedObject[] = [];
  for (const o of all) {
    if (
      crdGroups.has(groupOf(o.object.apiVersion)) &&
      !(await client.discovery.find(o.object.apiVersion, o.object.kind))
    ) {
      deferred.push(o);
      continue;
    }
    sources.push(o);
    const elsewhere = where.nsMissing && o.object.metadata.namespace === where.namespace;
    toValidate.push(
      elsewhere
        ? { ...o, object: { ...o.object, metadata: { ...o.object.metadata, namespace: 'default' } } }
        : o,
    );
  }

  return { toValidate, sources, deferred };
}

export async function validateDeploy(
  client: KubeClient,
  env: ResolvedEnvironment,
  rendered: readonly RenderedPhase[],
  options: ValidateOptions,
): Promise<Validation> {
  const phases: PreparedPhase[] = rendered.map((p) => ({
    ...p,
    objects: p.objects.map((o) => markHookJob(o, options.deployId)),
  }));
  const { signal } = options;

  // A missing namespace is created first; while it does not exist, objects are validated
  // against `default` so that the dry run still checks every field.
  const nsMissing = !(await namespaceExists(client, env.namespace, signal));
  const rendersNamespace = phases.some((p) =>
    p.objects.some((o) => o.object.kind === 'Namespace' && o.object.metadata.name === env.namespace),
  );
  const createsNamespace = nsMissing && !rendersNamespace && phases.length > 0;
  if (createsNamespace) {
    phases[0].objects.unshift({
      object: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: env.namespace, labels: managedLabels(env.app, env.name) },
      },
      source: { file: env.configFile },
    });
  }

  const all = phases.flatMap((p) => p.objects);
  const { toValidate, sources, deferred } = await sortForDryRun(client, all, {
    nsMissing,
    namespace: env.namespace,
  });

  // A Job whose name an earlier deploy used is judged first: a replaced one (or one to replace
  // once it finished) is validated as the new Job it will be, and one that is not Capstan's stops
  // the deploy here, before any write. A running one of this app is left to the phase, which runs
  // under the lock: a held lock is what explains a running Job, so it is judged first.
  const hookJobs = nsMissing
    ? { plans: new Map<string, HookJobPlan>(), issues: [] }
    : await planHookJobs(client, sources, {
        labels: managedLabels(env.app, env.name),
        concurrency: options.concurrency,
        signal,
        replaceRunning: options.replaceRunningJobs,
      });
  const hint =
    hookJobs.issues.length > 0
      ? 'nothing was applied: a Job of the same name as one this deploy runs is in the way'
      : 'the API server refused these objects in a dry run; nothing was applied';
  // Objects unchanged since Capstan applied them are neither dry-run nor applied: telling which
  // needs the history and the list of what exists first.
  const reading = await readExisting(client, env, { all, sources, nsMissing, options });
  const { unchanged } = reading;
  const kept = sources.flatMap((o, i) => (unchanged.has(objectKey(o.object)) ? [] : [i]));
  const [results, found] = await Promise.all([
    dryRunAll(
      client,
      kept.map((i) => toValidate[i]),
      {
        concurrency: options.concurrency,
        force: options.forceConflicts,
        signal,
        hint,
        asNew: (o) =>
          ['replace', 'await', 'refuse'].includes(hookJobs.plans.get(objectKey(o.object))?.action ?? ''),
        issues: hookJobs.issues,
        keepManagedFields: options.keepManagedFields ?? true,
      },
    ),
    reading.found,
  ]);
  const { existing, toPrune } = found;
  // An unchanged object is validated as what it is: the live object is what Capstan applied.
  const answers = new Map(kept.map((i, j) => [i, results[j]]));
  const validated = sources.map((source, i) => {
    const live = answers.get(i) ?? unchanged.get(objectKey(source.object))!;
    return {
      source,
      desired: { ...live, metadata: { ...live.metadata, namespace: source.object.metadata.namespace } },
    };
  });

  return {
    phases,
    createsNamespace,
    validated,
    deferred,
    existing,
    toPrune,
    hookJobs: hookJobs.plans,
    unchanged,
    ...(reading.newestRelease === undefined ? {} : { newestRelease: reading.newestRelease }),
  };
}

type Found = { existing: KubeObject[]; toPrune: KubeObject[] };

/**
 * What exists now and what would be pruned (`found`, still coming unless the unchanged objects
 * needed it), and which objects are unchanged since Capstan last applied them.
 */
async function readExisting(
  client: KubeClient,
  env: ResolvedEnvironment,
  input: {
    all: readonly RenderedObject[];
    sources: readonly RenderedObject[];
    nsMissing: boolean;
    options: ValidateOptions;
  },
): Promise<{ found: Promise<Found>; unchanged: Map<string, KubeObject>; newestRelease?: number }> {
  const { options } = input;
  const { signal } = options;
  const listing = options.listExisting && !input.nsMissing;
  if (!listing) return { found: Promise.resolve({ existing: [], toPrune: [] }), unchanged: new Map() };
  const find = (history: PruneHistory | undefined) =>
    findExisting(client, env, {
      rendered: input.all.map((o) => o.object),
      selector: options.selector,
      readHistory: options.readHistory,
      history,
      signal,
      warn: options.warn,
    });
  if (!options.readHistory || !options.skipUnchanged) return { found: find(undefined), unchanged: new Map() };
  const scope = { namespace: env.namespace, app: env.app, env: env.name, signal };
  const history = await readPruneHistory(client, scope);
  const skip = await findUnchanged(history, find, input.sources, !options.keepManagedFields);
  return skip
    ? { found: Promise.resolve(skip.found), unchanged: skip.unchanged, newestRelease: skip.newestRelease }
    : { found: find(history), unchanged: new Map() };
}

/**
 * The objects a redeploy need not send, and the listing that told it (reused for prune); undefined
 * when the history cannot tell (unreadable, no record, a deploy running).
 */
async function findUnchanged(
  history: PruneHistory,
  find: (history: PruneHistory) => Promise<{ existing: KubeObject[]; toPrune: KubeObject[] }>,
  sources: readonly RenderedObject[],
  dropManagedFields: boolean,
): Promise<
  | {
      unchanged: Map<string, KubeObject>;
      found: { existing: KubeObject[]; toPrune: KubeObject[] };
      newestRelease: number;
    }
  | undefined
> {
  const newest = history.readable ? newestRecord(history.records) : undefined;
  if (!history.readable || !newest || newest.outcome === 'running') return undefined;
  const found = await find(history);
  const unchanged = planUnchanged(
    sources.map((o) => o.object),
    found.existing,
    history.records,
  );
  for (const [key, live] of unchanged) {
    if (!dropManagedFields) continue;
    const { managedFields: _mf, ...metadata } = live.metadata;
    unchanged.set(key, { ...live, metadata });
  }
  return { unchanged, found, newestRelease: newest.release };
}
