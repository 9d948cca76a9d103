import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { diagnose } from '../../../src/rollout/diagnosis.js';
import type { DiagnosisInput } from '../../../src/rollout/types.js';
import type { KubeObject } from '../../../src/shared/index.js';

const read = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rollout/${name}.json`, import.meta.url), 'utf8')) as T;
const fixtures = {
  pods: read<Record<string, KubeObject>>('pods'),
  events: read<Record<string, KubeObject>>('events'),
  deployments: read<Record<string, KubeObject>>('deployments'),
  jobs: read<Record<string, KubeObject>>('jobs'),
  services: read<Record<string, KubeObject>>('services'),
  others: read<Record<string, KubeObject>>('others'),
};
const replicaSets = read<KubeObject[]>('replicasets');
const since = new Date('2025-05-14T10:00:00Z');

function one(group: keyof typeof fixtures, key: string): KubeObject {
  const object = fixtures[group][key];
  assert.ok(object, `fixture ${group}.${key}`);
  return object;
}
const take = (group: keyof typeof fixtures, keys: string[]): KubeObject[] =>
  keys.map((key) => one(group, key));

interface Case {
  name: string;
  object: KubeObject;
  pods?: string[];
  events?: string[];
  timedOut?: boolean;
  cause: string;
}

const web = one('deployments', 'deadlineExceeded');
const cases: Case[] = [
  {
    name: 'ReplicaSet FailedCreate from a ResourceQuota',
    object: one('deployments', 'quotaRefused'),
    pods: ['oldRunningReady'],
    events: ['quota'],
    cause:
      'a ResourceQuota refused the pods: Error creating: pods "web-6f7c9d8b4-7kq2x" is forbidden: exceeded quota: compute, requested: limits.memory=512Mi, used: limits.memory=1536Mi, limited: limits.memory=1Gi',
  },
  {
    name: 'quota refusal known only from the ReplicaFailure condition',
    object: one('deployments', 'quotaRefused'),
    cause:
      'a ResourceQuota refused the pods: pods "web-6f7c9d8b4-7kq2x" is forbidden: exceeded quota: compute, requested: limits.memory=512Mi, used: limits.memory=1536Mi, limited: limits.memory=1Gi',
  },
  {
    name: 'FailedCreate for another reason',
    object: web,
    events: ['podSecurity'],
    cause:
      'the pods could not be created: Error creating: pods "web-6f7c9d8b4-7kq2x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)',
  },
  {
    name: 'unschedulable pod, quoting the scheduler',
    object: web,
    pods: ['unschedulable', 'crashLoop'],
    cause:
      'the pods cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
  },
  {
    name: 'FailedScheduling event when the pod list is empty',
    object: web,
    events: ['failedScheduling'],
    cause:
      'the pods cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
  },
  {
    name: 'a stale FailedScheduling event once every pod is scheduled',
    object: web,
    pods: ['runningReady'],
    events: ['failedScheduling'],
    cause:
      'Pod/web-6f7c9d8b4-s9h8d reported FailedScheduling: 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
  },
  {
    name: 'ImagePullBackOff with the pull error from its event',
    object: web,
    pods: ['imagePullBackOff', 'crashLoop'],
    events: ['pullFailed', 'pullBackOffNormal', 'errImagePull'],
    cause:
      'the image cannot be pulled: registry.example.com/shop/web:nope (rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/web:nope": not found)',
  },
  {
    name: 'ErrImagePull',
    object: web,
    pods: ['errImagePull'],
    cause:
      'the image cannot be pulled: registry.example.com/shop/web:nope (rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/web:nope": not found)',
  },
  {
    name: 'CreateContainerConfigError for a missing ConfigMap',
    object: web,
    pods: ['configError'],
    cause: 'container app references a missing ConfigMap, Secret or key: configmap "web-config" not found',
  },
  {
    name: 'FailedMount of a missing ConfigMap volume',
    object: web,
    pods: ['containerCreating'],
    events: ['failedMount'],
    cause:
      'a volume cannot be mounted: MountVolume.SetUp failed for volume "config" : configmap "web-config" not found',
  },
  {
    name: 'OOMKilled, with the memory limit',
    object: web,
    pods: ['crashLoop', 'oomKilled'],
    cause: 'container app ran out of memory (limit 128Mi)',
  },
  {
    name: 'CrashLoopBackOff',
    object: web,
    pods: ['runningReady', 'crashLoop'],
    events: ['crashBackOff'],
    cause: 'container app keeps crashing (exit code 1); see its previous logs',
  },
  {
    name: 'CrashLoopBackOff caused by a failing liveness probe',
    object: web,
    pods: ['crashLoop'],
    events: ['crashBackOff', 'livenessFailed'],
    cause:
      'container app is restarted by its liveness probe failing: Get "http://10.244.0.18:8080/healthz": dial tcp 10.244.0.18:8080: connect: connection refused',
  },
  {
    name: 'crashing init container',
    object: web,
    pods: ['initCrashing'],
    cause: 'init container wait-for-db keeps crashing (exit code 1); see its previous logs',
  },
  {
    name: 'failing readiness probe',
    object: web,
    pods: ['runningReady', 'runningNotReady'],
    events: ['readinessFailed'],
    cause: 'readiness probe failing: HTTP probe failed with statuscode: 503',
  },
  {
    name: 'Running but never Ready, nothing else known',
    object: web,
    pods: ['runningNotReady'],
    cause: 'pods are Running but never became Ready (web-6f7c9d8b4-r3dy0)',
  },
  {
    name: 'Job BackoffLimitExceeded with the exit code of its pod',
    object: one('jobs', 'backoffLimitExceeded'),
    pods: ['succeeded', 'jobFailedExit'],
    events: ['jobBackoff'],
    cause:
      'the Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit (backoffLimit 2); container app of pod db-migrate-z9y8x exited with code 2; see its logs',
  },
  {
    name: 'Job DeadlineExceeded',
    object: one('jobs', 'deadlineExceeded'),
    cause:
      'the Job ran longer than its activeDeadlineSeconds (120s): Job was active longer than specified deadline',
  },
  {
    name: 'Job still retrying when the deploy timed out',
    object: one('jobs', 'retrying'),
    pods: ['jobFailedExit'],
    timedOut: true,
    cause: 'container app of pod db-migrate-z9y8x exited with code 2; see its logs',
  },
  {
    name: 'evicted bare pod',
    object: one('pods', 'evicted'),
    cause:
      'pod backup-now failed: Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 88Mi. Container app was using 512Mi, request is 0, has larger consumption of memory.',
  },
  {
    name: 'progress deadline with nothing more specific',
    object: web,
    cause:
      'the rollout did not progress within its deadline: ProgressDeadlineExceeded: ReplicaSet "web-6f7c9d8b4" has timed out progressing.',
  },
  {
    name: 'a PersistentVolumeClaim with a provisioning failure',
    object: one('others', 'pvcPending'),
    events: ['provisioningFailed'],
    timedOut: true,
    cause:
      'PersistentVolumeClaim/uploads reported ProvisioningFailed: storageclass.storage.k8s.io "fast-ssd" not found',
  },
  {
    name: 'a Service no ready pod backs',
    object: one('services', 'web'),
    timedOut: true,
    cause: "no ready pod matches the Service's selector app=web",
  },
  {
    name: 'timed out with nothing specific',
    object: one('deployments', 'midRollout'),
    timedOut: true,
    cause: 'timed out with nothing specific found (1 of 3 new replicas updated)',
  },
  {
    name: 'Warning events from before the deploy are not the cause',
    object: one('deployments', 'midRollout'),
    events: ['beforeDeploy'],
    timedOut: true,
    cause: 'timed out with nothing specific found (1 of 3 new replicas updated)',
  },
  {
    name: 'a healthy object',
    object: one('deployments', 'complete'),
    pods: ['runningReady'],
    cause: 'no problem found (3 of 3 replicas available)',
  },
];

function input(c: Case): DiagnosisInput {
  return {
    object: c.object,
    pods: take('pods', c.pods ?? []),
    replicaSets,
    events: take('events', c.events ?? []),
    logs: {},
    since,
    ...(c.timedOut === undefined ? {} : { timedOut: c.timedOut }),
  };
}

describe('most likely cause', () => {
  for (const c of cases) {
    it(c.name, () => assert.equal(diagnose(input(c)).mostLikelyCause, c.cause));
  }

  it('ImagePullBackOff with the pull error in its own message, as kubelet 1.36 words it', () => {
    const pod = structuredClone(one('pods', 'imagePullBackOff')) as KubeObject & {
      status: { containerStatuses: Array<{ state: { waiting: { message: string } } }> };
    };
    const error =
      'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/web:nope": failed to resolve reference "registry.example.com/shop/web:nope": registry.example.com/shop/web:nope: not found';
    pod.status.containerStatuses[0].state.waiting.message = `Back-off pulling image "registry.example.com/shop/web:nope": ErrImagePull: ${error}`;
    const cause = diagnose({
      object: web,
      pods: [pod],
      replicaSets,
      events: [],
      logs: {},
      since,
    }).mostLikelyCause;
    assert.equal(cause, `the image cannot be pulled: registry.example.com/shop/web:nope (${error})`);
  });
});
