// Below deploy, release and tasks: server-side apply and dry runs, the Secrets renderer, shared names.
export { FIELD_MANAGER, applyAll, issuesFromApplyError } from './apply.js';
export type { ApplyOutcome } from './apply.js';
export { applyPriorities, planApplyOrder, serialLane } from './order.js';
export { applyScheduled, scheduleOrder } from './schedule.js';
export { eventObject, newDeployId, selectorOf } from './names.js';
export {
  createSecretsRenderer,
  createVaultResolver,
  namespaceKeyProvider,
  EJSON_KEYS_SECRET,
} from './secrets.js';
