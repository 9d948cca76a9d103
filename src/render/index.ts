// Turns an environment's phase folders into Kubernetes objects (pure apart from reading files), orders and hashes them.
export { applyConfigChecksums, CHECKSUM_ANNOTATION, referencedConfig } from './checksums.js';
export { groupByKindOrder, kindOrder } from './kind-order.js';
export { CLUSTER_SCOPED_KINDS, isClusterScoped, managedLabels } from './objects.js';
export { maskSecrets, REDACTED, toYaml } from './output.js';
export { renderEnvironment, TEMPLATES_DIR_NAME } from './render-environment.js';
export type { RenderedObject, RenderedPhase, RenderOptions, TemplateContext } from './types.js';
