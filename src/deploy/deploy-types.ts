// What a deploy is given, what it returns, and what its steps share while it runs.
import type { ResolvedEnvironment } from '../config/index.js';
import type { KubeClient } from '../kube/index.js';
import type { RenderedObject } from '../render/index.js';
import type { LocalProcess, ObjectDiff } from '../release/index.js';
import type { Redactor } from '../secrets/index.js';
import type { KubeObject } from '../shared/index.js';
import type { DeployEvent, DeployEventSink, DeployOutcome } from '../events/index.js';
import type { Actor, DeployRecorder } from './recorder.js';
import type { RollbackAfterFailure } from './rollback-on-failure.js';

export interface DeployOptions {
  readonly cwd: string;
  readonly env: string;
  readonly image?: string;
  readonly set?: readonly string[];
  readonly kubeconfig?: string;
  /** Overrides the environment's kube context. */
  readonly context?: string;
  /** One cluster of a multi-cluster environment (deploy() deploys one; deployEnvironment() all). */
  readonly cluster?: string;
  readonly timeoutMs?: number;
  /** Fail when no object changes state for this long. */
  readonly progressDeadlineMs?: number;
  readonly dryRun?: boolean;
  /** Do not stop on the audit's certainly-broken findings (missing references, impossible zones, runtime sockets). */
  readonly skipAudit?: boolean;
  readonly prune?: boolean;
  readonly forceConflicts?: boolean;
  /**
   * Taking over objects another tool applied (capstan adopt): only these phases are deployed, and
   * pod templates get no configuration checksum, so that no pod restarts for the takeover.
   */
  readonly takeOver?: { readonly phases: readonly string[] };
  /** Skip the scheduling preflight (will every pod and surge pod find a node). */
  readonly skipPreflight?: boolean;
  /** Delete broken pods of a StatefulSet's earlier revision that block its rolling update (forced rollback). */
  readonly replaceBrokenPods?: boolean;
  /**
   * Delete a phase Job an earlier deploy left running with another spec instead of waiting for it
   * to finish (a running Job of the very same spec is always adopted and waited for).
   */
  readonly replaceRunningJobs?: boolean;
  /**
   * Send every object. By default a redeploy leaves out (neither dry-runs nor applies) the objects
   * rendered exactly as Capstan last applied them that nobody changed since (docs/apply-order.md).
   */
  readonly full?: boolean;
  /**
   * After a deploy that failed or timed out having changed the cluster, put back the newest release
   * before it that succeeded (Helm's --atomic). The deploy's outcome and exit code stay its own.
   * Default: the environment's `onFailure` in capstan.yaml.
   */
  readonly rollbackOnFailure?: boolean;
  /** Longest wait for a lock held by a deploy that stopped renewing it (default 120 s; 0: exit 4 at once). */
  readonly lockWaitMs?: number;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: DeployEventSink;
  /** Environment variables (KUBECONFIG, secrets keys); the library reads no globals. */
  readonly envVars?: NodeJS.ProcessEnv;
  readonly deployId?: string;
  /** The commit and branch deployed, for templates (`commit`, `branch`) and the release record. */
  readonly commit?: string;
  readonly branch?: string;
  /** Who deploys, for the release record and the lock; default: unknown. */
  readonly actor?: Actor;
  /** This process and a probe of this machine's pids: the lock says when its holder ran here and has died. */
  readonly process?: LocalProcess;
  /** Show what will change (server-side dry run against live objects) before applying. */
  readonly diff?: boolean;
  /** Asked with the diff when `diff` is set; false stops the deploy before any write. */
  readonly confirm?: (diffs: readonly ObjectDiff[]) => Promise<boolean>;
  /** Record a release, take the lock and notify (default true). */
  readonly record?: boolean;
  readonly fetch?: typeof fetch;
  /** Overrides how a phase's secrets.ejson files become Secrets (default: ejson with the usual key sources). */
  readonly renderSecrets?: (
    file: string,
    namespace: string,
    client: KubeClient | undefined,
  ) => Promise<readonly KubeObject[]>;
  /**
   * Learns the deploy's secret values once they are rendered; every event is redacted with it.
   * The CLI passes its own, so that what it prints besides the events (errors, the diff) is too.
   */
  readonly redactor?: Redactor;
}

export interface DeployResult {
  readonly outcome: DeployOutcome;
  readonly exitCode: number;
  readonly deployId: string;
  readonly message?: string;
  /** The objects as the API server answered the apply, without managedFields (a third of their size). */
  readonly applied: readonly KubeObject[];
  /** The objects left unchanged (not sent), as listed before the deploy. */
  readonly unchanged?: readonly KubeObject[];
  /** With rollbackOnFailure, what the rollback after the failure did. */
  readonly rolledBack?: RollbackAfterFailure;
}

export const EXIT = { ok: 0, failed: 1, invalid: 2, timeout: 3, locked: 4, interrupted: 130 } as const;

/** What the steps of one deploy share: the events, what was applied, how it ends. */
export interface DeployRun {
  emit: (event: DeployEvent) => void;
  applied: KubeObject[];
  /** The objects not sent because unchanged, as listed: part of the release (record, prune) all the same. */
  unchanged: KubeObject[];
  finish: (outcome: DeployOutcome, exitCode: number, message?: string) => Promise<DeployResult>;
  started: number;
  recorder: DeployRecorder | undefined;
  image: string | undefined;
  /** Everything rendered, for the objects not applied in the final report. */
  rendered: RenderedObject[];
  /** Holds the secret values once rendered. */
  redactor: Redactor;
}

/** One deploy's settings for its steps, resolved once from the options and the environment. */
export interface StepContext {
  readonly client: KubeClient;
  readonly env: ResolvedEnvironment;
  readonly options: DeployOptions & { readonly deployId: string };
  readonly run: DeployRun;
  readonly signal: AbortSignal;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Absolute (ms since epoch): the deploy's --timeout. */
  readonly deadline: number;
  /** The label selector of this app and environment. */
  readonly selector: string;
  readonly redact: (text: string) => string;
}

/** A step that ended the deploy returns its result; one that did not, its output for the next. */
export function isEnd(value: unknown): value is DeployResult {
  return typeof value === 'object' && value !== null && 'exitCode' in value && 'outcome' in value;
}
