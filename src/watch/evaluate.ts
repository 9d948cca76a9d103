// One evaluation of an environment: its objects read, its open incidents found and diagnosed as a
// deploy diagnoses a failure (pods, log tails of the current and previous containers, events).
import { setMaxListeners } from 'node:events';
import type { KubeClient } from '../kube/index.js';
import { collectDiagnosis, formatDiagnosis } from '../rollout/index.js';
import type { KubeObject } from '../shared/index.js';
import { DEFAULT_GRACE_MS, observeFindings, refOf, type ObservedState } from './findings.js';
import type { IncidentReport } from './format.js';
import { advanceIncidents, EMPTY_BOOK, openIncidents, type Incident } from './incidents.js';
import { readObservedState, readReleaseContext, type ReleaseContext } from './read-state.js';
import type { Redactor } from '../secrets/index.js';
import { silenceOf } from './silence.js';
import { readWatchStore } from './store.js';

export interface EvaluateOptions {
  readonly namespace: string;
  readonly app: string;
  readonly env: string;
  readonly graceMs?: number;
  readonly now?: () => Date;
  readonly signal?: AbortSignal;
  readonly onWarning?: (message: string) => void;
  /** Learns the secret values of the releases; every text of the reports is redacted with it. */
  readonly redactor?: Redactor;
}

export interface Evaluation {
  readonly reports: IncidentReport[];
  readonly context: ReleaseContext;
  readonly state: ObservedState;
}

/** The object an incident's diagnosis is about, as last read. */
export function subjectOf(state: ObservedState, incident: Pick<Incident, 'subject'>): KubeObject | undefined {
  return [...state.workloads, ...state.jobs, ...state.pods].find((o) => refOf(o) === incident.subject);
}

/** The deploy's diagnosis of an incident's subject, as text; undefined when the subject is gone. */
export async function diagnoseIncident(
  client: KubeClient,
  state: ObservedState,
  incident: Incident,
  graceMs = DEFAULT_GRACE_MS,
): Promise<string | undefined> {
  const subject = subjectOf(state, incident);
  if (subject === undefined) return undefined;
  // Warning events from a little before it began: those of an earlier incident would mislead.
  const since = new Date(Date.parse(incident.since) - graceMs);
  const diagnosis = await collectDiagnosis(subject, undefined, { client, since }, false);
  return formatDiagnosis(incident.subject, diagnosis);
}

/**
 * The incidents open now, judged from the objects alone: what `capstan watch --once` reports. A
 * cause with a grace period counts only when its evidence (a condition's transition) is older.
 */
export async function evaluateEnvironment(client: KubeClient, options: EvaluateOptions): Promise<Evaluation> {
  // A dozen reads at once listen to the signal.
  if (options.signal) setMaxListeners(0, options.signal);
  const [state, context, store] = await Promise.all([
    readObservedState(client, { namespace: options.namespace, signal: options.signal }),
    readReleaseContext(client, options),
    readWatchStore(client, options),
  ]);
  const now = (options.now ?? (() => new Date()))();
  const findings = observeFindings(state, { now, graceMs: options.graceMs, ignoreJobs: context.hookJobs });
  const { book } = advanceIncidents(EMPTY_BOOK, findings, { now, graceMs: options.graceMs });
  const reports = await Promise.all(
    openIncidents(book).map(async (incident) => {
      const diagnosis = await diagnoseIncident(client, state, incident, options.graceMs);
      const silence = silenceOf(store.silences, incident.workload, now);
      return {
        incident,
        ...(diagnosis === undefined ? {} : { diagnosis }),
        ...(silence === undefined ? {} : { silence }),
      };
    }),
  );
  return { reports, context, state };
}
