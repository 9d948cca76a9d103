// One phase of a deploy: the hook Jobs of earlier deploys first (adopted, waited for, replaced),
// then its objects applied in dependency order (or by kind groups when it defines CRDs), then the
// wait until each is ready by its kind's rules, hook Jobs' logs streaming meanwhile.
import { setMaxListeners } from 'node:events';
import { groupByKindOrder, managedLabels, type RenderedObject } from '../render/index.js';
import {
  describeUnreachable,
  formatDiagnosis,
  startWaitWatches,
  waitForObjects,
  type Readiness,
  type WaitResult,
} from '../rollout/index.js';
import { objectKey, objectRef, type KubeObject, type SourceLocation } from '../shared/index.js';
import {
  applyAll,
  FIELD_MANAGER,
  applyPriorities,
  applyScheduled,
  eventObject,
  issuesFromApplyError,
  planApplyOrder,
  serialLane,
  type ApplyOutcome,
} from '../apply/index.js';
import { followJobLogs } from '../tasks/index.js';
import { EXIT, type DeployResult, type StepContext } from './deploy-types.js';
import type { DeployEvent } from '../events/index.js';
import { deleteSucceededHooks } from './helm-hooks-step.js';
import { planHookJobs, replacePhaseJobs, runningJobText, type HookJobPlan } from './hook-jobs.js';
import { dryRunAll, type PreparedPhase } from './validate.js';

/** What every phase of one deploy reads of its validation. */
export interface PhaseInputs {
  readonly hookJobs: ReadonlyMap<string, HookJobPlan>;
  /** Custom resources whose CRD a phase defines: validated once the API serves them. */
  readonly deferred: readonly RenderedObject[];
  /** The resourceVersion of each object that existed before the deploy, to tell created from unchanged. */
  readonly existingRv: ReadonlyMap<string, string | undefined>;
  /** Objects not sent because unchanged since Capstan last applied them, as listed, by key. */
  readonly unchanged: ReadonlyMap<string, KubeObject>;
}

/** Runs one phase; returns the deploy's result when the phase ends the deploy, undefined when it succeeded. */
export async function runPhase(
  ctx: StepContext,
  phase: PreparedPhase,
  inputs: PhaseInputs,
): Promise<DeployResult | undefined> {
  const { client, signal, run } = ctx;
  const { emit, finish } = run;
  if (signal.aborted) return finish('interrupted', 130, 'interrupted before phase ' + phase.name);
  const phaseStart = Date.now();
  run.recorder?.phaseStarted(phase.name);
  emit({ type: 'phase-started', phase: phase.name, objects: phase.objects.length });
  // The phase's Jobs are judged again under the lock: one left running may have ended since.
  const { plans: hookJobs, issues } = await planHookJobs(client, phase.objects, {
    labels: managedLabels(ctx.env.app, ctx.env.name),
    concurrency: ctx.concurrency,
    replaceRunning: ctx.options.replaceRunningJobs,
    signal,
  });
  if (issues.length > 0) return finish('failed', 1, issues.map((i) => i.message).join('; '));
  // Finished Jobs of earlier deploys that this phase runs again go first (their logs kept in the record).
  announceAdoptedJobs(phase, hookJobs, emit);
  const jobs = await replacePhaseJobs(client, phase.objects, hookJobs, {
    concurrency: ctx.concurrency,
    signal,
    deadline: ctx.deadline,
    keep: run.recorder && ((e) => run.recorder!.keepReplacedJob(e)),
    lockLost: run.recorder && (() => run.recorder!.lockLost()),
    onWaiting: (live, message) =>
      emit({ type: 'object-waiting', phase: phase.name, object: eventObject(live), message }),
  });
  if (jobs.failure) return finish(jobs.failure.outcome, jobs.failure.exitCode, jobs.failure.message);
  // Each object goes once what it needs is applied (docs/apply-order.md); a phase that defines
  // CRDs keeps whole kind groups, so that its custom resources wait until the API serves them.
  const scheduled = !phase.objects.some((o) => o.object.kind === 'CustomResourceDefinition');
  // The wait's watches list while the phase applies (kinds a CRD of the phase defines are not
  // served yet, so such a phase lists once applied); stopped when the phase is over.
  const stopWatches = new AbortController();
  setMaxListeners(0, stopWatches.signal);
  const stopOnAbort = () => stopWatches.abort();
  signal.addEventListener('abort', stopOnAbort, { once: true });
  const watches = scheduled
    ? startWaitWatches(
        client,
        phase.objects.map((o) => o.object),
        { selector: ctx.selector, signal: stopWatches.signal },
      )
    : undefined;
  try {
    const { toSend, unchanged } = leaveUnchanged(ctx, phase, inputs.unchanged);
    const applied = await applyPhase(ctx, toSend, {
      ...inputs,
      hookJobs,
      replaced: jobs.replaced,
      scheduled,
    });
    if (!Array.isArray(applied)) return applied;
    // Unchanged objects are waited for as applied ones: an earlier rollout may not be over.
    const ended = await waitForPhase(ctx, phase, [...applied, ...unchanged], { hookJobs, watches });
    if (ended) return ended;
    await deleteSucceededHooks(client, phase, signal);
  } finally {
    signal.removeEventListener('abort', stopOnAbort);
    stopWatches.abort();
  }
  run.recorder?.phaseFinished(phase.name, 'succeeded');
  emit({ type: 'phase-finished', phase: phase.name, durationMs: Date.now() - phaseStart });
  return undefined;
}

/** The phase without its unchanged objects, which are told and kept for the record as listed. */
function leaveUnchanged(
  ctx: StepContext,
  phase: PreparedPhase,
  unchanged: ReadonlyMap<string, KubeObject>,
): { toSend: PreparedPhase; unchanged: KubeObject[] } {
  if (unchanged.size === 0) return { toSend: phase, unchanged: [] };
  const left: KubeObject[] = [];
  const toSend = phase.objects.filter((o) => {
    const live = unchanged.get(objectKey(o.object));
    if (live) left.push(live);
    return !live;
  });
  for (const live of left) {
    ctx.run.unchanged.push(live);
    ctx.run.emit({ type: 'object-unchanged', phase: phase.name, object: eventObject(live) });
  }
  return { toSend: { ...phase, objects: toSend }, unchanged: left };
}

/** Applies a phase's objects; returns them as the API server answered, or the deploy's result when the apply failed. */
async function applyPhase(
  ctx: StepContext,
  phase: PreparedPhase,
  inputs: PhaseInputs & { readonly replaced: ReadonlySet<string>; readonly scheduled: boolean },
): Promise<KubeObject[] | DeployResult> {
  const { client, env, options, signal, run } = ctx;
  const { emit, finish } = run;
  const liveObjects: KubeObject[] = [];
  const recordApplied = (r: ApplyOutcome) => {
    if (!r.live) return;
    // An object Capstan did not know that another field manager wrote to was there already (taken over).
    const foreign = ((r.live.metadata.managedFields ?? []) as { manager?: string }[]).some(
      (f) => f.manager !== FIELD_MANAGER,
    );
    delete r.live.metadata.managedFields;
    run.applied.push(r.live);
    liveObjects.push(r.live);
    const before = inputs.existingRv.get(objectKey(r.live));
    const action = inputs.replaced.has(objectKey(r.live))
      ? 'replaced'
      : before === undefined
        ? foreign
          ? 'configured'
          : 'created'
        : before === r.live.metadata.resourceVersion
          ? 'unchanged'
          : 'configured';
    emit({ type: 'object-applied', phase: phase.name, object: eventObject(r.live), action });
  };
  const { scheduled } = inputs;
  for (const group of scheduled ? [phase.objects] : groupByKindOrder(phase.objects)) {
    const lost = await run.recorder?.lockLost();
    if (lost) return finish('lock-lost', EXIT.locked, lost);
    const applyOptions = {
      concurrency: ctx.concurrency,
      force: options.forceConflicts,
      signal,
      onRestored: (object: KubeObject, managers: readonly string[], fields: readonly string[]) =>
        emit({
          type: 'warning',
          message: `${object.kind}/${object.metadata.name ?? ''}: ${fields.join(', ')} changed by ${managers.join(', ')}: put back to the rendered value${fields.length === 1 ? '' : 's'}`,
        }),
    };
    const objects = group.map((o) => o.object);
    const dependencies = scheduled ? planApplyOrder(objects, env.namespace) : [];
    const results = scheduled
      ? await applyScheduled(client, group, {
          ...applyOptions,
          dependencies,
          priorities: applyPriorities(objects, dependencies),
          serial: serialLane(objects),
          onOutcome: recordApplied,
        })
      : await applyAll(client, group, applyOptions);
    if (!scheduled) results.forEach(recordApplied);
    const failures = results.filter((r) => r.error !== undefined);
    if (failures.length > 0) {
      if (signal.aborted) return finish('interrupted', 130, 'interrupted while applying');
      for (const f of failures) {
        emit({
          type: 'object-failed',
          phase: phase.name,
          object: eventObject(f.source.object),
          message: issuesFromApplyError(f.source, f.error)
            .map((i) => i.message)
            .join('; '),
          source: f.source.source,
        });
      }
      const lines = failures.flatMap((f) => issuesFromApplyError(f.source, f.error)).map((i) => i.message);
      return finish('failed', 1, `apply failed in phase ${phase.name}:\n  ${lines.join('\n  ')}`);
    }
    const crds = results.filter((r) => r.live?.kind === 'CustomResourceDefinition').map((r) => r.live!);
    const notServed = await awaitCustomResources(ctx, crds, inputs.deferred);
    if (notServed) return notServed;
  }
  return liveObjects;
}

/**
 * Custom resources may follow their CRD in the same phase: waits until the API serves them, then
 * validates those that were deferred. Returns the deploy's result when the CRDs never became established.
 */
async function awaitCustomResources(
  ctx: StepContext,
  crds: readonly KubeObject[],
  deferred: readonly RenderedObject[],
): Promise<DeployResult | undefined> {
  if (crds.length === 0) return undefined;
  const { client, signal } = ctx;
  const established = await waitForObjects({
    client,
    targets: crds,
    signal,
    deadline: ctx.deadline,
    progressDeadlineMs: 60_000,
    since: new Date(ctx.run.started),
  });
  if (established.outcome !== 'ready')
    return ctx.run.finish(
      'failed',
      1,
      `CustomResourceDefinitions not established: ${crds.map(objectRef).join(', ')}`,
    );
  client.discovery.invalidate();
  const groups = new Set(crds.map((c) => (c as { spec?: { group?: string } }).spec?.group));
  const ready = deferred.filter((o) => groups.has(o.object.apiVersion.split('/')[0]));
  await dryRunAll(client, ready, {
    concurrency: ctx.concurrency,
    force: ctx.options.forceConflicts,
    signal,
    hint: 'custom resources were refused once their CustomResourceDefinition existed',
  });
  return undefined;
}

/** Waits for a phase's applied objects, hook Jobs' logs streaming meanwhile; the deploy's result when the phase did not succeed. */
async function waitForPhase(
  ctx: StepContext,
  phase: PreparedPhase,
  liveObjects: readonly KubeObject[],
  inputs: {
    readonly hookJobs: ReadonlyMap<string, HookJobPlan>;
    readonly watches: ReturnType<typeof startWaitWatches> | undefined;
  },
): Promise<DeployResult | undefined> {
  const { client, env, options, signal, run } = ctx;
  const { emit } = run;
  const logStop = new AbortController();
  const followers = liveObjects
    .filter((o) => o.kind === 'Job' && inputs.hookJobs.get(objectKey(o))?.action !== 'done')
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
    watches: inputs.watches,
    selector: ctx.selector,
    signal,
    deadline: ctx.deadline,
    progressDeadlineMs: options.progressDeadlineMs ?? Math.min(ctx.timeoutMs, 5 * 60_000),
    since: new Date(run.started - 1000),
    replaceBrokenPods: options.replaceBrokenPods,
    onUpdate: (object: KubeObject, readiness: Readiness) => {
      const obj = eventObject(object);
      if (readiness.status === 'ready')
        emit({ type: 'object-ready', phase: phase.name, object: obj, message: readiness.message });
      else if (readiness.status === 'pending')
        emit({ type: 'object-waiting', phase: phase.name, object: obj, message: readiness.message });
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
      ...sourceOf(phase.objects, f.object),
    });
  }
  return phaseEnd(ctx, phase.name, result);
}

/** How a phase's wait ends the deploy, if it does. */
function phaseEnd(ctx: StepContext, phase: string, result: WaitResult): Promise<DeployResult> | undefined {
  const { finish } = ctx.run;
  if (result.unreachable && (result.outcome === 'timed-out' || result.outcome === 'no-progress'))
    return finish(
      'timed-out',
      3,
      `${describeUnreachable(result.unreachable)}; stopped waiting in phase ${phase}`,
    );
  switch (result.outcome) {
    case 'ready':
      return undefined;
    case 'failed':
      return finish(
        'failed',
        1,
        `phase ${phase} failed: ${result.failed.map((f) => `${objectRef(f.object)}: ${f.readiness.message}`).join('; ')}`,
      );
    case 'interrupted':
      return finish('interrupted', 130, `interrupted while waiting in phase ${phase}`);
    case 'timed-out':
      return finish(
        'timed-out',
        3,
        `timed out after ${Math.round(ctx.timeoutMs / 1000)}s waiting in phase ${phase}`,
      );
    case 'no-progress':
      return finish(
        'timed-out',
        3,
        `no progress for ${Math.round((ctx.options.progressDeadlineMs ?? 300_000) / 1000)}s in phase ${phase}`,
      );
  }
}

/** A running Job of this deploy's spec, left by a deploy that died, is waited for as this deploy's own. */
function announceAdoptedJobs(
  phase: PreparedPhase,
  plans: ReadonlyMap<string, HookJobPlan>,
  emit: (event: DeployEvent) => void,
): void {
  for (const o of phase.objects) {
    const plan = plans.get(objectKey(o.object));
    if (plan?.action !== 'adopt') continue;
    emit({
      type: 'warning',
      message: `${objectRef(plan.live)} was still running with this deploy's spec (${runningJobText(plan.live, Date.now())}), left by a deploy that did not finish: waiting for it as this deploy's own, following its logs`,
    });
  }
}

/** Where a failed object came from, for the event: the rendered object of the same identity. */
function sourceOf(objects: readonly RenderedObject[], live: KubeObject): { source?: SourceLocation } {
  const key = objectKey(live);
  const rendered = objects.find((o) => objectKey(o.object) === key);
  return rendered ? { source: rendered.source } : {};
}
