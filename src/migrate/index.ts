// Cluster-to-cluster copy and verification: plan (pure), apply to B with server-side apply, verify.
export { connectCluster, migrate, summarizePlan, MIGRATE_EXIT } from './migrate.js';
export { cutover } from './cutover.js';
export { resolveCutoverEnvironment } from './cutover-environment.js';
export type { CutoverEnvironmentInput, ResolvedCutoverEnvironment } from './cutover-environment.js';
export type { CutoverEvent, CutoverOptions, CutoverOutcome, CutoverResult } from './cutover.js';
export {
  CUTOVER_NAMESPACE,
  CUTOVER_RECORD_LABEL,
  cutoverRecordName,
  decide,
  describeStep,
  newestRecord,
  parseCutoverRecord,
  pendingSteps,
  planCutover,
  SOURCE_LIVE_STATES,
  stepPatch,
  withStep,
} from './cutover-plan.js';
export type {
  CutoverDecision,
  CutoverDirection,
  CutoverEnvironment,
  CutoverRecord,
  CutoverState,
  CutoverStep,
  HookResult,
} from './cutover-plan.js';
export {
  CUTOVER_FIELD_MANAGER,
  notLiveReason,
  readCutoverRecords,
  readRecord,
  refuseLiveTarget,
  writeCopies,
  writeRecord,
} from './cutover-store.js';
export type { NotLiveQuery, RecordLocation } from './cutover-store.js';
export {
  CUTOVER_SIDE_ANNOTATION,
  cutoverCommand,
  judgeLiveness,
  liveClusters,
  scopeConcerns,
} from './cutover-liveness.js';
export type {
  ClusterRecords,
  CutoverSide,
  FoundCutoverRecord,
  LiveClusters,
  LivenessTarget,
  NotLive,
} from './cutover-liveness.js';
export type { ClusterAccess, MigrateOptions, MigrateResult } from './migrate.js';
export { APP_LABELS, planMigration, planWaves, scopePredicate, selectKinds } from './plan.js';
export type { KindSelection, PlanInput } from './plan.js';
export { chooseKinds, kindMatches, kindSkipReason, waveOf, WAVE_COUNT } from './kinds.js';
export type { KindChoice, ServedTypes } from './kinds.js';
export {
  hasSomethingToMerge,
  indexCluster,
  objectSkipReason,
  RUNNING_JOB,
  statefulSetOfClaim,
  SYSTEM_NAMESPACES,
} from './rules.js';
export type { ClusterIndex } from './rules.js';
export { stripForCopy, SUSPENDED_BY_MIGRATE } from './strip.js';
export type { StripOptions } from './strip.js';
export { diffPaths, normalizeForCompare, parseQuantity, secretDigests } from './normalize.js';
export { compareClusters } from './compare.js';
export type { CompareInput } from './compare.js';
export { healthProblems } from './health.js';
export { parseLabelSelector } from './selector.js';
export { actionOf, applyPlan, MIGRATE_FIELD_MANAGER, withOwnerUids } from './apply.js';
export { discoverTypes, readObjects } from './read.js';
export { verifyMigration } from './verify.js';
export {
  describeRunningJobs,
  describeVolumes,
  formatApply,
  formatLeftOut,
  formatPlan,
  formatTable,
  formatVerification,
} from './format.js';
export { formatRef, refKey } from './json.js';
export type { MigrateObjectRef } from './json.js';
export type {
  ApplyAction,
  ApplySummary,
  HealthProblem,
  KindCount,
  LeftOut,
  MigrateEvent,
  MigrateOutcome,
  MigrationPlan,
  MigrationPlanSummary,
  MigrationScope,
  ObjectDifference,
  PlannedObject,
  PlannedOwner,
  SkippedKind,
  SkippedObject,
  UncopiedVolume,
  UnsupportedKind,
  Verification,
  VerifyKindRow,
} from './types.js';
