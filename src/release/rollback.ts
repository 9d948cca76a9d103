// Rollback: re-apply an earlier release's manifests, wait like a deploy, prune, record, notify.
import type { NotificationConfig } from '../config/index.js';
import { applyAll, eventObject, issuesFromApplyError, newRevision, selectorOf, type DeployEvent, type DeployOutcome } from '../deploy/index.js';
import type { KubeClient } from '../kube/index.js';
import { notify } from '../notify/index.js';
import { groupByKindOrder, managedLabels, type RenderedObject } from '../render/index.js';
import { formatDiagnosis, waitForObjects } from '../rollout/index.js';
import { createRedactor, secretValues } from '../secrets/index.js';
import { CapstanError, objectKey, objectRef, settleLimit, type KubeObject } from '../shared/index.js';
import { acquireLock } from './lock.js';
import { inventoryEntry, type InventoryEntry, type ReleaseOutcome, type ReleaseRecord } from './record.js';
import { withRetry } from './retry.js';
import { nextRevisionNumber, readReleases, writeRelease } from './store.js';

export type RollbackEvent =
  | DeployEvent
  | { type: 'rollback-started'; app: string; env: string; namespace: string; revision: number; target: number; images: string[] };

export interface RollbackOptions {
  readonly namespace: string;
  readonly app: string;
  readonly env: string;
  /** Revision to re-apply; default: the newest succeeded release before the current one. */
  readonly to?: number;
  readonly timeoutMs: number;
  readonly progressDeadlineMs?: number;
  /** Records kept (capstan.yaml `releases.keep`). */
  readonly keep: number;
  readonly concurrency?: number;
  readonly user: string;
  readonly host: string;
  /** Lock holder shown to others; default `user@host`. */
  readonly holder?: string;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: RollbackEvent) => void;
  readonly notifications?: readonly NotificationConfig[];
  /** Where notification URLs are read from. */
  readonly envVars?: NodeJS.ProcessEnv;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
}

export interface RollbackResult {
  readonly outcome: DeployOutcome;
  readonly exitCode: number;
  readonly revision: number;
  readonly target: number;
  /** Hook Jobs (migrations…) that ran in releases after the target: not undone. */
  readonly hookJobs: readonly string[];
  readonly message?: string;
}

/** Kinds rollback never deletes; Jobs are hooks (migrations): re-running an old one is never wanted. */
const NEVER_PRUNED = new Set(['PersistentVolumeClaim', 'Namespace', 'Job']);

/** The release to re-apply (pure); throws ERR_CAPSTAN_NO_SUCH_RELEASE with the revisions there are. */
export function chooseRollbackTarget(releases: readonly ReleaseRecord[], to?: number): ReleaseRecord {
  const known = releases.map((r) => `${r.revision} (${r.outcome})`).join(', ') || 'none';
  const target = to === undefined ? releases.slice(1).find((r) => r.outcome === 'succeeded') : releases.find((r) => r.revision === to);
  if (!target) {
    const what = to === undefined ? `no succeeded release before revision ${releases[0]?.revision ?? '?'}` : `there is no release ${to}`;
    throw new CapstanError('ERR_CAPSTAN_NO_SUCH_RELEASE', `cannot roll back: ${what}`, { hint: `recorded releases: ${known}` });
  }
  if (target.manifests.length === 0) throw new CapstanError('ERR_CAPSTAN_NO_SUCH_RELEASE', `cannot roll back: release ${target.revision} recorded no manifests`);
  return target;
}

function keyOf(entry: InventoryEntry): string {
  return objectKey({ apiVersion: entry.apiVersion, kind: entry.kind, metadata: { name: entry.name, namespace: entry.namespace } });
}

/** Objects of releases after the target that the target does not have: what rollback deletes (pure). */
export function planRollbackPrune(releases: readonly ReleaseRecord[], target: ReleaseRecord): InventoryEntry[] {
  const keep = new Set([...target.inventory.map(keyOf), ...target.manifests.map(objectKey)]);
  const out = new Map<string, InventoryEntry>();
  for (const r of releases) {
    if (r.revision <= target.revision) continue;
    for (const entry of r.inventory) if (!keep.has(keyOf(entry)) && !NEVER_PRUNED.has(entry.kind)) out.set(keyOf(entry), entry);
  }
  return [...out.values()];
}

const EXIT_OF: Record<DeployOutcome, number> = { succeeded: 0, failed: 1, invalid: 2, 'timed-out': 3, locked: 4, interrupted: 130 };

/** Takes the lock, re-applies release `to` (server-side apply, forced), waits, prunes and records a 'rolled-back' release. */
export async function rollback(client: KubeClient, options: RollbackOptions): Promise<RollbackResult> {
  const sink = options.onEvent ?? (() => {});
  // As in deploy: once the target's Secrets are known, no event carries one of their values.
  let redact: ((text: string) => string) | undefined;
  const emit = (event: RollbackEvent) => sink(redact ? (JSON.parse(redact(JSON.stringify(event))) as RollbackEvent) : event);
  const now = options.now ?? (() => new Date());
  const signal = options.signal ?? new AbortController().signal;
  const scope = { namespace: options.namespace, app: options.app, env: options.env, signal };
  const lock = await acquireLock(client, { ...scope, holder: options.holder ?? `${options.user}@${options.host}`, onWarning: (message) => emit({ type: 'warning', message }) });
  const started = now();
  let record: ReleaseRecord | undefined;
  let result: RollbackResult | undefined;
  try {
    const releases = await readReleases(client, scope);
    if (releases.length === 0) throw new CapstanError('ERR_CAPSTAN_NO_SUCH_RELEASE', `no release of ${options.app}/${options.env} is recorded in namespace ${options.namespace}`);
    const target = chooseRollbackTarget(releases, options.to);
    const values = secretValues(target.manifests);
    if (values.length > 0) redact = createRedactor(values);
    const revision = await nextRevisionNumber(client, scope);
    const hookJobs = releases.filter((r) => r.revision > target.revision).flatMap((r) => r.hookJobs.map((job) => `${job} (release ${r.revision})`));
    record = {
      app: options.app, env: options.env, namespace: options.namespace, revision, deployId: newRevision(started),
      images: target.images, ...(target.gitCommit ? { gitCommit: target.gitCommit } : {}), user: options.user, host: options.host,
      startedAt: started.toISOString(), phases: [{ name: 'rollback', startedAt: started.toISOString(), outcome: 'running' }],
      outcome: 'running', rolledBackTo: target.revision, inventory: [], manifests: target.manifests, hookJobs: [],
    };
    await writeRelease(client, record, { keep: options.keep, signal });
    emit({ type: 'rollback-started', app: options.app, env: options.env, namespace: options.namespace, revision, target: target.revision, images: target.images });
    if (target.outcome !== 'succeeded' && target.outcome !== 'rolled-back') emit({ type: 'warning', message: `release ${target.revision} ended as ${target.outcome}` });
    const finish = (outcome: DeployOutcome, message?: string): RollbackResult =>
      (result = { outcome, exitCode: EXIT_OF[outcome], revision, target: target.revision, hookJobs, ...(message ? { message } : {}) });
    const applied = await applyManifests(client, target.manifests.filter((m) => m.kind !== 'Job'), options, signal, emit, record);
    if (typeof applied === 'string') return finish(signal.aborted ? 'interrupted' : 'failed', applied);

    const wait = await waitForObjects({
      client, targets: applied, selector: selectorOf(options.app, options.env), signal,
      deadline: started.getTime() + options.timeoutMs, progressDeadlineMs: options.progressDeadlineMs ?? Math.min(options.timeoutMs, 5 * 60_000), since: new Date(started.getTime() - 1000),
      onUpdate: (object, readiness) => {
        if (readiness.status === 'ready') emit({ type: 'object-ready', phase: 'rollback', object: eventObject(object), message: readiness.message });
        else if (readiness.status === 'pending') emit({ type: 'object-waiting', phase: 'rollback', object: eventObject(object), message: readiness.message });
      },
    });
    for (const f of wait.failed) {
      emit({ type: 'object-failed', phase: 'rollback', object: eventObject(f.object), message: f.readiness.message, diagnosis: f.diagnosis, diagnosisText: formatDiagnosis(objectRef(f.object), f.diagnosis) });
    }
    if (wait.outcome !== 'ready') {
      const outcome: DeployOutcome = wait.outcome === 'interrupted' ? 'interrupted' : wait.outcome === 'failed' ? 'failed' : 'timed-out';
      return finish(outcome, `rollback to release ${target.revision} ${outcome}: ${wait.failed.map((f) => `${objectRef(f.object)}: ${f.readiness.message}`).join('; ') || wait.outcome}`);
    }
    await pruneAfterRollback(client, planRollbackPrune(releases, target), options, signal, emit);
    if (hookJobs.length > 0) emit({ type: 'warning', message: `hook Jobs are not undone by a rollback; these ran after release ${target.revision}: ${hookJobs.join(', ')}` });
    return finish('succeeded', `rolled back to release ${target.revision}`);
  } catch (error) {
    if (record) result = { outcome: 'failed', exitCode: 1, revision: record.revision, target: record.rolledBackTo ?? 0, hookJobs: [], message: (error as Error).message };
    throw error;
  } finally {
    if (record && result) await recordOutcome(client, record, result, options, now, emit);
    await lock.release();
    if (record && result) emit(finishedEvent(result, record, now().getTime() - started.getTime()));
  }
}

async function applyManifests(
  client: KubeClient, manifests: readonly KubeObject[], options: RollbackOptions, signal: AbortSignal, emit: (e: RollbackEvent) => void, record: ReleaseRecord,
): Promise<KubeObject[] | string> {
  const before = await settleLimit(manifests, options.concurrency ?? 8, (m) =>
    withRetry(() => client.get({ apiVersion: m.apiVersion, kind: m.kind, name: m.metadata.name ?? '', namespace: m.metadata.namespace }, signal), { signal }));
  const versions = new Map(before.map((r, i) => [objectKey(manifests[i]), r.ok ? r.value?.metadata.resourceVersion : 'unknown']));
  const applied: KubeObject[] = [];
  const rendered: RenderedObject[] = manifests.map((object) => ({ object, source: { file: `release ${record.rolledBackTo}` } }));
  for (const group of groupByKindOrder(rendered)) {
    const results = await applyAll(client, group, { concurrency: options.concurrency ?? 8, force: true, signal });
    for (const r of results) {
      if (!r.live) continue;
      applied.push(r.live);
      record.inventory.push(inventoryEntry(r.live));
      const rv = versions.get(objectKey(r.live));
      emit({ type: 'object-applied', phase: 'rollback', object: eventObject(r.live), action: rv === undefined ? 'created' : rv === r.live.metadata.resourceVersion ? 'unchanged' : 'configured' });
    }
    const failures = results.filter((r) => r.error !== undefined);
    if (failures.length > 0) {
      const lines = failures.flatMap((f) => issuesFromApplyError(f.source, f.error).map((i) => i.message));
      for (const f of failures) emit({ type: 'object-failed', phase: 'rollback', object: eventObject(f.source.object), message: issuesFromApplyError(f.source, f.error).map((i) => i.message).join('; ') });
      return `re-applying release ${record.rolledBackTo} failed:\n  ${lines.join('\n  ')}`;
    }
  }
  return applied;
}

async function pruneAfterRollback(client: KubeClient, entries: readonly InventoryEntry[], options: RollbackOptions, signal: AbortSignal, emit: (e: RollbackEvent) => void): Promise<void> {
  const labels = managedLabels(options.app, options.env);
  for (const entry of entries) {
    try {
      const live = await withRetry(() => client.get(entry, signal), { signal });
      // Only what still carries our labels: an object someone else took over is theirs now.
      if (!live || Object.entries(labels).some(([k, v]) => live.metadata.labels?.[k] !== v)) continue;
      await withRetry(() => client.delete(entry, { propagationPolicy: 'Background', signal }), { signal });
      emit({ type: 'object-pruned', object: eventObject(live), dryRun: false });
    } catch (error) {
      emit({ type: 'warning', message: `could not prune ${entry.kind}/${entry.name}: ${(error as Error).message}` });
    }
  }
}

async function recordOutcome(
  client: KubeClient, record: ReleaseRecord, result: RollbackResult, options: RollbackOptions, now: () => Date, emit: (e: RollbackEvent) => void,
): Promise<void> {
  const outcome: ReleaseOutcome = result.outcome === 'succeeded' ? 'rolled-back' : result.outcome === 'interrupted' ? 'interrupted' : 'failed';
  const finishedAt = now().toISOString();
  const final: ReleaseRecord = { ...record, outcome, finishedAt, phases: record.phases.map((p) => ({ ...p, finishedAt, outcome: result.outcome })) };
  try {
    // Not the caller's signal: after an interrupt the record must still be written.
    await writeRelease(client, final, { keep: options.keep });
  } catch (error) {
    emit({ type: 'warning', message: `could not record release ${record.revision}: ${(error as Error).message}` });
  }
  await notify(options.notifications ?? [], {
    kind: result.outcome === 'succeeded' ? 'rolled-back' : 'failed',
    app: options.app, env: options.env, revision: record.revision, rolledBackTo: record.rolledBackTo, user: options.user,
    ...(record.images[0] ? { image: record.images[0] } : {}), durationMs: now().getTime() - Date.parse(record.startedAt),
    ...(result.outcome === 'succeeded' ? {} : { summary: result.message ?? result.outcome }),
  }, { env: options.envVars ?? {}, redact: createRedactor(secretValues(record.manifests)), ...(options.fetch ? { fetch: options.fetch } : {}), onWarning: (message) => emit({ type: 'warning', message }) });
}

function finishedEvent(result: RollbackResult, record: ReleaseRecord, durationMs: number): DeployEvent {
  const applied = record.inventory.map((e) => ({ kind: e.kind, name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) }));
  return { type: 'deploy-finished', outcome: result.outcome, exitCode: result.exitCode, durationMs, revision: String(result.revision), ...(result.message ? { message: result.message } : {}), applied, notApplied: [] };
}
