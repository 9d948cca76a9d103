// Best-practice checks and the scheduling preflight (pure: rendered objects + a cluster snapshot).
export { auditObjects, blockingFindings, IGNORE_ANNOTATION, resolveAuditConfig } from './audit.js';
export type { AuditFinding, AuditObjectsResult, AuditOptions } from './audit.js';
export { CHECK_IDS, CHECKS, isCheckId } from './catalogue.js';
export type { CheckId, CheckInfo, Severity } from './catalogue.js';
export { formatAuditJson, formatAuditSarif, formatAuditText, withObject } from './format.js';
export { readClusterSnapshot } from './read-snapshot.js';
export { refuseBrokenObjects } from './deploy-gate.js';
export { auditClusters, mergeClusterFindings, runAudit } from './run-audit.js';
export type { RunAuditOptions, RunAuditResult } from './run-audit.js';
export type {
  AuditResult,
  ClusterSnapshot,
  Finding,
  FindingObject,
  ResolvedAuditConfig,
  SkippedCheck,
  SnapshotNamespace,
  SnapshotNode,
  SnapshotService,
  SnapshotStorageClass,
} from './types.js';
