// Warning events as a diagnosis shows them: recent, deduplicated, oldest first. Reads both core/v1
// Events and events.k8s.io/v1 ones.
import type { KubeObject } from '../shared/index.js';
import { at, num, record, str } from './object-access.js';
import type { DiagnosisEvent } from './types.js';

interface ReadEvent {
  readonly uid: string | undefined;
  readonly event: DiagnosisEvent;
  readonly time: number | undefined;
}

function latest(values: unknown[]): number | undefined {
  const times = values
    .map((value) => (typeof value === 'string' ? Date.parse(value) : Number.NaN))
    .filter((time) => !Number.isNaN(time));
  return times.length > 0 ? Math.max(...times) : undefined;
}

function readEvent(raw: KubeObject): ReadEvent {
  const involved = record(raw.involvedObject) ?? record(raw.regarding);
  const time = latest([
    raw.lastTimestamp,
    raw.deprecatedLastTimestamp,
    raw.eventTime,
    at(raw, 'series', 'lastObservedTime'),
    raw.metadata.creationTimestamp,
  ]);
  const counts = [num(raw.count), num(raw.deprecatedCount), num(at(raw, 'series', 'count'))];
  const event: DiagnosisEvent = {
    type: str(raw.type) ?? 'Normal',
    reason: str(raw.reason) ?? '',
    object: `${str(involved?.kind) ?? '?'}/${str(involved?.name) ?? '?'}`,
    message: (str(raw.message) ?? str(raw.note) ?? '').trim(),
    count: Math.max(1, ...counts.filter((c): c is number => c !== undefined)),
    ...(time === undefined ? {} : { lastSeen: new Date(time).toISOString() }),
  };
  return { uid: raw.metadata.uid, event, time };
}

const timeOf = (read: ReadEvent): number => read.time ?? Number.MIN_SAFE_INTEGER;

function later(a: ReadEvent, b: ReadEvent): ReadEvent {
  if (timeOf(a) !== timeOf(b)) return timeOf(b) > timeOf(a) ? b : a;
  return b.event.count >= a.event.count ? b : a;
}

/**
 * Warning events seen at or after `since` (all of them without it; events without any timestamp are
 * kept), most recent last. The same event object seen twice counts once; distinct events with the same
 * type, reason, object and message merge, adding their counts.
 */
export function summarizeEvents(events: KubeObject[], since?: Date): DiagnosisEvent[] {
  const byUid = new Map<string, ReadEvent>();
  const withoutUid: ReadEvent[] = [];
  for (const raw of events) {
    const read = readEvent(raw);
    if (read.event.type !== 'Warning') continue;
    if (since !== undefined && read.time !== undefined && read.time < since.getTime()) continue;
    if (read.uid === undefined) {
      withoutUid.push(read);
      continue;
    }
    const previous = byUid.get(read.uid);
    byUid.set(read.uid, previous ? later(previous, read) : read);
  }
  const merged = new Map<string, ReadEvent>();
  for (const read of [...byUid.values(), ...withoutUid]) {
    const { type, reason, object, message } = read.event;
    const key = JSON.stringify([type, reason, object, message]);
    const seen = merged.get(key);
    if (seen === undefined) {
      merged.set(key, read);
      continue;
    }
    const newer = later(seen, read);
    merged.set(key, { ...newer, event: { ...newer.event, count: seen.event.count + read.event.count } });
  }
  return [...merged.values()].sort((a, b) => timeOf(a) - timeOf(b)).map((read) => read.event);
}
