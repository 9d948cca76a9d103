// The per-environment deploy lock: a coordination.k8s.io/v1 Lease, renewed while held.
import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeClient } from '../kube/index.js';
import { CapstanError, type KubeObject } from '../shared/index.js';
import { withRetry } from './retry.js';

export const DEFAULT_LEASE_SECONDS = 60;
const LOCK_ID_ANNOTATION = 'capstan.dev/lock-id';

export interface AcquireLockOptions {
  readonly namespace: string;
  readonly app: string;
  readonly env: string;
  /** Who holds the lock, for people: e.g. `alice@laptop (pid 4242)` or a CI job URL. */
  readonly holder: string;
  /** The Lease expires this long after its last renewal; renewed every third of it. */
  readonly leaseSeconds?: number;
  /** Bounds the acquisition; renewal stops at release(). */
  readonly signal?: AbortSignal;
  /** Told when an expired lock is taken over, and when renewal fails or the lock is lost. */
  readonly onWarning?: (message: string) => void;
  readonly now?: () => Date;
}

export interface DeployLock {
  /** Frees the Lease (never throws; a failure is a warning and the Lease then expires by itself). */
  release(): Promise<void>;
  readonly name: string;
  readonly holder: string;
  /** True once someone else took the Lease or it was removed (`capstan unlock`). */
  readonly lost: boolean;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LockState {
  readonly holder: string;
  readonly since?: string;
  readonly renewedAt?: string;
  readonly expiresAt: string;
}

export type LockDecision =
  | { readonly action: 'create' }
  | { readonly action: 'acquire'; readonly takeover?: LockState }
  | { readonly action: 'held'; readonly state: LockState };

/** The Lease's name for one app and environment. */
export function lockName(app: string, env: string): string {
  return `capstan-lock-${app}-${env}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .slice(0, 253);
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function specOf(lease: KubeObject): LeaseSpec {
  return (lease as { spec?: LeaseSpec }).spec ?? {};
}

/** Who holds a Lease and until when; undefined when nobody does. */
export function lockStateOf(lease: KubeObject | undefined): LockState | undefined {
  const spec = lease ? specOf(lease) : undefined;
  if (!spec?.holderIdentity) return undefined;
  const last = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  const expires = Number.isNaN(last)
    ? new Date(0)
    : new Date(last + (spec.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS) * 1000);
  return {
    holder: spec.holderIdentity,
    since: spec.acquireTime,
    renewedAt: spec.renewTime,
    expiresAt: expires.toISOString(),
  };
}

/** What to do with the Lease as it is now (pure): create it, take it (maybe over an expired holder), or give up. */
export function decideLock(lease: KubeObject | undefined, now: Date, lockId?: string): LockDecision {
  if (!lease) return { action: 'create' };
  const state = lockStateOf(lease);
  if (!state) return { action: 'acquire' };
  // Our own earlier attempt may have succeeded although its answer was lost.
  if (lockId !== undefined && lease.metadata.annotations?.[LOCK_ID_ANNOTATION] === lockId)
    return { action: 'acquire' };
  if (Date.parse(state.expiresAt) <= now.getTime()) return { action: 'acquire', takeover: state };
  return { action: 'held', state };
}

function ago(from: string | undefined, now: Date): string {
  const ms = now.getTime() - Date.parse(from ?? '');
  if (Number.isNaN(ms)) return 'an unknown time';
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** Another deploy of the same app and environment holds the lock. */
export class LockHeldError extends CapstanError {
  readonly holder: string;
  readonly since: string | undefined;
  readonly expiresAt: string;

  constructor(scope: { app: string; env: string }, state: LockState, now: Date) {
    super(
      'ERR_CAPSTAN_LOCKED',
      `${scope.app}/${scope.env} is locked by ${state.holder} since ${state.since ?? 'an unknown time'} (${ago(state.since, now)} ago; renewed ${ago(state.renewedAt, now)} ago)`,
      {
        hint: `wait for that deploy to finish; if it is gone, the lock expires at ${state.expiresAt}, or remove it with \`capstan unlock ${scope.env}\``,
      },
    );
    this.name = 'LockHeldError';
    this.holder = state.holder;
    this.since = state.since;
    this.expiresAt = state.expiresAt;
  }
}

function leaseId(options: { namespace: string; app: string; env: string }) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: options.namespace,
    name: lockName(options.app, options.env),
  };
}

/** Takes the environment's lock or throws LockHeldError; an expired lock is taken over with a warning. */
export async function acquireLock(client: KubeClient, options: AcquireLockOptions): Promise<DeployLock> {
  const now = options.now ?? (() => new Date());
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const id = leaseId(options);
  const lockId = randomBytes(8).toString('hex');
  const retry = { signal: options.signal, deadlineMs: 30_000 };
  for (let attempt = 0; attempt < 5; attempt++) {
    const lease = await withRetry(() => client.get(id, options.signal), retry);
    const decision = decideLock(lease, now(), lockId);
    if (decision.action === 'held') throw new LockHeldError(options, decision.state, now());
    const at = microTime(now());
    const previous = lease ? specOf(lease) : {};
    const desired: KubeObject = {
      apiVersion: id.apiVersion,
      kind: id.kind,
      metadata: {
        name: id.name,
        namespace: id.namespace,
        labels: {
          'capstan.dev/app': options.app,
          'capstan.dev/env': options.env,
          'capstan.dev/lock': 'true',
        },
        annotations: { [LOCK_ID_ANNOTATION]: lockId },
        ...(lease ? { resourceVersion: lease.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: options.holder,
        leaseDurationSeconds: leaseSeconds,
        acquireTime: at,
        renewTime: at,
        leaseTransitions: (previous.leaseTransitions ?? 0) + (previous.holderIdentity ? 1 : 0),
      },
    };
    let written: KubeObject;
    try {
      written = await withRetry(
        () =>
          lease
            ? client.replace(desired, options.signal)
            : client.create(desired, { signal: options.signal }),
        retry,
      );
    } catch (error) {
      // Someone else wrote the Lease between our read and our write: look again.
      if (error instanceof KubeApiError && error.conflict) continue;
      throw error;
    }
    if (decision.action === 'acquire' && decision.takeover) {
      const t = decision.takeover;
      options.onWarning?.(
        `took over the expired lock of ${options.app}/${options.env} from ${t.holder} (held since ${t.since ?? '?'}, expired at ${t.expiresAt}): that deploy probably crashed`,
      );
    }
    return new LeaseLock(client, written, { ...options, leaseSeconds, lockId, now });
  }
  throw new CapstanError(
    'ERR_CAPSTAN_LOCKED',
    `could not take the lock of ${options.app}/${options.env}: it kept changing under us`,
  );
}

class LeaseLock implements DeployLock {
  readonly name: string;
  readonly holder: string;
  lost = false;
  private released = false;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private lastRenewed: number;
  private warnedStale = false;

  constructor(
    private readonly client: KubeClient,
    private lease: KubeObject,
    private readonly options: AcquireLockOptions & { leaseSeconds: number; lockId: string; now: () => Date },
  ) {
    this.name = lease.metadata.name ?? '';
    this.holder = options.holder;
    this.lastRenewed = options.now().getTime();
    this.timer = setInterval(() => void this.enqueue(() => this.renew()), (options.leaseSeconds * 1000) / 3);
    this.timer.unref();
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }

  /** Writes the Lease with `change` applied, re-reading it after a conflict while it is still ours. */
  private async write(change: (spec: LeaseSpec) => LeaseSpec): Promise<'ok' | 'lost'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        this.lease = await this.client.replace({ ...this.lease, spec: change(specOf(this.lease)) });
        return 'ok';
      } catch (error) {
        if (!(error instanceof KubeApiError) || !(error.conflict || error.notFound)) throw error;
        const current = error.notFound ? undefined : await this.client.get(leaseId(this.options));
        if (!current || current.metadata.annotations?.[LOCK_ID_ANNOTATION] !== this.options.lockId)
          return 'lost';
        this.lease = current;
      }
    }
    return 'lost';
  }

  private async renew(): Promise<void> {
    if (this.lost || this.released) return;
    try {
      const result = await this.write((spec) => ({ ...spec, renewTime: microTime(this.options.now()) }));
      if (result === 'lost') return this.markLost();
      this.lastRenewed = this.options.now().getTime();
      this.warnedStale = false;
    } catch (error) {
      const staleMs = this.options.now().getTime() - this.lastRenewed;
      if (staleMs >= (this.options.leaseSeconds * 1000 * 2) / 3 && !this.warnedStale) {
        this.warnedStale = true;
        this.warn(
          `could not renew the lock ${this.name} for ${Math.round(staleMs / 1000)}s (${(error as Error).message}); another deploy may take it over once it expires`,
        );
      }
    }
  }

  private markLost(): void {
    this.lost = true;
    this.stop();
    this.warn(
      `lost the lock ${this.name}: it was removed or taken over by someone else; carrying on without it`,
    );
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  release(): Promise<void> {
    this.stop();
    return this.enqueue(async () => {
      if (this.lost || this.released) return;
      this.released = true;
      try {
        await withRetry(
          () =>
            this.write(
              ({ holderIdentity: _holder, acquireTime: _acquired, renewTime: _renewed, ...rest }) => rest,
            ),
          { deadlineMs: 15_000 },
        );
      } catch (error) {
        this.warn(
          `could not release the lock ${this.name} (${(error as Error).message}); it expires by itself within ${this.options.leaseSeconds}s`,
        );
      }
    });
  }
}

/** Who holds the environment's lock now, if anyone. */
export async function readLock(
  client: KubeClient,
  scope: { namespace: string; app: string; env: string; signal?: AbortSignal },
): Promise<LockState | undefined> {
  return lockStateOf(
    await withRetry(() => client.get(leaseId(scope), scope.signal), { signal: scope.signal }),
  );
}

/** Deletes the environment's Lease whoever holds it; true when there was one. */
export async function forceUnlock(
  client: KubeClient,
  scope: { namespace: string; app: string; env: string; signal?: AbortSignal },
): Promise<boolean> {
  return withRetry(() => client.delete(leaseId(scope), { signal: scope.signal }), { signal: scope.signal });
}
