// Previews: an environment per branch, in its own namespace, that expires (docs/previews.md).
export { deployPreview, PREVIEW_FIELD_MANAGER } from './deploy-preview.js';
export type { PreviewDeployOptions, PreviewDeployResult, PreviewSummary } from './deploy-preview.js';
export {
  DEFAULT_DELETE_TIMEOUT_MS,
  deleteNamespace,
  deletePreview,
  gcPreviews,
  listPreviews,
  whatHolds,
} from './manage.js';
export type { GcResult, PreviewClientOptions, PreviewList, PreviewListing } from './manage.js';
export {
  isExpired,
  isUnreadable,
  previewLimits,
  previewNamespace,
  previewSelector,
  readPreview,
} from './namespace.js';
export type { PreviewState, UnreadablePreview } from './namespace.js';
export { checkHostPattern, cleanBranch, previewNames, slugBudget, slugOf } from './names.js';
export type { PreviewNames } from './names.js';
export { htpasswdLine, ingressAnnotations, protectionObjects } from './protect.js';
export { DEFAULT_LIMITS, previewsOf, resolvePreview } from './resolve.js';
