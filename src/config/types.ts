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
}

/** How `capstan run` treats one task, keyed by its name (`--task`, else the command's first word). */
export interface TaskConfig {
  /** `forbid`: one run at a time, guarded by a Lease; `allow` (default): any number. */
  concurrency?: 'allow' | 'forbid';
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
  /** capstan.yaml `tasks`, by task name. */
  readonly tasks: Readonly<Record<string, Readonly<TaskConfig>>>;
}
