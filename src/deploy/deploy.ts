// The whole deploy of one environment to one cluster: render, then the steps (steps.ts and
// phase-step.ts) in order: validate, preview, lock, record, each phase, prune. A multi-cluster
// deploy (src/fleet) runs the same stages of a ClusterDeploy per cluster, interleaved.
import { setMaxListeners } from 'node:events';
import { connectionOf, loadConfig, resolveEnvironment, type ResolvedEnvironment } from '../config/index.js';
import { KubeClient } from '../kube/index.js';
import { renderEnvironment, type RenderedObject } from '../render/index.js';
import { CapstanError, ConfigError, isInputError, objectKey, type KubeObject } from '../shared/index.js';
import { deployPublicNames, Redactor, secretValues, unredactableSecretWarnings } from '../secrets/index.js';
import {
  createSecretsRenderer,
  createVaultResolver,
  eventObject,
  newDeployId,
  selectorOf,
} from '../apply/index.js';
import { learnReferencedSecrets } from '../tasks/index.js';
import {
  EXIT,
  isEnd,
  type DeployOptions,
  type DeployResult,
  type DeployRun,
  type StepContext,
} from './deploy-types.js';
import type { DeployEvent, DeployEventSink, DeployOutcome } from '../events/index.js';
import type { HookJobPlan } from './hook-jobs.js';
import { runPhase } from './phase-step.js';
import { rollbackAfterFailure, wantsRollback, type RollbackAfterFailure } from './rollback-on-failure.js';
import {
  lockStep,
  previewStep,
  pruneStep,
  recordStep,
  validateStep,
  type RecordingOptions,
} from './steps.js';
import { selectHelmHooks } from './helm-hooks-step.js';
import { dryRunAll, type PreparedPhase } from './validate.js';

export { EXIT };
export type { DeployOptions, DeployResult };

/** The whole deploy: validate everything, then phase by phase apply and wait, then prune. */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const one = new ClusterDeploy(options, options.onEvent);
  try {
    // 1. Everything local: config, templates, secrets. Nothing touches the cluster yet.
    const loaded = await loadConfig({ cwd: options.cwd });
    const env = resolveEnvironment(loaded, options.env, { set: options.set, cluster: options.cluster });
    if (env.fleet && options.cluster === undefined)
      throw new ConfigError(
        [
          {
            file: loaded.file,
            path: `environments.${env.name}.clusters`,
            message: `environment "${env.name}" has ${env.fleet.clusters.length} clusters: deploy() deploys one`,
          },
        ],
        { hint: 'use deployEnvironment() (what capstan deploy runs), or pass the cluster to deploy' },
      );
    // 2. Validate everything, then the plan or the diff when asked for.
    const ended = (await one.prepare(env)) ?? (await one.lock());
    if (ended) return ended;
    // 3. The release record, then phase by phase: apply, then wait for the phase's objects; prune.
    const result = await one.execute();
    return await one.rollBackIfWanted(result);
  } catch (error) {
    await one.fail(error);
    throw error;
  } finally {
    one.close();
  }
}

/** What validation leaves for the phases and prune; the dry-run answers are let go. */
interface Prepared {
  readonly phases: readonly PreparedPhase[];
  readonly hookJobs: ReadonlyMap<string, HookJobPlan>;
  readonly deferred: readonly RenderedObject[];
  readonly createsNamespace: boolean;
  readonly toPrune: readonly KubeObject[];
  readonly existingRv: ReadonlyMap<string, string | undefined>;
  readonly unchanged: ReadonlyMap<string, KubeObject>;
  readonly newestRelease?: number;
}

/**
 * One environment's deploy to one cluster, in stages: prepare (render, connect, validate, preview),
 * lock, execute (record, phases, prune). Each stage returns the deploy's result when it ends the
 * deploy; the event stream always ends with deploy-finished.
 */
export class ClusterDeploy {
  readonly run: DeployRun;
  readonly options: DeployOptions & { readonly deployId: string };
  private env: ResolvedEnvironment | undefined;
  private connecting: Promise<KubeClient> | undefined;
  private client: KubeClient | undefined;
  private ctx: StepContext | undefined;
  private prepared: Prepared | undefined;
  private next: Promise<number> | undefined;

  /** `sink` gets the events once redacted (a multi-cluster deploy tags them with the cluster). */
  constructor(
    options: DeployOptions,
    private readonly sink: DeployEventSink | undefined,
  ) {
    const deployId = options.deployId ?? newDeployId();
    this.options = { ...options, deployId };
    // Every event passes through the redactor, field by field, once the secret values are known.
    const redactor = options.redactor ?? new Redactor();
    const emit = (event: DeployEvent) => sink?.(redactor.event(event));
    const applied: KubeObject[] = [];
    const run: DeployRun = {
      emit,
      redactor,
      applied,
      unchanged: [],
      started: Date.now(),
      recorder: undefined,
      image: options.image,
      rendered: [],
      finish: (outcome, exitCode, message) => this.finish(outcome, exitCode, message),
    };
    this.run = run;
  }

  /** The cluster's client once connected. */
  get kube(): KubeClient | undefined {
    return this.client;
  }

  private async finish(outcome: DeployOutcome, exitCode: number, message?: string): Promise<DeployResult> {
    const { run } = this;
    const { deployId } = this.options;
    const appliedKeys = new Set([...run.applied, ...run.unchanged].map(objectKey));
    await run.recorder?.finish(outcome, [...run.applied, ...run.unchanged], {
      durationMs: Date.now() - run.started,
      summary: message,
      image: run.image,
    });
    run.emit({
      type: 'deploy-finished',
      outcome,
      exitCode,
      durationMs: Date.now() - run.started,
      deployId,
      ...(run.recorder?.releaseNumber === undefined ? {} : { release: run.recorder.releaseNumber }),
      message,
      applied: run.applied.map(eventObject),
      ...(run.unchanged.length > 0 ? { unchanged: run.unchanged.map(eventObject) } : {}),
      notApplied: run.rendered
        .filter((o) => !appliedKeys.has(objectKey(o.object)))
        .map((o) => eventObject(o.object)),
    });
    return { outcome, exitCode, deployId, message, applied: run.applied, unchanged: run.unchanged };
  }

  /**
   * A thrown error ends the deploy: the record is completed and the lock released, deploy-finished
   * is reported.
   */
  fail(error: unknown): Promise<DeployResult> {
    const invalid = isInputError(error);
    return this.finish(
      invalid ? 'invalid' : 'failed',
      invalid ? EXIT.invalid : EXIT.failed,
      (error as Error).message,
    );
  }

  /**
   * Everything before a write: render, connect, learn the secret values, then the server-side dry
   * run, the audit gate and the scheduling preflight, then the plan (--dry-run) or the diff.
   */
  async prepare(
    env: ResolvedEnvironment,
    opts: { probeTimeoutMs?: number } = {},
  ): Promise<DeployResult | undefined> {
    const { options, run } = this;
    this.env = env;
    run.image = options.image ?? env.image;
    // The client (a large library to load, then the kubeconfig) comes up while the templates render.
    const connecting = KubeClient.connect({
      ...connectionOf(env, { kubeconfig: options.kubeconfig, context: options.context }),
      env: options.envVars,
    });
    this.connecting =
      opts.probeTimeoutMs === undefined
        ? connecting
        : connecting.then((client) => probe(client, opts.probeTimeoutMs ?? 0, options.signal));
    this.connecting.then((client) => client.discovery.prefetch(DEPLOY_API_VERSIONS)).catch(() => {});
    const rendered = await this.render(env);
    this.client = await this.connecting;
    let phases = await selectHelmHooks(this.client, env, rendered, options.signal);
    const only = options.takeOver?.phases;
    if (only) phases = phases.filter((p) => only.includes(p.name));
    // A chart's hooks of the other event (install or upgrade) are not this deploy's objects.
    if (phases !== rendered) run.rendered = phases.flatMap((p) => [...p.objects]);
    await this.learnSecrets(
      env,
      this.client,
      phases.map((p) => p.name),
    );
    run.emit({
      type: 'deploy-started',
      app: env.app,
      env: env.name,
      namespace: env.namespace,
      deployId: options.deployId,
      image: run.image,
      phases: phases.map((p) => p.name),
      dryRun: !!options.dryRun,
    });
    const ctx = this.stepContext(env, this.client);
    this.ctx = ctx;
    const step = await validateStep(ctx, phases);
    if (isEnd(step)) return step;
    const ended = await previewStep(ctx, step);
    if (ended) return ended;
    const { validation, toPrune } = step;
    this.prepared = {
      phases: validation.phases,
      hookJobs: validation.hookJobs,
      deferred: validation.deferred,
      createsNamespace: validation.createsNamespace,
      toPrune,
      existingRv: new Map(validation.existing.map((o) => [objectKey(o), o.metadata.resourceVersion])),
      unchanged: validation.unchanged,
      ...(validation.newestRelease === undefined ? {} : { newestRelease: validation.newestRelease }),
    };
    return undefined;
  }

  private async render(env: ResolvedEnvironment) {
    const { options, run } = this;
    const warn = (message: string) => run.emit({ type: 'warning', message });
    const renderSecrets =
      options.renderSecrets ??
      createSecretsRenderer({ app: env.app, env: env.name, envVars: options.envVars ?? {}, warn });
    const connecting = this.connecting!;
    const phases = await renderEnvironment({
      env,
      image: run.image,
      deployId: options.deployId,
      commit: options.commit,
      branch: options.branch,
      envVars: options.envVars ?? {},
      warn,
      renderSecrets: async (file, ns) => renderSecrets(file, ns, await connecting),
      configChecksums: !options.takeOver,
      resolveVaultReferences: createVaultResolver(env, {
        envVars: options.envVars ?? {},
        warn,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    });
    run.rendered = phases.flatMap((p) => [...p.objects]);
    return phases;
  }

  /**
   * The secret values the deploy may print: those rendered, and those of Secrets the pods read but
   * Capstan did not render (a failing container may print them in the logs the diagnosis shows).
   */
  private async learnSecrets(
    env: ResolvedEnvironment,
    client: KubeClient,
    phases: readonly string[],
  ): Promise<void> {
    const { run, options } = this;
    const rendered = run.rendered.map((o) => o.object);
    // The names that identify the deploy are public (capstan.yaml, labels, the namespace): a secret
    // value equal to one cannot be kept secret, and never rewrites them.
    run.redactor.addPublic(
      deployPublicNames({
        app: env.app,
        env: env.name,
        namespace: env.namespace,
        phases,
        objects: rendered,
      }),
    );
    run.redactor.add(secretValues(rendered));
    for (const message of unredactableSecretWarnings(rendered, run.redactor.isPublic))
      run.emit({ type: 'warning', message });
    const renderedSecrets = new Set(
      rendered
        .filter((o) => o.kind === 'Secret')
        .map((o) => `${o.metadata.namespace ?? env.namespace}/${o.metadata.name ?? ''}`),
    );
    const unreadable = await learnReferencedSecrets(client, {
      objects: rendered,
      namespace: env.namespace,
      skip: renderedSecrets,
      redactor: run.redactor,
      signal: options.signal,
    });
    if (unreadable.length > 0) {
      run.emit({
        type: 'warning',
        message: `could not read ${unreadable.join(', ')}, which the pods read: if a container prints their values, Capstan cannot redact them (docs/redaction.md)`,
      });
    }
  }

  private stepContext(env: ResolvedEnvironment, client: KubeClient): StepContext {
    const { options, run } = this;
    const timeoutMs = options.timeoutMs ?? env.timeoutMs;
    const signal = options.signal ?? new AbortController().signal;
    // Every in-flight request listens to the signal; hundreds at once are expected.
    setMaxListeners(0, signal);
    return {
      client,
      env,
      options,
      run,
      signal,
      concurrency: options.concurrency ?? env.concurrency,
      timeoutMs,
      deadline: run.started + timeoutMs,
      selector: selectorOf(env.app, env.name),
      redact: run.redactor.text,
    };
  }

  /** The namespace when the deploy creates it, then the lock. */
  lock(recording?: RecordingOptions): Promise<DeployResult | undefined> {
    return lockStep(this.ready().ctx, this.ready().prepared, recording);
  }

  /** The number this environment's next release would get in this cluster (under the lock). */
  nextRelease(): Promise<number> | undefined {
    this.next ??= this.run.recorder?.nextRelease();
    return this.next;
  }

  /**
   * With the lock held: the release record (numbered `release`, default the next in this cluster),
   * then each phase, then prune. `restartClock`: the --timeout counts from now (a later wave).
   */
  async execute(options: { release?: number; restartClock?: boolean } = {}): Promise<DeployResult> {
    const { prepared } = this.ready();
    let { ctx } = this.ready();
    if (options.restartClock) ctx = { ...ctx, deadline: Date.now() + ctx.timeoutMs };
    const next = prepared.unchanged.size > 0 ? await this.nextRelease() : undefined;
    await recordStep(ctx, options.release ?? next);
    const inputs = await confirmUnchanged(ctx, prepared, next);
    for (const phase of prepared.phases) {
      const ended = await runPhase(ctx, phase, inputs);
      if (ended) return ended;
    }
    // Prune what this app and environment no longer renders.
    return pruneStep(ctx, prepared.toPrune);
  }

  /** Releases the lock of a deploy that will not go on (another cluster stopped it); reports nothing. */
  async release(): Promise<void> {
    await this.run.recorder?.finish('interrupted', [], { durationMs: 0 });
  }

  /** With rollbackOnFailure (or the environment's `onFailure: rollback`), a failed deploy is rolled back. */
  async rollBackIfWanted(result: DeployResult): Promise<DeployResult> {
    const { options, run, env } = this;
    const release = run.recorder?.releaseNumber;
    if (!env) return result;
    const rollbackOnFailure = options.rollbackOnFailure ?? env.onFailure === 'rollback';
    // Objects left unchanged count as today's no-op applies did: they are part of the failed release.
    const released = result.applied.length + (result.unchanged?.length ?? 0);
    if (!rollbackOnFailure || !wantsRollback(result.outcome, release, released)) return result;
    return { ...result, rolledBack: await this.rollBackTo(release) };
  }

  /**
   * Puts back the newest release before `release` that succeeded (never throws). `notify: false`:
   * without per-cluster notifications (a multi-cluster deploy sends one for all).
   */
  async rollBackTo(release: number, opts: { notify?: boolean } = {}): Promise<RollbackAfterFailure> {
    const { options, run, env, client } = this;
    if (!env || !client) return { outcome: 'not-rolled-back', message: 'the deploy never connected' };
    const view = opts.notify === false ? { ...env, notifications: [] } : env;
    return rollbackAfterFailure(client, view, release, {
      ...options,
      redactor: run.redactor,
      emit: (event) => this.sink?.(run.redactor.event(event)),
    });
  }

  close(): void {
    if (this.client) this.client.close();
    else
      void this.connecting?.then(
        (c) => c.close(),
        () => {},
      );
  }

  private ready(): { ctx: StepContext; prepared: Prepared } {
    if (!this.ctx || !this.prepared) throw new Error('ClusterDeploy: prepare() first');
    return { ctx: this.ctx, prepared: this.prepared };
  }
}

/**
 * Under the lock: objects judged unchanged stay unsent only if no release was recorded since they
 * were judged (another deploy may have changed them before this one got the lock). Otherwise they
 * go through the dry run now, before any write, and are sent like the others.
 */
async function confirmUnchanged(
  ctx: StepContext,
  prepared: Prepared,
  next: number | undefined,
): Promise<Prepared> {
  const { unchanged, newestRelease } = prepared;
  if (unchanged.size === 0 || (next !== undefined && next === (newestRelease ?? 0) + 1)) return prepared;
  ctx.run.emit({
    type: 'warning',
    message: `a release was recorded since this deploy read the history: the ${unchanged.size} objects found unchanged are sent all the same`,
  });
  await dryRunAll(
    ctx.client,
    prepared.phases.flatMap((p) => p.objects.filter((o) => unchanged.has(objectKey(o.object)))),
    {
      concurrency: ctx.concurrency,
      force: ctx.options.forceConflicts,
      signal: ctx.signal,
      hint: 'the API server refused these objects in a dry run; nothing more was applied',
    },
  );
  return { ...prepared, unchanged: new Map() };
}

/**
 * The group-versions every deploy looks up, learnt while the templates render rather than each on
 * first use: the objects' usual kinds and the waits' (core, apps, EndpointSlices), the lock's
 * Lease, the hook Jobs kept or deleted at the end, and the preflight's StorageClasses. At a 50 ms
 * round trip the lock and the end of a first deploy each waited one round trip for theirs.
 */
const DEPLOY_API_VERSIONS = [
  'v1',
  'apps/v1',
  'discovery.k8s.io/v1',
  'coordination.k8s.io/v1',
  'batch/v1',
  'storage.k8s.io/v1',
];

/**
 * The client once its API server answered /version within `timeoutMs`, else an
 * ERR_CAPSTAN_KUBE_UNREACHABLE error (the client closed): a cluster that is down is known at once.
 */
async function probe(client: KubeClient, timeoutMs: number, signal?: AbortSignal): Promise<KubeClient> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    await client.getPath('/version', signal ? AbortSignal.any([signal, timeout]) : timeout);
    return client;
  } catch (error) {
    client.close();
    const why = timeout.aborted ? `no answer within ${timeoutMs / 1000} s` : (error as Error).message;
    throw new CapstanError('ERR_CAPSTAN_KUBE_UNREACHABLE', `its API server is unreachable: ${why}`, {
      cause: error,
    });
  }
}
