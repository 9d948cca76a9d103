// What is wrong with each workload right now, read from its objects alone (pure): the causes an
// incident is opened for, per workload and never per pod, worded as the deploy's diagnosis words them.
import {
  condition,
  containerStates,
  findMostLikelyCause,
  isUnschedulable,
  podPhase,
  summarizeEvents,
  type ContainerState,
  type DiagnosisEvent,
} from '../rollout/index.js';
import { at, list, num, str, type KubeObject } from '../shared/index.js';

export type IncidentCause =
  | 'crash-loop'
  | 'oom-killed'
  | 'image-pull'
  | 'config-error'
  | 'evicted'
  | 'job-failed'
  | 'unavailable'
  | 'unschedulable';

/** Causes that must last a grace period before they are an incident (a rollout or a scale-up passes through them). */
export const GRACE_CAUSES: ReadonlySet<IncidentCause> = new Set(['unavailable', 'unschedulable']);

/** What a cause is called in a message's first line. */
export const CAUSE_TITLES: Readonly<Record<IncidentCause, string>> = {
  'crash-loop': 'crash loop',
  'oom-killed': 'out of memory (OOMKilled)',
  'image-pull': 'image cannot be pulled',
  'config-error': 'container cannot be configured',
  evicted: 'pod evicted',
  'job-failed': 'Job failed',
  unavailable: 'fewer available replicas than wanted',
  unschedulable: 'pods cannot be scheduled',
};

export const DEFAULT_GRACE_MS = 2 * 60_000;

/** The objects of one namespace an evaluation reads. */
export interface ObservedState {
  /** Deployments, StatefulSets, DaemonSets and CronJobs. */
  readonly workloads: readonly KubeObject[];
  readonly replicaSets: readonly KubeObject[];
  readonly jobs: readonly KubeObject[];
  readonly pods: readonly KubeObject[];
  readonly events: readonly KubeObject[];
}

export interface Finding {
  /** `Kind/name` of the workload the incident is about (a CronJob for its Jobs' failures). */
  readonly workload: string;
  readonly cause: IncidentCause;
  /** The most likely cause in the deploy's words. */
  readonly summary: string;
  /** The pods that show it, sorted. */
  readonly pods: readonly string[];
  /** When it began as the objects tell (a condition's transition), for causes with a grace period. */
  readonly since?: string;
  /** The object a diagnosis should be collected for: the workload, or a CronJob's failed Job. */
  readonly subject: string;
}

export interface ObserveOptions {
  readonly now: Date;
  /** How long an OOM kill or an eviction counts as current, and causes with a grace period must last. */
  readonly graceMs?: number;
  /** Jobs (by name) to leave out: a deploy's hook Jobs, whose failures the deploy reported. */
  readonly ignoreJobs?: ReadonlySet<string>;
}

export const refOf = (object: KubeObject): string => `${object.kind}/${object.metadata.name ?? '?'}`;

const WATCHED_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob']);
const IMAGE_PULL: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
]);

function controllerRef(object: KubeObject): { kind: string; name: string } | undefined {
  const refs = object.metadata.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller) ?? refs[0];
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

/**
 * The workload each pod belongs to: a Deployment through its ReplicaSet, a CronJob through its Job,
 * else its owner; a bare pod is its own workload.
 */
export function workloadOfPod(pod: KubeObject, state: Pick<ObservedState, 'replicaSets' | 'jobs'>): string {
  const owner = controllerRef(pod);
  if (owner === undefined) return refOf(pod);
  const parents: readonly KubeObject[] =
    owner.kind === 'ReplicaSet' ? state.replicaSets : owner.kind === 'Job' ? state.jobs : [];
  const parent = parents.find((p) => p.metadata.name === owner.name);
  const grand = parent ? controllerRef(parent) : undefined;
  if (grand && (grand.kind === 'Deployment' || grand.kind === 'CronJob'))
    return `${grand.kind}/${grand.name}`;
  return `${owner.kind}/${owner.name}`;
}

const timeOf = (iso: string | undefined): number | undefined => {
  const t = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

const conditionsOf = (object: KubeObject): unknown[] => list(at(object, 'status', 'conditions'));

/** When a condition last changed, as the object says. */
function conditionTime(object: KubeObject, type: string): string | undefined {
  const found = conditionsOf(object).find((c) => str(at(c, 'type')) === type);
  return str(at(found, 'lastTransitionTime'));
}

const finishedAt = (pod: KubeObject, container: ContainerState): number | undefined => {
  const statuses = [
    ...list(at(pod, 'status', 'initContainerStatuses')),
    ...list(at(pod, 'status', 'containerStatuses')),
  ];
  const status = statuses.find((s) => str(at(s, 'name')) === container.name);
  return timeOf(
    str(at(status, 'lastState', 'terminated', 'finishedAt')) ??
      str(at(status, 'state', 'terminated', 'finishedAt')),
  );
};

/** The one cause a container shows, if any: OOM before crash loop, as one container is one incident. */
function containerCause(
  pod: KubeObject,
  container: ContainerState,
  options: { now: number; graceMs: number; ofJob: boolean },
): IncidentCause | undefined {
  const waiting = container.waiting?.reason ?? '';
  if (IMAGE_PULL.has(waiting)) return 'image-pull';
  // The kubelet says this while its ConfigMap/Secret cache syncs; it passes on its own.
  if (
    waiting === 'CreateContainerConfigError' &&
    !/failed to sync .* cache/i.test(container.waiting?.message ?? '')
  )
    return 'config-error';
  const oom =
    container.lastTerminated?.reason === 'OOMKilled' || container.terminated?.reason === 'OOMKilled';
  if (oom) {
    const at = finishedAt(pod, container);
    // A kill long ago of a container that is ready now is history, not an incident.
    if (!container.ready || at === undefined || options.now - at < options.graceMs) return 'oom-killed';
  }
  // A Job's backoffLimit, not its pods' restarts, decides when its crashes are a failure.
  if (options.ofJob) return undefined;
  const backingOff = waiting === 'CrashLoopBackOff' && container.restarts >= 1;
  // Between back-offs a crash-looping container runs (not ready) or has just exited again.
  const exit = container.terminated?.exitCode ?? container.lastTerminated?.exitCode;
  const crashed = container.restarts >= 2 && !container.ready && exit !== undefined && exit !== 0;
  return backingOff || crashed ? 'crash-loop' : undefined;
}

function isEvicted(pod: KubeObject, now: number, graceMs: number): boolean {
  if (podPhase(pod) !== 'Failed' || str(at(pod, 'status', 'reason')) !== 'Evicted') return false;
  const times = conditionsOf(pod)
    .map((c) => timeOf(str(at(c, 'lastTransitionTime'))))
    .filter((t): t is number => t !== undefined);
  // An evicted pod stays until it is collected; the eviction is news for a grace period only.
  return times.length === 0 || now - Math.max(...times) < graceMs;
}

interface PodCause {
  readonly cause: IncidentCause;
  readonly since?: string;
}

function podCauses(pod: KubeObject, options: { now: number; graceMs: number; ofJob: boolean }): PodCause[] {
  if (pod.metadata.deletionTimestamp) return [];
  if (isEvicted(pod, options.now, options.graceMs)) return [{ cause: 'evicted' }];
  if (podPhase(pod) === 'Failed' || podPhase(pod) === 'Succeeded') return [];
  if (isUnschedulable(pod)) {
    const since = conditionTime(pod, 'PodScheduled');
    return [{ cause: 'unschedulable', ...(since ? { since } : {}) }];
  }
  const causes = new Set(containerStates(pod).flatMap((c) => containerCause(pod, c, options) ?? []));
  return [...causes].map((cause) => ({ cause }));
}

/** Replicas a workload wants available, and has; undefined for kinds without replicas. */
function availability(workload: KubeObject): { wanted: number; available: number } | undefined {
  if (workload.kind === 'Deployment' || workload.kind === 'StatefulSet') {
    const wanted = num(at(workload, 'spec', 'replicas')) ?? 1;
    const available = num(at(workload, 'status', 'availableReplicas')) ?? 0;
    return { wanted, available };
  }
  if (workload.kind === 'DaemonSet') {
    const wanted = num(at(workload, 'status', 'desiredNumberScheduled')) ?? 0;
    const available = num(at(workload, 'status', 'numberAvailable')) ?? 0;
    return { wanted, available };
  }
  return undefined;
}

function describeUnavailable(workload: KubeObject, wanted: number, available: number): string {
  const deadline = condition(workload, 'Progressing');
  const stuck =
    deadline?.reason === 'ProgressDeadlineExceeded'
      ? `; the rollout did not progress: ${deadline.message}`
      : '';
  return `${available} of ${wanted} wanted replica${wanted === 1 ? '' : 's'} available${stuck}`;
}

/** The newest Job of a CronJob that finished, or every standalone Job: those that failed. */
function failedJobs(
  state: ObservedState,
  ignore: ReadonlySet<string>,
): Array<{ job: KubeObject; workload: string }> {
  const finished = (job: KubeObject) =>
    ['Complete', 'Failed'].some((type) => condition(job, type)?.status === 'True');
  const failed = (job: KubeObject) => condition(job, 'Failed')?.status === 'True';
  const newestByCronJob = new Map<string, KubeObject>();
  const found: Array<{ job: KubeObject; workload: string }> = [];
  for (const job of state.jobs) {
    if (ignore.has(job.metadata.name ?? '')) continue;
    const owner = controllerRef(job);
    if (owner?.kind !== 'CronJob') {
      if (failed(job)) found.push({ job, workload: refOf(job) });
      continue;
    }
    if (!finished(job)) continue;
    const key = `CronJob/${owner.name}`;
    const seen = newestByCronJob.get(key);
    const created = (j: KubeObject) => timeOf(j.metadata.creationTimestamp) ?? 0;
    if (seen === undefined || created(job) >= created(seen)) newestByCronJob.set(key, job);
  }
  for (const [workload, job] of newestByCronJob) if (failed(job)) found.push({ job, workload });
  return found;
}

function summaryOf(
  object: KubeObject,
  pods: KubeObject[],
  state: ObservedState,
  events: DiagnosisEvent[],
): string {
  return findMostLikelyCause({
    object,
    pods,
    replicaSets: [...state.replicaSets],
    events,
    timedOut: false,
  });
}

/**
 * What is wrong with each workload now, one finding per workload and cause, sorted by workload
 * then cause. A workload below its wanted replicas counts as `unavailable` only when nothing more
 * specific explains it: a crash loop is one incident, not two.
 */
export function observeFindings(state: ObservedState, options: ObserveOptions): Finding[] {
  const now = options.now.getTime();
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const ignore = options.ignoreJobs ?? new Set<string>();
  const events = summarizeEvents([...state.events]);
  const byKey = new Map<
    string,
    { workload: string; cause: IncidentCause; pods: KubeObject[]; since?: string }
  >();
  for (const pod of state.pods) {
    const owner = controllerRef(pod);
    if (owner?.kind === 'Job' && ignore.has(owner.name)) continue;
    const workload = workloadOfPod(pod, state);
    for (const { cause, since } of podCauses(pod, { now, graceMs, ofJob: owner?.kind === 'Job' })) {
      const key = `${workload}\u0000${cause}`;
      const entry = byKey.get(key) ?? { workload, cause, pods: [] };
      entry.pods.push(pod);
      if (since !== undefined && (entry.since === undefined || since < entry.since)) entry.since = since;
      byKey.set(key, entry);
    }
  }
  const objects = new Map(state.workloads.map((w) => [refOf(w), w]));
  const findings: Finding[] = [];
  for (const { workload, cause, pods, since } of byKey.values()) {
    const object = objects.get(workload) ?? pods[0];
    const relevant = cause === 'image-pull' || cause === 'crash-loop' ? events : [];
    const names = pods.map((p) => p.metadata.name ?? '?').sort();
    findings.push({
      workload,
      cause,
      summary: summaryOf(object.kind === 'CronJob' ? pods[0] : object, pods, state, relevant),
      pods: names,
      ...(since ? { since } : {}),
      subject: workload,
    });
  }
  for (const { job, workload } of failedJobs(state, ignore)) {
    const failedPods = state.pods.filter(
      (p) => controllerRef(p)?.name === job.metadata.name && podPhase(p) === 'Failed',
    );
    findings.push({
      workload,
      cause: 'job-failed',
      summary: summaryOf(job, failedPods, state, []),
      pods: failedPods.map((p) => p.metadata.name ?? '?').sort(),
      subject: refOf(job),
    });
  }
  const troubled = new Set(findings.map((f) => f.workload));
  for (const workload of state.workloads) {
    if (!WATCHED_KINDS.has(workload.kind) || troubled.has(refOf(workload))) continue;
    const counts = availability(workload);
    if (counts === undefined || counts.available >= counts.wanted) continue;
    const available = condition(workload, 'Available');
    const since = available?.status === 'False' ? conditionTime(workload, 'Available') : undefined;
    findings.push({
      workload: refOf(workload),
      cause: 'unavailable',
      summary: describeUnavailable(workload, counts.wanted, counts.available),
      pods: [],
      ...(since ? { since } : {}),
      subject: refOf(workload),
    });
  }
  return findings.sort((a, b) =>
    a.workload === b.workload ? a.cause.localeCompare(b.cause) : a.workload.localeCompare(b.workload),
  );
}
