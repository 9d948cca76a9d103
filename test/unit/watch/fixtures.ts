// Object builders for the watch rules' tests, with the statuses and messages the fake kubelet
// (test/cluster/kwok-stages.yaml) and a v1.36 kubelet write.
import type { KubeObject } from '../../../src/shared/index.js';
import type { ObservedState } from '../../../src/watch/findings.js';

export const NS = 'shop';
export const T0 = Date.parse('2026-12-07T10:00:00Z');
export const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
export const iso = (seconds: number): string => at(seconds).toISOString();

export function deployment(
  name: string,
  replicas: number,
  available: number,
  extra: object = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1 },
    spec: { replicas, selector: { matchLabels: { app: name } } },
    status: { observedGeneration: 1, replicas, availableReplicas: available, ...extra },
  };
}

export function replicaSet(deploymentName: string, hash = '6f7c9d8b4'): KubeObject {
  const name = `${deploymentName}-${hash}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      annotations: { 'deployment.kubernetes.io/revision': '1' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: deploymentName,
          uid: `uid-${deploymentName}`,
          controller: true,
        },
      ],
    },
    spec: { replicas: 1 },
    status: { replicas: 1 },
  };
}

export type ContainerStatus = Record<string, unknown>;

export function pod(
  name: string,
  owner: { kind: string; name: string },
  status: {
    phase?: string;
    containers?: ContainerStatus[];
    conditions?: object[];
    reason?: string;
    message?: string;
  },
  spec: object = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: owner.kind,
          name: owner.name,
          uid: `uid-${owner.name}`,
          controller: true,
        },
      ],
    },
    spec: { containers: [{ name: 'app', image: 'registry.example/shop:1.4.2' }], ...spec },
    status: {
      phase: status.phase ?? 'Running',
      ...(status.reason ? { reason: status.reason } : {}),
      ...(status.message ? { message: status.message } : {}),
      conditions: status.conditions ?? [],
      ...(status.containers ? { containerStatuses: status.containers } : {}),
    },
  };
}

const image = 'registry.example/shop:1.4.2';

/** The kwok crashloop cycle of one container, as scenario-crash-* write it. */
export const crash = {
  running: (restarts: number, last?: { exitCode: number; reason: string }): ContainerStatus => ({
    image,
    name: 'app',
    ready: false,
    started: true,
    restartCount: restarts,
    ...(last ? { lastState: { terminated: { ...last, finishedAt: iso(0) } } } : {}),
    state: { running: { startedAt: iso(0) } },
  }),
  exited: (restarts: number, exitCode: number, reason: string): ContainerStatus => ({
    image,
    name: 'app',
    ready: false,
    started: false,
    restartCount: restarts,
    state: { terminated: { exitCode, reason, finishedAt: iso(0) } },
  }),
  backOff: (podName: string, restarts: number, exitCode: number, reason: string): ContainerStatus => ({
    image,
    name: 'app',
    ready: false,
    started: false,
    restartCount: restarts,
    lastState: { terminated: { exitCode, reason, finishedAt: iso(0) } },
    state: {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off 10s restarting failed container=app pod=${podName}_${NS}(uid-${podName})`,
      },
    },
  }),
};

export const healthy = (): ContainerStatus => ({
  image,
  name: 'app',
  ready: true,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: iso(0) } },
});

export const readyConditions = [
  { type: 'Ready', status: 'True' },
  { type: 'PodScheduled', status: 'True' },
];

/** A Deployment `web` of `n` pods, each with the container status `status(podName)`. */
export function webWith(n: number, status: (pod: string) => ContainerStatus, available = 0): ObservedState {
  const rs = replicaSet('web');
  const pods = Array.from({ length: n }, (_, i) => {
    const name = `web-6f7c9d8b4-${'bcdfg'[i % 5]}${'hjklm'[Math.floor(i / 5) % 5]}x2q`;
    return pod(name, { kind: 'ReplicaSet', name: rs.metadata.name! }, { containers: [status(name)] });
  });
  return { workloads: [deployment('web', n, available)], replicaSets: [rs], jobs: [], pods, events: [] };
}

export function event(object: string, reason: string, message: string, lastSeen: string): KubeObject {
  const [kind, name] = object.split('/');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${name}.${reason}`, namespace: NS, uid: `ev-${name}-${reason}` },
    involvedObject: { kind, name, namespace: NS },
    type: 'Warning',
    reason,
    message,
    count: 1,
    lastTimestamp: lastSeen,
  };
}

export function job(
  name: string,
  outcome: 'Failed' | 'Complete' | 'Running',
  created: string,
  cronJob?: string,
): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      creationTimestamp: created,
      ...(cronJob
        ? {
            ownerReferences: [
              {
                apiVersion: 'batch/v1',
                kind: 'CronJob',
                name: cronJob,
                uid: `uid-${cronJob}`,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: { backoffLimit: 1 },
    status:
      outcome === 'Running'
        ? { active: 1 }
        : {
            conditions: [
              outcome === 'Failed'
                ? {
                    type: 'Failed',
                    status: 'True',
                    reason: 'BackoffLimitExceeded',
                    message: 'Job has reached the specified backoff limit',
                  }
                : { type: 'Complete', status: 'True' },
            ],
          },
  };
}

export function cronJob(name: string): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: { schedule: '*/5 * * * *' },
  };
}

export const empty: ObservedState = { workloads: [], replicaSets: [], jobs: [], pods: [], events: [] };
