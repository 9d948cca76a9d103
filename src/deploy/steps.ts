// The steps of one deploy before and after its phases: validate (dry run, audit gate, scheduling
// preflight), show the plan or the diff, lock (namespace, lock), record (release record), prune. Each step
// returns the deploy's result when it ends the deploy, else what the next step needs.
import { refuseBrokenObjects, resolveAuditConfig } from '../audit/index.js';
import { during } from '../kube/index.js';
import type { RenderedPhase } from '../render/index.js';
import { LockHeldError } from '../release/index.js';
import { objectKey, objectRef, sortKeys, type KubeObject } from '../shared/index.js';
import { applyAll, eventObject } from '../apply/index.js';
import { keepRecentHookJobs } from '../tasks/index.js';
import { notLiveReason } from '../migrate/index.js';
import { collectDiffs } from './diff-environment.js';
import type { EventObject } from '../events/index.js';
import { EXIT, type DeployResult, type StepContext } from './deploy-types.js';
import { DeployRecorder } from './recorder.js';
import { checkScheduling, readPreflightSnapshot } from './scheduling-step.js';
import { validateDeploy, type PreparedPhase, type Validation } from './validate.js';

/** What validation leaves for the rest of the deploy (the dry-run answers are let go after the plan). */
export interface Validated {
  readonly validation: Validation;
  /** The objects to prune: none with --no-prune. */
  readonly toPrune: readonly KubeObject[];
}

/**
 * Server-side dry run of every object, and what exists now (for the plan and prune). The audit's
 * certainly-broken findings (a reference to nothing, impossible zones, a runtime socket) are
 * looked for meanwhile: they read the cluster, never write. Either refusal is exit 2, as is a pod
 * the scheduling preflight finds no node for.
 */
export async function validateStep(
  ctx: StepContext,
  renderedPhases: readonly RenderedPhase[],
): Promise<Validated | DeployResult> {
  const { client, env, options, signal } = ctx;
  const { emit } = ctx.run;
  const audit = options.skipAudit
    ? undefined
    : refuseBrokenObjects(client, {
        namespace: env.namespace,
        rendered: renderedPhases.flatMap((p) => p.objects),
        config: resolveAuditConfig(env.audit),
        signal,
      });
  audit?.catch(() => {}); // awaited below, once the dry run passed
  const snapshot = readPreflightSnapshot(client, {
    namespace: env.namespace,
    skip: options.skipPreflight,
    signal,
  });
  // Read meanwhile, and judged before the dry run's own refusals: on a cut-over source those
  // mislead (a field conflict on the replicas the cutover scaled down).
  const notLive = notLiveReason(client, {
    namespace: env.namespace,
    app: env.app,
    env: env.name,
    signal,
  });
  const validationStart = Date.now();
  // A preview shows what every object would become; a takeover and --full send everything.
  const skipUnchanged = !options.full && !options.dryRun && !options.diff && !options.takeOver;
  const validating = validateDeploy(client, env, renderedPhases, {
    deployId: options.deployId,
    selector: ctx.selector,
    concurrency: ctx.concurrency,
    forceConflicts: options.forceConflicts,
    replaceRunningJobs: options.replaceRunningJobs,
    listExisting: options.prune !== false || !!options.dryRun || !!options.diff || skipUnchanged,
    keepManagedFields: !!options.diff,
    readHistory: options.record !== false,
    skipUnchanged,
    signal,
    warn: (message) => emit({ type: 'warning', message }),
  });
  const [validated, reason] = await Promise.allSettled([validating, notLive]);
  if (reason.status === 'fulfilled' && reason.value)
    return ctx.run.finish('invalid', EXIT.invalid, reason.value);
  if (validated.status === 'rejected') throw validated.reason;
  if (reason.status === 'rejected') throw reason.reason;
  const validation = validated.value;
  emit({
    type: 'validation-finished',
    objects: validation.validated.length - validation.unchanged.size,
    unchanged: validation.unchanged.size,
    durationMs: Date.now() - validationStart,
  });
  await audit;
  const unschedulable = await checkScheduling(client, validation, {
    namespace: env.namespace,
    skip: options.skipPreflight,
    signal,
    emit,
    snapshot,
  });
  if (unschedulable) return ctx.run.finish('invalid', EXIT.invalid, unschedulable);
  return { validation, toPrune: options.prune === false ? [] : validation.toPrune };
}

export interface DeployPlan {
  readonly create: EventObject[];
  readonly change: EventObject[];
  readonly unchanged: EventObject[];
  readonly prune: EventObject[];
}

/** What a deploy would create, change and prune, from its validation (pure). */
export function planFromValidation(validated: Validated): DeployPlan {
  const { validation } = validated;
  const existingByKey = new Map(validation.existing.map((o) => [objectKey(o), o]));
  const plan: DeployPlan = {
    create: [],
    change: [],
    unchanged: [],
    prune: validated.toPrune.map(eventObject),
  };
  for (const { desired } of validation.validated) {
    const live = existingByKey.get(objectKey(desired));
    if (!live) plan.create.push(eventObject(desired));
    else if (sameContent(live, desired)) plan.unchanged.push(eventObject(desired));
    else plan.change.push(eventObject(desired));
  }
  for (const o of validation.deferred) plan.create.push(eventObject(o.object));
  return plan;
}

/**
 * `--dry-run` ends the deploy with its plan; `--diff` shows what will change and asks. Returns the
 * deploy's result when it ends here.
 */
export async function previewStep(ctx: StepContext, validated: Validated): Promise<DeployResult | undefined> {
  const { options } = ctx;
  if (options.dryRun) {
    ctx.run.emit({ type: 'plan', ...planFromValidation(validated) });
    return ctx.run.finish('succeeded', 0, 'dry run: nothing was changed');
  }
  if (!options.diff) return undefined;
  const diffs = await collectDiffs(ctx.client, {
    desired: validated.validation.validated.map((v) => v.desired),
    prune: validated.toPrune,
    concurrency: ctx.concurrency,
    signal: ctx.signal,
  });
  const proceed = options.confirm ? await options.confirm(diffs) : true;
  return proceed ? undefined : ctx.run.finish('interrupted', 130, 'not confirmed: nothing was changed');
}

/**
 * From here on, the cluster changes: the namespace when the deploy creates it (the lock lives in
 * it), then the lock. Returns the deploy's result when it ends here.
 */
export async function lockStep(
  ctx: StepContext,
  validation: { readonly phases: readonly PreparedPhase[]; readonly createsNamespace: boolean },
  recording: RecordingOptions = {},
): Promise<DeployResult | undefined> {
  const { client, env, options, signal, run } = ctx;
  const { phases } = validation;
  if (validation.createsNamespace) {
    const ns = phases[0].objects[0];
    const created = await applyAll(client, [ns], { concurrency: 1, signal });
    if (created[0]?.error)
      return run.finish(
        'failed',
        1,
        `could not create namespace ${env.namespace}: ${(created[0].error as Error).message}`,
      );
  }
  if (options.record === false) return undefined;
  const recorder = new DeployRecorder({
    client,
    env,
    deployId: options.deployId,
    actor: options.actor ?? { user: 'unknown', host: 'unknown', holder: `capstan-${options.deployId}` },
    manifests: phases.flatMap((p) => p.objects.map((o) => o.object)),
    envVars: options.envVars ?? {},
    redact: ctx.redact,
    warn: (message) => run.emit({ type: 'warning', message }),
    signal,
    fetch: options.fetch,
    process: options.process,
    lockWaitMs: options.lockWaitMs,
    ...recording,
  });
  try {
    await recorder.takeLock();
    run.recorder = recorder;
    return undefined;
  } catch (error) {
    // Returned, not thrown: the hint (when the lock can be taken over) goes with the reason.
    if (error instanceof LockHeldError)
      return run.finish(
        'locked',
        EXIT.locked,
        error.hint ? `${error.message}\n${error.hint}` : error.message,
      );
    if (signal.aborted)
      return run.finish('interrupted', EXIT.interrupted, 'interrupted while waiting for the lock');
    throw error;
  }
}

/** What a multi-cluster deploy changes in how each cluster records its release. */
export interface RecordingOptions {
  /** Send the per-cluster notifications (default true; a multi-cluster deploy sends one for all). */
  readonly notify?: boolean;
  readonly skippedClusters?: readonly string[];
}

/** With the lock held: the `running` release record, numbered `release` (default: the next in this cluster). */
export async function recordStep(ctx: StepContext, release?: number): Promise<void> {
  const recorder = ctx.run.recorder;
  if (!recorder) return;
  await recorder.open(release ?? (await recorder.nextRelease()));
}

/** Prunes what this app and environment no longer renders, once every phase succeeded; the lock is checked first. */
export async function pruneStep(ctx: StepContext, toPrune: readonly KubeObject[]): Promise<DeployResult> {
  const { client, env, signal, run } = ctx;
  const lost = await run.recorder?.lockLost();
  if (lost) return run.finish('lock-lost', EXIT.locked, lost);
  for (const object of toPrune) {
    try {
      await during(`pruning ${objectRef(object)}, no longer rendered, needs it`, () =>
        client.delete(
          {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: object.metadata.name ?? '',
            namespace: object.metadata.namespace,
          },
          { propagationPolicy: 'Background', signal },
        ),
      );
      run.emit({ type: 'object-pruned', object: eventObject(object), dryRun: false });
    } catch (error) {
      run.emit({
        type: 'warning',
        message: `could not prune ${objectRef(object)}: ${(error as Error).message}`,
      });
    }
  }
  // Old hook Jobs go quietly: the last 3 runs of each hook stay for debugging.
  await keepRecentHookJobs(client, { namespace: env.namespace, selector: ctx.selector, keep: 3 }).catch(
    () => [],
  );
  return run.finish('succeeded', 0);
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
