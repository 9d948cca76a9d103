// Reads .deploy/capstan.yaml, validates it against the JSON Schema and resolves one environment.
export { readGitBuildInfo, resolveBuildInfo, resolveBuildInfoFrom } from './build-info.js';
export type { BuildInfo } from './build-info.js';
export { parseDuration } from './duration.js';
export { CONFIG_FILE_NAME, loadConfig } from './load-config.js';
export { parseConfig } from './parse-config.js';
export { parseHelmChart } from './parse-helm-chart.js';
export type { HelmChartConfig, ParsedHelmChart } from './parse-helm-chart.js';
export { eachCluster, inCluster, resolveOneCluster } from './one-cluster.js';
export type { ParsedConfig } from './parse-config.js';
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_RELEASES_KEEP,
  DEFAULT_TIMEOUT,
  applySet,
  deepFreeze,
  mergeValues,
  parseSetEntry,
  resolveEnvironment,
  resolveClusters,
  connectionOf,
} from './resolve-environment.js';
export type {
  AuditConfig,
  ClusterConfig,
  FleetConfig,
  ResolvedCluster,
  CapstanConfig,
  EnvironmentConfig,
  LoadedConfig,
  NotificationConfig,
  PreviewContext,
  PreviewProtectConfig,
  PreviewsConfig,
  ResolvedEnvironment,
  ResolvedPreview,
  TaskConfig,
  ResolvedVaultConfig,
  VaultAuthConfig,
  VaultAuthMethod,
  VaultConfig,
} from './types.js';
