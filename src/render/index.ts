// Turns phase folders into Kubernetes objects; orders them by kind and hashes their configuration.
export {
  applyConfigChecksums,
  CHECKSUM_ANNOTATION,
  podTemplateOf,
  referencedConfig,
  TEMPLATE_PATHS,
} from './checksums.js';
export {
  HELM_HOOK_ANNOTATION,
  helmHooksOf,
  hookDeletePolicies,
  runsOn,
  splitHelmHooks,
} from './helm-hooks.js';
export type { HelmEvent, HookGroup, SplitChart } from './helm-hooks.js';
export { groupByKindOrder, kindOrder } from './kind-order.js';
export { CLUSTER_SCOPED_KINDS, isClusterScoped, managedLabels } from './objects.js';
export { maskSecrets, REDACTED, toYaml } from './output.js';
export { renderEnvironment, TEMPLATES_DIR_NAME } from './render-environment.js';
export type { RenderedObject, RenderedPhase, RenderOptions, TemplateContext } from './types.js';
export { defineTemplate } from './define-template.js';
export type { Template, TemplateOutput } from './define-template.js';
