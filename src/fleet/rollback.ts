// Rolling back a multi-cluster environment: its clusters (or those named) to one release, in
// parallel, every cluster's lock taken before any cluster changes; one cluster's failure stops no other.
import { newDeployId } from '../apply/index.js';
import { inCluster } from '../config/index.js';
import type {
  AnyDeployEvent,
  ClusterOutcome,
  DeployOutcome,
  FleetEvent,
  RollbackEvent,
} from '../events/index.js';
import { during, type KubeClient } from '../kube/index.js';
import { fleetNotifyEvent, notify } from '../notify/index.js';
import {
  acquireLock,
  nextReleaseNumber,
  readReleases,
  rollback,
  type DeployLock,
  type RollbackOptions,
} from '../release/index.js';
import { Redactor } from '../secrets/index.js';
import { isInputError, mapLimit } from '../shared/index.js';
import { chooseFleetTarget, HISTORY_READ_DEADLINE_MS, type ClusterHistory } from './history.js';

type FleetFinished = Extract<FleetEvent, { type: 'fleet-finished' }>;

/** One cluster to roll back: its name, a client for it and the environment's namespace there. */
export interface FleetCluster {
  readonly name: string;
  readonly client: KubeClient;
  readonly namespace: string;
}

export interface FleetRollbackOptions extends Omit<
  RollbackOptions,
  'namespace' | 'lock' | 'deployId' | 'release' | 'cluster' | 'onEvent'
> {
  /** The clusters to roll back: all of the environment's, or the one `--cluster` names. */
  readonly clusters: readonly FleetCluster[];
  /** Clusters rolled back at once (the environment's maxParallel). */
  readonly maxParallel: number;
  /** Each cluster's events carry `cluster`; a `fleet-finished` event ends the rollback. */
  readonly onEvent?: (event: AnyDeployEvent) => void;
}

export interface FleetRollbackResult {
  readonly outcome: DeployOutcome;
  readonly exitCode: number;
  readonly deployId: string;
  /** The release restored in every cluster. */
  readonly target: number;
  /** The rollback's own release number, shared by its clusters. */
  readonly release: number;
  readonly clusters: readonly ClusterOutcome[];
  readonly message: string;
}

/**
 * Reads every cluster's history and picks the release to restore (refusing up front a cluster that
 * lacks it), takes every cluster's lock (one held: none kept), then rolls each cluster back under its
 * lock, at most `maxParallel` at once, all recording the same release number. A cluster that fails
 * leaves the others going; the result says what each came to.
 */
export function rollbackFleet(options: FleetRollbackOptions): Promise<FleetRollbackResult> {
  return during(
    `rolling back ${options.app}/${options.env}${options.to ? ` to release ${options.to}` : ''} needs it`,
    () => rollBackFleet(options),
  );
}

async function rollBackFleet(options: FleetRollbackOptions): Promise<FleetRollbackResult> {
  const now = options.now ?? (() => new Date());
  const started = now();
  const redactor = options.redactor ?? new Redactor();
  const sink = options.onEvent ?? (() => {});
  const emitIn =
    (cluster: string) =>
    (event: RollbackEvent): void =>
      sink({ ...redactor.event(event), cluster });
  const histories = await readHistories(options, emitIn);
  const target = chooseFleetTarget(histories, options.to);
  const deployId = newDeployId(started);
  const locks = await takeLocks(options, deployId, emitIn);
  let release: number;
  try {
    // Under every lock: no other deploy can number a release meanwhile.
    release = Math.max(
      ...(await Promise.all(
        options.clusters.map((c) =>
          nextReleaseNumber(c.client, scopeOf(options, c)).catch((error: unknown) => {
            throw inCluster(c.name, error);
          }),
        ),
      )),
    );
  } catch (error) {
    await Promise.all(locks.map((l) => l.release()));
    throw error;
  }
  const clusters = await mapLimit(options.clusters, options.maxParallel, (cluster, i) =>
    rollBackCluster(cluster, options, {
      lock: locks[i],
      deployId,
      release,
      target,
      redactor,
      emit: emitIn(cluster.name),
    }),
  );
  const end = rollbackOutcome(clusters, target);
  const finished: FleetFinished = {
    type: 'fleet-finished',
    ...end,
    durationMs: now().getTime() - started.getTime(),
    deployId,
    release,
    clusters: [...clusters],
  };
  await notifyOnce(options, finished, { histories, target, redactor }, (message) =>
    sink(redactor.event({ type: 'warning', message })),
  );
  sink(redactor.event(finished));
  return { ...end, deployId, target, release, clusters };
}

function scopeOf(
  options: FleetRollbackOptions,
  cluster: FleetCluster,
): { namespace: string; app: string; env: string; signal?: AbortSignal } {
  return { namespace: cluster.namespace, app: options.app, env: options.env, signal: options.signal };
}

/** Every cluster's records, read at once; a cluster that cannot be read stops the rollback, named. */
async function readHistories(
  options: FleetRollbackOptions,
  emitIn: (cluster: string) => (event: RollbackEvent) => void,
): Promise<ClusterHistory[]> {
  return Promise.all(
    options.clusters.map(async (c) => {
      const records = await readReleases(c.client, {
        ...scopeOf(options, c),
        retryDeadlineMs: HISTORY_READ_DEADLINE_MS,
        onDamaged: (error) => emitIn(c.name)({ type: 'warning', message: error.message }),
      }).catch((error: unknown) => {
        throw inCluster(c.name, error);
      });
      return { cluster: c.name, records };
    }),
  );
}

/** Every cluster's lock, taken at once; when one cannot be taken, those that were are let go. */
async function takeLocks(
  options: FleetRollbackOptions,
  deployId: string,
  emitIn: (cluster: string) => (event: RollbackEvent) => void,
): Promise<DeployLock[]> {
  const taken = await Promise.allSettled(
    options.clusters.map((c) =>
      acquireLock(c.client, {
        ...scopeOf(options, c),
        holder: options.holder ?? `${options.user}@${options.host}`,
        deployId,
        process: options.process,
        onWarning: (message) => emitIn(c.name)({ type: 'warning', message }),
      }),
    ),
  );
  const refused = taken.findIndex((t) => t.status === 'rejected');
  if (refused === -1) return taken.map((t) => (t as PromiseFulfilledResult<DeployLock>).value);
  await Promise.all(taken.flatMap((t) => (t.status === 'fulfilled' ? [t.value.release()] : [])));
  throw inCluster(options.clusters[refused].name, (taken[refused] as PromiseRejectedResult).reason);
}

/** One cluster's rollback under the lock already taken; what it came to, whether it returned or threw. */
async function rollBackCluster(
  cluster: FleetCluster,
  options: FleetRollbackOptions,
  run: {
    readonly lock: DeployLock;
    readonly deployId: string;
    readonly release: number;
    readonly target: number;
    readonly redactor: Redactor;
    readonly emit: (event: RollbackEvent) => void;
  },
): Promise<ClusterOutcome> {
  const startedAt = Date.now();
  if (options.signal?.aborted) {
    await run.lock.release();
    return {
      cluster: cluster.name,
      outcome: 'interrupted',
      exitCode: 130,
      message: 'interrupted before it started',
    };
  }
  let finished: (RollbackEvent & { type: 'deploy-finished' }) | undefined;
  try {
    const result = await rollback(cluster.client, {
      ...options,
      namespace: cluster.namespace,
      to: run.target,
      lock: run.lock,
      deployId: run.deployId,
      release: run.release,
      cluster: cluster.name,
      // One notification for the environment, sent once every cluster is done.
      notifications: [],
      redactor: run.redactor,
      onEvent: (event) => {
        if (event.type === 'deploy-finished') finished = event;
        run.emit(event);
      },
    });
    return {
      cluster: cluster.name,
      outcome: result.outcome,
      exitCode: result.exitCode,
      release: result.release,
      ...(result.message ? { message: result.message } : {}),
    };
  } catch (error) {
    const message = (error as Error).message;
    const invalid = isInputError(error);
    const outcome: DeployOutcome = invalid ? 'invalid' : 'failed';
    const exitCode = invalid ? 2 : 1;
    // A rollback that threw before recording anything has not told how it ended: told here.
    if (!finished)
      run.emit({
        type: 'deploy-finished',
        outcome,
        exitCode,
        durationMs: Date.now() - startedAt,
        deployId: run.deployId,
        message,
        applied: [],
        notApplied: [],
      });
    return {
      cluster: cluster.name,
      outcome,
      exitCode,
      ...(finished?.release === undefined ? {} : { release: finished.release }),
      message,
    };
  }
}

/**
 * How a rollback of several clusters ends (pure): succeeded when every cluster did; when all the
 * others ended alike (all timed out, all interrupted), that way; else failed (exit 1).
 */
export function rollbackOutcome(
  clusters: readonly ClusterOutcome[],
  target: number,
): { outcome: DeployOutcome; exitCode: number; message: string } {
  const bad = clusters.filter((c) => c.outcome !== 'succeeded');
  const names = clusters.map((c) => c.cluster).join(', ');
  if (bad.length === 0)
    return { outcome: 'succeeded', exitCode: 0, message: `rolled back ${names} to release ${target}` };
  const alike = bad.every((c) => c.outcome === bad[0].outcome && c.exitCode === bad[0].exitCode);
  const outcome =
    alike && bad[0].outcome !== 'skipped' && bad[0].outcome !== 'not-deployed' ? bad[0].outcome : 'failed';
  return {
    outcome,
    exitCode: alike ? bad[0].exitCode || 1 : 1,
    message: `rollback to release ${target}: ${clusters.map((c) => `${c.cluster} ${c.outcome}`).join(', ')}`,
  };
}

/** The environment's one notification, a line per cluster (each cluster's rollback sends none). */
async function notifyOnce(
  options: FleetRollbackOptions,
  finished: FleetFinished,
  run: {
    readonly histories: readonly ClusterHistory[];
    readonly target: number;
    readonly redactor: Redactor;
  },
  warn: (message: string) => void,
): Promise<void> {
  const image = run.histories[0]?.records?.find((r) => r.release === run.target)?.images[0];
  const event = fleetNotifyEvent({
    event: finished,
    app: options.app,
    env: options.env,
    image,
    user: options.user,
  });
  await notify(
    options.notifications ?? [],
    { ...event, kind: finished.outcome === 'succeeded' ? 'rolled-back' : 'failed', rolledBackTo: run.target },
    {
      env: options.envVars ?? {},
      redact: run.redactor.text,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      onWarning: warn,
    },
  );
}
