import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { loadConfig, resolveEnvironment, type ResolvedEnvironment } from '../config/index.js';
import { KubeApiError, KubeClient } from '../kube/index.js';
import { groupByKindOrder, managedLabels, renderEnvironment, type RenderedObject, type RenderedPhase } from '../render/index.js';
import { formatDiagnosis, waitForObjects, type Readiness } from '../rollout/index.js';
import { CapstanError, ConfigError, objectKey, objectRef, type Issue, type KubeObject } from '../shared/index.js';
import { createRedactor, secretValues } from '../secrets/index.js';
import { applyAll, issuesFromApplyError } from './apply.js';
import { createSecretsRenderer } from './secrets.js';
import { DeployRecorder, type Actor } from './recorder.js';
import { collectDiffs, LockHeldError, readReleases, type ObjectDiff } from '../release/index.js';
import { followJobLogs, HOOK_LABEL, keepRecentHookJobs, TASK_LABEL } from '../tasks/index.js';
import type { DeployEvent, DeployEventSink, DeployOutcome, EventObject } from './events.js';
import { listLabelled, prunableTypes } from './prune.js';

export interface DeployOptions {
  readonly cwd: string;
  readonly env: string;
  readonly image?: string;
  readonly set?: readonly string[];
  readonly kubeconfig?: string;
  /** Overrides the environment's kube context. */
  readonly context?: string;
  readonly timeoutMs?: number;
  /** Fail when no object changes state for this long. */
  readonly progressDeadlineMs?: number;
  readonly dryRun?: boolean;
  readonly prune?: boolean;
  readonly forceConflicts?: boolean;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: DeployEventSink;
  /** Environment variables (KUBECONFIG, secrets keys); the library reads no globals. */
  readonly envVars?: NodeJS.ProcessEnv;
  readonly revision?: string;
  /** Who deploys, for the release record and the lock; default: unknown. */
  readonly actor?: Actor;
  /** Show what will change (server-side dry run against live objects) before applying. */
  readonly diff?: boolean;
  /** Asked with the diff when `diff` is set; false stops the deploy before any write. */
  readonly confirm?: (diffs: readonly ObjectDiff[]) => Promise<boolean>;
  /** Record a release, take the lock and notify (default true). */
  readonly record?: boolean;
  readonly fetch?: typeof fetch;
  /** Overrides how a phase's secrets.ejson files become Secrets (default: ejson with the usual key sources). */
  readonly renderSecrets?: (file: string, namespace: string, client: KubeClient | undefined) => Promise<readonly KubeObject[]>;
}

export interface DeployResult {
  readonly outcome: DeployOutcome;
  readonly exitCode: number;
  readonly revision: string;
  readonly message?: string;
  readonly applied: readonly KubeObject[];
}

export const EXIT = { ok: 0, failed: 1, invalid: 2, timeout: 3, locked: 4, interrupted: 130 } as const;

export function newRevision(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export function eventObject(object: KubeObject): EventObject {
  return { kind: object.kind, name: object.metadata.name ?? '', namespace: object.metadata.namespace };
}

export function selectorOf(app: string, env: string): string {
  return Object.entries(managedLabels(app, env)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The whole deploy: validate everything, then phase by phase apply and wait, then prune. */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const started = Date.now();
  const sink = options.onEvent ?? (() => {});
  // Every event passes through the redactor once the secret values are known.
  let redact: ((text: string) => string) | undefined;
  const emit = (event: DeployEvent) => sink(redact ? (JSON.parse(redact(JSON.stringify(event))) as DeployEvent) : event);
  const revision = options.revision ?? newRevision();
  const applied: KubeObject[] = [];
  let allObjects: RenderedObject[] = [];

  const state: RunState = { emit, applied, started, recorder: undefined, image: options.image, finish: undefined as unknown as RunState['finish'] };
  const finish = async (outcome: DeployOutcome, exitCode: number, message?: string): Promise<DeployResult> => {
    const appliedKeys = new Set(applied.map(objectKey));
    await state.recorder?.finish(outcome, applied, { durationMs: Date.now() - started, summary: message, image: state.image });
    emit({
      type: 'deploy-finished',
      outcome,
      exitCode,
      durationMs: Date.now() - started,
      revision,
      message,
      applied: applied.map(eventObject),
      notApplied: allObjects.filter((o) => !appliedKeys.has(objectKey(o.object))).map((o) => eventObject(o.object)),
    });
    return { outcome, exitCode, revision, message, applied };
  };
  state.finish = finish;

  // 1. Everything local: config, templates, secrets. Nothing touches the cluster yet.
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveEnvironment(loaded, options.env, { set: options.set });
  const image = options.image ?? env.image;
  state.image = image;
  const client = await KubeClient.connect({ kubeconfig: options.kubeconfig, context: options.context ?? env.context, env: options.envVars });
  try {
    const renderSecrets = options.renderSecrets ?? createSecretsRenderer({
      app: env.app,
      env: env.name,
      envVars: options.envVars ?? {},
      warn: (message) => emit({ type: 'warning', message }),
    });
    const phases = await renderEnvironment({ env, image, revision, renderSecrets: (file, ns) => renderSecrets(file, ns, client) });
    allObjects = phases.flatMap((p) => [...p.objects]);
    const values = secretValues(allObjects.map((o) => o.object));
    if (values.length > 0) redact = createRedactor(values);
    emit({ type: 'deploy-started', app: env.app, env: env.name, namespace: env.namespace, revision, image, phases: phases.map((p) => p.name), dryRun: !!options.dryRun });
    try {
      return await deployRendered(client, env, phases, { ...options, revision }, state, redact ?? ((t) => t));
    } catch (error) {
      // Whatever broke, the record is completed and the lock released.
      await state.recorder?.finish('failed', applied, { durationMs: Date.now() - started, summary: (error as Error).message, image });
      throw error;
    }
  } finally {
    client.close();
  }
}

interface RunState {
  emit: (event: DeployEvent) => void;
  applied: KubeObject[];
  finish: (outcome: DeployOutcome, exitCode: number, message?: string) => Promise<DeployResult>;
  started: number;
  recorder: DeployRecorder | undefined;
  image: string | undefined;
}

async function namespaceExists(client: KubeClient, name: string): Promise<boolean> {
  try {
    return (await client.get({ apiVersion: 'v1', kind: 'Namespace', name })) !== undefined;
  } catch (error) {
    // An identity without cluster-wide reads cannot see namespaces: assume it exists.
    if (error instanceof KubeApiError && error.forbidden) return true;
    throw error;
  }
}

async function deployRendered(
  client: KubeClient,
  env: ResolvedEnvironment,
  renderedPhases: readonly RenderedPhase[],
  options: DeployOptions & { revision: string },
  state: RunState,
  redact: (text: string) => string,
): Promise<DeployResult> {
  const { emit, applied, finish } = state;
  const concurrency = options.concurrency ?? env.concurrency;
  const timeoutMs = options.timeoutMs ?? env.timeoutMs;
  const deadline = state.started + timeoutMs;
  const signal = options.signal ?? new AbortController().signal;
  // Every in-flight request listens to the signal; hundreds at once are expected.
  setMaxListeners(0, signal);
  const selector = selectorOf(env.app, env.name);
  const phases = renderedPhases.map((p) => ({ ...p, objects: p.objects.map((o) => markHookJob(o, options.revision)) }));

  // A missing namespace is created first; while it does not exist, objects are validated
  // against `default` so that the dry run still checks every field.
  const nsMissing = !(await namespaceExists(client, env.namespace));
  const rendersNamespace = phases.some((p) => p.objects.some((o) => o.object.kind === 'Namespace' && o.object.metadata.name === env.namespace));
  if (nsMissing && !rendersNamespace && phases.length > 0) {
    phases[0].objects.unshift({
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: env.namespace, labels: managedLabels(env.app, env.name) } },
      source: { file: env.configFile },
    });
  }

  // 2. Server-side dry run of every object, and what exists now (for the plan and prune).
  const validationStart = Date.now();
  const crdGroups = new Set(
    phases.flatMap((p) => p.objects).filter((o) => o.object.kind === 'CustomResourceDefinition').map((o) => (o.object as { spec?: { group?: string } }).spec?.group ?? ''),
  );
  const toValidate: RenderedObject[] = [];
  for (const o of phases.flatMap((p) => p.objects)) {
    const group = o.object.apiVersion.includes('/') ? o.object.apiVersion.split('/')[0] : '';
    if (crdGroups.has(group) && !(await client.discovery.find(o.object.apiVersion, o.object.kind))) continue; // validated once its CRD exists
    if (nsMissing && o.object.metadata.namespace === env.namespace) {
      toValidate.push({ ...o, object: { ...o.object, metadata: { ...o.object.metadata, namespace: 'default' } } });
    } else toValidate.push(o);
  }
  // What exists now, for the plan and for prune: with release records, only the kinds this
  // deploy renders or an earlier release applied; without, every prunable kind.
  const history = options.record === false || nsMissing ? [] : await readReleases(client, { namespace: env.namespace, app: env.app, env: env.name, onDamaged: (e) => emit({ type: 'warning', message: e.message }) }).catch(() => []);
  const kindsToList = new Set([...phases.flatMap((p) => p.objects.map((o) => o.object.kind)), ...history.flatMap((r) => r.inventory.map((i) => i.kind))]);
  const existingPromise = options.prune === false && !options.dryRun
    ? Promise.resolve([] as KubeObject[])
    : client.discovery.all().then((types) => {
        const prunable = prunableTypes(types.filter((t) => t.namespaced || t.kind !== 'Namespace'));
        return listLabelled(client, history.length > 0 ? prunable.filter((t) => kindsToList.has(t.kind)) : prunable, { namespace: env.namespace, selector, signal });
      });
  const [dryRuns, existing] = await Promise.all([
    applyAll(client, toValidate, { concurrency, dryRun: true, force: options.forceConflicts, signal }),
    existingPromise,
  ]);
  const issues: Issue[] = dryRuns.flatMap((r) => (r.error === undefined ? [] : issuesFromApplyError(r.source, r.error)));
  if (issues.length > 0) throw new ConfigError(issues, { hint: 'the API server refused these objects in a dry run; nothing was applied' });
  emit({ type: 'validation-finished', objects: toValidate.length, durationMs: Date.now() - validationStart });

  const renderedKeys = new Set(phases.flatMap((p) => p.objects.map((o) => objectKey(o.object))));
  const toPrune = options.prune === false ? [] : existing.filter((o) => !renderedKeys.has(objectKey(o)) && !isKeptHookJob(o));

  if (options.dryRun) {
    const existingByKey = new Map(existing.map((o) => [objectKey(o), o]));
    const plan = { create: [] as EventObject[], change: [] as EventObject[], unchanged: [] as EventObject[] };
    for (const r of dryRuns) {
      const live = existingByKey.get(objectKey(r.source.object));
      if (!live) plan.create.push(eventObject(r.source.object));
      else if (r.live && sameContent(live, r.live)) plan.unchanged.push(eventObject(r.source.object));
      else plan.change.push(eventObject(r.source.object));
    }
    emit({ type: 'plan', ...plan, prune: toPrune.map(eventObject) });
    return finish('succeeded', 0, 'dry run: nothing was changed');
  }

  if (options.diff) {
    const diffs = await collectDiffs(client, { desired: dryRuns.flatMap((r) => (r.live ? [r.live] : [])), prune: toPrune, concurrency, signal });
    const proceed = options.confirm ? await options.confirm(diffs) : true;
    if (!proceed) return finish('interrupted', 130, 'not confirmed: nothing was changed');
  }

  // 3. The lock, the release record and the notifications: from here on, the cluster changes.
  if (nsMissing && !rendersNamespace) {
    const ns = phases[0].objects[0];
    const created = await applyAll(client, [ns], { concurrency: 1, signal });
    if (created[0]?.error) return finish('failed', 1, `could not create namespace ${env.namespace}: ${(created[0].error as Error).message}`);
  }
  if (options.record !== false) {
    const recorder = new DeployRecorder({
      client,
      env,
      deployId: options.revision,
      actor: options.actor ?? { user: 'unknown', host: 'unknown', holder: `capstan-${options.revision}` },
      manifests: phases.flatMap((p) => p.objects.map((o) => o.object)),
      envVars: options.envVars ?? {},
      redact,
      warn: (message) => emit({ type: 'warning', message }),
      signal,
      fetch: options.fetch,
    });
    try {
      await recorder.start(history);
      state.recorder = recorder;
    } catch (error) {
      if (error instanceof LockHeldError) return finish('locked', 4, error.message);
      throw error;
    }
  }
  const previous = state.recorder?.previousInventory;
  // With release records, prune only what an earlier release applied.
  const pruneNow = previous ? toPrune.filter((o) => previous.has(objectKey(o))) : toPrune;

  // 4. Phase by phase: apply by kind groups, then wait for the phase's objects.
  const existingRv = new Map(existing.map((o) => [objectKey(o), o.metadata.resourceVersion]));
  for (const phase of phases) {
    if (signal.aborted) return finish('interrupted', 130, 'interrupted before phase ' + phase.name);
    const phaseStart = Date.now();
    state.recorder?.phaseStarted(phase.name);
    emit({ type: 'phase-started', phase: phase.name, objects: phase.objects.length });
    const liveObjects: KubeObject[] = [];
    for (const group of groupByKindOrder(phase.objects)) {
      const results = await applyAll(client, group, { concurrency, force: options.forceConflicts, signal });
      const failures = results.filter((r) => r.error !== undefined);
      for (const r of results) {
        if (!r.live) continue;
        applied.push(r.live);
        liveObjects.push(r.live);
        const before = existingRv.get(objectKey(r.live));
        const action = before === undefined ? 'created' : before === r.live.metadata.resourceVersion ? 'unchanged' : 'configured';
        emit({ type: 'object-applied', phase: phase.name, object: eventObject(r.live), action });
      }
      if (failures.length > 0) {
        if (signal.aborted) return finish('interrupted', 130, 'interrupted while applying');
        const lines = failures.flatMap((f) => issuesFromApplyError(f.source, f.error)).map((i) => i.message);
        for (const f of failures) {
          emit({ type: 'object-failed', phase: phase.name, object: eventObject(f.source.object), message: issuesFromApplyError(f.source, f.error).map((i) => i.message).join('; ') });
        }
        return finish('failed', 1, `apply failed in phase ${phase.name}:\n  ${lines.join('\n  ')}`);
      }
      // Custom resources may follow their CRD in the same phase: wait until the API serves them.
      const crds = results.filter((r) => r.live?.kind === 'CustomResourceDefinition').map((r) => r.live!);
      if (crds.length > 0) {
        const established = await waitForObjects({ client, targets: crds, signal, deadline, progressDeadlineMs: 60_000, since: new Date(state.started) });
        if (established.outcome !== 'ready') return finish('failed', 1, `CustomResourceDefinitions not established: ${crds.map(objectRef).join(', ')}`);
        client.discovery.invalidate();
        await dryRunLater(client, phases, results, { concurrency, force: options.forceConflicts, signal });
      }
    }
    // Hook Jobs' logs stream to the output while the phase waits.
    const logStop = new AbortController();
    const followers = liveObjects
      .filter((o) => o.kind === 'Job')
      .map((job) =>
        followJobLogs({
          client,
          namespace: job.metadata.namespace ?? env.namespace,
          jobName: job.metadata.name ?? '',
          signal: logStop.signal,
          onLine: (line) => emit({ type: 'log', phase: phase.name, object: eventObject(job), line }),
        }),
      );
    const result = await waitForObjects({
      client,
      targets: liveObjects,
      selector,
      signal,
      deadline,
      progressDeadlineMs: options.progressDeadlineMs ?? Math.min(timeoutMs, 5 * 60_000),
      since: new Date(state.started - 1000),
      onUpdate: (object: KubeObject, readiness: Readiness) => {
        const obj = eventObject(object);
        if (readiness.status === 'ready') emit({ type: 'object-ready', phase: phase.name, object: obj, message: readiness.message });
        else if (readiness.status === 'pending') emit({ type: 'object-waiting', phase: phase.name, object: obj, message: readiness.message });
      },
    });
    await Promise.all(followers.map((f) => f.drained()));
    logStop.abort();
    for (const f of result.failed) {
      emit({
        type: 'object-failed',
        phase: phase.name,
        object: eventObject(f.object),
        message: f.readiness.message,
        diagnosis: f.diagnosis,
        diagnosisText: formatDiagnosis(objectRef(f.object), f.diagnosis),
      });
    }
    switch (result.outcome) {
      case 'ready':
        break;
      case 'failed':
        return finish('failed', 1, `phase ${phase.name} failed: ${result.failed.map((f) => `${objectRef(f.object)}: ${f.readiness.message}`).join('; ')}`);
      case 'interrupted':
        return finish('interrupted', 130, `interrupted while waiting in phase ${phase.name}`);
      case 'timed-out':
        return finish('timed-out', 3, `timed out after ${Math.round(timeoutMs / 1000)}s waiting in phase ${phase.name}`);
      case 'no-progress':
        return finish('timed-out', 3, `no progress for ${Math.round((options.progressDeadlineMs ?? 300_000) / 1000)}s in phase ${phase.name}`);
    }
    state.recorder?.phaseFinished(phase.name, 'succeeded');
    emit({ type: 'phase-finished', phase: phase.name, durationMs: Date.now() - phaseStart });
  }

  // 5. Prune what this app and environment no longer renders.
  for (const object of pruneNow) {
    try {
      await client.delete(
        { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name ?? '', namespace: object.metadata.namespace },
        { propagationPolicy: 'Background', signal },
      );
      emit({ type: 'object-pruned', object: eventObject(object), dryRun: false });
    } catch (error) {
      emit({ type: 'warning', message: `could not prune ${objectRef(object)}: ${(error as Error).message}` });
    }
  }
  // Old hook Jobs go quietly: the last 3 runs of each hook stay for debugging.
  await keepRecentHookJobs(client, { namespace: env.namespace, selector, keep: 3 }).catch(() => []);
  return finish('succeeded', 0);
}

/** Jobs of a phase are hooks: labelled by name without the revision, kept for a while after they finish. */
function markHookJob(rendered: RenderedObject, revision: string): RenderedObject {
  if (rendered.object.kind !== 'Job') return rendered;
  const name = rendered.object.metadata.name ?? '';
  const hook = name.replace(revision, '').replace(/-{2,}/g, '-').replace(/^-|-$/g, '') || name;
  const spec = (rendered.object as { spec?: Record<string, unknown> }).spec ?? {};
  return {
    ...rendered,
    object: {
      ...rendered.object,
      metadata: { ...rendered.object.metadata, labels: { ...rendered.object.metadata.labels, [HOOK_LABEL]: hook.slice(0, 63) } },
      spec: { ttlSecondsAfterFinished: 7 * 86_400, ...spec },
    },
  };
}

/** Whether a dry-run result equals the live object, ignoring what the server rewrites on every write. */
export function sameContent(live: KubeObject, dryRun: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...metadata } = o.metadata;
    const { status: _status, ...rest } = o as KubeObject & { status?: unknown };
    return JSON.stringify(sortKeys({ ...rest, metadata }));
  };
  return strip(live) === strip(dryRun);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Custom resources skipped by the first dry run are validated once their CRD exists. */
async function dryRunLater(
  client: KubeClient,
  phases: ReadonlyArray<{ objects: RenderedObject[] }>,
  crdResults: ReadonlyArray<{ live?: KubeObject }>,
  options: { concurrency: number; force?: boolean; signal: AbortSignal },
): Promise<void> {
  const groups = new Set(crdResults.map((r) => (r.live as { spec?: { group?: string } } | undefined)?.spec?.group));
  const pending = phases.flatMap((p) => p.objects).filter((o) => o.object.apiVersion.includes('/') && groups.has(o.object.apiVersion.split('/')[0]));
  const results = await applyAll(client, pending, { ...options, dryRun: true });
  const issues = results.flatMap((r) => (r.error === undefined ? [] : issuesFromApplyError(r.source, r.error)));
  if (issues.length > 0) throw new ConfigError(issues, { hint: 'custom resources were refused once their CustomResourceDefinition existed' });
}

/** Hook Jobs of earlier deploys are kept for debugging; the tasks cleanup removes old ones. */
function isKeptHookJob(object: KubeObject): boolean {
  const labels = object.metadata.labels ?? {};
  return object.kind === 'Job' && (labels[HOOK_LABEL] !== undefined || labels[TASK_LABEL] !== undefined);
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.invalid;
  if (error instanceof CapstanError && error.code === 'ERR_CAPSTAN_INVALID_INPUT') return EXIT.invalid;
  return EXIT.failed;
}
