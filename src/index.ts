// Capstan as a library: the same calls the CLI makes, with options objects and no globals.
export {
  collectDiffs,
  deploy,
  diffClusters,
  diffEnvironment,
  EXIT,
  createSecretsRenderer,
} from './deploy/index.js';
export type {
  DeployEvent,
  DeployEventSink,
  DeployOptions,
  DeployOutcome,
  DeployResult,
  EventObject,
} from './deploy/index.js';
export { loadConfig, parseDuration, resolveEnvironment } from './config/index.js';
export type {
  CapstanConfig,
  EnvironmentConfig,
  LoadedConfig,
  NotificationConfig,
  ResolvedEnvironment,
  ResolvedVaultConfig,
  VaultConfig,
} from './config/index.js';
export { defineTemplate, maskSecrets, renderEnvironment, toYaml } from './render/index.js';
export type {
  RenderedObject,
  RenderedPhase,
  RenderOptions,
  Template,
  TemplateContext,
  TemplateOutput,
} from './render/index.js';
export { assessReadiness, diagnose, formatDiagnosis, waitForObjects } from './rollout/index.js';
export type { Diagnosis, Readiness, WaitOptions, WaitResult } from './rollout/index.js';
export { runTask, planTaskJob, cleanJobs } from './tasks/index.js';
export type { RunTaskOptions, RunTaskResult } from './tasks/index.js';
export {
  acquireLock,
  formatDiff,
  forceUnlock,
  LockHeldError,
  readReleases,
  rollback,
  writeRelease,
} from './release/index.js';
export type {
  DeployLock,
  ObjectDiff,
  ReleaseRecord,
  RollbackOptions,
  RollbackResult,
} from './release/index.js';
export { formatFleetHistory, mergeHistories, rollbackFleet } from './fleet/index.js';
export type { FleetHistory, FleetRollbackOptions, FleetRollbackResult } from './fleet/index.js';
export { notify } from './notify/index.js';
export type { NotifyEvent } from './notify/index.js';
export { migrate } from './migrate/index.js';
export type { MigrateOptions, MigrateResult } from './migrate/index.js';
export { computeEnvironmentRbac, formatRbacYaml, parseSubject, planRbac, rbacObjects } from './rbac/index.js';
export type {
  EnvironmentRbac,
  EnvironmentRbacOptions,
  RbacPlan,
  RbacPlanInput,
  RbacResource,
  RbacRule,
  RbacSubject,
} from './rbac/index.js';
export {
  createRedactor,
  decryptEjson,
  decryptEjsonFile,
  decryptSopsFile,
  encryptEjson,
  encryptEjsonFile,
  encryptSopsFile,
  generateKeyPair,
  loadAgeIdentities,
  planSecretsFromEjson,
  readSopsObjects,
} from './secrets/index.js';
export type { AgeIdentity, DecryptedSops, KeyProvider, SopsReadOptions } from './secrets/index.js';
export { collectVaultReferences, parseVaultReference, resolveVaultReferences } from './secrets/index.js';
export type { ResolveVaultOptions, VaultReference, VaultReferenceSite } from './secrets/index.js';
export {
  deletePreview,
  deployPreview,
  gcPreviews,
  listPreviews,
  previewNames,
  resolvePreview,
} from './previews/index.js';
export type {
  GcResult,
  PreviewDeployOptions,
  PreviewDeployResult,
  PreviewList,
  PreviewListing,
  PreviewNames,
  PreviewSummary,
} from './previews/index.js';
export { planScaffold, writeScaffold } from './scaffold/index.js';
export type {
  ScaffoldOptions,
  ScaffoldPlan,
  WriteScaffoldOptions,
  WriteScaffoldResult,
} from './scaffold/index.js';
export { KubeClient, KubeApiError } from './kube/index.js';
export type { KubeConnectionOptions } from './kube/index.js';
// Kubernetes object types for typed templates (from @kubernetes/client-node's models): this list
// is their public surface, so it is read from the file itself rather than repeated in kube's index.
export type {
  ConfigMap,
  Container,
  CronJob,
  DaemonSet,
  Deployment,
  HorizontalPodAutoscaler,
  Ingress,
  Job,
  KnownManifest,
  LabelSelector,
  Manifest,
  NetworkPolicy,
  ObjectMeta,
  PersistentVolumeClaim,
  Pod,
  PodDisruptionBudget,
  PodSpec,
  PodTemplateSpec,
  Role,
  RoleBinding,
  Secret,
  Service,
  ServiceAccount,
  StatefulSet,
} from './kube/types.js';
export { CapstanError, ConfigError } from './shared/index.js';
export type { Issue, KubeObject, Logger } from './shared/index.js';
