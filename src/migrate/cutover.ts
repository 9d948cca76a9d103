// The cutover as one call: verify B, journal the steps in both clusters, then take them one by one
// (each marked in the record as it is done), or walk them back with `--back`. A hook failure
// undoes what the run did.
import { KubeApiError, type KubeClient } from '../kube/index.js';
import { CapstanError } from '../shared/index.js';
import {
  CUTOVER_NAMESPACE,
  CUTOVER_RECORD_VERSION,
  cutoverRecordName,
  decide,
  describeStep,
  newestRecord,
  pendingSteps,
  planCutover,
  stepPatch,
  withStep,
  type CutoverDirection,
  type CutoverEnvironment,
  type CutoverRecord,
  type CutoverState,
  type CutoverStep,
  type HookResult,
} from './cutover-plan.js';
import { readRecord, writeCopies, writeRecord, type RecordLocation } from './cutover-store.js';
import { connectCluster, migrate, type MigrateOptions } from './migrate.js';
import type { MigrateEvent, MigrationScope, PlannedObject } from './types.js';

export type CutoverOutcome =
  'cut-over' | 'reversed' | 'unchanged' | 'refused' | 'rolled-back' | 'failed' | 'interrupted';

export type CutoverEvent =
  | {
      readonly type: 'cutover-started';
      readonly direction: CutoverDirection;
      readonly from: string;
      readonly to: string;
      readonly record: RecordLocation;
      /** `fresh`: a new cutover (B is verified first); `continue`: from the record; `noop`, `none`: nothing to do. */
      readonly decision: 'fresh' | 'continue' | 'noop' | 'none';
      readonly message?: string;
    }
  | MigrateEvent
  | { readonly type: 'cutover-planned'; readonly steps: readonly CutoverStep[] }
  | {
      readonly type: 'cutover-step';
      readonly index: number;
      /** `forward` makes the step's change, `back` takes it back. */
      readonly direction: CutoverDirection;
      readonly step: CutoverStep;
      readonly description: string;
      readonly outcome: 'done' | 'gone' | 'failed';
      readonly message?: string;
    }
  | {
      readonly type: 'cutover-finished';
      readonly outcome: CutoverOutcome;
      readonly exitCode: number;
      readonly state?: CutoverState;
      readonly record: RecordLocation;
      readonly durationMs: number;
      readonly message?: string;
    };

/** Clusters, scope, verification and I/O as for `migrate`; the rest is the cutover's own. */
export interface CutoverOptions extends Pick<
  MigrateOptions,
  'from' | 'to' | 'scope' | 'allowEmptyVolumes' | 'healthTimeoutMs' | 'concurrency' | 'env' | 'signal'
> {
  /** `back` reverses what the record says the last cutover did. */
  readonly direction: CutoverDirection;
  readonly scaleDownSource?: boolean;
  /** The switch point's command; on a continued or reversed cutover it replaces the recorded one. */
  readonly command?: string;
  /** Runs the command (the CLI does, through the shell); required when there is a command. */
  readonly runHook?: (
    command: string,
    direction: CutoverDirection,
    servers: { readonly from: string; readonly to: string },
  ) => Promise<HookResult>;
  /** Who runs it, besides the identity A knows (e.g. `alice@laptop`). */
  readonly actor?: string;
  /** The environment and cluster names when cut over by environment: kept in the record, named in refusals. */
  readonly environment?: CutoverEnvironment;
  readonly onEvent?: (event: CutoverEvent) => void;
}

export interface CutoverResult {
  readonly outcome: CutoverOutcome;
  readonly exitCode: number;
  readonly record?: CutoverRecord;
}

class StepFailed extends Error {}

/** Cuts over from A to B, continues an interrupted cutover, or reverses the last one (`direction: back`). */
export async function cutover(options: CutoverOptions): Promise<CutoverResult> {
  const source = await connectCluster(options.from, options.env, 'A');
  let target: KubeClient;
  try {
    target = await connectCluster(options.to, options.env, 'B');
  } catch (error) {
    source.close();
    throw error;
  }
  const run = new CutoverRun(options, source, target);
  try {
    return await run.start();
  } catch (error) {
    if (options.signal?.aborted) return run.finish('interrupted', 130, 'interrupted: run again to continue');
    throw error;
  } finally {
    source.close();
    target.close();
  }
}

/** One run of `capstan cutover`: the two clusters, the record as this run last wrote it, and the steps. */
class CutoverRun {
  private readonly started = Date.now();
  private readonly emit: (event: CutoverEvent) => void;
  private readonly from: string;
  private readonly to: string;
  private readonly location: RecordLocation;
  private record: CutoverRecord | undefined;
  /** The state the namespace copies were last written with (they are written when it changes). */
  private copiedState: CutoverState | undefined;

  constructor(
    private readonly options: CutoverOptions,
    private readonly source: KubeClient,
    private readonly target: KubeClient,
  ) {
    this.emit = options.onEvent ?? (() => {});
    this.from = source.connection.server;
    this.to = target.connection.server;
    this.location = {
      namespace: CUTOVER_NAMESPACE,
      name: cutoverRecordName(this.from, this.to, options.scope),
    };
  }

  finish(outcome: CutoverOutcome, exitCode: number, message?: string): CutoverResult {
    const { record } = this;
    this.emit({
      type: 'cutover-finished',
      outcome,
      exitCode,
      ...(record ? { state: record.state } : {}),
      record: this.location,
      durationMs: Date.now() - this.started,
      ...(message ? { message } : {}),
    });
    return { outcome, exitCode, record };
  }

  /** Reads the record from both clusters, decides, journals the plan in both, then walks the steps. */
  async start(): Promise<CutoverResult> {
    const { options, from, to } = this;
    const { signal, direction } = options;
    if (from === to)
      throw new CapstanError('ERR_CAPSTAN_USAGE', `A and B are the same cluster (${from})`, {
        hint: 'pass the kube contexts or kubeconfigs of two different clusters',
      });
    const found = await Promise.all([
      readRecord(this.source, 'A', this.location, signal),
      readRecord(this.target, 'B', this.location, signal),
    ]);
    this.record = newestRecord(found);
    const decision = decide(this.record, direction);
    this.emit({
      type: 'cutover-started',
      direction,
      from,
      to,
      record: this.location,
      decision: decision.kind,
      ...('message' in decision ? { message: decision.message } : {}),
    });
    if (decision.kind === 'noop') return this.finish('unchanged', 0, decision.message);
    if (decision.kind === 'none') {
      this.record = undefined;
      return this.finish('failed', 1, decision.message);
    }
    const prior: CutoverState = decision.kind === 'continue' ? decision.record.state : 'cutting-over';
    if (decision.kind === 'fresh') {
      const refused = await this.planFresh();
      if (refused) return refused;
    } else {
      const command = options.command;
      const steps = decision.record.steps.map((s) =>
        s.action === 'hook' && command ? { ...s, command } : s,
      );
      await this.save({
        ...decision.record,
        steps,
        state: direction === 'forward' ? 'cutting-over' : 'going-back',
      });
    }
    return this.walk(direction, prior);
  }

  /** A new cutover: B is verified, then the plan is written in both clusters before the first change. */
  private async planFresh(): Promise<CutoverResult | undefined> {
    const { options, from, to } = this;
    const verified = await migrate({
      from: options.from,
      to: options.to,
      scope: options.scope,
      mode: 'verify-only',
      concurrency: options.concurrency,
      healthTimeoutMs: options.healthTimeoutMs,
      allowEmptyVolumes: options.allowEmptyVolumes,
      env: options.env,
      signal: options.signal,
      onEvent: this.emit,
    });
    if (verified.exitCode !== 0 || !verified.plan)
      return this.finish(
        verified.outcome === 'interrupted' ? 'interrupted' : 'refused',
        verified.exitCode || 1,
        `B did not pass verification (${verified.outcome}): nothing was changed`,
      );
    const identity = await this.source.whoAmI(options.signal);
    const by = [identity?.username, options.actor].filter(Boolean).join(' ') || 'unknown';
    const now = new Date().toISOString();
    const steps = planCutover({
      objects: verified.plan.objects,
      scaleDownSource: options.scaleDownSource === true,
      command: options.command,
    });
    await this.save({
      version: CUTOVER_RECORD_VERSION,
      seq: this.record?.seq ?? 0,
      by,
      startedAt: now,
      updatedAt: now,
      from: { server: from, ...(options.from.context ? { context: options.from.context } : {}) },
      to: { server: to, ...(options.to.context ? { context: options.to.context } : {}) },
      scope: options.scope,
      scaleDownSource: options.scaleDownSource === true,
      state: 'cutting-over',
      steps,
      ...(options.environment ? { environment: options.environment } : {}),
      copies: copyNamespaces(verified.plan.objects, options.scope),
    });
    this.emit({ type: 'cutover-planned', steps });
    return undefined;
  }

  /**
   * Writes the record to both clusters, whatever happens to one: the next run takes the higher seq.
   * The copies in the scope's namespaces follow when the state changes (deploys read only that).
   */
  private async save(next: CutoverRecord): Promise<void> {
    const record = { ...next, seq: next.seq + 1, updatedAt: new Date().toISOString() };
    this.record = record;
    const copy = record.state !== this.copiedState;
    const writes = [
      writeRecord(this.source, this.location, record, 'A'),
      writeRecord(this.target, this.location, record, 'B'),
    ];
    if (copy)
      writes.push(
        writeCopies(this.source, this.location.name, record, 'A'),
        writeCopies(this.target, this.location.name, record, 'B'),
      );
    const written = await Promise.allSettled(writes);
    const failed = written.findIndex((w) => w.status === 'rejected');
    if (failed < 0 && copy) this.copiedState = record.state;
    if (failed >= 0) {
      const error = (written[failed] as PromiseRejectedResult).reason as unknown;
      const what = failed < 2 ? 'record' : "record's copies";
      throw new CapstanError(
        'ERR_CAPSTAN_CUTOVER_RECORD',
        `cluster ${failed % 2 === 0 ? 'A' : 'B'}: cannot write the cutover ${what} ${this.location.namespace}/${this.location.name}: ${(error as Error).message}`,
        {
          hint: 'run again once the cluster takes writes: the record says which steps are done',
          cause: error,
        },
      );
    }
  }

  /** One step's change made or taken back; `gone` when its object no longer exists. */
  private async act(index: number, way: CutoverDirection): Promise<'done' | 'gone'> {
    const { options } = this;
    const { signal } = options;
    const step = this.record!.steps[index];
    const description = describeStep(step, way);
    const report = (outcome: 'done' | 'gone' | 'failed', message?: string) =>
      this.emit({
        type: 'cutover-step',
        index,
        direction: way,
        step,
        description,
        outcome,
        ...(message ? { message } : {}),
      });
    if (step.action === 'hook') {
      if (!options.runHook) throw new Error('a cutover hook needs runHook');
      const result = await options.runHook(step.command, way, { from: this.from, to: this.to });
      // The hook's `applied` means the traffic is on B.
      await this.save(withStep(this.record!, index, way === 'forward' ? result.ok : !result.ok, result));
      const message = result.timedOut
        ? 'timed out'
        : result.exitCode === undefined
          ? 'killed'
          : `exit ${result.exitCode}`;
      report(result.ok ? 'done' : 'failed', message);
      // Interrupted while the hook ran: stop here; the next run runs the hook again.
      if (!result.ok && signal?.aborted) throw new Error('interrupted');
      if (!result.ok) throw new StepFailed(`the hook ${message}: ${step.command}`);
      return 'done';
    }
    const client = step.cluster === 'A' ? this.source : this.target;
    let outcome: 'done' | 'gone' = 'done';
    try {
      await client.patchMerge(step.object, stepPatch(step, way), { signal });
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) outcome = 'gone';
      else {
        const explained = await client.explainRefusal(error, description, signal);
        report('failed', (explained as Error).message);
        throw explained;
      }
    }
    await this.save(withStep(this.record!, index, way === 'forward'));
    report(outcome, outcome === 'gone' ? `no longer in ${step.cluster}: nothing to do` : undefined);
    return outcome;
  }

  private async walk(way: CutoverDirection, before: CutoverState): Promise<CutoverResult> {
    const { signal } = this.options;
    const touched: number[] = [];
    for (const index of pendingSteps(this.record!.steps, way)) {
      if (signal?.aborted)
        return this.finish('interrupted', 130, 'interrupted: run again to continue, or --back');
      try {
        await this.act(index, way);
        touched.push(index);
      } catch (error) {
        if (signal?.aborted)
          return this.finish('interrupted', 130, 'interrupted: run again to continue, or --back');
        if (!(error instanceof StepFailed)) {
          const message = `${(error as Error).message}; run again to continue, or with --back to reverse`;
          await this.save({ ...this.record!, message }).catch(() => {});
          return this.finish('failed', 1, message);
        }
        return way === 'forward'
          ? this.rollBack(error.message)
          : this.restore(error.message, touched, before);
      }
    }
    await this.save({ ...this.record!, state: way === 'forward' ? 'live' : 'back', message: undefined });
    return this.finish(way === 'forward' ? 'cut-over' : 'reversed', 0);
  }

  /** The hook failed during a cutover: every applied step undone, in reverse order. */
  private async rollBack(why: string): Promise<CutoverResult> {
    await this.save({ ...this.record!, state: 'rolling-back', message: why });
    try {
      for (const index of pendingSteps(this.record!.steps, 'back')) {
        if (this.record!.steps[index].action === 'hook') continue;
        await this.act(index, 'back');
      }
    } catch (error) {
      const message = `${why}; rolling back failed too (${(error as Error).message}): run \`capstan cutover --back\``;
      await this.save({ ...this.record!, message }).catch(() => {});
      return this.finish('failed', 1, message);
    }
    await this.save({ ...this.record!, state: 'rolled-back', message: `${why}: rolled back` });
    return this.finish('rolled-back', 1, `${why}: the cutover was rolled back, A is live`);
  }

  /** The hook failed during --back: the steps this run took back are made again. */
  private async restore(
    why: string,
    touched: readonly number[],
    state: CutoverState,
  ): Promise<CutoverResult> {
    try {
      for (const index of [...touched].reverse()) await this.act(index, 'forward');
    } catch (error) {
      const message = `${why}; restoring failed too (${(error as Error).message}): run again`;
      await this.save({ ...this.record!, message }).catch(() => {});
      return this.finish('failed', 1, message);
    }
    const message = `${why}: nothing was reversed, everything is as it was before --back`;
    await this.save({ ...this.record!, state, message });
    return this.finish('failed', 1, message);
  }
}

/** The namespaces a cutover of this plan keeps copies of its record in: those of its objects. */
function copyNamespaces(objects: readonly PlannedObject[], scope: MigrationScope): string[] {
  const namespaces = new Set(scope.namespaces ?? []);
  for (const { object } of objects) {
    if (object.metadata.namespace) namespaces.add(object.metadata.namespace);
    else if (object.kind === 'Namespace' && object.metadata.name) namespaces.add(object.metadata.name);
  }
  namespaces.delete(CUTOVER_NAMESPACE);
  return [...namespaces].sort();
}
