// Releases: history records in the cluster, the deploy lock, diff against live objects, rollback.
export {
  APP_LABEL,
  appliedDigest,
  appliedEntry,
  checkRecord,
  DamagedReleaseError,
  decodeRelease,
  DEFAULT_CHUNK_BYTES,
  encodeRelease,
  ENV_LABEL,
  interruptedRecord,
  inventoryEntry,
  RELEASE_LABEL,
  RELEASE_SECRET_TYPE,
  releaseSecretName,
  releaseSelector,
  RELEASE_NUMBER_LABEL,
} from './record.js';
export type {
  InventoryEntry,
  PhaseRecord,
  ReleaseOutcome,
  ReleaseRecord,
  ReplacedJobRecord,
  Takeover,
} from './record.js';
export { nextReleaseNumber, readRelease, readReleases, releasesBeyondKeep, writeRelease } from './store.js';
export type { ReadReleasesOptions, ReleaseScope, WriteReleaseOptions } from './store.js';
export {
  acquireLock,
  decideLock,
  DEFAULT_LEASE_SECONDS,
  expiryText,
  forceUnlock,
  holderProcessNote,
  LOCK_DEPLOY_ID_ANNOTATION,
  LOCK_NAMESPACES_ANNOTATION,
  LOCK_PROCESS_ANNOTATION,
  LockHeldError,
  LockLostError,
  lockLostReason,
  lockName,
  lockStateOf,
  microTime,
  observeLease,
  parseHolderProcess,
  readLock,
} from './lock.js';
export type {
  AcquireLockOptions,
  DeployLock,
  LeaseObservation,
  LocalProcess,
  LockDecision,
  LockState,
} from './lock.js';
export {
  computeObjectDiff,
  computePruneDiff,
  formatDiff,
  hasChanges,
  redactDiffs,
  summarizeDiffs,
} from './diff.js';
export type { DiffAction, ObjectDiff } from './diff.js';
export { diffLines, unifiedDiff } from './text-diff.js';
export type { LineEdit } from './text-diff.js';
export { markInterrupted, recordTakeover } from './takeover.js';
export { rollback } from './rollback.js';
export { chooseRollbackTarget, planRollbackPrune, rollbackWaitEnd } from './rollback-plan.js';
export type { RollbackEvent, RollbackOptions, RollbackResult } from './rollback.js';
export { formatHistory, historyJson } from './history.js';
export type { HistoryEntry } from './history.js';
