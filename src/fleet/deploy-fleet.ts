// One environment deployed to several clusters: validate every cluster, take every lock, then the
// waves in order, each cluster exactly as a single-cluster deploy (a ClusterDeploy's stages), with
// a soak between waves; after a failure no later wave starts and, with onFailure: rollback, the
// clusters changed go back to their previous release (docs/multicluster.md).
import {
  resolveClusters,
  resolveEnvironment,
  type LoadedConfig,
  type ResolvedEnvironment,
} from '../config/index.js';
import { ClusterDeploy, EXIT, type DeployOptions, type DeployResult } from '../deploy/index.js';
import type { AnyDeployEvent, ClusterOutcome, FleetEvent } from '../events/index.js';
import { notifyFleet } from '../notify/index.js';
import { Redactor } from '../secrets/index.js';
import { newDeployId } from '../apply/index.js';
import { CapstanError, type KubeObject } from '../shared/index.js';
import type { ObjectDiff } from '../release/index.js';
import {
  clustersToRollBack,
  fleetMessage,
  fleetOutcome,
  inParallel,
  planWaves,
  type WavePlan,
} from './plan.js';
import { clustersNotLive } from './live.js';
import { soak } from './soak.js';

export interface FleetOptions extends DeployOptions {
  /** Clusters left out of this deploy (`--skip-cluster`); the release records them. */
  readonly skipClusters?: readonly string[];
  /** How long a cluster's API server may take to answer before it counts as unreachable (default 15 s). */
  readonly probeTimeoutMs?: number;
  /**
   * With `diff`: asked once with every cluster's diff, after all validated; false changes none.
   * Default: `confirm` with the diffs of all clusters together.
   */
  readonly confirmClusters?: (
    byCluster: readonly { readonly cluster: string; readonly diffs: readonly ObjectDiff[] }[],
  ) => Promise<boolean>;
}

/** A multi-cluster deploy's result: the whole, and each cluster's. */
export interface FleetResult extends DeployResult {
  readonly clusters: readonly ClusterOutcome[];
  readonly release?: number;
}

/** One cluster of the deploy: its view of the environment, its deploy, how it ended. */
interface Member {
  readonly name: string;
  readonly view: ResolvedEnvironment;
  readonly deploy: ClusterDeploy;
  wave?: number;
  result?: DeployResult;
  outcome?: ClusterOutcome;
}

const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

/** Deploys a multi-cluster environment (`env.fleet` set): see the file's head. */
export async function deployFleet(
  options: FleetOptions,
  loaded: LoadedConfig,
  env: ResolvedEnvironment,
): Promise<FleetResult> {
  const fleet = env.fleet;
  if (!fleet) throw new Error('deployFleet: a multi-cluster environment is needed');
  const started = Date.now();
  const deployId = options.deployId ?? newDeployId();
  const redactor = options.redactor ?? new Redactor();
  const emitFleet = (event: FleetEvent) => options.onEvent?.(redactor.event(event));
  const notLive = await leaveOutNotLive(options, loaded, env);
  const plan = planWaves(fleet, [...(options.skipClusters ?? []), ...notLive.keys()]);
  const diffs = new Map<string, readonly ObjectDiff[]>();
  const members = plan.waves.flat().map((name, i): Member => {
    const view = resolveEnvironment(loaded, env.name, { set: options.set, cluster: name });
    const tag = (event: AnyDeployEvent) => options.onEvent?.({ ...event, cluster: name });
    // Each cluster's diff is kept, to be asked about once for all.
    const confirm = (found: readonly ObjectDiff[]) => {
      diffs.set(name, found);
      return Promise.resolve(true);
    };
    const deploy = new ClusterDeploy({ ...options, deployId, redactor, cluster: name, confirm }, tag);
    return { name, view, deploy, wave: plan.waves.findIndex((w) => w.includes(name)) + 1 || i };
  });
  const startedEvent: Extract<FleetEvent, { type: 'fleet-started' }> = {
    type: 'fleet-started',
    app: env.app,
    env: env.name,
    deployId,
    ...((options.image ?? env.image) ? { image: options.image ?? env.image } : {}),
    clusters: fleet.clusters.map((c) => c.name),
    waves: plan.waves.map((w) => [...w]),
    skipped: [...plan.skipped],
    dryRun: !!options.dryRun,
  };
  emitFleet(startedEvent);
  const notifier = fleetNotifier(options, env, redactor, startedEvent);
  const run = new FleetRun(options, env, plan, members, emitFleet, diffs, notLive);
  try {
    await run.deploy(() => notifier.started());
  } finally {
    for (const m of members) m.deploy.close();
  }
  const { result, event } = run.close(deployId, started);
  await notifier.finished(event);
  return result;
}

/**
 * One notification as the deploy starts writing (after every lock is taken) and one as it ends,
 * for the environment, listing its clusters; none for a deploy that never started writing.
 */
function fleetNotifier(
  options: FleetOptions,
  env: ResolvedEnvironment,
  redactor: Redactor,
  startedEvent: Extract<FleetEvent, { type: 'fleet-started' }>,
): { started: () => Promise<void>; finished: (event: FleetFinished) => Promise<void> } {
  let started = false;
  const send = (event: FleetFinished | typeof startedEvent) =>
    notifyFleet(
      env.notifications,
      {
        event,
        app: env.app,
        env: env.name,
        ...(startedEvent.image === undefined ? {} : { image: startedEvent.image }),
        ...(options.actor?.user === undefined ? {} : { user: options.actor.user }),
        ...((options.actor?.gitCommit ?? options.commit) === undefined
          ? {}
          : { commit: options.actor?.gitCommit ?? options.commit }),
        ...((options.actor?.gitBranch ?? options.branch) === undefined
          ? {}
          : { branch: options.actor?.gitBranch ?? options.branch }),
      },
      {
        env: options.envVars ?? {},
        redact: redactor.text,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        onWarning: (message) => options.onEvent?.(redactor.event({ type: 'warning', message })),
      },
    );
  return {
    started: async () => {
      if (options.record === false || env.notifications.length === 0) return;
      started = true;
      await send(startedEvent);
    },
    finished: async (event) => {
      if (started) await send(event);
    },
  };
}

type FleetFinished = Extract<FleetEvent, { type: 'fleet-finished' }>;

/**
 * The clusters (not already skipped) that a cutover left not live, with why: the deploy goes to
 * the others, each left out is warned about; when none is left, the deploy is refused (exit 2).
 */
async function leaveOutNotLive(
  options: FleetOptions,
  loaded: LoadedConfig,
  env: ResolvedEnvironment,
): Promise<Map<string, string>> {
  const skipped = new Set(options.skipClusters ?? []);
  const views = resolveClusters(loaded, env.name, { set: options.set }).filter(
    (v) => !skipped.has(v.cluster ?? ''),
  );
  const found = await clustersNotLive(views, {
    given: { kubeconfig: options.kubeconfig, context: options.context },
    envVars: options.envVars,
    signal: options.signal,
  });
  if (found.length > 0 && found.length === views.length)
    throw new CapstanError(
      'ERR_CAPSTAN_INVALID_INPUT',
      `no cluster of ${env.name} takes deploys:\n${found.map((f) => `cluster ${f.cluster}: ${f.reason}`).join('\n')}`,
    );
  for (const { cluster, reason } of found)
    options.onEvent?.({ type: 'warning', message: `left out of this deploy: ${reason}`, cluster });
  return new Map(found.map((f) => [f.cluster, f.reason]));
}

/** The stages of one multi-cluster deploy over its members. */
class FleetRun {
  release: number | undefined;

  constructor(
    private readonly options: FleetOptions,
    private readonly env: ResolvedEnvironment,
    private readonly plan: WavePlan,
    private readonly members: readonly Member[],
    private readonly emit: (event: FleetEvent) => void,
    private readonly diffs: ReadonlyMap<string, readonly ObjectDiff[]>,
    /** Clusters left out because a cutover made them not live, with the reason. */
    private readonly notLive: ReadonlyMap<string, string>,
  ) {}

  private get parallel(): number {
    return this.env.fleet?.maxParallel ?? 1;
  }

  /** `started`: told once every lock is held, before the first write. */
  async deploy(started: () => Promise<void>): Promise<void> {
    // 1. Every cluster validated before any is written to; 2. every lock before the first write.
    if (!(await this.validateAll())) return;
    if (this.options.dryRun || !(await this.lockAll())) return;
    // 3. The waves, in order, sharing one release number. Reading it failed: every lock goes back.
    try {
      this.release = await this.sharedRelease();
    } catch (error) {
      for (const m of this.members) this.settle(m, await m.deploy.fail(error));
      return;
    }
    await started();
    const done: Member[] = [];
    for (const [index, wave] of this.plan.waves.entries()) {
      const members = this.members.filter((m) => wave.includes(m.name));
      const ok = await this.runWave(index + 1, members);
      done.push(...members);
      if (!ok) break;
    }
    await this.releaseUntouched();
    if (this.failed() && this.wantsRollback()) await this.rollBack(done);
  }

  /** Prepares every cluster (render, reachability, dry run, audit, preflight); false when one ended it. */
  private async validateAll(): Promise<boolean> {
    await inParallel(this.members, Math.max(this.parallel, 4), async (m) => {
      try {
        const ended = await m.deploy.prepare(m.view, {
          probeTimeoutMs: this.options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
        });
        if (ended) this.settle(m, ended);
      } catch (error) {
        this.settle(m, await this.failure(m, error));
      }
    });
    if (this.options.dryRun) return true;
    if (this.members.some((m) => m.result && m.result.exitCode !== 0)) return false;
    return this.confirmed();
  }

  /** With --diff: every cluster's diff, asked about once; not confirmed, every cluster ends unchanged. */
  private async confirmed(): Promise<boolean> {
    const { options } = this;
    if (!options.diff) return true;
    const byCluster = this.members.map((m) => ({ cluster: m.name, diffs: this.diffs.get(m.name) ?? [] }));
    const ask =
      options.confirmClusters ??
      ((all: typeof byCluster) => options.confirm?.(all.flatMap((c) => c.diffs)) ?? Promise.resolve(true));
    if (await ask(byCluster)) return true;
    for (const m of this.members)
      this.settle(
        m,
        await m.deploy.run.finish('interrupted', EXIT.interrupted, 'not confirmed: nothing was changed'),
      );
    return false;
  }

  /** A thrown error ends one cluster: an unreachable API server is exit 3, naming how to go on. */
  private async failure(m: Member, error: unknown): Promise<DeployResult> {
    if ((error as { code?: string }).code === 'ERR_CAPSTAN_KUBE_UNREACHABLE')
      return m.deploy.run.finish(
        'failed',
        EXIT.timeout,
        `${(error as Error).message}\nleave the cluster out with --skip-cluster ${m.name} (the release records it), or deploy once it answers`,
      );
    return m.deploy.fail(error);
  }

  /** Takes every cluster's lock; when one is held (or fails), releases the others and returns false. */
  private async lockAll(): Promise<boolean> {
    await inParallel(this.members, Math.max(this.parallel, 4), async (m) => {
      try {
        const ended = await m.deploy.lock({ notify: false, skippedClusters: this.plan.skipped });
        if (ended) this.settle(m, ended);
      } catch (error) {
        this.settle(m, await m.deploy.fail(error));
      }
    });
    if (!this.members.some((m) => m.result)) return true;
    await this.releaseUntouched();
    return false;
  }

  /** The environment's next release number: one past the highest any cluster knows. */
  private async sharedRelease(): Promise<number | undefined> {
    if (this.options.record === false) return undefined;
    const numbers = await Promise.all(this.members.map((m) => m.deploy.nextRelease() ?? Promise.resolve(1)));
    return Math.max(...numbers);
  }

  /** One wave: its clusters in parallel (maxParallel at once), then the soak; false when it failed. */
  private async runWave(wave: number, members: readonly Member[]): Promise<boolean> {
    const started = Date.now();
    this.emit({ type: 'wave-started', wave, clusters: members.map((m) => m.name) });
    await inParallel(members, this.parallel, async (m) => {
      try {
        this.settle(m, await m.deploy.execute({ release: this.release, restartClock: wave > 1 }));
      } catch (error) {
        this.settle(m, await m.deploy.fail(error));
      }
    });
    let ok = members.every((m) => m.result?.exitCode === 0);
    const soakMs = this.env.fleet?.soakMs ?? 0;
    if (ok && soakMs > 0) ok = await this.soakWave(wave, members, soakMs);
    this.emit({
      type: 'wave-finished',
      wave,
      outcome: ok ? 'succeeded' : 'failed',
      durationMs: Date.now() - started,
    });
    return ok;
  }

  /** Every cluster of the wave stays healthy for `soakMs`; a problem fails its cluster. */
  private async soakWave(wave: number, members: readonly Member[], soakMs: number): Promise<boolean> {
    this.emit({ type: 'soak-started', wave, clusters: members.map((m) => m.name), durationMs: soakMs });
    const signal = this.options.signal ?? new AbortController().signal;
    const problems = await Promise.all(
      members.map((m) => {
        const client = m.deploy.kube;
        if (!client) return Promise.resolve('no connection to the cluster during the soak');
        return soak(client, m.result?.applied ?? [], m.view.namespace, { durationMs: soakMs, signal });
      }),
    );
    members.forEach((m, i) => {
      const problem = problems[i];
      if (problem === undefined || !m.outcome) return;
      const message = m.deploy.run.redactor.text(`failed during the ${soakMs / 1000} s soak: ${problem}`);
      m.outcome = { ...m.outcome, outcome: 'failed', exitCode: EXIT.failed, message };
      m.deploy.run.emit({ type: 'warning', message });
    });
    return problems.every((p) => p === undefined);
  }

  /** The locks of clusters that will not be deployed (a later wave, a refusal elsewhere) go back. */
  private async releaseUntouched(): Promise<void> {
    await Promise.all(this.members.filter((m) => !m.result).map((m) => m.deploy.release()));
  }

  private failed(): boolean {
    return fleetOutcome(this.outcomes()).exitCode !== 0;
  }

  private wantsRollback(): boolean {
    return this.options.rollbackOnFailure ?? this.env.onFailure === 'rollback';
  }

  /** Puts back every cluster this deploy changed, in parallel; one failing does not stop the others. */
  private async rollBack(done: readonly Member[]): Promise<void> {
    const names = new Set(clustersToRollBack(this.outcomes()));
    await Promise.all(
      done
        .filter((m) => names.has(m.name) && m.outcome?.release !== undefined)
        .map(async (m) => {
          const back = await m.deploy.rollBackTo(m.outcome?.release ?? 0, { notify: false });
          if (m.outcome)
            m.outcome = {
              ...m.outcome,
              rolledBack: {
                outcome: back.outcome,
                ...(back.target === undefined ? {} : { release: back.target }),
                ...(back.message === undefined ? {} : { message: back.message }),
              },
            };
        }),
    );
  }

  private settle(m: Member, result: DeployResult): void {
    m.result = result;
    const release = m.deploy.run.recorder?.releaseNumber;
    m.outcome = {
      cluster: m.name,
      outcome: result.outcome,
      exitCode: result.exitCode,
      ...(m.wave === undefined ? {} : { wave: m.wave }),
      ...(release === undefined ? {} : { release }),
      ...(result.message === undefined ? {} : { message: result.message }),
    };
  }

  /** Each cluster's outcome, in wave order, then the skipped ones. */
  outcomes(): ClusterOutcome[] {
    return [
      ...this.members.map(
        (m): ClusterOutcome =>
          m.outcome ?? {
            cluster: m.name,
            outcome: 'not-deployed',
            exitCode: 0,
            ...(m.wave === undefined ? {} : { wave: m.wave }),
          },
      ),
      ...this.plan.skipped.map((cluster): ClusterOutcome => ({
        cluster,
        outcome: 'skipped',
        exitCode: 0,
        message: this.notLive.get(cluster) ?? 'left out with --skip-cluster',
      })),
    ];
  }

  /** The fleet-finished event and the result. */
  close(deployId: string, started: number): { result: FleetResult; event: FleetFinished } {
    const clusters = this.outcomes();
    const { outcome, exitCode } = fleetOutcome(clusters);
    const message =
      this.options.dryRun && exitCode === 0 ? 'dry run: nothing was changed' : fleetMessage(clusters);
    const applied: KubeObject[] = this.members.flatMap((m) => [...(m.result?.applied ?? [])]);
    const event: FleetFinished = {
      type: 'fleet-finished',
      outcome,
      exitCode,
      durationMs: Date.now() - started,
      deployId,
      ...(this.release === undefined || !this.members.some((m) => m.outcome?.release)
        ? {}
        : { release: this.release }),
      ...(message === undefined ? {} : { message }),
      clusters,
    };
    this.emit(event);
    const result: FleetResult = {
      outcome,
      exitCode,
      deployId,
      ...(message === undefined ? {} : { message }),
      applied,
      clusters,
      ...(this.release === undefined ? {} : { release: this.release }),
    };
    return { result, event };
  }
}
