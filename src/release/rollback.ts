// Rollback: re-apply an earlier release's manifests, wait like a deploy, prune, record, notify.
import { setMaxListeners } from 'node:events';
import type { NotificationConfig } from '../config/index.js';
import { eventObject, newDeployId, selectorOf } from '../apply/index.js';
import type { DeployOutcome, RollbackEvent } from '../events/index.js';
import { during, type KubeClient } from '../kube/index.js';
import { formatDiagnosis, waitForObjects, type WaitResult } from '../rollout/index.js';
import { Redactor, secretValues } from '../secrets/index.js';
import { CapstanError, objectRef } from '../shared/index.js';
import { acquireLock, lockLostReason, type DeployLock, type LocalProcess } from './lock.js';
import { recordTakeover } from './takeover.js';
import type { ReleaseRecord } from './record.js';
import { chooseRollbackTarget, planRollbackPrune, rollbackWaitEnd } from './rollback-plan.js';
import { applyManifests, finishedEvent, pruneAfterRollback, recordOutcome } from './rollback-steps.js';
import { nextReleaseNumber, readReleases, writeRelease } from './store.js';

export type { RollbackEvent };

export interface RollbackOptions {
  readonly namespace: string;
  readonly app: string;
  readonly env: string;
  /** Release to re-apply; default: the newest succeeded release before the current one. */
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
  /** This process and a probe of this machine's pids (see AcquireLockOptions.process). */
  readonly process?: LocalProcess;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: RollbackEvent) => void;
  readonly notifications?: readonly NotificationConfig[];
  /** Where notification URLs are read from. */
  readonly envVars?: NodeJS.ProcessEnv;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
  /** Learns the target's secret values; every event is redacted with it (see DeployOptions). */
  readonly redactor?: Redactor;
  /**
   * The lock, already taken for this rollback (with `deployId`): a multi-cluster rollback takes
   * every cluster's before any cluster changes. Released at the end, as the rollback's own would be.
   */
  readonly lock?: DeployLock;
  /** This rollback's id; default a new one. A multi-cluster rollback shares one across its clusters. */
  readonly deployId?: string;
  /**
   * The number of this rollback's record; default one more than the highest recorded in this
   * cluster. A multi-cluster rollback passes the environment's, shared by its clusters.
   */
  readonly release?: number;
  /** In a multi-cluster environment: the cluster rolled back, for its record. */
  readonly cluster?: string;
}

export interface RollbackResult {
  readonly outcome: DeployOutcome;
  readonly exitCode: number;
  readonly release: number;
  readonly target: number;
  /** Hook Jobs (migrations…) that ran in releases after the target: not undone. */
  readonly hookJobs: readonly string[];
  readonly message?: string;
}

const EXIT_OF: Record<DeployOutcome, number> = {
  succeeded: 0,
  failed: 1,
  invalid: 2,
  'timed-out': 3,
  locked: 4,
  'lock-lost': 4,
  interrupted: 130,
};

/** Takes the lock, re-applies release `to` (server-side apply, forced), waits, prunes and records a 'rolled-back' release. */
export function rollback(client: KubeClient, options: RollbackOptions): Promise<RollbackResult> {
  return during(
    `rolling back ${options.app}/${options.env}${options.to ? ` to release ${options.to}` : ''} needs it`,
    () => rollBack(client, options),
  );
}

async function rollBack(client: KubeClient, options: RollbackOptions): Promise<RollbackResult> {
  const sink = options.onEvent ?? (() => {});
  // As in deploy: once the target's Secrets are known, no event field carries one of their values.
  const redactor = options.redactor ?? new Redactor();
  const emit = (event: RollbackEvent) => sink(redactor.event(event));
  const now = options.now ?? (() => new Date());
  const signal = options.signal ?? new AbortController().signal;
  // Every in-flight request listens to the signal; dozens at once are expected.
  setMaxListeners(0, signal);
  const scope = { namespace: options.namespace, app: options.app, env: options.env, signal };
  const deployId = options.deployId ?? newDeployId(now());
  const lock =
    options.lock ??
    (await acquireLock(client, {
      ...scope,
      holder: options.holder ?? `${options.user}@${options.host}`,
      deployId,
      process: options.process,
      onWarning: (message) => emit({ type: 'warning', message }),
    }));
  const started = now();
  let record: ReleaseRecord | undefined;
  let result: RollbackResult | undefined;
  try {
    await recordTakeover(
      client,
      { ...scope, keep: options.keep },
      lock,
      (message) => emit({ type: 'warning', message }),
      now,
    );
    const begun = await beginRollback(client, options, {
      deployId,
      started,
      signal,
      redactor,
      emit,
      // Known before it is written: a failure while trimming old records still finishes it.
      onRecord: (written) => (record = written),
    });
    const { target, releases, hookJobs } = begun;
    const finish = (outcome: DeployOutcome, message?: string): RollbackResult =>
      (result = {
        outcome,
        exitCode: EXIT_OF[outcome],
        release: begun.record.release,
        target: target.release,
        hookJobs,
        ...(message ? { message } : {}),
      });
    const lostBeforeApply = await lockLostReason(lock);
    if (lostBeforeApply) return finish('lock-lost', lostBeforeApply);
    const applied = await applyManifests(
      client,
      target.manifests.filter((m) => m.kind !== 'Job'),
      options,
      signal,
      emit,
      begun.record,
    );
    if (typeof applied === 'string') return finish(signal.aborted ? 'interrupted' : 'failed', applied);
    const wait = await waitForRollback(client, applied, options, { started, signal, emit });
    if (wait.outcome !== 'ready') {
      const end = rollbackWaitEnd(wait, target.release);
      return finish(end.outcome, end.message);
    }
    const lostBeforePrune = await lockLostReason(lock);
    if (lostBeforePrune) return finish('lock-lost', lostBeforePrune);
    await pruneAfterRollback(client, planRollbackPrune(releases, target), options, signal, emit);
    return finish('succeeded', `rolled back to release ${target.release}`);
  } catch (error) {
    if (record)
      result = {
        outcome: 'failed',
        exitCode: 1,
        release: record.release,
        target: record.rolledBackTo ?? 0,
        hookJobs: [],
        message: (error as Error).message,
      };
    throw error;
  } finally {
    if (record && result) await recordOutcome(client, record, result, options, now, emit);
    await lock.release();
    if (record && result) emit(finishedEvent(result, record, now().getTime() - started.getTime()));
  }
}

/**
 * Under the lock: picks the release to restore, writes this rollback's `running` record and says
 * what a rollback does not undo (hook Jobs that ran since, a target that did not succeed).
 */
async function beginRollback(
  client: KubeClient,
  options: RollbackOptions,
  run: {
    readonly deployId: string;
    readonly started: Date;
    readonly signal: AbortSignal;
    readonly redactor: Redactor;
    readonly emit: (event: RollbackEvent) => void;
    readonly onRecord: (record: ReleaseRecord) => void;
  },
): Promise<{
  readonly record: ReleaseRecord;
  readonly target: ReleaseRecord;
  readonly releases: readonly ReleaseRecord[];
  readonly hookJobs: readonly string[];
}> {
  const { signal, emit } = run;
  const scope = { namespace: options.namespace, app: options.app, env: options.env, signal };
  const releases = await readReleases(client, scope);
  if (releases.length === 0)
    throw new CapstanError(
      'ERR_CAPSTAN_NO_SUCH_RELEASE',
      `no release of ${options.app}/${options.env} is recorded in namespace ${options.namespace}`,
    );
  const target = chooseRollbackTarget(releases, options.to);
  run.redactor.add(secretValues(target.manifests));
  const next = await nextReleaseNumber(client, scope);
  const release = options.release ?? next;
  if (release < next)
    throw new CapstanError(
      'ERR_CAPSTAN_RELEASE_TAKEN',
      `cannot record the rollback as release ${release}: release ${next - 1} of ${options.app}/${options.env} is already recorded in namespace ${options.namespace}`,
    );
  const hookJobs = releases
    .filter((r) => r.release > target.release)
    .flatMap((r) => r.hookJobs.map((job) => `${job} (release ${r.release})`));
  const startedAt = run.started.toISOString();
  const record: ReleaseRecord = {
    app: options.app,
    env: options.env,
    namespace: options.namespace,
    release,
    deployId: run.deployId,
    images: target.images,
    ...(target.gitCommit ? { gitCommit: target.gitCommit } : {}),
    user: options.user,
    host: options.host,
    startedAt,
    phases: [{ name: 'rollback', startedAt, outcome: 'running' }],
    outcome: 'running',
    rolledBackTo: target.release,
    inventory: [],
    manifests: target.manifests,
    hookJobs: [],
    ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
  };
  run.onRecord(record);
  await writeRelease(client, record, { keep: options.keep, signal });
  emit({
    type: 'rollback-started',
    app: options.app,
    env: options.env,
    namespace: options.namespace,
    release,
    target: target.release,
    images: target.images,
  });
  if (hookJobs.length > 0) {
    emit({
      type: 'warning',
      message: `hook Jobs are not undone by a rollback; these ran after release ${target.release}: ${hookJobs.join(', ')}`,
    });
  }
  if (target.outcome !== 'succeeded' && target.outcome !== 'rolled-back')
    emit({ type: 'warning', message: `release ${target.release} ended as ${target.outcome}` });
  return { record, target, releases, hookJobs };
}

/** Waits for the re-applied objects as a deploy waits for a phase, each failure with its diagnosis. */
async function waitForRollback(
  client: KubeClient,
  applied: Parameters<typeof waitForObjects>[0]['targets'],
  options: RollbackOptions,
  run: {
    readonly started: Date;
    readonly signal: AbortSignal;
    readonly emit: (event: RollbackEvent) => void;
  },
): Promise<WaitResult> {
  const { started, emit } = run;
  const wait = await waitForObjects({
    client,
    targets: applied,
    selector: selectorOf(options.app, options.env),
    signal: run.signal,
    deadline: started.getTime() + options.timeoutMs,
    progressDeadlineMs: options.progressDeadlineMs ?? Math.min(options.timeoutMs, 5 * 60_000),
    since: new Date(started.getTime() - 1000),
    onUpdate: (object, readiness) => {
      if (readiness.status === 'ready')
        emit({
          type: 'object-ready',
          phase: 'rollback',
          object: eventObject(object),
          message: readiness.message,
        });
      else if (readiness.status === 'pending')
        emit({
          type: 'object-waiting',
          phase: 'rollback',
          object: eventObject(object),
          message: readiness.message,
        });
    },
  });
  for (const f of wait.failed) {
    emit({
      type: 'object-failed',
      phase: 'rollback',
      object: eventObject(f.object),
      message: f.readiness.message,
      diagnosis: f.diagnosis,
      diagnosisText: formatDiagnosis(objectRef(f.object), f.diagnosis),
    });
  }
  return wait;
}
