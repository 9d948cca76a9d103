// Writing to B: server-side apply wave by wave, in parallel within a wave, with retries; CRDs are
// waited for until Established before anything that needs them.
import { KubeApiError, type KubeClient } from '../kube/index.js';
import { CapstanError, retry, settleLimit, sleep, type KubeObject } from '../shared/index.js';
import { list } from './json.js';
import { CRD_WAVE, isBuiltInGroup } from './kinds.js';
import { diffPaths, normalizeForCompare } from './normalize.js';
import { planWaves } from './plan.js';
import type { ApplyAction, ApplySummary, MigrateEvent, MigrationPlan, PlannedObject } from './types.js';

export const MIGRATE_FIELD_MANAGER = 'capstan-migrate';
const RETRIES = 5;

export interface ApplyPlanOptions {
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  readonly onEvent: (event: MigrateEvent) => void;
  /** How long CRDs may take to become Established in B. */
  readonly crdTimeoutMs?: number;
}

function retryable(error: unknown, planned: PlannedObject): boolean {
  // Right after its CRD is established, discovery and the endpoint of a custom resource may lag a moment.
  const custom = !isBuiltInGroup(planned.ref.group);
  if (error instanceof KubeApiError) return error.transient || (error.notFound && custom);
  return custom && error instanceof CapstanError && error.code === 'ERR_CAPSTAN_UNKNOWN_KIND';
}

/**
 * Runs one request with its own signal that follows `signal`. The transport leaves an abort listener
 * on the signal of every request it reads; on one shared signal, thousands of requests would pile
 * them up and make each new listener slower than the last.
 */
async function withOwnSignal<T>(
  signal: AbortSignal | undefined,
  request: (signal?: AbortSignal) => Promise<T>,
): Promise<T> {
  if (!signal) return request(undefined);
  const own = new AbortController();
  const follow = () => own.abort(signal.reason);
  signal.addEventListener('abort', follow, { once: true });
  try {
    return await request(own.signal);
  } finally {
    signal.removeEventListener('abort', follow);
  }
}

/** Server-side apply (or its dry run) of one planned object with the migration's field manager. */
export async function applyOne(
  client: KubeClient,
  planned: PlannedObject,
  options: { dryRun?: boolean; signal?: AbortSignal },
): Promise<KubeObject> {
  return retry(
    () =>
      withOwnSignal(options.signal, (signal) =>
        client.apply(planned.object, {
          fieldManager: MIGRATE_FIELD_MANAGER,
          force: true,
          dryRun: options.dryRun,
          fieldValidation: 'Strict',
          signal,
        }),
      ),
    {
      retries: RETRIES,
      retryIf: (error) => retryable(error, planned),
      firstDelayMs: 200,
      signal: options.signal,
    },
  );
}

/** Whether an apply created or changed the object; status updates by B's controllers do not count. */
export function actionOf(before: KubeObject | undefined, after: KubeObject): ApplyAction {
  if (!before) return 'created';
  if (before.metadata.resourceVersion === after.metadata.resourceVersion) return 'unchanged';
  return diffPaths(normalizeForCompare(before), normalizeForCompare(after), 1).length === 0
    ? 'unchanged'
    : 'changed';
}

function isEstablished(crd: KubeObject | undefined): boolean {
  const conditions = list((crd?.status as { conditions?: unknown } | undefined)?.conditions);
  const isTrue = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  return isTrue('Established') && isTrue('NamesAccepted');
}

async function waitForCrds(
  client: KubeClient,
  names: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(names);
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const crd = await client.get(
        { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name },
        signal,
      );
      if (isEstablished(crd)) pending.delete(name);
    }
    if (pending.size === 0) break;
    if (signal?.aborted)
      throw new CapstanError(
        'ERR_CAPSTAN_INTERRUPTED',
        'interrupted while waiting for CustomResourceDefinitions',
      );
    if (Date.now() > deadline) {
      throw new CapstanError(
        'ERR_CAPSTAN_MIGRATE_CRD',
        `CustomResourceDefinitions not established in B within ${timeoutMs / 1000}s: ${[...pending].join(', ')}`,
        {
          hint: "check B's conditions with: kubectl get crd -o yaml",
        },
      );
    }
    await sleep(250, signal);
  }
  // B now serves new kinds: forget what discovery had cached.
  client.discovery.invalidate();
}

/**
 * The planned object with its owners' UIDs in B (`uids`, by key); `complete` is false while some
 * owner does not exist in B yet (same or later wave): the object is applied again once it does.
 */
export function withOwnerUids(
  planned: PlannedObject,
  uids: ReadonlyMap<string, string>,
): { planned: PlannedObject; complete: boolean } {
  if (!planned.owners?.length) return { planned, complete: true };
  const ownerReferences = planned.owners.flatMap(({ key, ...owner }) => {
    const uid = uids.get(key);
    return uid ? [{ ...owner, uid }] : [];
  });
  const complete = ownerReferences.length === planned.owners.length;
  if (ownerReferences.length === 0) return { planned, complete };
  const object = { ...planned.object, metadata: { ...planned.object.metadata, ownerReferences } };
  return { planned: { ...planned, object }, complete };
}

/** Applies every planned object to B; reports each and never throws for one object's failure. */
export async function applyPlan(
  client: KubeClient,
  plan: MigrationPlan,
  options: ApplyPlanOptions,
): Promise<ApplySummary> {
  const started = Date.now();
  const counts: Record<ApplyAction | 'failed', number> = { created: 0, changed: 0, unchanged: 0, failed: 0 };
  // Owners come first (earlier waves); their UIDs in B are read from B's answers as they are applied.
  const uids = new Map<string, string>();
  for (const p of plan.objects) if (p.current?.metadata.uid) uids.set(p.key, p.current.metadata.uid);
  const awaitingOwners: PlannedObject[] = [];
  for (const wave of planWaves(plan.objects)) {
    if (options.signal?.aborted) break;
    const kinds = [...new Set(wave.map((o) => o.ref.kind))];
    options.onEvent({ type: 'wave-started', wave: wave[0].wave, kinds, objects: wave.length });
    const results = await settleLimit(wave, options.concurrency, async (planned) => {
      if (options.signal?.aborted) throw new CapstanError('ERR_CAPSTAN_INTERRUPTED', 'interrupted');
      const owned = withOwnerUids(planned, uids);
      if (!owned.complete) awaitingOwners.push(planned);
      return applyOne(client, owned.planned, { signal: options.signal });
    });
    const appliedCrds: string[] = [];
    results.forEach((result, i) => {
      const planned = wave[i];
      if (!result.ok) {
        counts.failed++;
        options.onEvent({ type: 'object-failed', object: planned.ref, message: describeError(result.error) });
        return;
      }
      if (result.value.metadata.uid) uids.set(planned.key, result.value.metadata.uid);
      const action = actionOf(planned.current, result.value);
      counts[action]++;
      if (planned.wave === CRD_WAVE) appliedCrds.push(planned.ref.name);
      options.onEvent({ type: 'object-applied', object: planned.ref, action });
    });
    if (appliedCrds.length > 0) {
      const waitStarted = Date.now();
      await waitForCrds(client, appliedCrds, options.crdTimeoutMs ?? 60_000, options.signal);
      options.onEvent({ type: 'crds-established', names: appliedCrds, durationMs: Date.now() - waitStarted });
    }
  }
  // Objects whose owners were created after them get their ownerReferences now (owners that failed stay out).
  const late = awaitingOwners
    .map((p) => withOwnerUids(p, uids).planned)
    .filter((p) => p.object.metadata.ownerReferences);
  if (late.length > 0 && !options.signal?.aborted) {
    const results = await settleLimit(late, options.concurrency, (planned) =>
      applyOne(client, planned, { signal: options.signal }),
    );
    results.forEach((result, i) => {
      if (result.ok) return;
      counts.failed++;
      options.onEvent({
        type: 'object-failed',
        object: late[i].ref,
        message: `setting its ownerReferences: ${describeError(result.error)}`,
      });
    });
  }
  return { ...counts, durationMs: Date.now() - started };
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
