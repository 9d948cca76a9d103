// Deploys: validate everything, then phase by phase apply and wait, then prune.
export { deploy, EXIT, newRevision, selectorOf, eventObject } from './deploy.js';
export type { DeployOptions, DeployResult } from './deploy.js';
export type { DeployEvent, DeployEventSink, DeployOutcome, EventObject } from './events.js';
export { FIELD_MANAGER, applyAll, issuesFromApplyError } from './apply.js';
export { listLabelled, prunableTypes } from './prune.js';
export { createSecretsRenderer, namespaceKeyProvider, EJSON_KEYS_SECRET } from './secrets.js';
export { dryRunAll, markHookJob, validateDeploy } from './validate.js';
export type { Validation, ValidatedObject, ValidateOptions } from './validate.js';
