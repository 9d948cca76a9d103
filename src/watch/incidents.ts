// The incident lifecycle (pure): findings over time become incidents that open once, per workload
// and cause, and resolve once the workload has been healthy for the grace period.
import { DEFAULT_GRACE_MS, GRACE_CAUSES, type Finding, type IncidentCause } from './findings.js';

export interface Incident {
  /** `Kind/name` of the workload. */
  readonly workload: string;
  readonly cause: IncidentCause;
  /** The most likely cause when it opened, in the deploy's words. */
  readonly summary: string;
  readonly pods: readonly string[];
  /** The object its diagnosis is collected for. */
  readonly subject: string;
  /** When the condition began (the evidence's time, or when it was first seen). */
  readonly since: string;
  /** When it became an incident; undefined while a cause with a grace period waits it out. */
  readonly openedAt?: string;
  /** When the workload was last seen without this cause, while it is open: resolution waits the grace period from here. */
  readonly healthySince?: string;
}

/** What an evaluation remembers between runs: open incidents and causes still inside their grace period. */
export interface IncidentBook {
  readonly incidents: readonly Incident[];
}

export interface Transition {
  readonly opened: readonly Incident[];
  readonly resolved: readonly Incident[];
  readonly book: IncidentBook;
}

export const EMPTY_BOOK: IncidentBook = { incidents: [] };

export const incidentKey = (i: { workload: string; cause: string }): string => `${i.workload} ${i.cause}`;

const iso = (ms: number): string => new Date(ms).toISOString();

function startOf(finding: Finding, now: number): number {
  const t = finding.since === undefined ? Number.NaN : Date.parse(finding.since);
  return Number.isNaN(t) ? now : Math.min(t, now);
}

/**
 * One step of the lifecycle at `now`: an open incident still found stays open (and silent); one
 * not found resolves once the grace period has passed without it; a new finding opens an
 * incident at once, or for a cause with a grace period once it has lasted that long.
 */
export function advanceIncidents(
  book: IncidentBook,
  findings: readonly Finding[],
  options: { now: Date; graceMs?: number },
): Transition {
  const now = options.now.getTime();
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const found = new Map(findings.map((f) => [incidentKey(f), f]));
  const known = new Map(book.incidents.map((i) => [incidentKey(i), i]));
  const opened: Incident[] = [];
  const resolved: Incident[] = [];
  const kept: Incident[] = [];
  for (const [key, incident] of known) {
    if (found.has(key)) continue;
    if (incident.openedAt === undefined) continue; // a waiting cause that passed: nothing to say
    const healthySince = incident.healthySince ?? iso(now);
    if (now - Date.parse(healthySince) >= grace) resolved.push(incident);
    else kept.push({ ...incident, healthySince });
  }
  // Replicas missing while the workload has an incident of another cause are its consequence, not news.
  const busy = new Set(kept.map((i) => i.workload));
  for (const [key, finding] of found) {
    const incident = known.get(key);
    if (finding.cause === 'unavailable' && incident?.openedAt === undefined && busy.has(finding.workload))
      continue;
    if (incident?.openedAt !== undefined) {
      // Seen again: whatever healthy spell it had is over.
      const { healthySince: _over, ...still } = incident;
      kept.push(still);
      continue;
    }
    const since = incident?.since ?? iso(startOf(finding, now));
    const waiting = GRACE_CAUSES.has(finding.cause) && now - Date.parse(since) < grace;
    const next: Incident = {
      workload: finding.workload,
      cause: finding.cause,
      summary: finding.summary,
      pods: finding.pods,
      subject: finding.subject,
      since,
      ...(waiting ? {} : { openedAt: iso(now) }),
    };
    kept.push(next);
    if (!waiting) opened.push(next);
  }
  const order = (a: Incident, b: Incident) => incidentKey(a).localeCompare(incidentKey(b));
  return {
    opened: opened.sort(order),
    resolved: resolved.sort(order),
    book: { incidents: kept.sort(order) },
  };
}

/** The incidents that are open, not those still waiting out their grace period. */
export function openIncidents(book: IncidentBook): Incident[] {
  return book.incidents.filter((i) => i.openedAt !== undefined);
}
