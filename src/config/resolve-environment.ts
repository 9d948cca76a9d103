import { statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type Issue } from '../shared/index.js';
import { parseDuration } from './duration.js';
import type {
  EnvironmentConfig,
  FleetConfig,
  LoadedConfig,
  ResolvedEnvironment,
  ResolvedVaultConfig,
  VaultConfig,
} from './types.js';

export const DEFAULT_TIMEOUT = '10m';
export const DEFAULT_RELEASES_KEEP = 10;
export const DEFAULT_CONCURRENCY = 32;
export const DEFAULT_VAULT_TIMEOUT = '10s';

/** The environment's `vault:` fields over the top-level ones (`auth` field by field). */
function vaultOf(
  top: VaultConfig | undefined,
  own: VaultConfig | undefined,
): { vault?: ResolvedVaultConfig } {
  if (!top && !own) return {};
  const { auth: topAuth, timeout: topTimeout, ...topRest } = top ?? {};
  const { auth: ownAuth, timeout: ownTimeout, ...ownRest } = own ?? {};
  return {
    vault: deepFreeze({
      ...topRest,
      ...ownRest,
      timeoutMs: parseDuration(ownTimeout ?? topTimeout ?? DEFAULT_VAULT_TIMEOUT),
      auth: { ...topAuth, ...ownAuth },
    }),
  };
}

/**
 * The complete, frozen description of one environment. Values merge deeply: top-level values <
 * environment values < `--set` entries (`a.b.c=value`, the value read as a YAML scalar; `\.` is a
 * literal dot in a key). Lists are replaced, not merged. With `cluster`, the view of one cluster of a
 * multi-cluster environment: its values go between the environment's and `--set`, and its context,
 * kubeconfig and namespace replace the environment's.
 */
export function resolveEnvironment(
  loaded: LoadedConfig,
  envName: string,
  options: { set?: readonly string[]; cluster?: string } = {},
): ResolvedEnvironment {
  const { config, file, deployDir } = loaded;
  const envConfig = Object.hasOwn(config.environments, envName) ? config.environments[envName] : undefined;
  if (!envConfig) {
    const known = Object.keys(config.environments);
    throw new ConfigError([{ file, path: 'environments', message: `unknown environment "${envName}"` }], {
      hint:
        known.length > 0 ? `known environments: ${known.join(', ')}` : 'capstan.yaml defines no environment',
    });
  }
  const envDir = join(deployDir, envName);
  if (!isDirectory(envDir)) {
    throw new ConfigError([{ file: envDir, message: `environment "${envName}" has no folder` }], {
      hint: `create ${envDir} with phase folders such as 10-configuration and 30-deployment`,
    });
  }

  const fleet = envConfig.clusters ? resolveFleet(envConfig, dirname(file)) : undefined;
  const cluster = clusterOf(envConfig, envName, options.cluster, file);
  const resolvedCluster = fleet?.clusters.find((c) => c.name === options.cluster);
  const values = applySet(
    mergeValues(mergeValues(config.values ?? {}, envConfig.values ?? {}), cluster?.values ?? {}),
    options.set,
  );

  const timeout = config.deploy?.timeout ?? DEFAULT_TIMEOUT;
  const image = envConfig.image ?? config.image;
  return Object.freeze({
    app: config.app,
    name: envName,
    ...(envConfig.context === undefined ? {} : { context: envConfig.context }),
    ...(resolvedCluster?.context === undefined ? {} : { context: resolvedCluster.context }),
    ...(resolvedCluster?.kubeconfig === undefined ? {} : { kubeconfig: resolvedCluster.kubeconfig }),
    namespace: resolvedCluster?.namespace ?? envConfig.namespace,
    extraNamespaces: Object.freeze([...(envConfig.extraNamespaces ?? [])]),
    values: deepFreeze(values),
    ...(image === undefined ? {} : { image }),
    deployDir,
    envDir,
    configFile: file,
    notifications: Object.freeze((config.notifications ?? []).map((n) => Object.freeze({ ...n }))),
    releasesKeep: config.releases?.keep ?? DEFAULT_RELEASES_KEEP,
    timeoutMs: parseDuration(timeout),
    concurrency: config.deploy?.concurrency ?? DEFAULT_CONCURRENCY,
    onFailure: envConfig.onFailure ?? 'stop',
    ...vaultOf(config.vault, envConfig.vault),
    tasks: deepFreeze(structuredClone(config.tasks ?? {})),
    audit: deepFreeze({
      checks: { ...config.audit?.checks, ...envConfig.audit?.checks },
      ignore: structuredClone([...(config.audit?.ignore ?? []), ...(envConfig.audit?.ignore ?? [])]),
    }),
    ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
    ...(fleet === undefined ? {} : { fleet }),
  });
}

/** The cluster `--cluster` names, or undefined without one; an input error for an unknown name. */
function clusterOf(
  envConfig: EnvironmentConfig,
  envName: string,
  name: string | undefined,
  file: string,
): { values?: Record<string, unknown> } | undefined {
  if (name === undefined) return undefined;
  const clusters = envConfig.clusters;
  if (!clusters)
    throw new ConfigError(
      [{ file, path: `environments.${envName}`, message: `environment "${envName}" has one cluster` }],
      { hint: "leave out --cluster, or name the environment's clusters under clusters: in capstan.yaml" },
    );
  if (!Object.hasOwn(clusters, name))
    throw new ConfigError(
      [{ file, path: `environments.${envName}.clusters`, message: `unknown cluster "${name}"` }],
      { hint: `the clusters of ${envName}: ${Object.keys(clusters).join(', ')}` },
    );
  return clusters[name];
}

/** A multi-cluster environment's clusters (kubeconfig paths made absolute), waves and pacing. */
function resolveFleet(envConfig: EnvironmentConfig, configDir: string): FleetConfig {
  const clusters = Object.entries(envConfig.clusters ?? {}).map(([name, c]) =>
    Object.freeze({
      name,
      ...(c.context === undefined ? {} : { context: c.context }),
      ...(c.kubeconfig === undefined
        ? {}
        : { kubeconfig: isAbsolute(c.kubeconfig) ? c.kubeconfig : resolve(configDir, c.kubeconfig) }),
      namespace: c.namespace ?? envConfig.namespace,
    }),
  );
  const waves = envConfig.waves ?? [clusters.map((c) => c.name)];
  const largest = Math.max(...waves.map((w) => w.length));
  return Object.freeze({
    clusters: Object.freeze(clusters),
    waves: Object.freeze(waves.map((w) => Object.freeze([...w]))),
    soakMs: envConfig.soak === undefined ? 0 : parseDuration(envConfig.soak),
    maxParallel: envConfig.maxParallel ?? largest,
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; anything else in `over` replaces what is in `base`. Inputs untouched. */
export function mergeValues(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__') continue;
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? mergeValues(current, value) : structuredClone(value);
  }
  return out;
}

/** `--set` entries over values; an input error naming every entry that is not `key=value`. */
export function applySet(
  values: Record<string, unknown>,
  set: readonly string[] | undefined,
): Record<string, unknown> {
  let out = values;
  const issues: Issue[] = [];
  for (const entry of set ?? []) {
    const parsed = parseSetEntry(entry);
    if (typeof parsed === 'string') issues.push({ file: '--set', message: parsed });
    else out = setPath(out, parsed.path, parsed.value);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}

/** `a.b\.c=value` -> { path: ['a', 'b.c'], value } or an error message. */
export function parseSetEntry(entry: string): { path: string[]; value: unknown } | string {
  const eq = entry.indexOf('=');
  if (eq <= 0) return `"${entry}" is not key=value`;
  const path = entry
    .slice(0, eq)
    .split(/(?<!\\)\./)
    .map((part) => part.replace(/\\\./g, '.'));
  if (path.some((part) => part.trim() === '')) return `"${entry.slice(0, eq)}" has an empty key segment`;
  if (path.includes('__proto__')) return `"${entry.slice(0, eq)}" is not a usable key`;
  return { path, value: parseScalar(entry.slice(eq + 1)) };
}

/** YAML scalar resolution (`3` -> 3, `true` -> true, `null` -> null); anything else stays a string. */
function parseScalar(text: string): unknown {
  if (text === '') return '';
  try {
    const value: unknown = parseYaml(text);
    return value !== null && typeof value === 'object' ? text : value;
  } catch {
    return text;
  }
}

function setPath(
  values: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const out = { ...values };
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    out[head] = value;
  } else {
    const child = out[head];
    out[head] = setPath(isPlainObject(child) ? child : {}, rest, value);
  }
  return out;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The views of an environment a command acts on: one per cluster of a multi-cluster environment
 * (in capstan.yaml's order, or only `cluster`), else the environment itself.
 */
export function resolveClusters(
  loaded: LoadedConfig,
  envName: string,
  options: { set?: readonly string[]; cluster?: string } = {},
): ResolvedEnvironment[] {
  const env = resolveEnvironment(loaded, envName, options);
  if (!env.fleet || options.cluster !== undefined) return [env];
  return env.fleet.clusters.map((c) =>
    resolveEnvironment(loaded, envName, { set: options.set, cluster: c.name }),
  );
}

/**
 * Where a view of an environment connects: the cluster's own kubeconfig over the one given
 * (`--kubeconfig`, else KUBECONFIG and ~/.kube/config); `--context` over the configured context.
 */
export function connectionOf(
  env: Pick<ResolvedEnvironment, 'context' | 'kubeconfig'>,
  given: { kubeconfig?: string; context?: string } = {},
): { kubeconfig?: string; context?: string } {
  const kubeconfig = env.kubeconfig ?? given.kubeconfig;
  const context = given.context ?? env.context;
  return {
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...(context === undefined ? {} : { context }),
  };
}
