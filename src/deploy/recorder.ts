import type { ResolvedEnvironment } from '../config/index.js';
import type { KubeClient } from '../kube/index.js';
import { notify, type NotifyEvent } from '../notify/index.js';
import {
  acquireLock,
  appliedEntry,
  lockLostReason,
  nextReleaseNumber,
  recordTakeover,
  writeRelease,
  type DeployLock,
  type InventoryEntry,
  type LocalProcess,
  type PhaseRecord,
  type ReleaseOutcome,
  type ReleaseRecord,
  type ReplacedJobRecord,
} from '../release/index.js';
import { objectKey, type KubeObject } from '../shared/index.js';
import type { DeployOutcome } from '../events/index.js';

export interface Actor {
  readonly user: string;
  readonly host: string;
  readonly holder: string;
  readonly gitCommit?: string;
  readonly gitBranch?: string;
}

export interface RecorderOptions {
  readonly client: KubeClient;
  readonly env: ResolvedEnvironment;
  readonly deployId: string;
  readonly actor: Actor;
  readonly manifests: readonly KubeObject[];
  readonly envVars: NodeJS.ProcessEnv;
  readonly redact: (text: string) => string;
  readonly warn: (message: string) => void;
  readonly signal: AbortSignal;
  readonly fetch?: typeof fetch;
  /** This process and a probe of this machine's pids, for the lock (see AcquireLockOptions.process). */
  readonly process?: LocalProcess;
  /** Longest watch of a lock whose holder stopped renewing it (see AcquireLockOptions.maxWaitMs). */
  readonly lockWaitMs?: number;
  /** Send the notifications (default true); a multi-cluster deploy sends one for all its clusters. */
  readonly notify?: boolean;
  /** The clusters the release left out (multi-cluster, --skip-cluster), for the record. */
  readonly skippedClusters?: readonly string[];
}

/** Container images of the rendered workloads, for the record and the notifications. */
export function imagesOf(objects: readonly KubeObject[]): string[] {
  const images = new Set<string>();
  const visit = (value: unknown, key?: string): void => {
    if (Array.isArray(value)) value.forEach((v) => visit(v));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if ((k === 'containers' || k === 'initContainers') && Array.isArray(v)) {
          for (const c of v)
            if (typeof (c as { image?: unknown }).image === 'string')
              images.add((c as { image: string }).image);
        } else if (k !== 'metadata') visit(v, k);
      }
    }
    void key;
  };
  objects.forEach((o) => visit(o));
  return [...images];
}

const OUTCOMES: Record<DeployOutcome, ReleaseOutcome> = {
  succeeded: 'succeeded',
  failed: 'failed',
  'timed-out': 'failed',
  interrupted: 'interrupted',
  invalid: 'failed',
  locked: 'failed',
  'lock-lost': 'lock-lost',
};

/**
 * A deploy's bookkeeping: the lock, the release record (written as `running` at the start and
 * completed at the end whatever happens) and the notifications.
 */
export class DeployRecorder {
  private lock: DeployLock | undefined;
  private record: ReleaseRecord | undefined;
  private readonly phases: PhaseRecord[] = [];
  private finished = false;

  constructor(private readonly options: RecorderOptions) {}

  /** A 403 becomes a message naming the identity, the missing permission and what Capstan was doing. */
  private refused(doing: string): (error: unknown) => Promise<never> {
    return async (error) => {
      throw await this.options.client.explainRefusal(error, doing, this.options.signal);
    };
  }

  /** Takes the lock (throws LockHeldError), writes the `running` record, notifies. */
  async start(): Promise<void> {
    const [, release] = await Promise.all([this.takeLock(), this.nextRelease()]);
    await this.open(release);
  }

  /** The number the next release of this environment in this cluster would get. */
  nextRelease(): Promise<number> {
    const { client, env } = this.options;
    return nextReleaseNumber(client, { namespace: env.namespace, app: env.app, env: env.name }).catch(
      this.refused('numbering the release needs the release history'),
    );
  }

  /** Takes the deploy lock, or throws LockHeldError (or the API's refusal, explained). */
  async takeLock(): Promise<void> {
    const { client, env } = this.options;
    const scope = { namespace: env.namespace, app: env.app, env: env.name };
    this.lock = await acquireLock(client, {
      ...scope,
      holder: this.options.actor.holder,
      namespaces: env.extraNamespaces,
      deployId: this.options.deployId,
      process: this.options.process,
      maxWaitMs: this.options.lockWaitMs,
      signal: this.options.signal,
      onWarning: this.options.warn,
    }).catch(this.refused('the deploy lock needs it'));
  }

  /** With the lock held: writes the `running` record numbered `release`, notifies. */
  async open(release: number): Promise<void> {
    const { client, env } = this.options;
    const lock = this.lock;
    if (!lock) throw new Error('DeployRecorder.open before takeLock');
    const scope = { namespace: env.namespace, app: env.app, env: env.name };
    await recordTakeover(
      client,
      { ...scope, keep: env.releasesKeep, signal: this.options.signal },
      lock,
      this.options.warn,
    );
    this.record = {
      ...scope,
      release,
      deployId: this.options.deployId,
      images: imagesOf(this.options.manifests),
      gitCommit: this.options.actor.gitCommit,
      ...(this.options.actor.gitBranch ? { gitBranch: this.options.actor.gitBranch } : {}),
      user: this.options.actor.user,
      host: this.options.actor.host,
      startedAt: new Date().toISOString(),
      phases: this.phases,
      outcome: 'running',
      inventory: [],
      manifests: [...this.options.manifests],
      hookJobs: this.options.manifests.filter((o) => o.kind === 'Job').map((o) => o.metadata.name ?? ''),
      ...(env.cluster === undefined ? {} : { cluster: env.cluster }),
      ...(this.options.skippedClusters?.length ? { skippedClusters: [...this.options.skippedClusters] } : {}),
    };
    await writeRelease(client, this.record, { keep: env.releasesKeep });
    await this.notify({ kind: 'started' });
  }

  /** Why the deploy's lock is no longer its own, or undefined while it is: checked before each write. */
  lockLost(): Promise<string | undefined> {
    return this.lock ? lockLostReason(this.lock) : Promise.resolve(undefined);
  }

  get releaseNumber(): number | undefined {
    return this.record?.release;
  }

  phaseStarted(name: string): void {
    this.phases.push({ name, startedAt: new Date().toISOString(), outcome: 'running' });
  }

  phaseFinished(name: string, outcome: string): void {
    const phase = this.phases.find((p) => p.name === name);
    if (phase) Object.assign(phase, { finishedAt: new Date().toISOString(), outcome });
  }

  /**
   * Keeps the log of a hook Job this deploy is about to delete (to run it again) in the release
   * record, written now: if the write fails, the Job is not deleted.
   */
  async keepReplacedJob(entry: ReplacedJobRecord): Promise<void> {
    if (!this.record) return;
    (this.record.replacedJobs ??= []).push({
      ...entry,
      logs: entry.logs.map((line) => this.options.redact(line)),
    });
    await writeRelease(this.options.client, this.record, { keep: this.options.env.releasesKeep });
  }

  /**
   * Completes the record, releases the lock, notifies. Never throws: problems become warnings.
   * `applied`: the objects as the API server answered their apply, and those left unchanged as listed.
   */
  async finish(
    outcome: DeployOutcome,
    applied: readonly KubeObject[],
    details: { durationMs: number; summary?: string; image?: string },
  ): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const { client, env } = this.options;
    try {
      if (this.record) {
        for (const p of this.phases)
          if (p.outcome === 'running') Object.assign(p, { outcome, finishedAt: new Date().toISOString() });
        // Each entry with the digest of what was sent under its name: this deploy's manifest.
        const sent = new Map(this.options.manifests.map((m) => [objectKey(m), m]));
        const seen = new Set<string>();
        const inventory: InventoryEntry[] = [];
        for (const o of applied) {
          if (seen.has(objectKey(o))) continue;
          seen.add(objectKey(o));
          inventory.push(appliedEntry(o, sent.get(objectKey(o))));
        }
        // Without the lock, another deploy may be writing records: ours is completed, none is trimmed.
        const keep = outcome === 'lock-lost' ? Number.MAX_SAFE_INTEGER : env.releasesKeep;
        await writeRelease(
          client,
          { ...this.record, outcome: OUTCOMES[outcome], finishedAt: new Date().toISOString(), inventory },
          { keep },
        );
      }
    } catch (error) {
      // The lock is not freed: the record still says `running`, and only a deploy that takes the
      // lock over (once it expires) marks it interrupted. Freed, the record would stay `running`.
      this.lock?.abandon();
      this.options.warn(
        `could not write the release record: ${(error as Error).message}; the lock is left to expire (${this.lock?.name ?? 'none'}), and the next deploy marks release ${this.record?.release ?? '?'} interrupted`,
      );
      this.lock = undefined;
    }
    await this.lock?.release();
    if (this.record) {
      await this.notify(
        outcome === 'succeeded'
          ? { kind: 'succeeded', durationMs: details.durationMs, image: details.image }
          : {
              kind: 'failed',
              durationMs: details.durationMs,
              summary: details.summary,
              image: details.image,
            },
      );
    }
  }

  private async notify(event: Pick<NotifyEvent, 'kind' | 'durationMs' | 'summary' | 'image'>): Promise<void> {
    const { env } = this.options;
    if (env.notifications.length === 0 || this.options.notify === false) return;
    await notify(
      env.notifications,
      {
        app: env.app,
        env: env.name,
        deployId: this.options.deployId,
        ...(this.record ? { release: this.record.release } : {}),
        user: this.options.actor.user,
        commit: this.options.actor.gitCommit,
        branch: this.options.actor.gitBranch,
        ...event,
      },
      {
        env: this.options.envVars,
        fetch: this.options.fetch,
        redact: this.options.redact,
        onWarning: this.options.warn,
      },
    );
  }
}

export function keyOfEntry(entry: InventoryEntry): string {
  return objectKey({
    apiVersion: entry.apiVersion,
    kind: entry.kind,
    metadata: { name: entry.name, namespace: entry.namespace },
  });
}
