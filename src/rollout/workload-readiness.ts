// Readiness of pod controllers, judged like `kubectl rollout status`: the controller has observed the
// spec, every replica runs the new template, old replicas are gone and the updated ones are available.
import type { KubeObject } from '../shared/index.js';
import {
  at,
  condition,
  isTrue,
  num,
  plural,
  reasonAndMessage,
  str,
  unobservedGeneration,
} from './object-access.js';
import type { Readiness } from './types.js';

const pending = (message: string): Readiness => ({ status: 'pending', message });
const ready = (message: string): Readiness => ({ status: 'ready', message });
const failed = (message: string): Readiness => ({ status: 'failed', message });

const count = (object: KubeObject, field: string): number => num(at(object, 'status', field)) ?? 0;
const desiredReplicas = (object: KubeObject): number => num(at(object, 'spec', 'replicas')) ?? 1;

export function deploymentReadiness(deployment: KubeObject): Readiness {
  const unobserved = unobservedGeneration(deployment);
  if (unobserved) return pending(unobserved);
  const progressing = condition(deployment, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return failed(reasonAndMessage(progressing.reason, progressing.message));
  }
  const desired = desiredReplicas(deployment);
  const replicas = count(deployment, 'replicas');
  const updated = count(deployment, 'updatedReplicas');
  const available = count(deployment, 'availableReplicas');
  let waitingFor: string | undefined;
  if (updated < desired) waitingFor = `${updated} of ${desired} new replicas updated`;
  else if (replicas > updated)
    waitingFor = `${plural(replicas - updated, 'old replica')} pending termination`;
  else if (available < updated) waitingFor = `${available} of ${updated} updated replicas available`;
  if (waitingFor === undefined) return ready(`${available} of ${desired} replicas available`);
  // A paused Deployment makes no progress and has no deadline: waiting could only time out.
  if (at(deployment, 'spec', 'paused') === true) return ready(`paused, rollout not awaited (${waitingFor})`);
  return pending(waitingFor);
}

export function replicaSetReadiness(replicaSet: KubeObject): Readiness {
  const unobserved = unobservedGeneration(replicaSet);
  if (unobserved) return pending(unobserved);
  const desired = desiredReplicas(replicaSet);
  const available = count(replicaSet, 'availableReplicas');
  const replicas = count(replicaSet, 'replicas');
  if (available < desired) return pending(`${available} of ${desired} replicas available`);
  if (replicas > desired)
    return pending(`${plural(replicas - desired, 'extra replica')} pending termination`);
  return ready(`${available} of ${desired} replicas available`);
}

export function statefulSetReadiness(statefulSet: KubeObject): Readiness {
  const unobserved = unobservedGeneration(statefulSet);
  if (unobserved) return pending(unobserved);
  const desired = desiredReplicas(statefulSet);
  const readyPods = count(statefulSet, 'readyReplicas');
  const updated = count(statefulSet, 'updatedReplicas');
  const replicas = count(statefulSet, 'replicas');
  if (readyPods < desired) return pending(`${readyPods} of ${desired} pods ready`);
  if (replicas > desired)
    return pending(
      `${plural(replicas - desired, 'extra pod')} pending deletion (scaling down to ${desired})`,
    );
  const available = num(at(statefulSet, 'status', 'availableReplicas'));
  if (available !== undefined && available < desired)
    return pending(`${available} of ${desired} pods available`);
  const strategy = str(at(statefulSet, 'spec', 'updateStrategy', 'type')) ?? 'RollingUpdate';
  if (strategy === 'OnDelete') {
    return ready(
      `${readyPods} of ${desired} pods ready (OnDelete: pods take the new template only when deleted)`,
    );
  }
  const partition = num(at(statefulSet, 'spec', 'updateStrategy', 'rollingUpdate', 'partition')) ?? 0;
  if (partition > 0) {
    const target = Math.max(0, desired - partition);
    if (updated < target) return pending(`${updated} of ${target} pods updated (partition ${partition})`);
    return ready(`partitioned rollout complete: ${plural(updated, 'pod')} updated, partition ${partition}`);
  }
  if (updated < desired) return pending(`${updated} of ${desired} pods updated`);
  const current = str(at(statefulSet, 'status', 'currentRevision'));
  const update = str(at(statefulSet, 'status', 'updateRevision'));
  if (current !== undefined && update !== undefined && current !== update) {
    return pending(`waiting for all pods to reach revision ${update}`);
  }
  return ready(`${readyPods} of ${desired} pods ready${update ? ` at revision ${update}` : ''}`);
}

export function daemonSetReadiness(daemonSet: KubeObject): Readiness {
  const unobserved = unobservedGeneration(daemonSet);
  if (unobserved) return pending(unobserved);
  const desired = count(daemonSet, 'desiredNumberScheduled');
  const updated = count(daemonSet, 'updatedNumberScheduled');
  const available = count(daemonSet, 'numberAvailable');
  const onDelete = str(at(daemonSet, 'spec', 'updateStrategy', 'type')) === 'OnDelete';
  if (!onDelete && updated < desired) return pending(`${updated} of ${desired} pods updated`);
  if (available < desired) return pending(`${available} of ${desired} pods available`);
  return ready(`${available} of ${desired} pods available`);
}

export function jobReadiness(job: KubeObject): Readiness {
  const succeeded = count(job, 'succeeded');
  if (isTrue(job, 'Complete') || isTrue(job, 'SuccessCriteriaMet')) {
    return ready(succeeded > 0 ? `completed (${succeeded} succeeded)` : 'completed');
  }
  // FailureTarget precedes Failed while the last pods terminate; the outcome is already decided.
  const failure = [condition(job, 'Failed'), condition(job, 'FailureTarget')].find(
    (c) => c?.status === 'True',
  );
  if (failure) return failed(reasonAndMessage(failure.reason, failure.message) || 'job failed');
  if (isTrue(job, 'Suspended')) return pending('job is suspended');
  const completions = num(at(job, 'spec', 'completions'));
  const parallelism = num(at(job, 'spec', 'parallelism'));
  const activity = `(${count(job, 'active')} active, ${count(job, 'failed')} failed)`;
  // Without completions but with parallelism, the Job is a work queue: done when any pod succeeds.
  if (completions === undefined && parallelism !== undefined)
    return pending(`${succeeded} succeeded ${activity}`);
  return pending(`${succeeded} of ${completions ?? 1} completions ${activity}`);
}
