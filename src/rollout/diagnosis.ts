// Failure diagnosis of one object: the most likely cause, its unhealthy pods, log tails and recent
// Warning events, and their rendering as text.
import type { KubeObject } from '../shared/index.js';
import { findMostLikelyCause } from './cause.js';
import { summarizeEvents } from './events.js';
import { blockingOldPods, type BlockingPod } from './blocked-rollout.js';
import { currentReplicaSets, ownedPods, podsOwnedBy, updateRevisionOf } from './ownership.js';
import { describePod, isPodHealthy } from './pod-state.js';
import type { Diagnosis, DiagnosisEvent, DiagnosisInput, DiagnosisLog, PodLogs } from './types.js';

export const LOG_TAIL_LINES = 20;
const MAX_PODS_SHOWN = 10;

/**
 * The pods that matter: those of the current rollout when ownership tells, with the pods of earlier
 * revisions that hold a StatefulSet's rollout up; else all the caller gave. A Deployment whose
 * current ReplicaSet has no pods yet (e.g. refused by a quota), or a StatefulSet or DaemonSet with
 * none of its update revision, has none: its old, healthy pods would only mislead.
 */
export function diagnosisPods(
  { object, pods, replicaSets = [] }: Pick<DiagnosisInput, 'object' | 'pods' | 'replicaSets'>,
  events: readonly DiagnosisEvent[] = [],
): { pods: KubeObject[]; blocking: BlockingPod[] } {
  const current = podsOwnedBy(object, pods, replicaSets);
  const owned = ownedPods(object, pods, replicaSets);
  const blocking = blockingOldPods(object, owned, { events, includeNotReady: true });
  const relevant = [...current, ...blocking.map((b) => b.pod).filter((p) => !current.includes(p))];
  if (relevant.length > 0) return { pods: relevant, blocking };
  if (object.kind === 'Deployment' && currentReplicaSets(object, replicaSets).length > 0) return { pods: [], blocking };
  if (updateRevisionOf(object) !== undefined && owned.length > 0) return { pods: [], blocking };
  return { pods, blocking };
}

function tail(lines: string[]): string[] {
  const trimmed = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
  return trimmed.slice(-LOG_TAIL_LINES);
}

/** Previous container first: when a container restarts, that is where its crash is. */
function collectLogs(logs: Record<string, PodLogs[]>, pods: KubeObject[]): DiagnosisLog[] {
  const order = pods.map((pod) => pod.metadata.name);
  const names = Object.keys(logs).sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia === -1 ? order.length : ia) - (ib === -1 ? order.length : ib);
  });
  return names.flatMap((pod) =>
    (logs[pod] ?? []).flatMap(({ container, previous, current }) => [
      ...(previous ? [{ pod, container, previous: true, lines: tail(previous) }] : []),
      ...(current ? [{ pod, container, previous: false, lines: tail(current) }] : []),
    ]),
  );
}

export function diagnose(input: DiagnosisInput): Diagnosis {
  const events = summarizeEvents(input.events, input.since);
  const { pods, blocking: unready } = diagnosisPods(input, events);
  const timedOut = input.timedOut ?? false;
  // Broken pods of an earlier revision block for good; merely unready ones only once waiting is over.
  const blocking = timedOut ? unready : blockingOldPods(input.object, pods, { events });
  const mostLikelyCause = findMostLikelyCause({
    object: input.object,
    pods,
    replicaSets: input.replicaSets ?? [],
    events,
    timedOut,
    blocking,
  });
  return {
    mostLikelyCause,
    pods: pods.filter((pod) => !isPodHealthy(pod)).map(describePod),
    events,
    logs: collectLogs(input.logs, pods),
  };
}

const indent = (text: string, by: string): string =>
  text
    .split('\n')
    .map((line) => by + line)
    .join('\n');

/** Human text: the cause first, then unhealthy pods, log tails and Warning events. */
export function formatDiagnosis(ref: string, diagnosis: Diagnosis): string {
  const out = [`Most likely cause: ${diagnosis.mostLikelyCause}`];
  if (diagnosis.pods.length > 0) {
    out.push(`Pods of ${ref} that are not ready:`);
    for (const pod of diagnosis.pods.slice(0, MAX_PODS_SHOWN)) {
      out.push(`  ${pod.name} (${pod.phase})`);
      for (const c of pod.containers) {
        const restarts = c.restarts > 0 ? `, ${c.restarts} restart${c.restarts === 1 ? '' : 's'}` : '';
        out.push(`    ${c.name}: ${c.reason}${restarts}${c.detail ? ` - ${c.detail}` : ''}`);
      }
    }
    const hidden = diagnosis.pods.length - MAX_PODS_SHOWN;
    if (hidden > 0) out.push(`  ... and ${hidden} more`);
  }
  if (diagnosis.logs.length > 0) out.push('Logs:');
  for (const log of diagnosis.logs) {
    const where = `${log.pod}/${log.container} (${log.previous ? 'previous' : 'current'} container)`;
    if (log.lines.length === 0) {
      out.push(`  no log lines from ${where}`);
      continue;
    }
    out.push(`  last ${log.lines.length} line${log.lines.length === 1 ? '' : 's'} of ${where}:`);
    out.push(indent(log.lines.join('\n'), '    | '));
  }
  if (diagnosis.events.length > 0) {
    out.push('Warning events:');
    for (const e of diagnosis.events) {
      const times = e.count > 1 ? ` (${e.count} times)` : '';
      const when = e.lastSeen ? ` [${e.lastSeen}]` : '';
      out.push(`  ${e.object} ${e.reason}: ${e.message}${times}${when}`);
    }
  }
  return out.join('\n');
}
