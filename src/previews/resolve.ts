// One branch's preview as an environment: the `from` environment's tree, values and secrets, in the
// preview's own namespace, with `previews.values` over the environment's (and `--set` over both).
import { ConfigError, CapstanError } from '../shared/index.js';
import {
  applySet,
  deepFreeze,
  mergeValues,
  parseDuration,
  resolveEnvironment,
  type LoadedConfig,
  type PreviewsConfig,
  type ResolvedEnvironment,
  type ResolvedPreview,
} from '../config/index.js';
import { previewNames } from './names.js';

/** Requests and limits a container gets when it names none (capstan.yaml `previews.limits` overrides). */
export const DEFAULT_LIMITS = {
  defaultRequest: { cpu: '50m', memory: '64Mi' },
  default: { cpu: '500m', memory: '256Mi' },
} as const;

/** capstan.yaml `previews:`, or an input error naming the file when there is none. */
export function previewsOf(loaded: LoadedConfig): PreviewsConfig {
  const previews = loaded.config.previews;
  if (!previews)
    throw new ConfigError(
      [{ file: loaded.file, path: 'previews', message: 'capstan.yaml has no previews:' }],
      {
        hint: 'add previews: {from: ENV, host: "{slug}.preview.example.test", ttl: 3d} (docs/previews.md)',
      },
    );
  return previews;
}

/**
 * The environment a preview of `branch` deploys, at `now` (its expiry is `now` + ttl). The `from`
 * environment's extra namespaces are dropped: a preview owns its namespace and nothing else.
 */
export function resolvePreview(
  loaded: LoadedConfig,
  branch: string,
  options: { set?: readonly string[]; now?: Date } = {},
): ResolvedEnvironment {
  const previews = previewsOf(loaded);
  if (branch.trim() === '')
    throw new CapstanError('ERR_CAPSTAN_USAGE', 'a preview needs a branch', {
      hint: 'pass --branch, or run in a CI job or git checkout that names one',
    });
  const names = previewNames(loaded.config.app, branch, previews.host);
  const ttlMs = parseDuration(previews.ttl);
  const now = options.now ?? new Date();
  const base = resolveEnvironment(loaded, previews.from);
  // --set goes over the preview's values, as it goes over an environment's.
  const values = applySet(mergeValues(base.values, previews.values ?? {}), options.set);
  const preview: ResolvedPreview = Object.freeze({
    branch: names.branch,
    slug: names.slug,
    host: names.host,
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    from: previews.from,
    ttlMs,
    quota: Object.freeze(
      Object.fromEntries(Object.entries(previews.quota ?? {}).map(([k, v]) => [k, String(v)])),
    ),
    limits: Object.freeze({
      defaultRequest: Object.freeze({ ...DEFAULT_LIMITS.defaultRequest, ...previews.limits?.defaultRequest }),
      default: Object.freeze({ ...DEFAULT_LIMITS.default, ...previews.limits?.default }),
    }),
    ...(previews.protect ? { protect: Object.freeze({ ...previews.protect }) } : {}),
  });
  return Object.freeze({
    ...base,
    namespace: names.namespace,
    extraNamespaces: Object.freeze([]),
    values: deepFreeze(values),
    preview,
  });
}
