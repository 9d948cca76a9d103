// Reading what an evaluation needs of one namespace, and the release that is live there.
import { withRetry, type KubeClient } from '../kube/index.js';
import { readReleases, type ReleaseRecord } from '../release/index.js';
import { deployPublicNames, Redactor, secretValues } from '../secrets/index.js';
import type { KubeObject } from '../shared/index.js';
import type { ObservedState } from './findings.js';

/** The kinds a watcher reads, by the role they play in an evaluation. */
export const WATCHED_KINDS = {
  workloads: [
    ['apps/v1', 'Deployment'],
    ['apps/v1', 'StatefulSet'],
    ['apps/v1', 'DaemonSet'],
    ['batch/v1', 'CronJob'],
  ],
  replicaSets: [['apps/v1', 'ReplicaSet']],
  jobs: [['batch/v1', 'Job']],
  pods: [['v1', 'Pod']],
  events: [['v1', 'Event']],
} as const satisfies Record<keyof ObservedState, ReadonlyArray<readonly [string, string]>>;

export interface ReadStateOptions {
  readonly namespace: string;
  readonly signal?: AbortSignal;
  /** How long to retry an API server that does not answer (default 30 s). */
  readonly deadlineMs?: number;
}

/** Every object of the watched kinds in the namespace, read at once. */
export async function readObservedState(
  client: KubeClient,
  options: ReadStateOptions,
): Promise<ObservedState> {
  const read = async (kinds: ReadonlyArray<readonly [string, string]>): Promise<KubeObject[]> => {
    const lists = await Promise.all(
      kinds.map(([apiVersion, kind]) =>
        withRetry(
          () => client.list(apiVersion, kind, { namespace: options.namespace, signal: options.signal }),
          { signal: options.signal, deadlineMs: options.deadlineMs ?? 30_000 },
        ),
      ),
    );
    return lists.flatMap((list) => list.items);
  };
  const [workloads, replicaSets, jobs, pods, events] = await Promise.all([
    read(WATCHED_KINDS.workloads),
    read(WATCHED_KINDS.replicaSets),
    read(WATCHED_KINDS.jobs),
    read(WATCHED_KINDS.pods),
    read(WATCHED_KINDS.events),
  ]);
  return { workloads, replicaSets, jobs, pods, events };
}

/** What a watcher knows of the environment's releases: the live one, the deploy's hook Jobs, a redactor. */
export interface ReleaseContext {
  /** The newest release that finished (succeeded, failed or rolled back); undefined before the first. */
  readonly live?: ReleaseRecord;
  /** Hook Jobs of the recorded releases: the deploy reports their failures. */
  readonly hookJobs: ReadonlySet<string>;
  /** Knows the secret values of the recorded releases (and the environment's public names). */
  readonly redactor: Redactor;
}

/** The live release is the newest one that is not still running. */
export function liveRelease(records: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  return [...records].sort((a, b) => b.release - a.release).find((r) => r.outcome !== 'running');
}

/** Reads the environment's release records: the live release, hook Jobs and the secret values to redact. */
export async function readReleaseContext(
  client: KubeClient,
  scope: {
    namespace: string;
    app: string;
    env: string;
    signal?: AbortSignal;
    onWarning?: (m: string) => void;
    /** Learns the public names and secret values (default: a new one). */
    redactor?: Redactor;
  },
): Promise<ReleaseContext> {
  const records = await readReleases(client, {
    namespace: scope.namespace,
    app: scope.app,
    env: scope.env,
    signal: scope.signal,
    onDamaged: (error) => scope.onWarning?.(error.message),
  });
  const redactor = scope.redactor ?? new Redactor();
  redactor.addPublic(
    deployPublicNames({
      app: scope.app,
      env: scope.env,
      namespace: scope.namespace,
      phases: records.flatMap((r) => r.phases.map((p) => p.name)),
      objects: records.flatMap((r) => r.manifests),
    }),
  );
  redactor.add(records.flatMap((r) => secretValues(r.manifests)));
  const live = liveRelease(records);
  return {
    ...(live ? { live } : {}),
    hookJobs: new Set(records.flatMap((r) => r.hookJobs)),
    redactor,
  };
}
