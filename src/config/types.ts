/** What a user writes in `.deploy/capstan.yaml`, and the complete form of one environment. */

export interface NotificationConfig {
  type: 'slack' | 'webhook';
  /** Name of the environment variable that holds the URL; the URL is a secret and never in the file. */
  urlEnv: string;
  events?: string[];
}

/** `audit:` of capstan.yaml (top level or per environment); check ids are checked by the schema. */
export interface AuditConfig {
  /** Severity per check id (`error`, `warning`, `info`), or `off`. */
  checks?: Record<string, 'error' | 'warning' | 'info' | 'off'>;
  /** Findings to drop: the listed checks on the listed objects (`Kind/name`). */
  ignore?: { checks: string[]; objects: string[]; reason: string }[];
}

export interface EnvironmentConfig {
  context?: string;
  audit?: AuditConfig;
  namespace: string;
  /** Other namespaces the environment's objects may name; any other one is refused. */
  extraNamespaces?: string[];
  values?: Record<string, unknown>;
  image?: string;
  /** `rollback`: a deploy that fails after changing the cluster puts back the last succeeded release. */
  onFailure?: 'stop' | 'rollback';
  /** Vault for this environment's references; its fields over the top-level `vault:`. */
  vault?: VaultConfig;
  /** The clusters of a multi-cluster environment, by name; without it the environment is one cluster. */
  clusters?: Record<string, ClusterConfig>;
  /** Cluster names in the order they deploy: each inner list is one wave (default: one wave of all). */
  waves?: string[][];
  /** How long each wave stays healthy before the next starts (a duration; default 0). */
  soak?: string;
  /** Clusters of one wave deployed at once (default: the whole wave). */
  maxParallel?: number;
}

/** One cluster of a multi-cluster environment. */
export interface ClusterConfig {
  context?: string;
  /** Absolute, or relative to the folder holding capstan.yaml. */
  kubeconfig?: string;
  /** The environment's namespace in this cluster (default: the environment's). */
  namespace?: string;
  values?: Record<string, unknown>;
}

/** How `capstan run` treats one task, keyed by its name (`--task`, else the command's first word). */
export interface TaskConfig {
  /** `forbid`: one run at a time, guarded by a Lease; `allow` (default): any number. */
  concurrency?: 'allow' | 'forbid';
}

export type VaultAuthMethod = 'token' | 'jwt' | 'kubernetes' | 'approle';

/** capstan.yaml `vault.auth` (top level or per environment). */
export interface VaultAuthConfig {
  method?: VaultAuthMethod;
  /** The role to log in as (jwt, kubernetes). */
  role?: string;
  /** Where the auth method is mounted (default: the method's name). */
  mount?: string;
  /** AppRole's role_id (not a secret; the secret_id comes from VAULT_SECRET_ID). */
  roleId?: string;
  /** The audience to ask GitHub Actions' OIDC provider for (jwt). */
  audience?: string;
  /** The ServiceAccount token file (kubernetes). */
  tokenPath?: string;
}

/** capstan.yaml `vault:`. */
export interface VaultConfig {
  address?: string;
  namespace?: string;
  /** The deadline of each HTTP request to Vault, e.g. 10s (default 10s). */
  timeout?: string;
  auth?: VaultAuthConfig;
}

/** `vault:` of one environment: its fields over the top-level ones, the timeout in ms. */
export interface ResolvedVaultConfig {
  readonly address?: string;
  readonly namespace?: string;
  readonly timeoutMs: number;
  readonly auth: Readonly<VaultAuthConfig>;
}

/** capstan.yaml `previews.protect`: basic auth in front of every Ingress of a preview. */
export interface PreviewProtectConfig {
  /** The ingress controller the annotations (or middlewares) are for. */
  ingress: 'nginx' | 'traefik';
  /** The basic-auth user name (default `preview`). */
  user?: string;
  /** An environment variable holding the password; without it one is generated per preview and printed once. */
  passwordEnv?: string;
}

/** capstan.yaml `previews:`: an environment per branch (docs/previews.md). */
export interface PreviewsConfig {
  /** The environment whose tree, values and secrets a preview deploys. */
  from: string;
  /** The preview's host, e.g. `{slug}.preview.example.test`. */
  host: string;
  /** How long a preview lives after its last deploy, e.g. 3d. */
  ttl: string;
  /** ResourceQuota hard limits of each preview's namespace. */
  quota?: Record<string, string | number>;
  /** The LimitRange's container defaults, so pods without requests still fit in the quota. */
  limits?: { defaultRequest?: Record<string, string>; default?: Record<string, string> };
  /** Merged over the `from` environment's values. */
  values?: Record<string, unknown>;
  protect?: PreviewProtectConfig;
}

export interface CapstanConfig {
  app: string;
  image?: string;
  values?: Record<string, unknown>;
  environments: Record<string, EnvironmentConfig>;
  notifications?: NotificationConfig[];
  releases?: { keep?: number };
  deploy?: { timeout?: string; concurrency?: number };
  tasks?: Record<string, TaskConfig>;
  audit?: AuditConfig;
  vault?: VaultConfig;
  previews?: PreviewsConfig;
}

export interface LoadedConfig {
  config: CapstanConfig;
  /** Absolute path of capstan.yaml. */
  file: string;
  /** Absolute path of the folder holding capstan.yaml, templates/ and one folder per environment. */
  deployDir: string;
}

export interface ResolvedEnvironment {
  readonly app: string;
  readonly name: string;
  readonly context?: string;
  /** The cluster's own kubeconfig (capstan.yaml clusters.<name>.kubeconfig), absolute. */
  readonly kubeconfig?: string;
  readonly namespace: string;
  /** Namespaces besides `namespace` that objects may name (capstan.yaml `extraNamespaces`): locked with it, listed by prune. */
  readonly extraNamespaces: readonly string[];
  /** Merged values (top-level < environment < --set), deeply frozen. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly image?: string;
  readonly deployDir: string;
  /** `<deployDir>/<name>`: the folder holding the environment's phases. */
  readonly envDir: string;
  readonly configFile: string;
  readonly notifications: readonly NotificationConfig[];
  readonly releasesKeep: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  /** capstan.yaml `onFailure` (default `stop`). */
  readonly onFailure: 'stop' | 'rollback';
  /** capstan.yaml `audit`: the environment's checks over the top-level ones, both lists of ignores. */
  readonly audit: Readonly<Required<AuditConfig>>;
  /** capstan.yaml `vault:`, the environment's over the top-level one; undefined when neither is set. */
  readonly vault?: ResolvedVaultConfig;
  /** capstan.yaml `tasks`, by task name. */
  readonly tasks: Readonly<Record<string, Readonly<TaskConfig>>>;
  /** The cluster this view of the environment is for (its values, context, namespace); undefined for single-cluster environments. */
  readonly cluster?: string;
  /** A multi-cluster environment's clusters, waves and pacing; undefined for a single-cluster one. */
  readonly fleet?: FleetConfig;
  /** The preview this view deploys (`capstan preview deploy`); undefined for an environment. */
  readonly preview?: ResolvedPreview;
}

/** What templates see as `preview`. */
export interface PreviewContext {
  readonly branch: string;
  readonly slug: string;
  readonly host: string;
  /** ISO 8601: this deploy's time plus the ttl. */
  readonly expiresAt: string;
}

/** One branch's preview, resolved from capstan.yaml `previews:`. */
export interface ResolvedPreview extends PreviewContext {
  /** The environment it is deployed from. */
  readonly from: string;
  readonly ttlMs: number;
  readonly quota: Readonly<Record<string, string>>;
  readonly limits: {
    readonly defaultRequest: Readonly<Record<string, string>>;
    readonly default: Readonly<Record<string, string>>;
  };
  readonly protect?: Readonly<PreviewProtectConfig>;
}

/** One cluster of a multi-cluster environment, resolved. */
export interface ResolvedCluster {
  readonly name: string;
  readonly context?: string;
  /** Absolute path. */
  readonly kubeconfig?: string;
  readonly namespace: string;
}

export interface FleetConfig {
  /** In the order of capstan.yaml. */
  readonly clusters: readonly ResolvedCluster[];
  /** Every cluster in exactly one wave; default: one wave of all. */
  readonly waves: readonly (readonly string[])[];
  readonly soakMs: number;
  /** Clusters of one wave deployed at once. */
  readonly maxParallel: number;
}
