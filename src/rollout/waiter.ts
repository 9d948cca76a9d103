import { setMaxListeners } from 'node:events';
import type { KubeClient } from '../kube/index.js';
import { during, isKubeApiError } from '../kube/index.js';
import { objectRef, type KubeObject } from '../shared/index.js';
import { diagnose, diagnosisPods } from './diagnosis.js';
import { judgeRollout } from './early-failure.js';
import { summarizeEvents } from './events.js';
import { unobservedGeneration } from './object-access.js';
import { ownedPods, podLabelIndex, serviceBackends } from './ownership.js';
import { quotaMayFreeUp } from './quota.js';
import { assessReadiness, needsWatch } from './readiness.js';
import type { Diagnosis, DiagnosisEvent, PodLogs, Readiness, ReadinessContext } from './types.js';
import { WatchSet, type Unreachable } from './watch-set.js';

export interface WaitOptions {
  readonly client: KubeClient;
  /** The objects as applied. */
  readonly targets: readonly KubeObject[];
  /** Label selector matching the targets (all of them carry it), to keep watches narrow. */
  readonly selector?: string;
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch) of the whole deploy. */
  readonly deadline: number;
  /** Fail when nothing changes for this long (counted from the wait's first instant). */
  readonly progressDeadlineMs: number;
  /** Events before this instant are not the deploy's business. */
  readonly since: Date;
  readonly onUpdate?: (object: KubeObject, readiness: Readiness) => void;
  readonly now?: () => number;
  /**
   * Delete the broken pods of a StatefulSet's earlier revision that block its rolling update (what
   * Kubernetes documents as forced rollback) so they come back at the new revision. Without it,
   * such a rollout fails with the command that unblocks it.
   */
  readonly replaceBrokenPods?: boolean;
  /**
   * Watches started before the targets were applied (startWaitWatches), so that the wait need not
   * list everything again once the apply is done. Their copies of a target count only once they
   * are at least as new as the target as applied. The caller stops them (its signal).
   */
  readonly watches?: WatchSet;
}

export interface FailedObject {
  readonly object: KubeObject;
  readonly readiness: Readiness;
  readonly diagnosis: Diagnosis;
}

export interface WaitResult {
  readonly ready: readonly KubeObject[];
  readonly failed: readonly FailedObject[];
  /** Objects still pending when the wait ended (deadline, no progress, interruption or another's failure). */
  readonly pending: ReadonlyArray<{ object: KubeObject; readiness: Readiness }>;
  readonly outcome: 'ready' | 'failed' | 'timed-out' | 'no-progress' | 'interrupted';
  /** Set when a timed-out wait ended while the API server did not answer. */
  readonly unreachable?: Unreachable;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet', 'Pod']);
/** How long a read ResourceQuota counts as the quota's state now. */
const QUOTA_FRESH_MS = 2000;

function nsOf(object: KubeObject): string {
  return object.metadata.namespace ?? '';
}

function keyOf(object: KubeObject): string {
  return `${object.apiVersion}|${object.kind}|${nsOf(object)}|${object.metadata.name ?? ''}`;
}

type State = { object: KubeObject; readiness: Readiness };

/**
 * The watches a wait on these objects will read, started now, before they are applied: their lists
 * are done by the time the apply is, and the wait (given them as `watches`) judges at once.
 */
export function startWaitWatches(
  client: KubeClient,
  objects: readonly KubeObject[],
  options: { readonly selector?: string; readonly signal: AbortSignal },
): WatchSet {
  const watches = new WatchSet(client, {
    signal: options.signal,
    onChange: () => {},
    selector: options.selector,
    now: Date.now,
  });
  watches.watchTargets(
    objects.filter((o) => needsWatch(o.kind)),
    WORKLOADS,
  );
  return watches;
}

/** Waits, by watches, until every target is ready, one fails, or a deadline passes. */
export function waitForObjects(options: WaitOptions): Promise<WaitResult> {
  const names = options.targets.filter((t) => needsWatch(t.kind)).map(objectRef);
  const shown =
    names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
  return during(`waiting for ${shown} to be ready needs it`, () => waitUntilReady(options));
}

async function waitUntilReady(options: WaitOptions): Promise<WaitResult> {
  const now = options.now ?? Date.now;
  // Both deadlines count from here: listing what to watch is part of the wait.
  const startedAt = now();
  const watched = options.targets.filter((t) => needsWatch(t.kind));
  const states = new Map<string, State>();
  for (const t of options.targets) {
    states.set(keyOf(t), {
      object: t,
      readiness: needsWatch(t.kind)
        ? { status: 'pending', message: 'waiting for status' }
        : { status: 'ready', message: 'applied' },
    });
  }
  for (const t of options.targets)
    if (!needsWatch(t.kind)) options.onUpdate?.(t, states.get(keyOf(t))!.readiness);
  if (watched.length === 0) return { ready: options.targets, failed: [], pending: [], outcome: 'ready' };

  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const stop = () => controller.abort();
  options.signal.addEventListener('abort', stop, { once: true });
  let wake: () => void = () => {};
  const poke = () => wake();
  const watches =
    options.watches ??
    new WatchSet(options.client, {
      signal: controller.signal,
      onChange: poke,
      selector: options.selector,
      now,
    });
  watches.onChange(poke);
  const side = new SideEffects(options, controller.signal, poke, now);

  try {
    watches.watchTargets(watched, WORKLOADS);

    let lastProgress = startedAt;
    for (;;) {
      const refusal = watches.refusal();
      if (refusal !== undefined) throw refusal;
      let changed = false;
      let failed = false;
      const round = new Round(watches, options, side);
      for (const t of watched) {
        const key = keyOf(t);
        const state = states.get(key)!;
        if (state.readiness.status !== 'pending') continue;
        const live = watches.synced ? watches.live(t) : undefined;
        // What is still pending while the API server does not answer waits for it, whether the
        // watches had listed before it went (they start with the apply) or not.
        const judged = !watches.synced
          ? state.readiness
          : live === undefined && watches.holdsOlderCopy(t)
            ? APPLIED_NOT_SEEN
            : judge(live, round);
        const readiness = judged.status === 'pending' ? waitingForApi(watches, judged) : judged;
        if (readiness.status !== state.readiness.status || readiness.message !== state.readiness.message) {
          states.set(key, { object: live ?? t, readiness });
          options.onUpdate?.(live ?? t, readiness);
          changed = true;
        }
        if (readiness.status === 'failed') failed = true;
      }
      const at = now();
      if (changed) lastProgress = at;
      const pending = [...states.values()].filter((s) => s.readiness.status === 'pending');
      let outcome: WaitResult['outcome'] | undefined;
      if (failed) outcome = 'failed';
      else if (pending.length === 0) outcome = 'ready';
      else if (options.signal.aborted) outcome = 'interrupted';
      else if (at >= options.deadline) outcome = 'timed-out';
      else if (at - lastProgress >= options.progressDeadlineMs) outcome = 'no-progress';
      if (outcome) {
        const unreachable =
          outcome === 'timed-out' || outcome === 'no-progress' ? watches.unreachable() : undefined;
        return await finish(outcome, states, watches, options, unreachable);
      }
      const pause = Math.max(
        0,
        Math.min(1000, options.deadline - at, lastProgress + options.progressDeadlineMs - at),
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        wake = () => {
          clearTimeout(timer);
          // Coalesce bursts of watch events into one evaluation.
          setImmediate(resolve);
        };
      });
      wake = () => {};
    }
  } finally {
    options.signal.removeEventListener('abort', stop);
    controller.abort();
  }
}

/** While the first lists have not answered: say why, once the API server fails to answer. */
function waitingForApi(watches: WatchSet, previous: Readiness): Readiness {
  const unreachable = watches.unreachable();
  if (unreachable === undefined || unreachable.retries === 0) return previous;
  return {
    status: 'pending',
    message: `waiting for the API server (no answer since ${unreachable.since.toISOString()}, retrying)`,
  };
}

/** A watch started before the apply holds the copy from before it, not yet the applied one. */
const APPLIED_NOT_SEEN: Readiness = {
  status: 'pending',
  message: 'waiting for the watch to deliver the object as applied',
};

/** One target's readiness from the live state of everything watched. */
function judge(live: KubeObject | undefined, round: Round): Readiness {
  if (!live) return { status: 'pending', message: 'waiting for the object to appear' };
  const readiness = assessReadiness(live, round.contextFor(live));
  // Pods are judged only once the controller has seen this generation: until then the "current"
  // pods may still be those of the previous (perhaps failed) rollout. A Job's template cannot
  // change, and neither it nor a Pod reports an observed generation: their pods are always theirs.
  if (readiness.status !== 'pending' || !WORKLOADS.has(live.kind)) return readiness;
  if (live.kind !== 'Job' && live.kind !== 'Pod' && unobservedGeneration(live) !== undefined)
    return readiness;
  const ns = nsOf(live);
  const owned = round.ownedPods(live);
  const judgment = judgeRollout({
    object: live,
    pods: owned.pods,
    replicaSets: owned.replicaSets,
    events: round.events(ns),
    quota: (name) => round.side.quota(ns, name),
    quotaMayFreeUp: round.quotaMayFreeUp(ns),
  });
  if (judgment.readQuota !== undefined) round.side.readQuota(ns, judgment.readQuota);
  if (judgment.blocking && judgment.blocking.length > 0 && round.options.replaceBrokenPods) {
    const replaced = round.side.replacePods(judgment.blocking.map((b) => b.pod));
    if (replaced.error === undefined) {
      const what = judgment.blocking
        .map((b) => `pod ${b.pod.metadata.name ?? '?'} (${b.problem})`)
        .join(', ');
      return {
        status: 'pending',
        message: `deleted ${what} of an earlier revision that blocked the rolling update; waiting for its replacement`,
      };
    }
    return { status: 'failed', message: `${judgment.failure ?? ''}; deleting it failed: ${replaced.error}` };
  }
  return judgment.failure === undefined ? readiness : { status: 'failed', message: judgment.failure };
}

/** What one evaluation derives from the watched objects, per namespace, computed once. */
class Round {
  private readonly cache = new Map<string, unknown>();

  constructor(
    private readonly watches: WatchSet,
    readonly options: WaitOptions,
    readonly side: SideEffects,
  ) {}

  private once<T>(key: string, compute: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, compute());
    return this.cache.get(key) as T;
  }

  events(ns: string): DiagnosisEvent[] {
    return this.once(`events|${ns}`, () =>
      summarizeEvents(this.watches.objects('events', ns) ?? [], this.options.since),
    );
  }

  private byOwner(role: 'pods' | 'replicaSets', ns: string): Map<string, KubeObject[]> {
    return this.once(`${role}|${ns}`, () => indexByOwner(this.watches.objects(role, ns) ?? []));
  }

  /** A workload's own pods (all revisions) and, for a Deployment, its ReplicaSets. */
  ownedPods(live: KubeObject): { pods: KubeObject[]; replicaSets: KubeObject[] } {
    const ns = nsOf(live);
    if (live.kind === 'Pod') return { pods: [live], replicaSets: [] };
    const pods = this.byOwner('pods', ns);
    const uid = live.metadata.uid ?? '';
    if (live.kind !== 'Deployment') return { pods: pods.get(uid) ?? [], replicaSets: [] };
    const replicaSets = this.byOwner('replicaSets', ns).get(uid) ?? [];
    return { pods: replicaSets.flatMap((rs) => pods.get(rs.metadata.uid ?? '') ?? []), replicaSets };
  }

  /** The live workloads of this wait in one namespace (the applied object until listed). */
  private workloads(ns: string): KubeObject[] {
    return this.once(`workloads|${ns}`, () =>
      this.options.targets
        .filter((t) => nsOf(t) === ns && WORKLOADS.has(t.kind))
        .map((t) => this.watches.live(t) ?? t),
    );
  }

  quotaMayFreeUp(ns: string): boolean {
    return this.once(`free|${ns}`, () =>
      quotaMayFreeUp(
        this.watches.objects('pods', ns) ?? [],
        this.workloads(ns).filter((w) => w.kind === 'Deployment'),
        this.watches.objects('replicaSets', ns) ?? [],
      ),
    );
  }

  contextFor(live: KubeObject): ReadinessContext {
    if (live.kind !== 'Service') return {};
    const ns = nsOf(live);
    const byService = this.once(`slices|${ns}`, () => {
      const map = new Map<string, KubeObject[]>();
      for (const slice of this.watches.objects('slices', ns) ?? []) {
        const name = slice.metadata.labels?.['kubernetes.io/service-name'] ?? '';
        map.set(name, [...(map.get(name) ?? []), slice]);
      }
      return map;
    });
    return {
      endpoints: byService.get(live.metadata.name ?? '') ?? [],
      backends: serviceBackends(
        live,
        this.once(`labels|${ns}`, () => podLabelIndex(this.workloads(ns)))(live),
      ),
    };
  }
}

/** The wait's own requests besides watching: reading quotas, deleting pods that block a rollout. */
class SideEffects {
  private readonly quotas = new Map<string, { object: KubeObject | null; readAt: number }>();
  private readonly reading = new Set<string>();
  private readonly deletions = new Map<string, { error?: string }>();

  constructor(
    private readonly options: WaitOptions,
    private readonly signal: AbortSignal,
    private readonly poke: () => void,
    private readonly now: () => number,
  ) {}

  quota(ns: string, name: string): KubeObject | null | undefined {
    return this.quotas.get(`${ns}/${name}`)?.object;
  }

  /** Reads a ResourceQuota in the background unless a fresh reading exists; a refusal means "cannot know". */
  readQuota(ns: string, name: string): void {
    const key = `${ns}/${name}`;
    const known = this.quotas.get(key);
    if (
      this.reading.has(key) ||
      known?.object === null ||
      (known && this.now() - known.readAt < QUOTA_FRESH_MS)
    )
      return;
    this.reading.add(key);
    this.options.client
      .get({ apiVersion: 'v1', kind: 'ResourceQuota', name, namespace: ns || undefined }, this.signal)
      .then(
        (object) => this.quotas.set(key, { object: object ?? null, readAt: this.now() }),
        (error: unknown) => {
          if (isKubeApiError(error) && error.forbidden)
            this.quotas.set(key, { object: null, readAt: this.now() });
        },
      )
      .finally(() => {
        this.reading.delete(key);
        this.poke();
      });
  }

  /** Deletes each pod once; the first error, if any, once known. */
  replacePods(pods: readonly KubeObject[]): { error?: string } {
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? `${nsOf(pod)}/${pod.metadata.name ?? ''}`;
      if (this.deletions.has(uid)) continue;
      const entry: { error?: string } = {};
      this.deletions.set(uid, entry);
      this.options.client
        .delete(
          { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name ?? '', namespace: pod.metadata.namespace },
          { signal: this.signal },
        )
        .catch((error: unknown) => {
          entry.error = error instanceof Error ? error.message : String(error);
        })
        .finally(this.poke);
    }
    const failed = pods
      .map((p) => this.deletions.get(p.metadata.uid ?? `${nsOf(p)}/${p.metadata.name ?? ''}`)?.error)
      .find((e) => e !== undefined);
    return failed === undefined ? {} : { error: failed };
  }
}

function indexByOwner(objects: Iterable<KubeObject>): Map<string, KubeObject[]> {
  const index = new Map<string, KubeObject[]>();
  for (const o of objects) {
    for (const ref of o.metadata.ownerReferences ?? []) {
      const list = index.get(ref.uid);
      if (list) list.push(o);
      else index.set(ref.uid, [o]);
    }
  }
  return index;
}

async function finish(
  outcome: WaitResult['outcome'],
  states: Map<string, State>,
  watches: WatchSet,
  options: WaitOptions,
  unreachable: Unreachable | undefined,
): Promise<WaitResult> {
  const all = [...states.values()];
  const ready = all.filter((s) => s.readiness.status === 'ready').map((s) => s.object);
  const pending = all.filter((s) => s.readiness.status === 'pending');
  const failing = all.filter((s) => s.readiness.status === 'failed');
  // Timed-out objects get a diagnosis too: a bare "timed out" helps nobody at 3 a.m.
  const toDiagnose = outcome === 'failed' ? failing : outcome === 'ready' ? [] : [...failing, ...pending];
  const failed: FailedObject[] = [];
  for (const s of toDiagnose) {
    // With the API server away, what the informers hold is all there is to show.
    const diagnosis = await collectDiagnosis(
      s.object,
      watches,
      options,
      outcome !== 'failed',
      unreachable !== undefined,
    );
    failed.push({ object: s.object, readiness: s.readiness, diagnosis });
  }
  return {
    ready,
    failed,
    pending: outcome === 'failed' ? pending : [],
    outcome,
    ...(unreachable ? { unreachable } : {}),
  };
}

/** Gathers pods, ReplicaSets, Warning events and log tails of a failed object, then diagnoses it. */
export async function collectDiagnosis(
  object: KubeObject,
  watches: WatchSet | undefined,
  options: Pick<WaitOptions, 'client' | 'since'>,
  timedOut: boolean,
  offline = false,
): Promise<Diagnosis> {
  return during(`saying why ${objectRef(object)} is not ready (its pods, events and logs) needs it`, () =>
    diagnoseObject(object, watches, options, timedOut, offline),
  );
}

async function diagnoseObject(
  object: KubeObject,
  watches: WatchSet | undefined,
  options: Pick<WaitOptions, 'client' | 'since'>,
  timedOut: boolean,
  offline: boolean,
): Promise<Diagnosis> {
  const client = options.client;
  const ns = nsOf(object);
  const signal = AbortSignal.timeout(20_000);
  const read = async (
    role: 'pods' | 'replicaSets' | 'events',
    apiVersion: string,
    kind: string,
  ): Promise<KubeObject[]> =>
    watches?.objects(role, ns) ??
    (offline ? [] : (await client.list(apiVersion, kind, { namespace: ns, signal })).items);
  let pods: KubeObject[] = [];
  let replicaSets: KubeObject[] = [];
  let events: KubeObject[] = [];
  const logs: Record<string, PodLogs[]> = {};
  try {
    if (WORKLOADS.has(object.kind)) {
      replicaSets = object.kind === 'Deployment' ? await read('replicaSets', 'apps/v1', 'ReplicaSet') : [];
      pods = ownedPods(object, await read('pods', 'v1', 'Pod'), replicaSets);
    }
    const names = new Set([
      object.metadata.name,
      ...pods.map((p) => p.metadata.name),
      ...replicaSets.map((r) => r.metadata.name),
    ]);
    events = (await read('events', 'v1', 'Event')).filter((e) =>
      names.has((e as { involvedObject?: { name?: string } }).involvedObject?.name),
    );
    const shown = offline ? [] : diagnosisPods({ object, pods, replicaSets }).pods;
    // Every log tail at once, current and previous: the failure is reported as soon as they are in.
    // A log that exists but does not come (refused, timed out) is named with why, not left out.
    const tail = (
      name: string,
      container: string,
      previous: boolean,
    ): Promise<{ text?: string; unreadable?: string }> =>
      client
        .logs(ns, name, { container, tailLines: 20, signal, ...(previous ? { previous: true } : {}) })
        .then(
          (text) => ({ text }),
          (error: unknown) => ({ unreadable: firstLine(error) }),
        );
    const gathered = await Promise.all(
      shown.slice(0, 3).map(async (pod) => {
        const name = pod.metadata.name ?? '';
        const statuses =
          (
            pod as {
              status?: {
                containerStatuses?: Array<{ name: string; restartCount?: number; ready?: boolean }>;
              };
            }
          ).status?.containerStatuses ?? [];
        const entries = await Promise.all(
          statuses
            .filter((c) => !c.ready)
            .map(async (c): Promise<PodLogs> => {
              const [current, previous] = await Promise.all([
                tail(name, c.name, false),
                (c.restartCount ?? 0) > 0 ? tail(name, c.name, true) : undefined,
              ]);
              const unreadable = current.unreadable ?? previous?.unreadable;
              return {
                container: c.name,
                current: splitLines(current.text),
                previous: splitLines(previous?.text),
                ...(unreadable === undefined ? {} : { unreadable }),
              };
            }),
        );
        return [name, entries] as const;
      }),
    );
    // A container that never started has no log (the API server answers 400): it shows none.
    for (const [name, entries] of gathered) {
      const readable = entries.filter((e) => e.current !== undefined || e.unreadable !== undefined);
      if (readable.length) logs[name] = readable;
    }
  } catch {
    // Diagnosis is best effort: what was gathered is still worth showing.
  }
  return diagnose({ object, pods, replicaSets, events, logs, since: options.since, timedOut });
}

/** The first line of an error's message: a refusal's explanation runs to several. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

function splitLines(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-20);
}
