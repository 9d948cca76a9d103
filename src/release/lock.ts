// The per-environment deploy lock: a coordination.k8s.io/v1 Lease, renewed while held.
// Expiry is judged as client-go's leader election judges it: by when THIS process saw the Lease
// last change, on its own monotonic clock, plus the Lease's duration. The holder's renewTime is
// never compared with our wall clock, so clock skew between machines cannot cause an early takeover.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { during, KubeApiError, withRetry, type KubeClient } from '../kube/index.js';
import { CapstanError, sleep as sleepFor, type KubeObject } from '../shared/index.js';

export const DEFAULT_LEASE_SECONDS = 60;
const LOCK_ID_ANNOTATION = 'capstan.dev/lock-id';
/** The namespaces the holder deploys to (the environment's first): the lock's scope, for people and tools. */
export const LOCK_NAMESPACES_ANNOTATION = 'capstan.dev/namespaces';
/** The holder's deploy id: whoever takes the lock over marks that deploy's release record interrupted. */
export const LOCK_DEPLOY_ID_ANNOTATION = 'capstan.dev/deploy-id';
/** `HOST/PID` of the holding process: a deploy on the same machine can tell when it has died. */
export const LOCK_PROCESS_ANNOTATION = 'capstan.dev/holder-process';
/** A held Lease is renewed this often (client-go's retry period), or every third of its duration if shorter. */
const MAX_RENEW_INTERVAL_MS = 2_000;
/** A Lease held by someone else is read this often while it is watched. */
const MAX_POLL_INTERVAL_MS = 2_000;

export interface AcquireLockOptions {
  readonly namespace: string;
  readonly app: string;
  readonly env: string;
  /** Who holds the lock, for people: e.g. `alice@laptop (pid 4242)` or a CI job URL. */
  readonly holder: string;
  /** The Lease's name (default lockName(app, env), the deploy lock); e.g. a task's own lock. */
  readonly name?: string;
  /** Other namespaces the holder writes to (`extraNamespaces`): recorded on the Lease. */
  readonly namespaces?: readonly string[];
  /** The holder's deploy (release record) id, recorded on the Lease for whoever takes it over. */
  readonly deployId?: string;
  /**
   * This process (host and pid), recorded on the Lease, and how to tell whether a pid runs on this
   * host: a Lease held by a process of this host that no longer runs is said to be so.
   */
  readonly process?: LocalProcess;
  /** The Lease expires this long after its last renewal (default 60 s). */
  readonly leaseSeconds?: number;
  /** Bounds the acquisition (including the watch of a held Lease); renewal stops at release(). */
  readonly signal?: AbortSignal;
  /** Told when a held lock is watched, an unrenewed one taken over, and when renewal fails or the lock is lost. */
  readonly onWarning?: (message: string) => void;
  /** Wall clock: only for the times written into the Lease and shown to people. */
  readonly now?: () => Date;
  /** Milliseconds on a clock that never jumps (default performance.now): every expiry judgement uses it. */
  readonly monotonic?: () => number;
  /** Longest watch of a held Lease before giving up (default 120 s); a longer lease is refused at once. */
  readonly maxWaitMs?: number;
  /** Waits between reads of a held Lease (default: a timer). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A process of this machine, and a probe of this machine's pids (the CLI's; the library reads no globals). */
export interface LocalProcess {
  readonly host: string;
  readonly pid: number;
  readonly alive: (pid: number) => boolean;
}

export interface DeployLock {
  /** Frees the Lease (never throws; a failure is a warning and the Lease then expires by itself). */
  release(): Promise<void>;
  /**
   * Stops renewing the Lease without freeing it: it expires a lease duration later, and whoever
   * takes it over then marks this holder's `running` release record interrupted. For a deploy
   * whose record could not be completed: freeing the lock would leave that record `running` for good.
   */
  abandon(): void;
  /**
   * Renews the Lease now and throws LockLostError when it is no longer ours: taken over, removed,
   * or not renewed for two thirds of its duration. Called before each write to the cluster.
   */
  ensureHeld(): Promise<void>;
  readonly name: string;
  readonly holder: string;
  /** True once the lock is lost (see ensureHeld). */
  readonly lost: boolean;
  /** Why it was lost, when it was. */
  readonly lostReason: string | undefined;
  /** The holder whose expired lock this one took over, if it did: its release record is to be marked interrupted. */
  readonly takenOver: LockState | undefined;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Who holds a Lease, as the Lease says (times are the holder's own clock, for people only). */
export interface LockState {
  readonly holder: string;
  readonly since?: string;
  readonly renewedAt?: string;
  readonly leaseSeconds: number;
  readonly namespaces: readonly string[];
  /** The holder's deploy id, when it recorded one. */
  readonly deployId?: string;
  /** The holding process, when it recorded one. */
  readonly process?: { readonly host: string; readonly pid: number };
}

/** What this process has seen of a Lease: its content, and when (monotonic ms) it last saw it change. */
export interface LeaseObservation {
  readonly fingerprint: string;
  readonly observedAt: number;
  /** It changed while this process watched it: its holder is alive. */
  readonly changed: boolean;
}

export type LockDecision =
  | { readonly action: 'create' }
  | { readonly action: 'acquire'; readonly takeover?: LockState }
  /** Held, and not seen unchanged for a whole lease duration yet: read it again later. */
  | { readonly action: 'watch'; readonly state: LockState; readonly remainingMs: number }
  /** Held and renewed while we watched: its holder is alive. */
  | { readonly action: 'held'; readonly state: LockState; readonly remainingMs: number };

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

/** Who holds a Lease; undefined when nobody does. */
export function lockStateOf(lease: KubeObject | undefined): LockState | undefined {
  const spec = lease ? specOf(lease) : undefined;
  if (!lease || !spec?.holderIdentity) return undefined;
  const annotations = lease.metadata.annotations ?? {};
  const namespaces = annotations[LOCK_NAMESPACES_ANNOTATION];
  const deployId = annotations[LOCK_DEPLOY_ID_ANNOTATION];
  const process = parseHolderProcess(annotations[LOCK_PROCESS_ANNOTATION]);
  return {
    holder: spec.holderIdentity,
    since: spec.acquireTime,
    renewedAt: spec.renewTime,
    leaseSeconds: spec.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS,
    namespaces: namespaces
      ? namespaces.split(',')
      : lease.metadata.namespace
        ? [lease.metadata.namespace]
        : [],
    ...(deployId ? { deployId } : {}),
    ...(process ? { process } : {}),
  };
}

/** `HOST/PID` as written by leaseFor; anything else is no process. */
export function parseHolderProcess(text: string | undefined): { host: string; pid: number } | undefined {
  const match = text === undefined ? null : /^(.+)\/([1-9]\d*)$/.exec(text);
  return match ? { host: match[1], pid: Number(match[2]) } : undefined;
}

/**
 * What is known of the holding process (pure, given the probe): `process 4242 no longer runs on
 * this machine (laptop)` when it ran here and has gone; otherwise nothing can be said.
 */
export function holderProcessNote(state: LockState, local: LocalProcess | undefined): string | undefined {
  if (!state.process || !local || state.process.host !== local.host || state.process.pid === local.pid)
    return undefined;
  return local.alive(state.process.pid)
    ? undefined
    : `process ${state.process.pid} no longer runs on this machine (${local.host}), so that deploy died`;
}

/** Any write by anyone changes the resourceVersion; holder and renewTime are there for stores without one. */
function fingerprintOf(lease: KubeObject): string {
  const spec = specOf(lease);
  return JSON.stringify([
    lease.metadata.resourceVersion,
    spec.holderIdentity,
    spec.renewTime,
    spec.acquireTime,
  ]);
}

/** The observation after reading `lease` at monotonic time `now` (pure). */
export function observeLease(
  previous: LeaseObservation | undefined,
  lease: KubeObject | undefined,
  now: number,
): LeaseObservation | undefined {
  if (!lease) return undefined;
  const fingerprint = fingerprintOf(lease);
  if (previous?.fingerprint === fingerprint) return previous;
  return { fingerprint, observedAt: now, changed: previous !== undefined };
}

/**
 * What to do with the Lease as it is now (pure): create it, take it (free, ours, or seen unchanged
 * for a whole lease duration), keep watching it, or give up because its holder renewed it.
 */
export function decideLock(
  lease: KubeObject | undefined,
  observation: LeaseObservation | undefined,
  now: number,
  lockId?: string,
): LockDecision {
  if (!lease) return { action: 'create' };
  const state = lockStateOf(lease);
  if (!state) return { action: 'acquire' };
  // Our own earlier attempt may have succeeded although its answer was lost.
  if (lockId !== undefined && lease.metadata.annotations?.[LOCK_ID_ANNOTATION] === lockId)
    return { action: 'acquire' };
  const seen = observation ?? { observedAt: now, changed: false };
  const remainingMs = seen.observedAt + state.leaseSeconds * 1000 - now;
  if (remainingMs <= 0) return { action: 'acquire', takeover: state };
  return seen.changed ? { action: 'held', state, remainingMs } : { action: 'watch', state, remainingMs };
}

function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** When a held lock expires unless renewed, and the way out now: `expires in 43s; or run capstan unlock staging`. */
export function expiryText(env: string, remainingMs: number): string {
  return `expires in ${seconds(remainingMs)}; or run capstan unlock ${env}`;
}

/** Another deploy of the same app and environment holds the lock, and renewed it while we watched. */
export class LockHeldError extends CapstanError {
  readonly holder: string;
  readonly since: string | undefined;
  /** When the lock can be taken over if its holder stops renewing it now (our wall clock). */
  readonly takeableAt: string;

  constructor(
    scope: { app: string; env: string },
    state: LockState,
    timing: { remainingMs: number; now: Date; renewed: boolean; processNote?: string; maxWaitMs?: number },
  ) {
    const takeableAt = new Date(timing.now.getTime() + timing.remainingMs).toISOString();
    const renewedAgo = state.leaseSeconds * 1000 - timing.remainingMs;
    const why = timing.renewed
      ? `it renewed the lock ${seconds(renewedAgo)} ago, so that deploy is running`
      : `its lease of ${state.leaseSeconds}s may not expire within the ${seconds(timing.maxWaitMs ?? 2 * DEFAULT_LEASE_SECONDS * 1000)} Capstan waits for a lock (--lock-wait)`;
    super(
      'ERR_CAPSTAN_LOCKED',
      `${scope.app}/${scope.env} is locked by ${state.holder} since ${state.since ?? 'an unknown time'} (by its clock); ${why}${timing.processNote ? `; ${timing.processNote}` : ''}; the lock ${expiryText(scope.env, timing.remainingMs)}`,
      {
        hint: `wait for that deploy to finish; if it has died, the lock can be taken over from ${takeableAt} (${state.leaseSeconds}s after the last renewal seen here), or removed now with \`capstan unlock ${scope.env}\``,
      },
    );
    this.name = 'LockHeldError';
    this.holder = state.holder;
    this.since = state.since;
    this.takeableAt = takeableAt;
  }
}

/** The lock a deploy held is no longer its own: it stopped before its next write. */
export class LockLostError extends CapstanError {
  constructor(scope: { app: string; env: string; name: string }, reason: string) {
    super(
      'ERR_CAPSTAN_LOCK_LOST',
      `lost the lock ${scope.name} of ${scope.app}/${scope.env}: ${reason}; stopped before the next change to the cluster`,
      {
        hint: `another deploy may be running now: see \`capstan history ${scope.env}\` and deploy again once it is done`,
      },
    );
    this.name = 'LockLostError';
  }
}

/** Why the lock is no longer ours, or undefined while it is (renewing it): for a check before each write. */
export async function lockLostReason(lock: DeployLock): Promise<string | undefined> {
  try {
    await lock.ensureHeld();
    return undefined;
  } catch (error) {
    if (error instanceof LockLostError) return error.message;
    throw error;
  }
}

function leaseId(options: { namespace: string; app: string; env: string; name?: string }) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: options.namespace,
    name: options.name ?? lockName(options.app, options.env),
  };
}

interface LockRuntime {
  readonly leaseSeconds: number;
  readonly lockId: string;
  readonly now: () => Date;
  readonly monotonic: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Takes the environment's lock. A Lease held by someone else is watched: renewed meanwhile, it
 * throws LockHeldError; unchanged for its whole duration (seen from here), it is taken over with a
 * warning; released meanwhile, it is taken.
 */
export function acquireLock(client: KubeClient, options: AcquireLockOptions): Promise<DeployLock> {
  // Renewals started here keep saying so: timers run in the context they were set in.
  return during(options.name ? `the task lock ${options.name} needs it` : 'the deploy lock needs it', () =>
    takeLock(client, options),
  );
}

async function takeLock(client: KubeClient, options: AcquireLockOptions): Promise<DeployLock> {
  const runtime: LockRuntime = {
    leaseSeconds: options.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
    lockId: randomBytes(8).toString('hex'),
    now: options.now ?? (() => new Date()),
    monotonic: options.monotonic ?? (() => performance.now()),
    sleep: options.sleep ?? sleepFor,
  };
  const id = leaseId(options);
  const retry = { signal: options.signal, deadlineMs: 30_000 };
  let observation: LeaseObservation | undefined;
  let watching = false;
  const giveUpAt = runtime.monotonic() + (options.maxWaitMs ?? 2 * DEFAULT_LEASE_SECONDS * 1000);
  for (let conflicts = 0; conflicts < 5;) {
    if (options.signal?.aborted)
      throw new CapstanError(
        'ERR_CAPSTAN_INTERRUPTED',
        `interrupted while waiting for the lock of ${options.app}/${options.env}`,
      );
    const lease = await withRetry(() => client.get(id, options.signal), retry);
    const seenAt = runtime.monotonic();
    observation = observeLease(observation, lease, seenAt);
    const decision = decideLock(lease, observation, seenAt, runtime.lockId);
    const processNote =
      decision.action === 'held' || decision.action === 'watch'
        ? holderProcessNote(decision.state, options.process)
        : undefined;
    if (decision.action === 'held')
      throw new LockHeldError(options, decision.state, {
        remainingMs: decision.remainingMs,
        now: runtime.now(),
        renewed: true,
        processNote,
      });
    if (decision.action === 'watch' && seenAt + decision.remainingMs > giveUpAt)
      throw new LockHeldError(options, decision.state, {
        remainingMs: decision.remainingMs,
        now: runtime.now(),
        renewed: false,
        processNote,
        maxWaitMs: options.maxWaitMs,
      });
    if (decision.action === 'watch') {
      if (!watching) {
        watching = true;
        options.onWarning?.(
          `${options.app}/${options.env} is locked by ${decision.state.holder}${processNote ? `; ${processNote}` : ''}; watching the lock for up to ${seconds(decision.remainingMs)}: it is taken over if nobody renews it meanwhile (${expiryText(options.env, decision.remainingMs)})`,
        );
      }
      await runtime.sleep(
        Math.min(decision.remainingMs, MAX_POLL_INTERVAL_MS, (decision.state.leaseSeconds * 1000) / 10),
        options.signal,
      );
      continue;
    }
    const sentAt = runtime.monotonic();
    let written: KubeObject;
    try {
      written = await withRetry(
        () =>
          lease
            ? client.replace(leaseFor(options, runtime, lease), options.signal)
            : client.create(leaseFor(options, runtime, undefined), { signal: options.signal }),
        retry,
      );
    } catch (error) {
      // Someone else wrote the Lease between our read and our write: look again.
      if (error instanceof KubeApiError && error.conflict) {
        conflicts++;
        continue;
      }
      throw error;
    }
    if (decision.action === 'acquire' && decision.takeover) {
      const t = decision.takeover;
      options.onWarning?.(
        `took over the lock of ${options.app}/${options.env} from ${t.holder} (held since ${t.since ?? '?'}): nobody renewed it for ${t.leaseSeconds}s; that deploy probably died`,
      );
    }
    const takenOver = decision.action === 'acquire' ? decision.takeover : undefined;
    return new LeaseLock(client, written, options, runtime, sentAt, takenOver);
  }
  throw new CapstanError(
    'ERR_CAPSTAN_LOCKED',
    `could not take the lock of ${options.app}/${options.env}: it kept changing under us`,
  );
}

/** The Lease as we write it to take the lock. */
function leaseFor(
  options: AcquireLockOptions,
  runtime: LockRuntime,
  lease: KubeObject | undefined,
): KubeObject {
  const id = leaseId(options);
  const at = microTime(runtime.now());
  const previous = lease ? specOf(lease) : {};
  const namespaces = [
    options.namespace,
    ...(options.namespaces ?? []).filter((n) => n !== options.namespace),
  ];
  return {
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
      annotations: {
        [LOCK_ID_ANNOTATION]: runtime.lockId,
        [LOCK_NAMESPACES_ANNOTATION]: namespaces.join(','),
        ...(options.deployId ? { [LOCK_DEPLOY_ID_ANNOTATION]: options.deployId } : {}),
        ...(options.process
          ? { [LOCK_PROCESS_ANNOTATION]: `${options.process.host}/${options.process.pid}` }
          : {}),
      },
      ...(lease ? { resourceVersion: lease.metadata.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: options.holder,
      leaseDurationSeconds: runtime.leaseSeconds,
      acquireTime: at,
      renewTime: at,
      leaseTransitions: (previous.leaseTransitions ?? 0) + (previous.holderIdentity ? 1 : 0),
    },
  };
}

class LeaseLock implements DeployLock {
  readonly name: string;
  readonly holder: string;
  lost = false;
  lostReason: string | undefined;
  private released = false;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Monotonic ms when the last successful write of the Lease was sent: others measure from later. */
  private lastRenewed: number;
  private warnedStale = false;

  constructor(
    private readonly client: KubeClient,
    private lease: KubeObject,
    private readonly options: AcquireLockOptions,
    private readonly runtime: LockRuntime,
    renewedAt: number,
    readonly takenOver: LockState | undefined,
  ) {
    this.name = lease.metadata.name ?? '';
    this.holder = options.holder;
    this.lastRenewed = renewedAt;
    const every = Math.min(MAX_RENEW_INTERVAL_MS, (runtime.leaseSeconds * 1000) / 3);
    this.timer = setInterval(() => void this.enqueue(() => this.renew()), every);
    this.timer.unref();
  }

  /** Past this long without a renewal the lock counts as lost, a third of the duration before anyone may take it (client-go's renew deadline). */
  private get renewDeadlineMs(): number {
    return (this.runtime.leaseSeconds * 1000 * 2) / 3;
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }

  /** Whether a Lease read back is still ours. */
  private ours(lease: KubeObject | undefined): boolean {
    return (
      lease !== undefined &&
      lease.metadata.annotations?.[LOCK_ID_ANNOTATION] === this.runtime.lockId &&
      specOf(lease).holderIdentity === this.holder
    );
  }

  /** Writes the Lease with `change` applied, re-reading it after a conflict while it is still ours. */
  private async write(change: (spec: LeaseSpec) => LeaseSpec, signal?: AbortSignal): Promise<'ok' | 'lost'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        this.lease = await this.client.replace({ ...this.lease, spec: change(specOf(this.lease)) }, signal);
        return 'ok';
      } catch (error) {
        if (!(error instanceof KubeApiError) || !(error.conflict || error.notFound)) throw error;
        const current = error.notFound ? undefined : await this.client.get(leaseId(this.options), signal);
        if (!this.ours(current)) return 'lost';
        this.lease = current!;
      }
    }
    return 'lost';
  }

  private async renew(): Promise<void> {
    if (this.lost || this.released) return;
    const sentAt = this.runtime.monotonic();
    // A renewal that cannot finish before the renew deadline is of no use.
    const signal = AbortSignal.timeout(
      Math.ceil(Math.max(1000, this.lastRenewed + this.renewDeadlineMs - sentAt)),
    );
    try {
      const result = await this.write(
        (spec) => ({ ...spec, renewTime: microTime(this.runtime.now()) }),
        signal,
      );
      if (result === 'lost') return this.markLost('it was removed or taken over by someone else');
      this.lastRenewed = sentAt;
      this.warnedStale = false;
    } catch (error) {
      this.judgeStaleness(error);
    }
  }

  /** Lost once not renewed for the renew deadline; a warning halfway there. */
  private judgeStaleness(error?: unknown): void {
    if (this.lost || this.released) return;
    const staleMs = this.runtime.monotonic() - this.lastRenewed;
    const why = error instanceof Error ? ` (${error.message})` : '';
    if (staleMs >= this.renewDeadlineMs) {
      this.markLost(
        `it could not be renewed for ${seconds(staleMs)}${why}, and another deploy may take it over ${this.runtime.leaseSeconds}s after its last renewal`,
      );
    } else if (error !== undefined && staleMs >= this.renewDeadlineMs / 2 && !this.warnedStale) {
      this.warnedStale = true;
      this.warn(
        `could not renew the lock ${this.name} for ${seconds(staleMs)}${why}; the deploy stops if it cannot within ${seconds(this.renewDeadlineMs)}`,
      );
    }
  }

  private markLost(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.lostReason = reason;
    this.stop();
    this.warn(
      `lost the lock ${this.name}: ${reason}; the deploy stops before its next change to the cluster`,
    );
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async ensureHeld(): Promise<void> {
    await this.enqueue(() => this.renew());
    this.judgeStaleness();
    if (this.lost)
      throw new LockLostError(
        { app: this.options.app, env: this.options.env, name: this.name },
        this.lostReason ?? 'unknown reason',
      );
  }

  abandon(): void {
    this.stop();
    this.released = true;
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
          `could not release the lock ${this.name} (${(error as Error).message}); it expires by itself within ${this.runtime.leaseSeconds}s`,
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
  return during('reading the deploy lock needs it', async () =>
    lockStateOf(await withRetry(() => client.get(leaseId(scope), scope.signal), { signal: scope.signal })),
  );
}

/** Deletes the environment's Lease whoever holds it; true when there was one. */
export async function forceUnlock(
  client: KubeClient,
  scope: { namespace: string; app: string; env: string; signal?: AbortSignal },
): Promise<boolean> {
  return during('removing the deploy lock (capstan unlock) needs it', () =>
    withRetry(() => client.delete(leaseId(scope), { signal: scope.signal }), { signal: scope.signal }),
  );
}
