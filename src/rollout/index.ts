// Per-kind readiness rules and failure diagnosis over plain object JSON, and the watch-based waiter.
export { assessReadiness, isCustomResource, needsWatch, relatedKinds } from './readiness.js';
export {
  containerStates,
  earlyFailure,
  hopelessReason,
  isPodReady,
  isUnschedulable,
  podPhase,
  podProblem,
} from './pod-state.js';
export type { ContainerState } from './pod-state.js';
export { findMostLikelyCause } from './cause.js';
export { condition } from './object-access.js';
export { currentReplicaSets, formatLabelSelector, podSelectorOf, podsOwnedBy } from './ownership.js';
export { diagnose, formatDiagnosis, LOG_TAIL_LINES } from './diagnosis.js';
export { summarizeEvents } from './events.js';
export { collectDiagnosis, startWaitWatches, waitForObjects } from './waiter.js';
export { describeUnreachable } from './watch-set.js';
export type {
  Diagnosis,
  DiagnosisContainer,
  DiagnosisEvent,
  DiagnosisInput,
  DiagnosisLog,
  DiagnosisPod,
  PodLogs,
  Readiness,
  ReadinessContext,
  ReadinessStatus,
} from './types.js';
export type { FailedObject, WaitOptions, WaitResult } from './waiter.js';
