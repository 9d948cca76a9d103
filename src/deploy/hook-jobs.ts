// A phase Job means "run this step for this deploy", whatever its name. A Job's template is
// immutable, so a name that an earlier deploy already used is handled here: a finished Job with
// another spec is replaced (its log kept in the release record first), an identical completed
// one is done, an identical running one (left by a deploy that died) is adopted and waited for,
// and a running one with another spec is waited for, then replaced: a migration is never killed
// half-way unless the user asks (--replace-running-jobs).
import { createHash } from 'node:crypto';
import { during, KubeApiError, type KubeClient, type ObjectId } from '../kube/index.js';
import { formatDuration } from '../notify/index.js';
import type { ReplacedJobRecord } from '../release/index.js';
import { helmHooksOf, type RenderedObject } from '../render/index.js';
import {
  at,
  list,
  mapLimit,
  num,
  objectKey,
  objectRef,
  settleLimit,
  sleep,
  sortKeys,
  str,
  type Issue,
  type KubeObject,
} from '../shared/index.js';

/** The hash of the rendered Job spec that created a Job: equal hashes mean the same step. */
export const SPEC_HASH_ANNOTATION = 'capstan.dev/spec-hash';

export type HookJobPlan =
  /** No Job has the name: created as usual. */
  | { readonly action: 'create' }
  /** Completed in an earlier deploy with the very same spec: not run again. */
  | { readonly action: 'done'; readonly live: KubeObject }
  /** Finished with another spec, or failed: deleted, then created anew. */
  | { readonly action: 'replace'; readonly live: KubeObject; readonly reason: string }
  /** Running with the very same spec (its deploy died): this deploy waits for it as its own. */
  | { readonly action: 'adopt'; readonly live: KubeObject }
  /** Running with another spec: waited for until it finishes, then replaced. */
  | { readonly action: 'await'; readonly live: KubeObject; readonly reason: string }
  /** Not Capstan's: nothing is applied. */
  | { readonly action: 'refuse'; readonly message: string };

/** Hash of a Job's spec, independent of key order. */
export function specHashOf(job: KubeObject): string {
  return createHash('sha256')
    .update(JSON.stringify(sortKeys(job.spec ?? {})))
    .digest('hex')
    .slice(0, 32);
}

/** The rendered Job with the hash of its spec; call after every change to the spec. */
export function withSpecHash(job: KubeObject): KubeObject {
  return {
    ...job,
    metadata: {
      ...job.metadata,
      annotations: { ...job.metadata.annotations, [SPEC_HASH_ANNOTATION]: specHashOf(job) },
    },
  };
}

function conditionTrue(job: KubeObject, type: string): boolean {
  return list(at(job, 'status', 'conditions')).some((c) => c.type === type && c.status === 'True');
}

/** How a Job ended, once decided (SuccessCriteriaMet and FailureTarget precede the final condition). */
export function jobOutcome(job: KubeObject): 'Complete' | 'Failed' | undefined {
  if (conditionTrue(job, 'Complete') || conditionTrue(job, 'SuccessCriteriaMet')) return 'Complete';
  if (conditionTrue(job, 'Failed') || conditionTrue(job, 'FailureTarget')) return 'Failed';
  return undefined;
}

export function deleteCommand(job: Pick<KubeObject, 'metadata'>): string {
  return `kubectl delete job ${job.metadata.name ?? ''} -n ${job.metadata.namespace ?? ''} --cascade=foreground`;
}

/** `started 2m ago, 1 active pod`: how far a running Job is, for people. */
export function runningJobText(live: KubeObject, now: number): string {
  const started = Date.parse(str(at(live, 'status', 'startTime')) ?? live.metadata.creationTimestamp ?? '');
  const age = Number.isNaN(started)
    ? 'at an unknown time'
    : `${formatDuration(Math.max(0, now - started))} ago`;
  const active = num(at(live, 'status', 'active')) ?? 0;
  return `started ${age}, ${active} active pod${active === 1 ? '' : 's'}`;
}

/**
 * What to do with a rendered hook Job given the live Job of the same name (pure).
 * `labels` are the managed labels of this app and environment: a Job without them is not ours.
 * `replaceRunning` deletes a running Job of another spec at once instead of waiting for it.
 */
export function planHookJob(
  rendered: KubeObject,
  live: KubeObject | undefined,
  options: {
    readonly labels: Readonly<Record<string, string>>;
    readonly now: number;
    readonly replaceRunning?: boolean;
  },
): HookJobPlan {
  if (!live) return { action: 'create' };
  const ref = objectRef(rendered);
  const liveLabels = live.metadata.labels ?? {};
  if (Object.entries(options.labels).some(([k, v]) => liveLabels[k] !== v)) {
    return {
      action: 'refuse',
      message: `${ref} already exists in namespace ${live.metadata.namespace ?? ''} and was not created by Capstan for this app and environment; rename the Job, or remove that one: ${deleteCommand(live)}`,
    };
  }
  // A Job on its way out (TTL, kubectl delete) is gone once its deletion completes.
  if (live.metadata.deletionTimestamp) return { action: 'replace', live, reason: 'it is being deleted' };
  const wanted = rendered.metadata.annotations?.[SPEC_HASH_ANNOTATION];
  const had = live.metadata.annotations?.[SPEC_HASH_ANNOTATION];
  const same = wanted !== undefined && wanted === had;
  const outcome = jobOutcome(live);
  if (!outcome) {
    // This deploy holds the lock once it gets to the Job, so whoever started this run is gone.
    if (same) return { action: 'adopt', live };
    const running = `it is still running (${runningJobText(live, options.now)}) with ${had === undefined ? 'no spec hash' : 'another spec'}`;
    return options.replaceRunning
      ? { action: 'replace', live, reason: `${running}, and --replace-running-jobs was given` }
      : { action: 'await', live, reason: running };
  }
  // A failed step is retried by the next deploy even when nothing changed: that is why one deploys again.
  if (outcome === 'Failed') return { action: 'replace', live, reason: 'it failed' };
  // A Helm hook runs on every deploy that includes it, as under Helm (before-hook-creation).
  if (same && helmHooksOf(rendered).length > 0)
    return { action: 'replace', live, reason: 'a Helm hook runs again on every deploy' };
  if (same) return { action: 'done', live };
  return { action: 'replace', live, reason: had === undefined ? 'it has no spec hash' : 'its spec changed' };
}

/** Lines a replaced Job leaves in the release record, per pod. */
const LOG_TAIL_LINES = 100;

/** The end of every pod's log of a Job, `[pod] line` (`[pod/container]` with several containers). */
export async function readJobLogTail(
  client: KubeClient,
  job: KubeObject,
  signal?: AbortSignal,
): Promise<string[]> {
  const namespace = job.metadata.namespace ?? '';
  const pods = await client.list('v1', 'Pod', {
    namespace,
    labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata.uid ?? ''}`,
    signal,
  });
  const sorted = [...pods.items].sort((a, b) =>
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
  );
  const lines: string[] = [];
  for (const pod of sorted) {
    const containers = list(at(pod, 'spec', 'containers')).map((c) => str(c.name) ?? '');
    for (const container of containers) {
      const prefix =
        containers.length > 1 ? `[${pod.metadata.name}/${container}] ` : `[${pod.metadata.name}] `;
      const text = await client
        .logs(namespace, pod.metadata.name ?? '', { container, tailLines: LOG_TAIL_LINES, signal })
        .catch((error: unknown) => {
          lines.push(`${prefix}(log not readable: ${(error as Error).message})`);
          return undefined;
        });
      for (const line of (text ?? '').split('\n')) if (line !== '') lines.push(prefix + line);
    }
  }
  return lines;
}

export interface ReplaceFailure {
  readonly outcome: 'failed' | 'timed-out' | 'interrupted' | 'lock-lost';
  readonly exitCode: 1 | 3 | 4 | 130;
  readonly message: string;
}

export interface ReplaceJobOptions {
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch) for the old Job to be gone. */
  readonly deadline: number;
  /** Stores the old run's log; it must succeed before the Job is deleted. */
  readonly keep?: (entry: ReplacedJobRecord) => Promise<void>;
  /** Why the deploy's lock is no longer its own, if it is not: asked after a long wait, before a delete. */
  readonly lockLost?: () => Promise<string | undefined>;
}

/**
 * Deletes a finished Job, after its log is kept, and waits until it and its pods are gone
 * (foreground propagation), so that the new Job's name and pod labels are free.
 * Returns undefined once the name is free, else why not.
 */
export async function replaceFinishedJob(
  client: KubeClient,
  live: KubeObject,
  options: ReplaceJobOptions,
): Promise<ReplaceFailure | undefined> {
  return during(
    `replacing the finished hook ${objectRef(live)} (a Job's template cannot change) needs it`,
    () => replaceJob(client, live, options),
  );
}

async function replaceJob(
  client: KubeClient,
  live: KubeObject,
  options: ReplaceJobOptions,
): Promise<ReplaceFailure | undefined> {
  const id = jobId(live);
  const ref = objectRef(live);
  const outcome = jobOutcome(live);
  if (options.keep && outcome) {
    const logs = await readJobLogTail(client, live, options.signal);
    await options.keep({
      name: id.name,
      uid: live.metadata.uid ?? '',
      outcome,
      startedAt: str(at(live, 'status', 'startTime')),
      finishedAt:
        str(at(live, 'status', 'completionTime')) ??
        list(at(live, 'status', 'conditions'))
          .map((c) => str(c.lastTransitionTime))
          .find(Boolean),
      logs,
    });
  }
  try {
    // The uid precondition: only the Job that was judged finished is deleted, never a newer one.
    await client.delete(id, {
      propagationPolicy: 'Foreground',
      preconditions: { uid: live.metadata.uid },
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof KubeApiError && error.conflict)
      return {
        outcome: 'failed',
        exitCode: 1,
        message: `${ref} changed since it was checked (another Job of that name exists now); it was not deleted`,
      };
    throw error;
  }
  // Deletion takes a moment (the pods first): a short poll, bounded by the deadline.
  while (Date.now() < options.deadline && !options.signal.aborted) {
    const now = await client
      .get(
        id,
        AbortSignal.any([options.signal, AbortSignal.timeout(Math.max(1, options.deadline - Date.now()))]),
      )
      .catch((error: unknown) => {
        if (options.signal.aborted || Date.now() >= options.deadline) return live;
        throw error;
      });
    if (!now || now.metadata.uid !== live.metadata.uid) return undefined;
    await sleep(250, options.signal);
  }
  if (options.signal.aborted)
    return {
      outcome: 'interrupted',
      exitCode: 130,
      message: `interrupted while waiting for the old ${ref} to be deleted`,
    };
  return {
    outcome: 'timed-out',
    exitCode: 3,
    message: `the old ${ref} was deleted but is still there at the deadline (its pods may be stuck terminating); check with: kubectl get pods -n ${id.namespace ?? ''} -l batch.kubernetes.io/controller-uid=${live.metadata.uid ?? ''}`,
  };
}

/** The id of a live Job, to read or delete it by. */
function jobId(live: KubeObject): ObjectId {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: live.metadata.name ?? '',
    namespace: live.metadata.namespace,
  };
}

/**
 * The live Job of each rendered Job's name, and what to do about it; refusals as issues. Asked by
 * validation, before the lock, and again by each phase as it starts, under the lock: a Job left by
 * a dead deploy may have finished, failed or gone meanwhile.
 */
export async function planHookJobs(
  client: KubeClient,
  objects: readonly RenderedObject[],
  options: {
    readonly labels: Readonly<Record<string, string>>;
    readonly concurrency: number;
    readonly signal: AbortSignal;
    readonly replaceRunning?: boolean;
  },
): Promise<{ plans: Map<string, HookJobPlan>; issues: Issue[] }> {
  const jobs = objects.filter((o) => o.object.kind === 'Job' && o.object.apiVersion === 'batch/v1');
  const now = Date.now();
  const plans = new Map<string, HookJobPlan>();
  const issues: Issue[] = [];
  // Every Job is asked; a refusal is reported for the first Job in render order, whichever
  // answer came first, so that the same deploy always fails with the same message.
  const outcomes = await settleLimit(jobs, options.concurrency, async (o) => {
    const live = await during(
      `checking whether hook Job/${o.object.metadata.name ?? ''} ran before needs it`,
      () => client.get(jobId(o.object), options.signal),
    );
    const plan = planHookJob(o.object, live, {
      labels: options.labels,
      now,
      replaceRunning: options.replaceRunning,
    });
    if (plan.action === 'refuse')
      issues.push({ file: o.source.file, line: o.source.line, message: plan.message });
    if (plan.action !== 'create') plans.set(objectKey(o.object), plan);
  });
  const refused = outcomes.find((r) => !r.ok);
  if (refused && !refused.ok) throw refused.error;
  return { plans, issues };
}

/** How often a running Job of an earlier deploy is read while this deploy waits for it. */
const AWAIT_POLL_MS = 1_000;
/** How often the wait for it says so again. */
const AWAIT_REPORT_MS = 15_000;

export interface AwaitJobOptions {
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch): the deploy's. */
  readonly deadline: number;
  /** Told at the start of the wait and every 15 s while the Job runs. */
  readonly onWaiting?: (live: KubeObject, message: string) => void;
  readonly now?: () => number;
}

/**
 * Waits until a running Job of an earlier deploy finishes (never deletes it): returns it finished,
 * undefined once it is gone (its name is free), or why the wait ended without it.
 */
export async function awaitRunningJob(
  client: KubeClient,
  live: KubeObject,
  options: AwaitJobOptions,
): Promise<KubeObject | undefined | ReplaceFailure> {
  const now = options.now ?? Date.now;
  const id = jobId(live);
  const ref = objectRef(live);
  let current = live;
  let reportedAt = -Infinity;
  while (now() < options.deadline && !options.signal.aborted) {
    if (jobOutcome(current)) return current;
    if (now() - reportedAt >= AWAIT_REPORT_MS) {
      reportedAt = now();
      options.onWaiting?.(
        current,
        `waiting for the run of an earlier deploy to finish before replacing it (${runningJobText(current, now())}); --replace-running-jobs deletes it instead`,
      );
    }
    await sleep(Math.min(AWAIT_POLL_MS, Math.max(1, options.deadline - now())), options.signal).catch(
      () => {},
    );
    if (options.signal.aborted) break;
    const read = await during(`waiting for the running ${ref} needs it`, () =>
      client.get(id, options.signal),
    );
    if (!read) return undefined;
    if (read.metadata.uid !== live.metadata.uid)
      return {
        outcome: 'failed',
        exitCode: 1,
        message: `${ref} was replaced by another Job of that name while this deploy waited for it to finish`,
      };
    current = read;
  }
  if (options.signal.aborted)
    return {
      outcome: 'interrupted',
      exitCode: 130,
      message: `interrupted while waiting for the running ${ref} to finish`,
    };
  return {
    outcome: 'timed-out',
    exitCode: 3,
    message: `${ref} of an earlier deploy was still running at the deadline (${runningJobText(current, now())}); deploy again once it finished, or with --replace-running-jobs to delete it`,
  };
}

/**
 * Before a phase is applied: replaces the finished Jobs of earlier deploys that this phase runs
 * again, after waiting for those still running with another spec. Returns the keys of the
 * replaced Jobs, or the first failure.
 */
export async function replacePhaseJobs(
  client: KubeClient,
  objects: readonly RenderedObject[],
  plans: ReadonlyMap<string, HookJobPlan>,
  options: ReplaceJobOptions & AwaitJobOptions & { readonly concurrency: number },
): Promise<{ readonly replaced: ReadonlySet<string>; readonly failure?: ReplaceFailure }> {
  const replaced = new Set<string>();
  const targets = objects.flatMap((o) => {
    const plan = plans.get(objectKey(o.object));
    return plan?.action === 'replace' || plan?.action === 'await'
      ? [{ key: objectKey(o.object), live: plan.live, running: plan.action === 'await' }]
      : [];
  });
  const failures = await mapLimit(targets, options.concurrency, async (t) => {
    let live: KubeObject | undefined = t.live;
    if (t.running) {
      const finished = await awaitRunningJob(client, t.live, options);
      if (finished && !('metadata' in finished)) return finished;
      live = finished;
      // The wait may have been long: another deploy holding the lock now may have adopted the Job.
      const lost = await options.lockLost?.();
      if (lost) return { outcome: 'lock-lost', exitCode: 4, message: lost } satisfies ReplaceFailure;
    }
    // Gone while waited for: the name is free and the Job is created as usual.
    if (!live) return undefined;
    const failure = await replaceFinishedJob(client, live, options);
    if (!failure) replaced.add(t.key);
    return failure;
  });
  return { replaced, failure: failures.find((f) => f !== undefined) };
}
