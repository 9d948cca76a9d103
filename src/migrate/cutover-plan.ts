// The pure half of a cutover: which steps switch A to B, the record that journals them, and what a
// run does next from the record it finds (fresh cutover, resume, no-op, reverse).
import { createHash } from 'node:crypto';
import { CapstanError } from '../shared/index.js';
import { at, groupKind } from './json.js';
import { SUSPENDED_BY_MIGRATE } from './strip.js';
import type { MigrationScope, PlannedObject } from './types.js';

/** Where the record lives in both clusters: one ConfigMap per scope and pair of clusters. */
export const CUTOVER_NAMESPACE = 'capstan-system';
/** Label of every cutover record (migrate never copies these ConfigMaps). */
export const CUTOVER_RECORD_LABEL = 'capstan.dev/cutover-record';
export const CUTOVER_RECORD_KEY = 'record.json';
export const CUTOVER_RECORD_VERSION = 1;

export type CutoverDirection = 'forward' | 'back';

/**
 * `cutting-over`: a cutover runs or was interrupted; `live`: B is live; `rolling-back`: the hook
 * failed and the done steps are being undone; `rolled-back`: they were; `going-back`: a `--back`
 * runs or was interrupted; `back`: A is live again.
 */
export type CutoverState = 'cutting-over' | 'live' | 'rolling-back' | 'rolled-back' | 'going-back' | 'back';

/** States in which A is the live cluster again (or still): migrate may copy into B, a cutover starts afresh. */
export const SOURCE_LIVE_STATES: ReadonlySet<CutoverState> = new Set(['rolled-back', 'back']);

export interface CutoverObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** One step of a cutover; `applied` says whether its forward change is in effect. */
export type CutoverStep =
  | {
      /** A's CronJob: `spec.suspend` from `before` to true. */
      readonly action: 'suspend-cronjob';
      readonly cluster: 'A';
      readonly object: CutoverObjectRef;
      readonly before: boolean;
      readonly after: true;
      readonly applied: boolean;
    }
  | {
      /** B's CronJob that migrate suspended: `spec.suspend` to `after` (A's value), the mark removed. */
      readonly action: 'resume-cronjob';
      readonly cluster: 'B';
      readonly object: CutoverObjectRef;
      readonly before: true;
      readonly after: boolean;
      /** The value of the migrate mark, put back when the step is undone. */
      readonly mark: string;
      readonly applied: boolean;
    }
  | {
      /** A's workload: `spec.replicas` from `before` to 0. */
      readonly action: 'scale';
      readonly cluster: 'A';
      readonly object: CutoverObjectRef;
      readonly before: number;
      readonly after: 0;
      readonly applied: boolean;
    }
  | {
      /** The switch point: the user's command, run with the direction. */
      readonly action: 'hook';
      readonly command: string;
      readonly applied: boolean;
      readonly result?: HookResult;
    };

export interface HookResult {
  readonly direction: CutoverDirection;
  /** Exit code; undefined when the command was killed (timeout or signal). */
  readonly exitCode?: number;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly ok: boolean;
}

export interface ClusterRecordRef {
  readonly server: string;
  readonly context?: string;
}

/** The journal of one cutover, kept identical in both clusters (the higher `seq` wins). */
export interface CutoverRecord {
  readonly version: typeof CUTOVER_RECORD_VERSION;
  /** Grows with every write, across cutovers of the same scope. */
  readonly seq: number;
  readonly by: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly from: ClusterRecordRef;
  readonly to: ClusterRecordRef;
  readonly scope: MigrationScope;
  readonly scaleDownSource: boolean;
  readonly state: CutoverState;
  readonly steps: readonly CutoverStep[];
  /** What the last run said: a failure, a rollback, ... */
  readonly message?: string;
  /** Set when cut over by environment (`capstan cutover ENV --to NAME`): the environment and cluster names. */
  readonly environment?: CutoverEnvironment;
  /**
   * The namespaces that keep a copy of the record in both clusters (the scope's), so that a deploy
   * there, which may read nothing else, learns whether its cluster is live.
   */
  readonly copies?: readonly string[];
}

export interface CutoverEnvironment {
  readonly name: string;
  /** The capstan.yaml cluster names of A and B. */
  readonly from: string;
  readonly to: string;
}

function sortedScope(scope: MigrationScope): MigrationScope {
  const sorted = (l?: readonly string[]) => (l ? [...new Set(l)].sort() : undefined);
  return {
    ...(scope.namespaces ? { namespaces: sorted(scope.namespaces) } : {}),
    ...(scope.app !== undefined ? { app: scope.app } : {}),
    ...(scope.selector ? { selector: scope.selector } : {}),
    ...(scope.includeKinds ? { includeKinds: sorted(scope.includeKinds) } : {}),
    ...(scope.excludeKinds ? { excludeKinds: sorted(scope.excludeKinds) } : {}),
  };
}

/** The record's ConfigMap name: the same for the same scope from the same A to the same B. */
export function cutoverRecordName(from: string, to: string, scope: MigrationScope): string {
  const digest = createHash('sha256')
    .update(JSON.stringify({ from, to, scope: sortedScope(scope) }))
    .digest('hex');
  return `cutover-${digest.slice(0, 12)}`;
}

function refOfObject(o: PlannedObject['object']): CutoverObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name ?? '',
  };
}

const SCALED_KINDS = new Set(['Deployment.apps', 'StatefulSet.apps', 'ReplicaSet.apps']);

export interface PlanCutoverInput {
  /** The migration plan of the scope, made against A and a verified B. */
  readonly objects: readonly PlannedObject[];
  readonly scaleDownSource: boolean;
  readonly command?: string;
}

/**
 * The steps, in order: suspend A's running CronJobs (no schedule runs twice), the hook (traffic
 * moves), resume B's CronJobs that migrate suspended, then scale A's workloads to 0 (after the
 * switch, so A serves until then). `--back` walks them backwards.
 */
export function planCutover(input: PlanCutoverInput): CutoverStep[] {
  const suspend: CutoverStep[] = [];
  const resume: CutoverStep[] = [];
  const scale: CutoverStep[] = [];
  const byKey = [...input.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const planned of byKey) {
    const gk = groupKind(planned.ref.group, planned.ref.kind);
    if (gk === 'CronJob.batch') {
      // The stripped form carries the mark exactly when A's CronJob runs.
      const runsInA = planned.object.metadata.annotations?.[SUSPENDED_BY_MIGRATE] !== undefined;
      if (runsInA)
        suspend.push({
          action: 'suspend-cronjob',
          cluster: 'A',
          object: refOfObject(planned.object),
          before: false,
          after: true,
          applied: false,
        });
      const mark = planned.current?.metadata.annotations?.[SUSPENDED_BY_MIGRATE];
      if (planned.current && mark !== undefined)
        resume.push({
          action: 'resume-cronjob',
          cluster: 'B',
          object: refOfObject(planned.current),
          before: true,
          after: mark === 'true',
          mark,
          applied: false,
        });
    } else if (input.scaleDownSource && SCALED_KINDS.has(gk)) {
      const replicas = at(planned.object, 'spec', 'replicas');
      const before = typeof replicas === 'number' ? replicas : 1;
      if (before > 0)
        scale.push({
          action: 'scale',
          cluster: 'A',
          object: refOfObject(planned.object),
          before,
          after: 0,
          applied: false,
        });
    }
  }
  const hook: CutoverStep[] =
    input.command !== undefined ? [{ action: 'hook', command: input.command, applied: false }] : [];
  return [...suspend, ...hook, ...resume, ...scale];
}

/** What a run does, given the record it found and the direction asked for. */
export type CutoverDecision =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'noop'; readonly record: CutoverRecord; readonly message: string }
  | { readonly kind: 'continue'; readonly record: CutoverRecord; readonly message: string }
  | { readonly kind: 'none'; readonly message: string };

export function decide(record: CutoverRecord | undefined, direction: CutoverDirection): CutoverDecision {
  const since = (r: CutoverRecord) => `${r.updatedAt} by ${r.by}`;
  if (direction === 'forward') {
    if (!record || SOURCE_LIVE_STATES.has(record.state)) return { kind: 'fresh' };
    if (record.state === 'live')
      return { kind: 'noop', record, message: `already cut over (${since(record)}): nothing to do` };
    return {
      kind: 'continue',
      record,
      message: `continuing the cutover left ${record.state} (${since(record)})`,
    };
  }
  if (!record)
    return { kind: 'none', message: 'no cutover record for this scope in A or B: nothing to reverse' };
  if (SOURCE_LIVE_STATES.has(record.state))
    return {
      kind: 'noop',
      record,
      message: `A is live already (${record.state}, ${since(record)}): nothing to reverse`,
    };
  return {
    kind: 'continue',
    record,
    message:
      record.state === 'live'
        ? `reversing the cutover of ${since(record)}`
        : `reversing the cutover left ${record.state} (${since(record)})`,
  };
}

/** The indexes of the steps to act on, in order: unapplied ones forward, applied ones backwards. */
export function pendingSteps(steps: readonly CutoverStep[], direction: CutoverDirection): number[] {
  const indexes = steps.map((_, i) => i);
  return direction === 'forward'
    ? indexes.filter((i) => !steps[i].applied)
    : indexes.reverse().filter((i) => steps[i].applied);
}

/** The record with one step's `applied` (and the hook's result) changed; the input is not changed. */
export function withStep(
  record: CutoverRecord,
  index: number,
  applied: boolean,
  result?: HookResult,
): CutoverRecord {
  const steps = record.steps.map((s, i) =>
    i !== index
      ? s
      : s.action === 'hook'
        ? { ...s, applied, ...(result ? { result } : {}) }
        : { ...s, applied },
  );
  return { ...record, steps };
}

function invalid(message: string): CapstanError {
  return new CapstanError('ERR_CAPSTAN_CUTOVER_RECORD', `the cutover record is unreadable: ${message}`, {
    hint: `Capstan will not act on a record it cannot read: inspect the ConfigMap in namespace ${CUTOVER_NAMESPACE} of both clusters`,
  });
}

const STATES: ReadonlySet<string> = new Set([
  'cutting-over',
  'live',
  'rolling-back',
  'rolled-back',
  'going-back',
  'back',
]);

function checkRef(value: unknown, where: string): void {
  const o = value as Record<string, unknown> | undefined;
  for (const field of ['apiVersion', 'kind', 'namespace', 'name'])
    if (typeof o?.[field] !== 'string') throw invalid(`${where}.object.${field} is not a string`);
}

function checkStep(step: unknown, i: number): void {
  const s = step as Record<string, unknown> | undefined;
  const where = `steps[${i}]`;
  if (typeof s?.applied !== 'boolean') throw invalid(`${where}.applied is not a boolean`);
  switch (s.action) {
    case 'hook':
      if (typeof s.command !== 'string') throw invalid(`${where}.command is not a string`);
      return;
    case 'suspend-cronjob':
    case 'resume-cronjob':
      checkRef(s.object, where);
      if (typeof s.before !== 'boolean' || typeof s.after !== 'boolean')
        throw invalid(`${where}.before/after are not booleans`);
      if (s.action === 'resume-cronjob' && typeof s.mark !== 'string')
        throw invalid(`${where}.mark is not a string`);
      return;
    case 'scale':
      checkRef(s.object, where);
      if (!Number.isSafeInteger(s.before) || (s.before as number) < 0)
        throw invalid(`${where}.before is not a replica count`);
      return;
    default:
      throw invalid(`${where}.action ${JSON.stringify(s.action)} is unknown`);
  }
}

/** Reads a record's JSON; anything unexpected is an error (fail closed), never a guess. */
export function parseCutoverRecord(text: string): CutoverRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid((error as Error).message);
  }
  const r = value as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') throw invalid('not an object');
  if (r.version !== CUTOVER_RECORD_VERSION)
    throw invalid(
      `version ${JSON.stringify(r.version)}, this Capstan reads version ${CUTOVER_RECORD_VERSION}`,
    );
  if (!Number.isSafeInteger(r.seq)) throw invalid('seq is not a number');
  if (typeof r.state !== 'string' || !STATES.has(r.state)) throw invalid(`state ${JSON.stringify(r.state)}`);
  for (const side of ['from', 'to'])
    if (typeof (r[side] as Record<string, unknown> | undefined)?.server !== 'string')
      throw invalid(`${side}.server is not a string`);
  if (!Array.isArray(r.steps)) throw invalid('steps is not a list');
  r.steps.forEach(checkStep);
  const environment = r.environment as Record<string, unknown> | undefined;
  if (environment !== undefined)
    for (const field of ['name', 'from', 'to'])
      if (typeof environment?.[field] !== 'string') throw invalid(`environment.${field} is not a string`);
  if (r.copies !== undefined && !(Array.isArray(r.copies) && r.copies.every((n) => typeof n === 'string')))
    throw invalid('copies is not a list of namespaces');
  return value as CutoverRecord;
}

/** Of the records found in A and B, the one written last (they are written one after the other). */
export function newestRecord(records: readonly (CutoverRecord | undefined)[]): CutoverRecord | undefined {
  let newest: CutoverRecord | undefined;
  for (const r of records) if (r && (!newest || r.seq > newest.seq)) newest = r;
  return newest;
}

/** One line per step for people: `suspend CronJob shop/nightly in A (suspend false → true)`. */
export function describeStep(step: CutoverStep, direction: CutoverDirection = 'forward'): string {
  const back = direction === 'back';
  if (step.action === 'hook') return `run the hook (${direction}): ${step.command}`;
  const name = `${step.object.kind} ${step.object.namespace ? `${step.object.namespace}/` : ''}${step.object.name}`;
  const [from, to] = back ? [step.after, step.before] : [step.before, step.after];
  switch (step.action) {
    case 'suspend-cronjob':
      return `${back ? 'resume' : 'suspend'} ${name} in A (suspend ${from} → ${to})`;
    case 'resume-cronjob':
      return `${back ? 'suspend' : 'resume'} ${name} in B (suspend ${from} → ${to})`;
    case 'scale':
      return `scale ${name} in A (replicas ${from} → ${to})`;
  }
}

/** The merge patch that makes a step's change (`forward`) or takes it back (`back`). */
export function stepPatch(
  step: Exclude<CutoverStep, { action: 'hook' }>,
  direction: CutoverDirection,
): Record<string, unknown> {
  const forward = direction === 'forward';
  switch (step.action) {
    case 'suspend-cronjob':
      return { spec: { suspend: forward ? step.after : step.before } };
    case 'resume-cronjob':
      return forward
        ? { metadata: { annotations: { [SUSPENDED_BY_MIGRATE]: null } }, spec: { suspend: step.after } }
        : {
            metadata: { annotations: { [SUSPENDED_BY_MIGRATE]: step.mark } },
            spec: { suspend: step.before },
          };
    case 'scale':
      return { spec: { replicas: forward ? step.after : step.before } };
  }
}
