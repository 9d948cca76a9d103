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
  type CutoverRecord,
  type CutoverState,
  type CutoverStep,
  type HookResult,
} from './cutover-plan.js';
import { readRecord, writeRecord, type RecordLocation } from './cutover-store.js';
import { connectCluster, migrate, type MigrateOptions } from './migrate.js';
import type { MigrateEvent } from './types.js';

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
  const started = Date.now();
  const emit = options.onEvent ?? (() => {});
  const { signal, direction } = options;
  const source = await connectCluster(options.from, options.env, 'A');
  let target: KubeClient;
  try {
    target = await connectCluster(options.to, options.env, 'B');
  } catch (error) {
    source.close();
    throw error;
  }
  const from = source.connection.server;
  const to = target.connection.server;
  const location: RecordLocation = {
    namespace: CUTOVER_NAMESPACE,
    name: cutoverRecordName(from, to, options.scope),
  };
  const finish = (
    outcome: CutoverOutcome,
    exitCode: number,
    record: CutoverRecord | undefined,
    message?: string,
  ): CutoverResult => {
    emit({
      type: 'cutover-finished',
      outcome,
      exitCode,
      ...(record ? { state: record.state } : {}),
      record: location,
      durationMs: Date.now() - started,
      ...(message ? { message } : {}),
    });
    return { outcome, exitCode, record };
  };
  let record: CutoverRecord | undefined;
  const save = async (next: CutoverRecord): Promise<void> => {
    record = { ...next, seq: next.seq + 1, updatedAt: new Date().toISOString() };
    // Both, whatever happens to one: the next run takes the higher seq.
    const written = await Promise.allSettled([
      writeRecord(source, location, record),
      writeRecord(target, location, record),
    ]);
    const failed = written.findIndex((w) => w.status === 'rejected');
    if (failed >= 0) {
      const error = (written[failed] as PromiseRejectedResult).reason as unknown;
      throw new CapstanError(
        'ERR_CAPSTAN_CUTOVER_RECORD',
        `cluster ${failed === 0 ? 'A' : 'B'}: cannot write the cutover record ${location.namespace}/${location.name}: ${(error as Error).message}`,
        {
          hint: 'run again once the cluster takes writes: the record says which steps are done',
          cause: error,
        },
      );
    }
  };
  try {
    if (from === to)
      throw new CapstanError('ERR_CAPSTAN_USAGE', `A and B are the same cluster (${from})`, {
        hint: 'pass the kube contexts or kubeconfigs of two different clusters',
      });
    const found = await Promise.all([
      readRecord(source, 'A', location, signal),
      readRecord(target, 'B', location, signal),
    ]);
    record = newestRecord(found);
    const decision = decide(record, direction);
    emit({
      type: 'cutover-started',
      direction,
      from,
      to,
      record: location,
      decision: decision.kind,
      ...('message' in decision ? { message: decision.message } : {}),
    });
    if (decision.kind === 'noop') return finish('unchanged', 0, record, decision.message);
    if (decision.kind === 'none') return finish('failed', 1, undefined, decision.message);

    const prior: CutoverState = decision.kind === 'continue' ? decision.record.state : 'cutting-over';
    if (decision.kind === 'fresh') {
      const verified = await migrate({
        from: options.from,
        to: options.to,
        scope: options.scope,
        mode: 'verify-only',
        concurrency: options.concurrency,
        healthTimeoutMs: options.healthTimeoutMs,
        allowEmptyVolumes: options.allowEmptyVolumes,
        env: options.env,
        signal,
        onEvent: emit,
      });
      if (verified.exitCode !== 0 || !verified.plan)
        return finish(
          verified.outcome === 'interrupted' ? 'interrupted' : 'refused',
          verified.exitCode || 1,
          record,
          `B did not pass verification (${verified.outcome}): nothing was changed`,
        );
      const identity = await source.whoAmI(signal);
      const by = [identity?.username, options.actor].filter(Boolean).join(' ') || 'unknown';
      const now = new Date().toISOString();
      const steps = planCutover({
        objects: verified.plan.objects,
        scaleDownSource: options.scaleDownSource === true,
        command: options.command,
      });
      // The plan is in both clusters before the first change.
      await save({
        version: CUTOVER_RECORD_VERSION,
        seq: record?.seq ?? 0,
        by,
        startedAt: now,
        updatedAt: now,
        from: { server: from, ...(options.from.context ? { context: options.from.context } : {}) },
        to: { server: to, ...(options.to.context ? { context: options.to.context } : {}) },
        scope: options.scope,
        scaleDownSource: options.scaleDownSource === true,
        state: 'cutting-over',
        steps,
      });
      emit({ type: 'cutover-planned', steps });
    } else {
      const command = options.command;
      const steps = decision.record.steps.map((s) =>
        s.action === 'hook' && command ? { ...s, command } : s,
      );
      await save({
        ...decision.record,
        steps,
        state: direction === 'forward' ? 'cutting-over' : 'going-back',
      });
    }
    return await walk(direction, prior);
  } catch (error) {
    if (signal?.aborted) return finish('interrupted', 130, record, 'interrupted: run again to continue');
    throw error;
  } finally {
    source.close();
    target.close();
  }

  /** One step's change made or taken back; `gone` when its object no longer exists. */
  async function act(index: number, way: CutoverDirection): Promise<'done' | 'gone'> {
    const step = record!.steps[index];
    const description = describeStep(step, way);
    const report = (outcome: 'done' | 'gone' | 'failed', message?: string) =>
      emit({
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
      const result = await options.runHook(step.command, way, { from, to });
      // The hook's `applied` means the traffic is on B.
      await save(withStep(record!, index, way === 'forward' ? result.ok : !result.ok, result));
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
    const client = step.cluster === 'A' ? source : target;
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
    await save(withStep(record!, index, way === 'forward'));
    report(outcome, outcome === 'gone' ? `no longer in ${step.cluster}: nothing to do` : undefined);
    return outcome;
  }

  async function walk(way: CutoverDirection, before: CutoverState): Promise<CutoverResult> {
    const touched: number[] = [];
    for (const index of pendingSteps(record!.steps, way)) {
      if (signal?.aborted)
        return finish('interrupted', 130, record, 'interrupted: run again to continue, or --back');
      try {
        await act(index, way);
        touched.push(index);
      } catch (error) {
        if (signal?.aborted)
          return finish('interrupted', 130, record, 'interrupted: run again to continue, or --back');
        if (!(error instanceof StepFailed)) {
          const message = `${(error as Error).message}; run again to continue, or with --back to reverse`;
          await save({ ...record!, message }).catch(() => {});
          return finish('failed', 1, record, message);
        }
        return way === 'forward' ? rollBack(error.message) : restore(error.message, touched, before);
      }
    }
    await save({ ...record!, state: way === 'forward' ? 'live' : 'back', message: undefined });
    return finish(way === 'forward' ? 'cut-over' : 'reversed', 0, record);
  }

  /** The hook failed during a cutover: every applied step undone, in reverse order. */
  async function rollBack(why: string): Promise<CutoverResult> {
    await save({ ...record!, state: 'rolling-back', message: why });
    try {
      for (const index of pendingSteps(record!.steps, 'back')) {
        if (record!.steps[index].action === 'hook') continue;
        await act(index, 'back');
      }
    } catch (error) {
      const message = `${why}; rolling back failed too (${(error as Error).message}): run \`capstan cutover --back\``;
      await save({ ...record!, message }).catch(() => {});
      return finish('failed', 1, record, message);
    }
    await save({ ...record!, state: 'rolled-back', message: `${why}: rolled back` });
    return finish('rolled-back', 1, record, `${why}: the cutover was rolled back, A is live`);
  }

  /** The hook failed during --back: the steps this run took back are made again. */
  async function restore(
    why: string,
    touched: readonly number[],
    state: CutoverState,
  ): Promise<CutoverResult> {
    try {
      for (const index of [...touched].reverse()) await act(index, 'forward');
    } catch (error) {
      const message = `${why}; restoring failed too (${(error as Error).message}): run again`;
      await save({ ...record!, message }).catch(() => {});
      return finish('failed', 1, record, message);
    }
    const message = `${why}: nothing was reversed, everything is as it was before --back`;
    await save({ ...record!, state, message });
    return finish('failed', 1, record, message);
  }
}
