// What a watcher keeps in the cluster (pure): its incidents, the messages still to deliver, and
// which incidents were announced under which release, so that a restarted watcher neither repeats
// nor forgets. A message counts as sent to a configuration only once that configuration took it.
import type { NotificationConfig } from '../config/index.js';
import { wantsEvent } from '../notify/index.js';
import { EMPTY_BOOK, incidentKey, type Incident, type IncidentBook, type Transition } from './incidents.js';
import { parseOutage, type Outage } from './outage.js';

export interface OutboxEntry {
  readonly kind: 'incident' | 'resolved';
  readonly incident: Incident;
  /** The live release when it was queued. */
  readonly release?: number;
  /** Configurations (`type:urlEnv`) that have not taken it yet. */
  readonly pending: readonly string[];
  readonly attempts: number;
  readonly nextAttemptAt?: string;
  /** The diagnosis text (redacted), fixed when it was queued so that every retry says the same. */
  readonly summary?: string;
}

export interface WatchRecord {
  readonly book: IncidentBook;
  /** Incidents whose message some configuration took, by incident key: under which release, when. */
  readonly announced: Readonly<Record<string, { readonly release?: number; readonly at: string }>>;
  readonly outbox: readonly OutboxEntry[];
  /** The API server's outage, once the watcher could write it down (src/watch/outage.ts). */
  readonly outage?: Outage;
}

export const EMPTY_RECORD: WatchRecord = { book: EMPTY_BOOK, announced: {}, outbox: [] };

export const configKey = (config: NotificationConfig): string => `${config.type}:${config.urlEnv}`;

const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 5 * 60_000;

function queue(
  configs: readonly NotificationConfig[],
  kind: OutboxEntry['kind'],
  incident: Incident,
  release: number | undefined,
): OutboxEntry[] {
  const pending = configs.filter((c) => wantsEvent(c, kind)).map(configKey);
  if (pending.length === 0) return [];
  return [{ kind, incident, pending, attempts: 0, ...(release === undefined ? {} : { release }) }];
}

/**
 * The record after one evaluation: an open incident nobody was told of is queued (unless silenced); an open one announced under an
 * earlier release is queued again (a new release is news); a resolved one that was announced gets
 * its resolved message, and one never announced leaves quietly, with its queued message.
 */
export function planMessages(
  record: WatchRecord,
  transition: Transition,
  options: {
    release?: number;
    configs: readonly NotificationConfig[];
    /** Whether a workload's incidents are silenced now. */
    silenced?: (workload: string) => boolean;
  },
): WatchRecord {
  const announced = { ...record.announced };
  const resolvedKeys = new Set(transition.resolved.map(incidentKey));
  let outbox = record.outbox.filter(
    (e) => !(e.kind === 'incident' && resolvedKeys.has(incidentKey(e.incident))),
  );
  const queued = new Set(outbox.filter((e) => e.kind === 'incident').map((e) => incidentKey(e.incident)));
  // Every open incident nobody was told of yet, unless silenced: one opened while its workload was
  // silenced is announced once the silence ends, if it is still open.
  for (const incident of transition.book.incidents) {
    const key = incidentKey(incident);
    if (incident.openedAt === undefined || announced[key] !== undefined || queued.has(key)) continue;
    if (options.silenced?.(incident.workload)) continue;
    outbox = [...outbox, ...queue(options.configs, 'incident', incident, options.release)];
  }
  for (const incident of transition.book.incidents) {
    const key = incidentKey(incident);
    const told = announced[key];
    if (incident.openedAt === undefined || told === undefined) continue;
    if (options.release === undefined || told.release === options.release) continue;
    const current = (e: OutboxEntry) => e.kind === 'incident' && incidentKey(e.incident) === key;
    if (outbox.some((e) => current(e) && e.release === options.release)) continue;
    // A message of the earlier release not yet delivered everywhere gives way to the new one.
    outbox = [
      ...outbox.filter((e) => !current(e)),
      ...queue(options.configs, 'incident', incident, options.release),
    ];
  }
  for (const incident of transition.resolved) {
    const key = incidentKey(incident);
    if (announced[key] === undefined) continue;
    delete announced[key];
    outbox = [...outbox, ...queue(options.configs, 'resolved', incident, options.release)];
  }
  return { ...record, book: transition.book, announced, outbox };
}

/**
 * The messages whose time has come: of one workload and cause, only the oldest, so that a new
 * incident is never announced before the resolution of the one before it.
 */
export function dueMessages(record: WatchRecord, now: Date): OutboxEntry[] {
  const first = new Set<string>();
  return record.outbox.filter((e) => {
    const key = incidentKey(e.incident);
    if (first.has(key)) return false;
    first.add(key);
    return e.nextAttemptAt === undefined || Date.parse(e.nextAttemptAt) <= now.getTime();
  });
}

const sameEntry = (a: OutboxEntry, b: OutboxEntry): boolean =>
  a.kind === b.kind && incidentKey(a.incident) === incidentKey(b.incident) && a.release === b.release;

/** The record once an entry's diagnosis text is fixed. */
export function withSummary(record: WatchRecord, entry: OutboxEntry, summary: string): WatchRecord {
  return { ...record, outbox: record.outbox.map((e) => (sameEntry(e, entry) ? { ...e, summary } : e)) };
}

/**
 * The record after an attempt: configurations that took the message are done (an incident counts
 * as announced from the first); the others are tried again after a back-off that doubles up to 5 min.
 */
export function recordAttempt(
  record: WatchRecord,
  entry: OutboxEntry,
  delivered: readonly string[],
  now: Date,
): WatchRecord {
  const took = new Set(delivered);
  const announced = { ...record.announced };
  if (entry.kind === 'incident' && took.size > 0)
    announced[incidentKey(entry.incident)] = {
      ...(entry.release === undefined ? {} : { release: entry.release }),
      at: now.toISOString(),
    };
  const outbox = record.outbox.flatMap((e): OutboxEntry[] => {
    if (!sameEntry(e, entry)) return [e];
    const pending = e.pending.filter((c) => !took.has(c));
    if (pending.length === 0) return [];
    const attempts = e.attempts + 1;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
    return [{ ...e, pending, attempts, nextAttemptAt: new Date(now.getTime() + delay).toISOString() }];
  });
  return { ...record, announced, outbox };
}

/** A stored record, or an empty one when the text is not one (a damaged record is started afresh). */
export function parseWatchRecord(text: string | undefined): WatchRecord {
  if (!text) return EMPTY_RECORD;
  try {
    const parsed = JSON.parse(text) as Partial<WatchRecord>;
    const outage = parseOutage(parsed.outage);
    return {
      book: { incidents: Array.isArray(parsed.book?.incidents) ? parsed.book.incidents : [] },
      announced: parsed.announced && typeof parsed.announced === 'object' ? parsed.announced : {},
      outbox: Array.isArray(parsed.outbox) ? parsed.outbox : [],
      ...(outage === undefined ? {} : { outage }),
    };
  } catch {
    return EMPTY_RECORD;
  }
}
