// The long-running watcher: informers over the environment's namespace, an evaluation every tick,
// its record in a ConfigMap, messages to the environment's notifications, quiet while a deploy
// holds the lock.
import { setMaxListeners } from 'node:events';
import type { NotificationConfig } from '../config/index.js';
import { Informer, type KubeClient } from '../kube/index.js';
import { notify, wantsEvent, type NotifyEvent } from '../notify/index.js';
import {
  acquireLock,
  LockHeldError,
  LockLostError,
  lockName,
  readLock,
  type DeployLock,
  type LockState,
} from '../release/index.js';
import { CapstanError, sleep, type KubeObject } from '../shared/index.js';
import { diagnoseIncident } from './evaluate.js';
import { CAUSE_TITLES, DEFAULT_GRACE_MS, observeFindings, type ObservedState } from './findings.js';
import { whatToDo, type EnvironmentScope } from './format.js';
import { advanceIncidents, incidentKey } from './incidents.js';
import {
  configKey,
  dueMessages,
  EMPTY_RECORD,
  planMessages,
  recordAttempt,
  withSummary,
  type OutboxEntry,
  type WatchRecord,
} from './outbox.js';
import { advanceOutage, afterOutageAttempt, outageSummary, type Outage } from './outage.js';
import { readReleaseContext, WATCHED_KINDS, type ReleaseContext } from './read-state.js';
import { silenceOf, type Silence } from './silence.js';
import { readWatchStore, writeWatchRecord } from './store.js';

export type WatcherEvent =
  | {
      readonly type: 'started' | 'quiet' | 'resumed' | 'api-trouble' | 'api-back' | 'leading' | 'standby';
      readonly message: string;
    }
  | {
      readonly type: 'opened' | 'resolved';
      readonly workload: string;
      readonly cause: string;
      readonly message: string;
    }
  | {
      readonly type: 'sent' | 'send-failed';
      readonly kind: string;
      readonly workload: string;
      readonly message: string;
    }
  | {
      /** The API server's outage, an incident of the environment rather than of a workload. */
      readonly type: 'outage-sent' | 'outage-send-failed';
      readonly kind: 'incident' | 'resolved';
      readonly message: string;
    };

export interface WatcherOptions extends EnvironmentScope {
  readonly notifications: readonly NotificationConfig[];
  /** Where the notifications' `urlEnv` are looked up. */
  readonly envVars: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  readonly graceMs?: number;
  /** How often the state is evaluated (default 2 s). */
  readonly tickMs?: number;
  /** A watch that hears nothing, not even a bookmark, this long is dropped and listed again (default 90 s). */
  readonly idleTimeoutMs?: number;
  /** How long the first lists may take (default 60 s). */
  readonly syncDeadlineMs?: number;
  readonly onEvent: (event: WatcherEvent) => void;
  readonly onWarning: (message: string) => void;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
  /**
   * Several watchers of one environment elect one leader with a Lease (the deploy lock's code):
   * the others wait, and one takes over once the leader stops renewing it. Without it, this
   * watcher acts alone.
   */
  readonly leadership?: { readonly holder: string; readonly leaseSeconds?: number };
}

/** The Lease the watchers of one environment elect their leader with. */
export function leaderLeaseName(app: string, env: string): string {
  return lockName(app, env)
    .replace(/^capstan-lock-/, 'capstan-watch-leader-')
    .slice(0, 253);
}

const RELEASES_REREAD_MS = 30_000;
/** An outage message no configuration took is tried again after this, doubling up to 5 min. */
const OUTAGE_RETRY_MS = 2000;
const MAX_OUTAGE_RETRY_MS = 5 * 60_000;
const SAVE_DEADLINE_MS = 15_000;
/** A ConfigMap holds 1 MiB; one diagnosis is kept well below. */
const MAX_SUMMARY_CHARS = 8000;

function isHeld(lock: LockState | undefined, now: Date): boolean {
  if (lock === undefined) return false;
  const renewed = Date.parse(lock.renewedAt ?? lock.since ?? '');
  // A lock whose holder stopped renewing it is not a deploy in progress.
  return Number.isNaN(renewed) || renewed + lock.leaseSeconds * 1000 > now.getTime();
}

class Watcher {
  private readonly informers = new Map<string, Informer>();
  private record: WatchRecord = EMPTY_RECORD;
  private silences: Silence[] = [];
  private stored = '';
  private context: ReleaseContext | undefined;
  private contextReadAt = 0;
  private quiet = false;
  private troubled = false;
  /** Failed attempts at the outage message due now, and when the next may be made. */
  private outageAttempts = 0;
  private outageRetryAt = 0;
  private readonly now: () => Date;

  constructor(
    private readonly client: KubeClient,
    private readonly options: WatcherOptions,
    /** The leader's Lease, when several watchers elect one: this watcher writes and sends only while it holds it. */
    private readonly lease?: DeployLock,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async run(): Promise<void> {
    const { signal } = this.options;
    for (const kinds of Object.values(WATCHED_KINDS))
      for (const [apiVersion, kind] of kinds)
        this.informers.set(
          kind,
          new Informer(this.client, {
            apiVersion,
            kind,
            namespace: this.options.namespace,
            signal,
            idleTimeoutMs: this.options.idleTimeoutMs ?? 90_000,
            onChange: () => {},
          }),
        );
    await this.synced();
    await this.load();
    this.options.onEvent({
      type: 'started',
      message: `watching ${this.options.app}/${this.options.env} in namespace ${this.options.namespace}; ${this.record.book.incidents.length} incident(s) remembered`,
    });
    while (!signal.aborted) {
      try {
        await this.tick();
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof LockLostError) throw error;
        this.options.onWarning(`watch: ${(error as Error).message}`);
      }
      await sleep(this.options.tickMs ?? 2000, signal).catch(() => undefined);
    }
  }

  private async synced(): Promise<void> {
    const deadline = this.options.syncDeadlineMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CapstanError(
              'ERR_CAPSTAN_UNREACHABLE',
              `could not list the namespace's objects within ${deadline} ms`,
            ),
          ),
        deadline,
      );
    });
    try {
      await Promise.race([Promise.all([...this.informers.values()].map((i) => i.synced)), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private state(): ObservedState {
    const of = (kinds: ReadonlyArray<readonly [string, string]>): KubeObject[] =>
      kinds.flatMap(([, kind]) => this.informers.get(kind)?.values() ?? []);
    return {
      workloads: of(WATCHED_KINDS.workloads),
      replicaSets: of(WATCHED_KINDS.replicaSets),
      jobs: of(WATCHED_KINDS.jobs),
      pods: of(WATCHED_KINDS.pods),
      events: of(WATCHED_KINDS.events),
    };
  }

  private async load(): Promise<void> {
    const stored = await readWatchStore(this.client, this.options);
    this.record = stored.record;
    this.silences = stored.silences;
    this.stored = JSON.stringify(this.record);
  }

  private async save(): Promise<void> {
    const text = JSON.stringify(this.record);
    if (text === this.stored) return;
    await this.confirmLeadership();
    // Not cut short by SIGTERM: what was just sent is recorded before the watcher stops.
    await writeWatchRecord(
      this.client,
      { ...this.options, signal: AbortSignal.timeout(SAVE_DEADLINE_MS) },
      text,
    );
    this.stored = text;
  }

  /** Quiet while a deploy holds the environment's lock; true when this tick should do nothing. */
  private async deploying(): Promise<boolean> {
    const { app, env, namespace, signal } = this.options;
    const held = isHeld(await readLock(this.client, { app, env, namespace, signal }), this.now());
    if (held && !this.quiet)
      this.options.onEvent({ type: 'quiet', message: 'a deploy holds the lock: quiet until it ends' });
    if (!held && this.quiet) {
      this.options.onEvent({ type: 'resumed', message: 'the deploy ended: watching the new release' });
      this.contextReadAt = 0;
    }
    this.quiet = held;
    return held;
  }

  /** While a list or watch fails, the stores may be stale: nothing is judged from them. */
  private apiTrouble(): boolean {
    const troubled = [...this.informers.values()].some((i) => i.health.troubleSince !== undefined);
    if (troubled !== this.troubled)
      this.options.onEvent(
        troubled
          ? { type: 'api-trouble', message: 'the API server does not answer: evaluation paused' }
          : { type: 'api-back', message: 'the API server answers again: re-listed' },
      );
    this.troubled = troubled;
    return troubled;
  }

  private async releaseContext(): Promise<ReleaseContext> {
    const now = Date.now();
    if (this.context === undefined || now - this.contextReadAt > RELEASES_REREAD_MS) {
      this.context = await readReleaseContext(this.client, {
        ...this.options,
        onWarning: this.options.onWarning,
      });
      this.contextReadAt = now;
    }
    return this.context;
  }

  /** Throws LockLostError once this watcher no longer leads (renewing the Lease now). */
  private async confirmLeadership(): Promise<void> {
    await this.lease?.ensureHeld();
  }

  private async tick(): Promise<void> {
    const troubled = this.apiTrouble();
    await this.followOutage(troubled);
    // While the API server does not answer, the Lease can be neither renewed nor taken over: the
    // leader stays, telling of the outage from memory, and learns whether it still leads once it answers.
    if (troubled) return;
    // Lost in the background (not renewed in time, taken over): step down at once.
    if (this.lease?.lost) await this.confirmLeadership();
    if (await this.deploying()) return;
    const context = await this.releaseContext();
    // Silences come from `capstan watch silence`, at any time.
    this.silences = (await readWatchStore(this.client, this.options)).silences;
    const now = this.now();
    const graceMs = this.options.graceMs ?? DEFAULT_GRACE_MS;
    const state = this.state();
    const findings = observeFindings(state, { now, graceMs, ignoreJobs: context.hookJobs });
    const transition = advanceIncidents(this.record.book, findings, { now, graceMs });
    for (const i of transition.opened)
      this.options.onEvent({
        type: 'opened',
        workload: i.workload,
        cause: i.cause,
        message: `${i.workload}: ${CAUSE_TITLES[i.cause]}: ${i.summary}`,
      });
    for (const i of transition.resolved)
      this.options.onEvent({
        type: 'resolved',
        workload: i.workload,
        cause: i.cause,
        message: `${i.workload}: ${CAUSE_TITLES[i.cause]} resolved`,
      });
    this.record = planMessages(this.record, transition, {
      release: context.live?.release,
      configs: this.options.notifications,
      silenced: (workload) => silenceOf(this.silences, workload, now) !== undefined,
    });
    for (const entry of this.record.outbox)
      if (entry.kind === 'incident' && entry.summary === undefined) {
        const text =
          (await diagnoseIncident(this.client, state, entry.incident, graceMs)) ?? entry.incident.summary;
        const redacted = context.redactor.text(text);
        this.record = withSummary(
          this.record,
          entry,
          redacted.length > MAX_SUMMARY_CHARS ? `${redacted.slice(0, MAX_SUMMARY_CHARS)}\n…` : redacted,
        );
      }
    // Queued before it is sent: a watcher that dies in between sends it once more, never not at all.
    await this.save();
    const due = dueMessages(this.record, now);
    if (due.length > 0) await this.confirmLeadership();
    for (const entry of due) await this.send(entry, context);
    await this.save();
  }

  /**
   * The API server's outage, kept in memory while nothing can be written: announced once it has
   * lasted the grace period, resolved once it answers again; the record holds it from the next save.
   */
  private async followOutage(troubled: boolean): Promise<void> {
    const since = troubled
      ? Math.min(...[...this.informers.values()].map((i) => i.health.troubleSince ?? Infinity))
      : undefined;
    const now = this.now();
    const step = advanceOutage(
      this.record.outage,
      since === undefined || !Number.isFinite(since) ? undefined : new Date(since),
      { now, graceMs: this.options.graceMs ?? DEFAULT_GRACE_MS },
    );
    this.setOutage(step.outage);
    if (step.send === undefined || step.outage === undefined) {
      this.outageAttempts = 0;
      return;
    }
    if (now.getTime() < this.outageRetryAt) return;
    const taken = await this.sendOutage(step.send, step.outage);
    this.outageAttempts = taken ? 0 : this.outageAttempts + 1;
    this.outageRetryAt = taken
      ? 0
      : now.getTime() + Math.min(MAX_OUTAGE_RETRY_MS, OUTAGE_RETRY_MS * 2 ** (this.outageAttempts - 1));
    this.setOutage(afterOutageAttempt(step.outage, step.send, taken, this.now()));
  }

  private setOutage(outage: Outage | undefined): void {
    const { outage: _old, ...rest } = this.record;
    this.record = outage === undefined ? rest : { ...rest, outage };
  }

  /** What every message of this environment carries: the live release as last read. */
  private baseEvent(kind: 'incident' | 'resolved', live: ReleaseContext['live']): NotifyEvent {
    return {
      kind,
      app: this.options.app,
      env: this.options.env,
      deployId: live?.deployId ?? '-',
      ...(live
        ? { release: live.release, user: live.user, deployedAt: live.finishedAt ?? live.startedAt }
        : {}),
      ...(live?.images.length ? { image: live.images.join(', ') } : {}),
      ...(live?.gitCommit ? { commit: live.gitCommit } : {}),
      ...(live?.gitBranch ? { branch: live.gitBranch } : {}),
      ...(this.options.cluster === undefined ? {} : { cluster: this.options.cluster }),
    };
  }

  /** Whether any configuration took the outage message (webhooks and Slack answer while the API server does not). */
  private async sendOutage(kind: 'incident' | 'resolved', outage: Outage): Promise<boolean> {
    const configs = this.options.notifications.filter((c) => wantsEvent(c, kind));
    if (configs.length === 0) return true;
    const event: NotifyEvent = {
      ...this.baseEvent(kind, this.context?.live),
      cause: 'API server not answering',
      ...(kind === 'incident' ? { summary: outageSummary(outage) } : {}),
    };
    const outcomes = await notify(configs, event, {
      env: this.options.envVars,
      fetch: this.options.fetch,
      ...(this.context ? { redact: this.context.redactor.text } : {}),
      onWarning: this.options.onWarning,
      failureNote: 'it is tried again later',
      retries: 1,
    });
    const delivered = outcomes.filter((o) => o.outcome === 'delivered').length;
    const what = `${kind} message of the API server's outage since ${outage.since}`;
    this.options.onEvent(
      delivered > 0
        ? { type: 'outage-sent', kind, message: `sent the ${what}` }
        : { type: 'outage-send-failed', kind, message: `could not send the ${what}: tried again later` },
    );
    return delivered > 0;
  }

  private async send(entry: OutboxEntry, context: ReleaseContext): Promise<void> {
    const { incident } = entry;
    const event: NotifyEvent = {
      ...this.baseEvent(entry.kind, context.live),
      workload: incident.workload,
      cause: CAUSE_TITLES[incident.cause],
      ...(entry.kind === 'incident'
        ? { summary: entry.summary ?? incident.summary, actions: `What to do: ${whatToDo(this.options)}` }
        : {}),
    };
    const pending = new Set(entry.pending);
    const configs = this.options.notifications.filter((c) => pending.has(configKey(c)));
    const outcomes = await notify(configs, event, {
      env: this.options.envVars,
      fetch: this.options.fetch,
      redact: context.redactor.text,
      onWarning: this.options.onWarning,
      failureNote: 'it is tried again later',
      retries: 1,
    });
    const delivered = outcomes.filter((o) => o.outcome === 'delivered').map((o) => configKey(o.config));
    this.record = recordAttempt(this.record, entry, delivered, this.now());
    const what = `${entry.kind} message of ${incidentKey(incident)}`;
    this.options.onEvent(
      delivered.length === configs.length
        ? { type: 'sent', kind: entry.kind, workload: incident.workload, message: `sent the ${what}` }
        : {
            type: 'send-failed',
            kind: entry.kind,
            workload: incident.workload,
            message: `could not send the ${what} to ${configs.length - delivered.length} of ${configs.length}: tried again later`,
          },
    );
  }
}

/** Waits until this watcher leads (undefined once the signal aborts). */
async function lead(
  client: KubeClient,
  options: WatcherOptions & { leadership: NonNullable<WatcherOptions['leadership']> },
): Promise<DeployLock | undefined> {
  const leaseSeconds = options.leadership.leaseSeconds ?? DEFAULT_LEADER_LEASE_SECONDS;
  let told = false;
  while (!options.signal.aborted) {
    try {
      return await acquireLock(client, {
        namespace: options.namespace,
        app: options.app,
        env: options.env,
        name: leaderLeaseName(options.app, options.env),
        holder: options.leadership.holder,
        leaseSeconds,
        // Watched until it is renewed (another watcher leads) or it expires unrenewed (taken over).
        maxWaitMs: 2 * leaseSeconds * 1000,
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal.aborted) return undefined;
      if (!(error instanceof LockHeldError)) throw error;
      if (!told)
        options.onEvent({ type: 'standby', message: `another watcher leads: ${error.holder}; standing by` });
      told = true;
      await sleep((leaseSeconds * 1000) / 3, options.signal).catch(() => undefined);
    }
  }
  return undefined;
}

const DEFAULT_LEADER_LEASE_SECONDS = 15;

/** Watches the environment until the signal aborts: alone, or as the leader of several. */
export async function runWatcher(client: KubeClient, options: WatcherOptions): Promise<void> {
  // Every informer and request listens to the signal.
  setMaxListeners(0, options.signal);
  const { leadership } = options;
  if (leadership === undefined) return new Watcher(client, options).run();
  while (!options.signal.aborted) {
    const lock = await lead(client, { ...options, leadership });
    if (lock === undefined) return;
    options.onEvent({ type: 'leading', message: `leading the watchers of ${options.app}/${options.env}` });
    // The informers of a watcher that lost the lead stop with it.
    const term = new AbortController();
    setMaxListeners(0, term.signal);
    const stop = () => term.abort();
    options.signal.addEventListener('abort', stop, { once: true });
    try {
      await new Watcher(client, { ...options, signal: term.signal }, lock).run();
    } catch (error) {
      if (!(error instanceof LockLostError)) throw error;
      options.onEvent({ type: 'standby', message: `no longer leading: ${lock.lostReason ?? error.message}` });
    } finally {
      term.abort();
      options.signal.removeEventListener('abort', stop);
      await lock.release();
    }
  }
}
