// Deploys: validate everything, then phase by phase apply and wait, then prune.
export { ClusterDeploy, deploy, EXIT } from './deploy.js';
export { collectDiffs, diffClusters, diffEnvironment } from './diff-environment.js';
export type { DiffEnvironmentOptions, EnvironmentDiff } from './diff-environment.js';
export type { DeployOptions, DeployResult } from './deploy.js';
export type {
  AnyDeployEvent,
  ClusterOutcome,
  FleetEvent,
  DeployEvent,
  DeployEventSink,
  DeployOutcome,
  EventObject,
  RollbackEvent,
} from '../events/index.js';
export {
  FIELD_MANAGER,
  applyAll,
  createSecretsRenderer,
  createVaultResolver,
  EJSON_KEYS_SECRET,
  eventObject,
  issuesFromApplyError,
  namespaceKeyProvider,
  newDeployId,
  selectorOf,
} from '../apply/index.js';
export { listLabelled, prunableTypes } from './prune.js';
export { dryRunAll, markHookJob, validateDeploy } from './validate.js';
export type { Validation, ValidatedObject, ValidateOptions } from './validate.js';
