// The scheduling preflight: where the deploy's pods and its rolling updates' extra pods could go.
export { planPreflight, scaledValue, schedulingProblems } from './preflight.js';
export type { ClusterSnapshot, PreflightObject, SchedulingProblem, WorkloadVerdict } from './preflight.js';
export { readSnapshot, runPreflight } from './read-snapshot.js';
export type { PreflightOutcome, ReadSnapshotOptions } from './read-snapshot.js';
