// Watching a running environment: incidents per workload and cause, from its objects, and what to tell whom.
export {
  CAUSE_TITLES,
  DEFAULT_GRACE_MS,
  GRACE_CAUSES,
  observeFindings,
  refOf,
  workloadOfPod,
} from './findings.js';
export type { Finding, IncidentCause, ObservedState, ObserveOptions } from './findings.js';
export { advanceIncidents, EMPTY_BOOK, incidentKey, openIncidents } from './incidents.js';
export type { Incident, IncidentBook, Transition } from './incidents.js';
export {
  describeRelease,
  formatIncident,
  formatIncidents,
  incidentsJson,
  incidentTitle,
  releaseJson,
  whatToDo,
} from './format.js';
export type { EnvironmentScope, IncidentReport } from './format.js';
export { diagnoseIncident, evaluateEnvironment, subjectOf } from './evaluate.js';
export type { EvaluateOptions, Evaluation } from './evaluate.js';
export { liveRelease, readObservedState, readReleaseContext, WATCHED_KINDS } from './read-state.js';
export type { ReadStateOptions, ReleaseContext } from './read-state.js';
export {
  configKey,
  dueMessages,
  EMPTY_RECORD,
  parseWatchRecord,
  planMessages,
  recordAttempt,
  withSummary,
} from './outbox.js';
export type { OutboxEntry, WatchRecord } from './outbox.js';
export { leaderLeaseName, runWatcher } from './watcher.js';
export { readWatchStore, watchRecordName, writeSilences, writeWatchRecord } from './store.js';
export type { WatchScope } from './store.js';
export { activeSilences, addSilence, parseSilences, parseWorkloadRef, silenceOf } from './silence.js';
export type { Silence } from './silence.js';
export type { WatcherEvent, WatcherOptions } from './watcher.js';
