// What a pod's containers are doing, which of their states no waiting will fix, and a bare pod's readiness.
import type { KubeObject } from '../shared/index.js';
import { at, condition, list, num, reasonAndMessage, str } from './object-access.js';
import type { Json } from './object-access.js';
import type { DiagnosisContainer, DiagnosisEvent, DiagnosisPod, Readiness } from './types.js';

export interface Termination {
  readonly reason?: string;
  readonly exitCode?: number;
  readonly message?: string;
}

export interface ContainerState {
  readonly name: string;
  readonly init: boolean;
  readonly image?: string;
  readonly ready: boolean;
  readonly restarts: number;
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly running: boolean;
  readonly terminated?: Termination;
  readonly lastTerminated?: Termination;
  readonly memoryLimit?: string;
}

function termination(value: unknown): Termination | undefined {
  if (value === undefined || value === null) return undefined;
  return {
    reason: str(at(value, 'reason')),
    exitCode: num(at(value, 'exitCode')),
    message: str(at(value, 'message')),
  };
}

function specContainer(pod: KubeObject, init: boolean, name: string): Json | undefined {
  return list(at(pod, 'spec', init ? 'initContainers' : 'containers')).find((c) => c.name === name);
}

function readStatus(pod: KubeObject, status: Json, init: boolean): ContainerState {
  const name = str(status.name) ?? '?';
  const spec = specContainer(pod, init, name);
  const waiting = at(status, 'state', 'waiting');
  return {
    name,
    init,
    image: str(spec?.image) ?? str(status.image),
    ready: status.ready === true,
    restarts: num(status.restartCount) ?? 0,
    waiting: waiting
      ? { reason: str(at(waiting, 'reason')), message: str(at(waiting, 'message')) }
      : undefined,
    running: at(status, 'state', 'running') !== undefined,
    terminated: termination(at(status, 'state', 'terminated')),
    lastTerminated: termination(at(status, 'lastState', 'terminated')),
    memoryLimit: str(at(spec, 'resources', 'limits', 'memory')),
  };
}

/** Init containers first, then the app containers, as the kubelet reports them. */
export function containerStates(pod: KubeObject): ContainerState[] {
  return [
    ...list(at(pod, 'status', 'initContainerStatuses')).map((s) => readStatus(pod, s, true)),
    ...list(at(pod, 'status', 'containerStatuses')).map((s) => readStatus(pod, s, false)),
  ];
}

/** Waiting reasons no retry by the kubelet can fix. Image pulls are judged by their error (pullVerdict). */
const HOPELESS_WAITING = new Set(['ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError']);
const IMAGE_PULL_WAITING = new Set(['ImagePullBackOff', 'ErrImagePull']);

// The registry is busy or the network flaky: the kubelet retries, and a later pull may work.
const TRANSIENT_PULL =
  /\b429\b|too ?many ?requests|rate limit|qps exceeded|timeout|timed out|deadline exceeded|i\/o|\beof\b|connection (?:reset|refused)|temporar|unavailable|\b50[234]\b|no such host/i;
// The registry answered: this image does not exist or this node may not have it.
const PERMANENT_PULL =
  /not found|manifest unknown|unauthorized|authentication required|access denied|denied: |forbidden|does not exist|invalid reference/i;

/**
 * Whether a pull error will stay: `permanent` when the registry says the image does not exist or
 * is not ours to pull, `transient` for throttling, timeouts and network errors, `unknown` otherwise.
 */
export function pullVerdict(message: string | undefined): 'permanent' | 'transient' | 'unknown' {
  if (!message) return 'unknown';
  if (TRANSIENT_PULL.test(message)) return 'transient';
  return PERMANENT_PULL.test(message) ? 'permanent' : 'unknown';
}

export interface HopelessOptions {
  /**
   * The last pull error reported for this container (a kubelet event); ImagePullBackOff itself
   * only repeats the image name.
   */
  readonly pullError?: string;
  /** False for a Job's pods: its backoffLimit, not the restarts, decides when a crash loop is final. */
  readonly crashLoopIsFinal?: boolean;
}

/** Why this container will not get better by waiting, or undefined. */
export function hopelessReason(container: ContainerState, options: HopelessOptions = {}): string | undefined {
  const reason = container.waiting?.reason;
  if (reason === undefined) return undefined;
  const message = container.waiting?.message;
  if (reason === 'CrashLoopBackOff') {
    if (options.crashLoopIsFinal === false) return undefined;
    // Only once a crash was actually observed: the back-off reason alone can precede the first status update.
    const last = container.lastTerminated;
    if (container.restarts < 1 || last === undefined) return undefined;
    return `CrashLoopBackOff (exit code ${last.exitCode ?? '?'}, ${container.restarts} restarts)`;
  }
  if (IMAGE_PULL_WAITING.has(reason)) {
    // The kubelet's own message first (ErrImagePull carries the error), else the last pull event.
    const own = pullVerdict(message);
    const verdict = own === 'unknown' ? pullVerdict(options.pullError) : own;
    if (verdict !== 'permanent') return undefined;
    const detail =
      own === 'permanent' ? message : `${message ? `${message}: ` : ''}${options.pullError ?? ''}`;
    return reasonAndMessage(reason, detail);
  }
  // The kubelet reports this while its ConfigMap/Secret cache is still syncing; it resolves on its own.
  if (reason === 'CreateContainerConfigError' && /failed to sync .* cache/i.test(message ?? ''))
    return undefined;
  return HOPELESS_WAITING.has(reason) ? reasonAndMessage(reason, message) : undefined;
}

export interface PodJudgmentOptions {
  /** Warning events of the pods' namespace (summarized), for the pull errors behind ImagePullBackOff. */
  readonly events?: readonly DiagnosisEvent[];
  readonly crashLoopIsFinal?: boolean;
}

/** The last `Failed to pull image` event of this pod for this image (kwok and older kubelets omit the image). */
export function lastPullError(
  pod: KubeObject,
  image: string | undefined,
  events: readonly DiagnosisEvent[],
): string | undefined {
  const object = `Pod/${pod.metadata.name ?? '?'}`;
  return events
    .filter(
      (e) =>
        e.object === object &&
        e.message.startsWith('Failed to pull image') &&
        (image === undefined ||
          !e.message.startsWith('Failed to pull image "') ||
          e.message.startsWith(`Failed to pull image "${image}"`)),
    )
    .at(-1)?.message;
}

/** Why this pod (not being deleted) will not become ready by waiting, or undefined. */
export function podProblem(pod: KubeObject, options: PodJudgmentOptions = {}): string | undefined {
  if (pod.metadata.deletionTimestamp) return undefined;
  for (const container of containerStates(pod)) {
    const pullError = IMAGE_PULL_WAITING.has(container.waiting?.reason ?? '')
      ? lastPullError(pod, container.image, options.events ?? [])
      : undefined;
    const reason = hopelessReason(container, { pullError, crashLoopIsFinal: options.crashLoopIsFinal });
    if (reason !== undefined) return `container ${container.name}: ${reason}`;
  }
  return undefined;
}

/** The first pod (not being deleted) with a container in a state no amount of waiting will fix. */
export function earlyFailure(pods: KubeObject[], options: PodJudgmentOptions = {}): string | undefined {
  for (const pod of pods) {
    const problem = podProblem(pod, options);
    if (problem !== undefined) return `pod ${pod.metadata.name ?? '?'} ${problem}`;
  }
  return undefined;
}

export function podPhase(pod: KubeObject): string {
  return str(at(pod, 'status', 'phase')) ?? 'Unknown';
}

export function isPodReady(pod: KubeObject): boolean {
  return podPhase(pod) === 'Running' && condition(pod, 'Ready')?.status === 'True';
}

/** Healthy pods need no place in a diagnosis. */
export function isPodHealthy(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && (podPhase(pod) === 'Succeeded' || isPodReady(pod));
}

export function isUnschedulable(pod: KubeObject): boolean {
  const scheduled = condition(pod, 'PodScheduled');
  return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable';
}

function exitSummary(t: Termination): string {
  return `exit code ${t.exitCode ?? '?'}${t.reason ? ` (${t.reason})` : ''}`;
}

export function podReadiness(pod: KubeObject): Readiness {
  if (pod.metadata.deletionTimestamp) return { status: 'pending', message: 'pod is terminating' };
  const phase = podPhase(pod);
  const containers = containerStates(pod);
  if (phase === 'Succeeded') return { status: 'ready', message: 'pod succeeded' };
  if (phase === 'Failed') {
    const own = reasonAndMessage(str(at(pod, 'status', 'reason')), str(at(pod, 'status', 'message')));
    const crashed = containers.find((c) => c.terminated && c.terminated.exitCode !== 0);
    const detail = crashed?.terminated
      ? `container ${crashed.name} exited: ${exitSummary(crashed.terminated)}`
      : '';
    return { status: 'failed', message: own || detail || 'pod failed' };
  }
  for (const container of containers) {
    const reason = hopelessReason(container);
    if (reason !== undefined) return { status: 'failed', message: `container ${container.name}: ${reason}` };
  }
  if (isPodReady(pod)) return { status: 'ready', message: 'pod is running and ready' };
  const scheduled = condition(pod, 'PodScheduled');
  if (scheduled?.status === 'False') {
    return {
      status: 'pending',
      message: `not scheduled: ${reasonAndMessage(scheduled.reason, scheduled.message)}`,
    };
  }
  const waiting = containers.find((c) => c.waiting?.reason !== undefined);
  if (waiting) return { status: 'pending', message: `container ${waiting.name}: ${waiting.waiting?.reason}` };
  const app = containers.filter((c) => !c.init);
  if (phase === 'Running' && app.length > 0) {
    return {
      status: 'pending',
      message: `${app.filter((c) => c.ready).length} of ${app.length} containers ready`,
    };
  }
  return { status: 'pending', message: `pod is ${phase}` };
}

function describeContainer(c: ContainerState): DiagnosisContainer {
  const base = { name: c.name, restarts: c.restarts };
  const previously = c.lastTerminated ? `last ${exitSummary(c.lastTerminated)}` : undefined;
  if (c.waiting) {
    const detail = [c.waiting.message, previously].filter(Boolean).join('; ');
    return { ...base, reason: c.waiting.reason ?? 'Waiting', ...(detail ? { detail } : {}) };
  }
  if (c.terminated) {
    const detail = [exitSummary(c.terminated), c.terminated.message?.trim()].filter(Boolean).join(': ');
    return { ...base, reason: c.terminated.reason ?? 'Terminated', detail };
  }
  if (c.running) {
    return {
      ...base,
      reason: c.ready ? 'Running' : 'Running, not ready',
      ...(previously ? { detail: previously } : {}),
    };
  }
  return { ...base, reason: 'Pending' };
}

/** A pod as a diagnosis shows it; init containers that finished cleanly are left out. */
export function describePod(pod: KubeObject): DiagnosisPod {
  let phase = podPhase(pod);
  const statusReason = str(at(pod, 'status', 'reason'));
  if (pod.metadata.deletionTimestamp) phase = 'Terminating';
  else if (isUnschedulable(pod)) phase = `${phase} (Unschedulable)`;
  else if (statusReason) phase = `${phase} (${statusReason})`;
  const containers = containerStates(pod)
    .filter((c) => !(c.init && c.terminated?.exitCode === 0))
    .map(describeContainer);
  return { name: pod.metadata.name ?? '?', phase, containers };
}
