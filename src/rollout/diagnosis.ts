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
  if (object.kind === 'Deployment' && currentReplicaSets(object, replicaSets).length > 0)
    return { pods: [], blocking };
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
    (logs[pod] ?? []).flatMap(({ container, previous, current, unreadable }) => [
      ...(previous ? [{ pod, container, previous: true, lines: tail(previous) }] : []),
      ...(current ? [{ pod, container, previous: false, lines: tail(current) }] : []),
      ...(unreadable ? [{ pod, container, previous: false, lines: [], unreadable }] : []),
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
    if (log.unreadable !== undefined) {
      out.push(`  could not read the logs of ${log.pod}/${log.container}: ${log.unreadable}`);
      continue;
    }
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
    for (const group of groupByPodName(diagnosis.events)) out.push(`  ${formatEventGroup(group)}`);
  }
  return out.join('\n');
}

/**
 * Pod names the API server generates, a ReplicaSet's or Job's name and five characters of its
 * alphabet (`web-6f7c9d8b4-7kq2x`), and StatefulSet ordinals (`db-0`).
 */
const GENERATED_POD_NAME = /\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-(?:[bcdfghjklmnpqrstvwxz2456789]{5}|\d+)\b/g;

/** What the API server's event correlator puts before a message it keeps counting as one. */
const COMBINED = /^\(combined from similar events\): /;

function withoutPodNames(text: string): string {
  return text.replace(COMBINED, '').replace(GENERATED_POD_NAME, '$1-*');
}

/** Events that differ only by a pod's name, in their object or their message, in order of their first. */
function groupByPodName(events: readonly DiagnosisEvent[]): DiagnosisEvent[][] {
  const groups = new Map<string, DiagnosisEvent[]>();
  for (const e of events) {
    const object = e.object.startsWith('Pod/') ? withoutPodNames(e.object) : e.object;
    const key = JSON.stringify([e.type, e.reason, object, withoutPodNames(e.message)]);
    const group = groups.get(key);
    if (group) group.push(e);
    else groups.set(key, [e]);
  }
  return [...groups.values()];
}

/** `07:59:02`, from an ISO time, in UTC as the API server gives it. */
function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** One event as it was; several as one line: `FailedCreate x10 (07:59:02-08:00:23): …` and the message with `-*` for the names. */
function formatEventGroup(group: readonly DiagnosisEvent[]): string {
  const first = group[0];
  if (group.length === 1) {
    const times = first.count > 1 ? ` (${first.count} times)` : '';
    const when = first.lastSeen ? ` [${first.lastSeen}]` : '';
    return `${first.object} ${first.reason}: ${first.message}${times}${when}`;
  }
  const count = group.reduce((sum, e) => sum + e.count, 0);
  const seen = group.flatMap((e) => (e.lastSeen ? [e.lastSeen] : [])).sort();
  const from = seen[0] === undefined ? undefined : clock(seen[0]);
  const to = seen.at(-1) === undefined ? undefined : clock(seen.at(-1)!);
  const range = from === undefined ? '' : from === to ? ` (${from})` : ` (${from}-${to})`;
  const objects = new Set(group.map((e) => e.object));
  const object =
    objects.size === 1 ? first.object : `${withoutPodNames(first.object)} (${objects.size} pods)`;
  return `${object} ${first.reason} x${count}${range}: ${withoutPodNames(group.at(-1)!.message)}`;
}
