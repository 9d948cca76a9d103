import { setMaxListeners } from 'node:events';
import { loadConfig, resolveEnvironment, type ResolvedEnvironment } from '../config/index.js';
import { refuseBrokenObjects, resolveAuditConfig } from '../audit/index.js';
import { during, KubeClient } from '../kube/index.js';
import {
  groupByKindOrder,
  renderEnvironment,
  type RenderedObject,
  type RenderedPhase,
} from '../render/index.js';
import {
  describeUnreachable,
  formatDiagnosis,
  startWaitWatches,
  waitForObjects,
  type Readiness,
} from '../rollout/index.js';
import {
  isInputError,
  objectKey,
  objectRef,
  sortKeys,
  type KubeObject,
  type SourceLocation,
} from '../shared/index.js';
import { deployPublicNames, Redactor, secretValues, unredactableSecretWarnings } from '../secrets/index.js';
import {
  applyAll,
  applyPriorities,
  applyScheduled,
  createSecretsRenderer,
  eventObject,
  issuesFromApplyError,
  newDeployId,
  planApplyOrder,
  selectorOf,
  serialLane,
  type ApplyOutcome,
} from '../apply/index.js';
import { DeployRecorder, type Actor } from './recorder.js';
import { LockHeldError, type LocalProcess, type ObjectDiff } from '../release/index.js';
import { collectDiffs } from './diff-environment.js';
import { followJobLogs, keepRecentHookJobs, learnReferencedSecrets } from '../tasks/index.js';
import type { DeployEvent, DeployEventSink, DeployOutcome, EventObject } from './events.js';
import { replacePhaseJobs, runningJobText, type HookJobPlan } from './hook-jobs.js';
import { checkScheduling, readPreflightSnapshot } from './scheduling-step.js';
import { dryRunAll, validateDeploy, type Validation } from './validate.js';

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
  /** Do not stop on the audit's certainly-broken findings (missing references, impossible zones, runtime sockets). */
  readonly skipAudit?: boolean;
  readonly prune?: boolean;
  readonly forceConflicts?: boolean;
  /** Skip the scheduling preflight (will every pod and surge pod find a node). */
  readonly skipPreflight?: boolean;
  /** Delete broken pods of a StatefulSet's earlier revision that block its rolling update (forced rollback). */
  readonly replaceBrokenPods?: boolean;
  /**
   * Delete a phase Job an earlier deploy left running with another spec instead of waiting for it
   * to finish (a running Job of the very same spec is always adopted and waited for).
   */
  readonly replaceRunningJobs?: boolean;
  /** Longest wait for a lock held by a deploy that stopped renewing it (default 120 s; 0: exit 4 at once). */
  readonly lockWaitMs?: number;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: DeployEventSink;
  /** Environment variables (KUBECONFIG, secrets keys); the library reads no globals. */
  readonly envVars?: NodeJS.ProcessEnv;
  readonly deployId?: string;
  /** The commit and branch deployed, for templates (`commit`, `branch`) and the release record. */
  readonly commit?: string;
  readonly branch?: string;
  /** Who deploys, for the release record and the lock; default: unknown. */
  readonly actor?: Actor;
  /** This process and a probe of this machine's pids: the lock says when its holder ran here and has died. */
  readonly process?: LocalProcess;
  /** Show what will change (server-side dry run against live objects) before applying. */
  readonly diff?: boolean;
  /** Asked with the diff when `diff` is set; false stops the deploy before any write. */
  readonly confirm?: (diffs: readonly ObjectDiff[]) => Promise<boolean>;
  /** Record a release, take the lock and notify (default true). */
  readonly record?: boolean;
  readonly fetch?: typeof fetch;
  /** Overrides how a phase's secrets.ejson files become Secrets (default: ejson with the usual key sources). */
  readonly renderSecrets?: (
    file: string,
    namespace: string,
    client: KubeClient | undefined,
  ) => Promise<readonly KubeObject[]>;
  /**
   * Learns the deploy's secret values once they are rendered; every event is redacted with it.
   * The CLI passes its own, so that what it prints besides the events (errors, the diff) is too.
   */
  readonly redactor?: Redactor;
}

export interface DeployResult {
  readonly outcome: DeployOutcome;
  readonly exitCode: number;
  readonly deployId: string;
  readonly message?: string;
  /** The objects as the API server answered the apply, without managedFields (a third of their size). */
  readonly applied: readonly KubeObject[];
}

export const EXIT = { ok: 0, failed: 1, invalid: 2, timeout: 3, locked: 4, interrupted: 130 } as const;

/** The whole deploy: validate everything, then phase by phase apply and wait, then prune. */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const started = Date.now();
  const sink = options.onEvent ?? (() => {});
  const deployId = options.deployId ?? newDeployId();
  const applied: KubeObject[] = [];
  // Every event passes through the redactor, field by field, once the secret values are known.
  const redactor = options.redactor ?? new Redactor();
  const emit = (event: DeployEvent) => sink(redactor.event(event));
  const state: RunState = {
    emit,
    redactor,
    applied,
    started,
    recorder: undefined,
    image: options.image,
    rendered: [],
    finish: undefined as unknown as RunState['finish'],
  };
  const finish = async (
    outcome: DeployOutcome,
    exitCode: number,
    message?: string,
  ): Promise<DeployResult> => {
    const appliedKeys = new Set(applied.map(objectKey));
    await state.recorder?.finish(outcome, applied, {
      durationMs: Date.now() - started,
      summary: message,
      image: state.image,
    });
    emit({
      type: 'deploy-finished',
      outcome,
      exitCode,
      durationMs: Date.now() - started,
      deployId,
      ...(state.recorder?.releaseNumber === undefined ? {} : { release: state.recorder.releaseNumber }),
      message,
      applied: applied.map(eventObject),
      notApplied: state.rendered
        .filter((o) => !appliedKeys.has(objectKey(o.object)))
        .map((o) => eventObject(o.object)),
    });
    return { outcome, exitCode, deployId, message, applied };
  };
  state.finish = finish;

  try {
    return await runDeploy(options, deployId, state);
  } catch (error) {
    // The event stream always ends with deploy-finished; the record is completed and the lock released.
    const invalid = isInputError(error);
    await finish(
      invalid ? 'invalid' : 'failed',
      invalid ? EXIT.invalid : EXIT.failed,
      (error as Error).message,
    );
    throw error;
  }
}

async function runDeploy(options: DeployOptions, deployId: string, state: RunState): Promise<DeployResult> {
  const { emit } = state;
  // 1. Everything local: config, templates, secrets. Nothing touches the cluster yet.
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveEnvironment(loaded, options.env, { set: options.set });
  const image = options.image ?? env.image;
  state.image = image;
  // The client (a large library to load, then the kubeconfig) comes up while the templates render.
  const connecting = KubeClient.connect({
    kubeconfig: options.kubeconfig,
    context: options.context ?? env.context,
    env: options.envVars,
  });
  connecting.catch(() => {});
  let client: KubeClient | undefined;
  try {
    const renderSecrets =
      options.renderSecrets ??
      createSecretsRenderer({
        app: env.app,
        env: env.name,
        envVars: options.envVars ?? {},
        warn: (message) => emit({ type: 'warning', message }),
      });
    const phases = await renderEnvironment({
      env,
      image,
      deployId,
      commit: options.commit,
      branch: options.branch,
      renderSecrets: async (file, ns) => renderSecrets(file, ns, await connecting),
    });
    client = await connecting;
    state.rendered = phases.flatMap((p) => [...p.objects]);
    const rendered = state.rendered.map((o) => o.object);
    // The names that identify the deploy are public (capstan.yaml, labels, the namespace): a secret
    // value equal to one cannot be kept secret, and never rewrites them.
    state.redactor.addPublic(
      deployPublicNames({
        app: env.app,
        env: env.name,
        namespace: env.namespace,
        deployId,
        context: options.context ?? env.context,
        phases: phases.map((p) => p.name),
        objects: rendered,
      }),
    );
    state.redactor.add(secretValues(rendered));
    for (const message of unredactableSecretWarnings(rendered, state.redactor.isPublic))
      emit({ type: 'warning', message });
    // Secrets the pods read but Capstan did not render (made by hand, by another tool): a failing
    // container may print their values in the logs the diagnosis shows, so those are learnt too.
    const renderedSecrets = new Set(
      rendered
        .filter((o) => o.kind === 'Secret')
        .map((o) => `${o.metadata.namespace ?? env.namespace}/${o.metadata.name ?? ''}`),
    );
    const unreadable = await learnReferencedSecrets(client, {
      objects: rendered,
      namespace: env.namespace,
      skip: renderedSecrets,
      redactor: state.redactor,
      signal: options.signal,
    });
    if (unreadable.length > 0) {
      emit({
        type: 'warning',
        message: `could not read ${unreadable.join(', ')}, which the pods read: if a container prints their values, Capstan cannot redact them (docs/redaction.md)`,
      });
    }
    emit({
      type: 'deploy-started',
      app: env.app,
      env: env.name,
      namespace: env.namespace,
      deployId,
      image,
      phases: phases.map((p) => p.name),
      dryRun: !!options.dryRun,
    });
    return await deployRendered(client, env, phases, { ...options, deployId }, state, state.redactor.text);
  } finally {
    if (client) client.close();
    else
      void connecting.then(
        (c) => c.close(),
        () => {},
      );
  }
}

interface RunState {
  emit: (event: DeployEvent) => void;
  applied: KubeObject[];
  finish: (outcome: DeployOutcome, exitCode: number, message?: string) => Promise<DeployResult>;
  started: number;
  recorder: DeployRecorder | undefined;
  image: string | undefined;
  /** Everything rendered, for the objects not applied in the final report. */
  rendered: RenderedObject[];
  /** Holds the secret values once rendered. */
  redactor: Redactor;
}

async function deployRendered(
  client: KubeClient,
  env: ResolvedEnvironment,
  renderedPhases: readonly RenderedPhase[],
  options: DeployOptions & { deployId: string },
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

  // 2. Server-side dry run of every object, and what exists now (for the plan and prune). The
  // audit's certainly-broken findings (a reference to nothing, impossible zones, a runtime socket)
  // are looked for meanwhile: they read the cluster, never write. Either refusal is exit 2.
  const audit = options.skipAudit
    ? undefined
    : refuseBrokenObjects(client, {
        namespace: env.namespace,
        rendered: renderedPhases.flatMap((p) => p.objects),
        config: resolveAuditConfig(env.audit),
        signal,
      });
  audit?.catch(() => {}); // awaited below, once the dry run passed
  let snapshot = readPreflightSnapshot(client, {
    namespace: env.namespace,
    skip: options.skipPreflight,
    signal,
  });
  const validationStart = Date.now();
  let validation: Validation | undefined = await validateDeploy(client, env, renderedPhases, {
    deployId: options.deployId,
    selector,
    concurrency,
    forceConflicts: options.forceConflicts,
    replaceRunningJobs: options.replaceRunningJobs,
    listExisting: options.prune !== false || !!options.dryRun || !!options.diff,
    keepManagedFields: !!options.diff,
    readHistory: options.record !== false,
    signal,
    warn: (message) => emit({ type: 'warning', message }),
  });
  const { phases, hookJobs, deferred, createsNamespace } = validation;
  const toPrune = options.prune === false ? [] : validation.toPrune;
  emit({
    type: 'validation-finished',
    objects: validation.validated.length,
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
  if (unschedulable) return finish('invalid', EXIT.invalid, unschedulable);

  if (options.dryRun) {
    const existingByKey = new Map(validation.existing.map((o) => [objectKey(o), o]));
    const plan = { create: [] as EventObject[], change: [] as EventObject[], unchanged: [] as EventObject[] };
    for (const { desired } of validation.validated) {
      const live = existingByKey.get(objectKey(desired));
      if (!live) plan.create.push(eventObject(desired));
      else if (sameContent(live, desired)) plan.unchanged.push(eventObject(desired));
      else plan.change.push(eventObject(desired));
    }
    for (const o of validation.deferred) plan.create.push(eventObject(o.object));
    emit({ type: 'plan', ...plan, prune: toPrune.map(eventObject) });
    return finish('succeeded', 0, 'dry run: nothing was changed');
  }

  if (options.diff) {
    const diffs = await collectDiffs(client, {
      desired: validation.validated.map((v) => v.desired),
      prune: toPrune,
      concurrency,
      signal,
    });
    const proceed = options.confirm ? await options.confirm(diffs) : true;
    if (!proceed) return finish('interrupted', 130, 'not confirmed: nothing was changed');
  }

  // What the rest needs of the validation; the dry-run results, the objects listed for the plan and
  // the preflight's snapshot of the cluster (thousands of objects on a large app) are let go.
  const existingRv = new Map(validation.existing.map((o) => [objectKey(o), o.metadata.resourceVersion]));
  validation = undefined;
  snapshot = undefined;

  // 3. The lock, the release record and the notifications: from here on, the cluster changes.
  if (createsNamespace) {
    const ns = phases[0].objects[0];
    const created = await applyAll(client, [ns], { concurrency: 1, signal });
    if (created[0]?.error)
      return finish(
        'failed',
        1,
        `could not create namespace ${env.namespace}: ${(created[0].error as Error).message}`,
      );
  }
  if (options.record !== false) {
    const recorder = new DeployRecorder({
      client,
      env,
      deployId: options.deployId,
      actor: options.actor ?? { user: 'unknown', host: 'unknown', holder: `capstan-${options.deployId}` },
      manifests: phases.flatMap((p) => p.objects.map((o) => o.object)),
      envVars: options.envVars ?? {},
      redact,
      warn: (message) => emit({ type: 'warning', message }),
      signal,
      fetch: options.fetch,
      process: options.process,
      lockWaitMs: options.lockWaitMs,
    });
    try {
      await recorder.start();
      state.recorder = recorder;
    } catch (error) {
      if (error instanceof LockHeldError) return finish('locked', EXIT.locked, error.message);
      if (signal.aborted)
        return finish('interrupted', EXIT.interrupted, 'interrupted while waiting for the lock');
      throw error;
    }
  }
  // 4. Phase by phase: apply by kind groups, then wait for the phase's objects.
  for (const phase of phases) {
    if (signal.aborted) return finish('interrupted', 130, 'interrupted before phase ' + phase.name);
    const phaseStart = Date.now();
    state.recorder?.phaseStarted(phase.name);
    emit({ type: 'phase-started', phase: phase.name, objects: phase.objects.length });
    // Finished Jobs of earlier deploys that this phase runs again go first (their logs kept in the record).
    announceAdoptedJobs(phase, hookJobs, emit);
    const jobs = await replacePhaseJobs(client, phase.objects, hookJobs, {
      concurrency,
      signal,
      deadline,
      keep: state.recorder && ((e) => state.recorder!.keepReplacedJob(e)),
      onWaiting: (live, message) =>
        emit({ type: 'object-waiting', phase: phase.name, object: eventObject(live), message }),
    });
    if (jobs.failure) return finish(jobs.failure.outcome, jobs.failure.exitCode, jobs.failure.message);
    const liveObjects: KubeObject[] = [];
    const recordApplied = (r: ApplyOutcome) => {
      if (!r.live) return;
      delete r.live.metadata.managedFields;
      applied.push(r.live);
      liveObjects.push(r.live);
      const before = existingRv.get(objectKey(r.live));
      const action = jobs.replaced.has(objectKey(r.live))
        ? 'replaced'
        : before === undefined
          ? 'created'
          : before === r.live.metadata.resourceVersion
            ? 'unchanged'
            : 'configured';
      emit({ type: 'object-applied', phase: phase.name, object: eventObject(r.live), action });
    };
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
          { selector, signal: stopWatches.signal },
        )
      : undefined;
    try {
      for (const group of scheduled ? [phase.objects] : groupByKindOrder(phase.objects)) {
        const lost = await state.recorder?.lockLost();
        if (lost) return finish('lock-lost', EXIT.locked, lost);
        const applyOptions = { concurrency, force: options.forceConflicts, signal };
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
          const lines = failures
            .flatMap((f) => issuesFromApplyError(f.source, f.error))
            .map((i) => i.message);
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
          return finish('failed', 1, `apply failed in phase ${phase.name}:\n  ${lines.join('\n  ')}`);
        }
        // Custom resources may follow their CRD in the same phase: wait until the API serves them.
        const crds = results.filter((r) => r.live?.kind === 'CustomResourceDefinition').map((r) => r.live!);
        if (crds.length > 0) {
          const established = await waitForObjects({
            client,
            targets: crds,
            signal,
            deadline,
            progressDeadlineMs: 60_000,
            since: new Date(state.started),
          });
          if (established.outcome !== 'ready')
            return finish(
              'failed',
              1,
              `CustomResourceDefinitions not established: ${crds.map(objectRef).join(', ')}`,
            );
          client.discovery.invalidate();
          const groups = new Set(crds.map((c) => (c as { spec?: { group?: string } }).spec?.group));
          const ready = deferred.filter((o) => groups.has(o.object.apiVersion.split('/')[0]));
          await dryRunAll(client, ready, {
            concurrency,
            force: options.forceConflicts,
            signal,
            hint: 'custom resources were refused once their CustomResourceDefinition existed',
          });
        }
      }
      // Hook Jobs' logs stream to the output while the phase waits.
      const logStop = new AbortController();
      const followers = liveObjects
        .filter((o) => o.kind === 'Job' && hookJobs.get(objectKey(o))?.action !== 'done')
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
        watches,
        selector,
        signal,
        deadline,
        progressDeadlineMs: options.progressDeadlineMs ?? Math.min(timeoutMs, 5 * 60_000),
        since: new Date(state.started - 1000),
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
      if (result.unreachable && (result.outcome === 'timed-out' || result.outcome === 'no-progress')) {
        return finish(
          'timed-out',
          3,
          `${describeUnreachable(result.unreachable)}; stopped waiting in phase ${phase.name}`,
        );
      }
      switch (result.outcome) {
        case 'ready':
          break;
        case 'failed':
          return finish(
            'failed',
            1,
            `phase ${phase.name} failed: ${result.failed.map((f) => `${objectRef(f.object)}: ${f.readiness.message}`).join('; ')}`,
          );
        case 'interrupted':
          return finish('interrupted', 130, `interrupted while waiting in phase ${phase.name}`);
        case 'timed-out':
          return finish(
            'timed-out',
            3,
            `timed out after ${Math.round(timeoutMs / 1000)}s waiting in phase ${phase.name}`,
          );
        case 'no-progress':
          return finish(
            'timed-out',
            3,
            `no progress for ${Math.round((options.progressDeadlineMs ?? 300_000) / 1000)}s in phase ${phase.name}`,
          );
      }
    } finally {
      signal.removeEventListener('abort', stopOnAbort);
      stopWatches.abort();
    }
    state.recorder?.phaseFinished(phase.name, 'succeeded');
    emit({ type: 'phase-finished', phase: phase.name, durationMs: Date.now() - phaseStart });
  }

  // 5. Prune what this app and environment no longer renders.
  const lost = await state.recorder?.lockLost();
  if (lost) return finish('lock-lost', EXIT.locked, lost);
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
      emit({ type: 'object-pruned', object: eventObject(object), dryRun: false });
    } catch (error) {
      emit({ type: 'warning', message: `could not prune ${objectRef(object)}: ${(error as Error).message}` });
    }
  }
  // Old hook Jobs go quietly: the last 3 runs of each hook stay for debugging.
  await keepRecentHookJobs(client, { namespace: env.namespace, selector, keep: 3 }).catch(() => []);
  return finish('succeeded', 0);
}

/** A running Job of this deploy's spec, left by a deploy that died, is waited for as this deploy's own. */
function announceAdoptedJobs(
  phase: RenderedPhase,
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

/** Whether a dry-run result equals the live object, ignoring what the server rewrites on every write. */
export function sameContent(live: KubeObject, dryRun: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...metadata } = o.metadata;
    const { status: _status, ...rest } = o as KubeObject & { status?: unknown };
    return JSON.stringify(sortKeys({ ...rest, metadata }));
  };
  return strip(live) === strip(dryRun);
}

/** Where a failed object came from, for the event: the rendered object of the same identity. */
function sourceOf(objects: readonly RenderedObject[], live: KubeObject): { source?: SourceLocation } {
  const key = objectKey(live);
  const rendered = objects.find((o) => objectKey(o.object) === key);
  return rendered ? { source: rendered.source } : {};
}
