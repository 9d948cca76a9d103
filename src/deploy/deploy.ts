// The whole deploy of one environment to one cluster: render, then the steps (steps.ts and
// phase-step.ts) in order: validate, preview, begin, each phase, prune.
import { setMaxListeners } from 'node:events';
import { loadConfig, resolveEnvironment, type ResolvedEnvironment } from '../config/index.js';
import { KubeClient } from '../kube/index.js';
import { renderEnvironment, type RenderedPhase } from '../render/index.js';
import { isInputError, objectKey, type KubeObject } from '../shared/index.js';
import { deployPublicNames, Redactor, secretValues, unredactableSecretWarnings } from '../secrets/index.js';
import { createSecretsRenderer, eventObject, newDeployId, selectorOf } from '../apply/index.js';
import { learnReferencedSecrets } from '../tasks/index.js';
import {
  EXIT,
  isEnd,
  type DeployOptions,
  type DeployResult,
  type DeployRun,
  type StepContext,
} from './deploy-types.js';
import type { DeployEvent, DeployOutcome } from '../events/index.js';
import { runPhase } from './phase-step.js';
import { rollbackAfterFailure, wantsRollback } from './rollback-on-failure.js';
import { beginStep, previewStep, pruneStep, validateStep, type Validated } from './steps.js';

export { EXIT };
export type { DeployOptions, DeployResult };

/** The whole deploy: validate everything, then phase by phase apply and wait, then prune. */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const started = Date.now();
  const sink = options.onEvent ?? (() => {});
  const deployId = options.deployId ?? newDeployId();
  const applied: KubeObject[] = [];
  // Every event passes through the redactor, field by field, once the secret values are known.
  const redactor = options.redactor ?? new Redactor();
  const emit = (event: DeployEvent) => sink(redactor.event(event));
  const state: DeployRun = {
    emit,
    redactor,
    applied,
    started,
    recorder: undefined,
    image: options.image,
    rendered: [],
    finish: undefined as unknown as DeployRun['finish'],
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

async function runDeploy(options: DeployOptions, deployId: string, state: DeployRun): Promise<DeployResult> {
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
    const result = await deployRendered(
      client,
      env,
      phases,
      { ...options, deployId },
      state,
      state.redactor.text,
    );
    return await rollBackIfWanted(client, env, result, options, state);
  } finally {
    if (client) client.close();
    else
      void connecting.then(
        (c) => c.close(),
        () => {},
      );
  }
}

/** With rollbackOnFailure (or the environment's `onFailure: rollback`), a failed deploy is rolled back. */
async function rollBackIfWanted(
  client: KubeClient,
  env: ResolvedEnvironment,
  result: DeployResult,
  options: DeployOptions,
  state: DeployRun,
): Promise<DeployResult> {
  const release = state.recorder?.releaseNumber;
  const rollbackOnFailure = options.rollbackOnFailure ?? env.onFailure === 'rollback';
  if (!rollbackOnFailure || !wantsRollback(result.outcome, release, result.applied.length)) return result;
  const rolledBack = await rollbackAfterFailure(client, env, release, {
    ...options,
    redactor: state.redactor,
    emit: (event) => options.onEvent?.(state.redactor.event(event)),
  });
  return { ...result, rolledBack };
}

async function deployRendered(
  client: KubeClient,
  env: ResolvedEnvironment,
  renderedPhases: readonly RenderedPhase[],
  options: DeployOptions & { deployId: string },
  run: DeployRun,
  redact: (text: string) => string,
): Promise<DeployResult> {
  const timeoutMs = options.timeoutMs ?? env.timeoutMs;
  const signal = options.signal ?? new AbortController().signal;
  // Every in-flight request listens to the signal; hundreds at once are expected.
  setMaxListeners(0, signal);
  const ctx: StepContext = {
    client,
    env,
    options,
    run,
    signal,
    concurrency: options.concurrency ?? env.concurrency,
    timeoutMs,
    deadline: run.started + timeoutMs,
    selector: selectorOf(env.app, env.name),
    redact,
  };
  // 2. Validate everything, then the plan or the diff when asked for.
  let validated: Validated | undefined;
  {
    const step = await validateStep(ctx, renderedPhases);
    if (isEnd(step)) return step;
    const ended = await previewStep(ctx, step);
    if (ended) return ended;
    validated = step;
  }
  // What the rest needs of the validation; the dry-run results and the objects listed for the plan
  // (thousands on a large app) are let go.
  const { phases, hookJobs, deferred, createsNamespace } = validated.validation;
  const { toPrune } = validated;
  const existingRv = new Map(
    validated.validation.existing.map((o) => [objectKey(o), o.metadata.resourceVersion]),
  );
  validated = undefined;

  // 3. The lock, the release record and the notifications: from here on, the cluster changes.
  const refused = await beginStep(ctx, { phases, createsNamespace });
  if (refused) return refused;
  // 4. Phase by phase: apply, then wait for the phase's objects.
  for (const phase of phases) {
    const ended = await runPhase(ctx, phase, { hookJobs, deferred, existingRv });
    if (ended) return ended;
  }
  // 5. Prune what this app and environment no longer renders.
  return pruneStep(ctx, toPrune);
}
