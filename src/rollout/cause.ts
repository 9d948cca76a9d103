// The one sentence a failed rollout most needs: the most likely cause, checked from the causes that
// block everything else (pods never created, never scheduled) to the ones that only show late.
import type { KubeObject } from '../shared/index.js';
import { describeBlockedRollout, type BlockingPod } from './blocked-rollout.js';
import { at, condition, num, reasonAndMessage, str } from './object-access.js';
import { currentReplicaSets, podSelectorOf } from './ownership.js';
import { containerStates, isUnschedulable, podPhase, pullVerdict } from './pod-state.js';
import type { ContainerState } from './pod-state.js';
import { assessReadiness } from './readiness.js';
import type { DiagnosisEvent } from './types.js';

export interface CauseInput {
  readonly object: KubeObject;
  /** The pods the object's readiness depends on. */
  readonly pods: KubeObject[];
  readonly replicaSets: KubeObject[];
  /** Warning events, already filtered and ordered oldest first. */
  readonly events: DiagnosisEvent[];
  readonly timedOut: boolean;
  /** Pods of earlier revisions that hold a StatefulSet's rolling update up. */
  readonly blocking?: readonly BlockingPod[];
}

interface PodContainer {
  readonly pod: KubeObject;
  readonly container: ContainerState;
}

type Rule = (input: CauseInput, containers: PodContainer[]) => string | undefined;

const IMAGE_PULL = new Set(['ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName']);

const label = (c: ContainerState): string => `${c.init ? 'init container' : 'container'} ${c.name}`;
const lastEvent = (
  events: DiagnosisEvent[],
  test: (e: DiagnosisEvent) => boolean,
): DiagnosisEvent | undefined => events.filter(test).at(-1);
const podName = (pod: KubeObject): string => pod.metadata.name ?? '?';

const rolloutBlocked: Rule = ({ object, blocking }) =>
  blocking && blocking.length > 0 ? describeBlockedRollout(object, blocking) : undefined;

const podsNotCreated: Rule = ({ object, replicaSets, events }) => {
  const refusal = lastEvent(events, (e) => e.reason === 'FailedCreate')?.message;
  const owners =
    object.kind === 'Deployment' ? [object, ...currentReplicaSets(object, replicaSets)] : [object];
  const failure = owners.map((o) => condition(o, 'ReplicaFailure')).find((c) => c?.status === 'True');
  const message = refusal ?? failure?.message;
  if (message === undefined) return undefined;
  if (/exceeded quota/i.test(message)) return `a ResourceQuota refused the pods: ${message}`;
  return `the pods could not be created: ${message}`;
};

const unschedulable: Rule = ({ pods, events }) => {
  const pod = pods.find(isUnschedulable);
  const fromPod = pod ? condition(pod, 'PodScheduled')?.message : undefined;
  const waiting = pods.length === 0 || pods.some((p) => condition(p, 'PodScheduled')?.status !== 'True');
  const fromEvent = waiting ? lastEvent(events, (e) => e.reason === 'FailedScheduling')?.message : undefined;
  const message = fromPod ?? fromEvent;
  if (message !== undefined) return `the pods cannot be scheduled: ${message}`;
  return pod ? 'the pods cannot be scheduled' : undefined;
};

/**
 * The pull error behind an ImagePullBackOff, worded as the ErrImagePull before it. Recent kubelets
 * (1.36 does) append it to the back-off message (`Back-off pulling image "I": ErrImagePull: <error>`); older
 * ones only repeat the image, and the error is in the Warning event `Failed to pull image "I": <error>`.
 */
function backOffPullError(
  message: string | undefined,
  image: string,
  events: DiagnosisEvent[],
): string | undefined {
  const backOff = `Back-off pulling image ${JSON.stringify(image)}: `;
  if (message?.startsWith(backOff)) return message.slice(backOff.length).replace(/^ErrImagePull: /, '');
  const failed = `Failed to pull image ${JSON.stringify(image)}: `;
  return lastEvent(events, (e) => e.message.startsWith(failed))?.message.slice(failed.length);
}

const imagePull: Rule = ({ events }, containers) => {
  const found = containers.find(({ container }) => IMAGE_PULL.has(container.waiting?.reason ?? ''));
  if (found === undefined) return undefined;
  const { container } = found;
  const image = container.image ?? '?';
  const detail =
    container.waiting?.reason === 'ImagePullBackOff'
      ? backOffPullError(container.waiting.message, image, events)
      : container.waiting?.message;
  const retrying =
    pullVerdict(detail) === 'transient' ? ' - a registry or network error the kubelet keeps retrying' : '';
  return `the image cannot be pulled: ${image}${detail ? ` (${detail})` : ''}${retrying}`;
};

const containerConfig: Rule = (_input, containers) => {
  const found = containers.find(
    ({ container }) => container.waiting?.reason === 'CreateContainerConfigError',
  );
  if (found === undefined) return undefined;
  const message = found.container.waiting?.message ?? 'CreateContainerConfigError';
  const missing = /not found|couldn't find key/i.test(message);
  return missing
    ? `${label(found.container)} references a missing ConfigMap, Secret or key: ${message}`
    : `${label(found.container)} cannot be configured: ${message}`;
};

const volumeMount: Rule = ({ pods, events }) => {
  const stuck = pods.some((p) => podPhase(p) === 'Pending' && !isUnschedulable(p));
  const failure = stuck
    ? lastEvent(events, (e) => e.reason === 'FailedMount' || e.reason === 'FailedAttachVolume')
    : undefined;
  return failure ? `a volume cannot be mounted: ${failure.message}` : undefined;
};

const outOfMemory: Rule = (_input, containers) => {
  const found = containers.find(
    ({ container }) =>
      container.lastTerminated?.reason === 'OOMKilled' || container.terminated?.reason === 'OOMKilled',
  );
  if (found === undefined) return undefined;
  const limit = found.container.memoryLimit;
  return `${label(found.container)} ran out of memory (${limit ? `limit ${limit}` : 'no memory limit set'})`;
};

const probeFailure = (message: string): string | undefined => {
  const match = /^(\w+) probe (?:failed|errored):?\s*(.*)$/s.exec(message);
  return match ? `${match[1]?.toLowerCase()} probe failing: ${match[2]}` : undefined;
};

const crashing: Rule = ({ events }, containers) => {
  const found = containers.find(
    ({ container: c }) =>
      c.waiting?.reason === 'CrashLoopBackOff' ||
      (c.restarts > 0 && !c.ready && c.lastTerminated !== undefined && c.lastTerminated.exitCode !== 0),
  );
  if (found === undefined) return undefined;
  const { pod, container } = found;
  const liveness = lastEvent(
    events,
    (e) =>
      e.reason === 'Unhealthy' &&
      e.object === `Pod/${podName(pod)}` &&
      /^(Liveness|Startup) probe/.test(e.message),
  );
  if (liveness)
    return `${label(container)} is restarted by its ${probeFailure(liveness.message) ?? liveness.message}`;
  const exitCode = container.lastTerminated?.exitCode ?? container.terminated?.exitCode ?? '?';
  return `${label(container)} keeps crashing (exit code ${exitCode}); see its previous logs`;
};

const failingProbe: Rule = ({ events }) => {
  const unhealthy = lastEvent(events, (e) => e.reason === 'Unhealthy');
  return unhealthy ? (probeFailure(unhealthy.message) ?? `probe failing: ${unhealthy.message}`) : undefined;
};

const neverReady: Rule = ({ pods }) => {
  const running = pods.filter((p) => podPhase(p) === 'Running' && condition(p, 'Ready')?.status !== 'True');
  if (running.length === 0) return undefined;
  const names = running.slice(0, 3).map(podName).join(', ') + (running.length > 3 ? ', ...' : '');
  return `pods are Running but never became Ready (${names})`;
};

function exitedWithError(containers: PodContainer[]): string | undefined {
  const found = containers.find(({ container }) => (container.terminated?.exitCode ?? 0) !== 0);
  if (found === undefined) return undefined;
  const { pod, container } = found;
  return `${label(container)} of pod ${podName(pod)} exited with code ${container.terminated?.exitCode}; see its logs`;
}

const workFailed: Rule = ({ object, pods }, containers) => {
  const exited = exitedWithError(containers);
  if (object.kind === 'Job') {
    const failure = [condition(object, 'Failed'), condition(object, 'FailureTarget')].find(
      (c) => c?.status === 'True',
    );
    if (failure === undefined) return exited;
    if (failure.reason === 'DeadlineExceeded') {
      const seconds = num(at(object, 'spec', 'activeDeadlineSeconds'));
      return `the Job ran longer than its activeDeadlineSeconds${seconds === undefined ? '' : ` (${seconds}s)`}: ${failure.message ?? ''}`.trim();
    }
    const limit = num(at(object, 'spec', 'backoffLimit'));
    const why =
      failure.reason === 'BackoffLimitExceeded' && limit !== undefined ? ` (backoffLimit ${limit})` : '';
    return `the Job failed: ${reasonAndMessage(failure.reason, failure.message)}${why}${exited ? `; ${exited}` : ''}`;
  }
  const failedPod = pods.find((p) => podPhase(p) === 'Failed');
  if (failedPod && str(at(failedPod, 'status', 'reason'))) {
    const why = reasonAndMessage(
      str(at(failedPod, 'status', 'reason')),
      str(at(failedPod, 'status', 'message')),
    );
    return `pod ${podName(failedPod)} failed: ${why}`;
  }
  return exited;
};

const RULES: readonly Rule[] = [
  rolloutBlocked,
  podsNotCreated,
  unschedulable,
  imagePull,
  containerConfig,
  volumeMount,
  outOfMemory,
  crashing,
  failingProbe,
  neverReady,
  workFailed,
];

function fallback({ object, events, timedOut }: CauseInput): string {
  const warning = events.at(-1);
  if (warning) return `${warning.object} reported ${reasonAndMessage(warning.reason, warning.message)}`;
  const readiness = assessReadiness(object);
  if (readiness.status === 'failed') {
    const deadline = condition(object, 'Progressing')?.reason === 'ProgressDeadlineExceeded';
    return deadline
      ? `the rollout did not progress within its deadline: ${readiness.message}`
      : readiness.message;
  }
  if (object.kind === 'Service' && readiness.status === 'pending') {
    return `no ready pod matches the Service's selector ${podSelectorOf(object) ?? ''}`.trim();
  }
  if (readiness.status === 'ready') return `no problem found (${readiness.message})`;
  return `${timedOut ? 'timed out with nothing specific found' : 'not ready yet'} (${readiness.message})`;
}

export function findMostLikelyCause(input: CauseInput): string {
  const containers = input.pods
    .filter((pod) => !pod.metadata.deletionTimestamp)
    .flatMap((pod) => containerStates(pod).map((container) => ({ pod, container })));
  for (const rule of RULES) {
    const cause = rule(input, containers);
    if (cause !== undefined) return cause;
  }
  return fallback(input);
}
