// A phase Job means "run this step for this deploy", whatever its name. A Job's template is
// immutable, so a name that an earlier deploy already used is handled here: a finished Job with
// another spec is replaced (its log kept in the release record first), an identical completed
// one is done, and one that has not finished stops the deploy before anything is applied.
import { createHash } from 'node:crypto';
import { during, KubeApiError, type KubeClient, type ObjectId } from '../kube/index.js';
import { formatDuration } from '../notify/index.js';
import type { ReplacedJobRecord } from '../release/index.js';
import type { RenderedObject } from '../render/index.js';
import {
  at,
  list,
  mapLimit,
  num,
  objectKey,
  objectRef,
  sleep,
  sortKeys,
  str,
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
  /** Still running, or not Capstan's: nothing is applied. */
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

/**
 * What to do with a rendered hook Job given the live Job of the same name (pure).
 * `labels` are the managed labels of this app and environment: a Job without them is not ours.
 */
export function planHookJob(
  rendered: KubeObject,
  live: KubeObject | undefined,
  options: { readonly labels: Readonly<Record<string, string>>; readonly now: number },
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
  const outcome = jobOutcome(live);
  if (!outcome) {
    const started = Date.parse(str(at(live, 'status', 'startTime')) ?? live.metadata.creationTimestamp ?? '');
    const age = Number.isNaN(started)
      ? 'at an unknown time'
      : `${formatDuration(Math.max(0, options.now - started))} ago`;
    const active = num(at(live, 'status', 'active')) ?? 0;
    return {
      action: 'refuse',
      message:
        `${ref} is still running (started ${age}, ${active} active pod${active === 1 ? '' : 's'}), left by a deploy that did not finish ` +
        `or by one in progress. Once no deploy of this environment runs, remove it and deploy again: ${deleteCommand(live)}`,
    };
  }
  const wanted = rendered.metadata.annotations?.[SPEC_HASH_ANNOTATION];
  const had = live.metadata.annotations?.[SPEC_HASH_ANNOTATION];
  // A failed step is retried by the next deploy even when nothing changed: that is why one deploys again.
  if (outcome === 'Failed') return { action: 'replace', live, reason: 'it failed' };
  if (wanted !== undefined && wanted === had) return { action: 'done', live };
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
  readonly outcome: 'failed' | 'timed-out' | 'interrupted';
  readonly exitCode: 1 | 3 | 130;
  readonly message: string;
}

export interface ReplaceJobOptions {
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch) for the old Job to be gone. */
  readonly deadline: number;
  /** Stores the old run's log; it must succeed before the Job is deleted. */
  readonly keep?: (entry: ReplacedJobRecord) => Promise<void>;
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
  const id: ObjectId = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: live.metadata.name ?? '',
    namespace: live.metadata.namespace,
  };
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

/**
 * Before a phase is applied: replaces the finished Jobs of earlier deploys that this phase runs
 * again. Returns the keys of the replaced Jobs, or the first failure.
 */
export async function replacePhaseJobs(
  client: KubeClient,
  objects: readonly RenderedObject[],
  plans: ReadonlyMap<string, HookJobPlan>,
  options: ReplaceJobOptions & { readonly concurrency: number },
): Promise<{ readonly replaced: ReadonlySet<string>; readonly failure?: ReplaceFailure }> {
  const replaced = new Set<string>();
  const targets = objects.flatMap((o) => {
    const plan = plans.get(objectKey(o.object));
    return plan?.action === 'replace' ? [{ key: objectKey(o.object), live: plan.live }] : [];
  });
  const failures = await mapLimit(targets, options.concurrency, async (t) => {
    const failure = await replaceFinishedJob(client, t.live, options);
    if (!failure) replaced.add(t.key);
    return failure;
  });
  return { replaced, failure: failures.find((f) => f !== undefined) };
}
