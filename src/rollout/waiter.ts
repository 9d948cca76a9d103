import { setMaxListeners } from 'node:events';
import type { KubeClient } from '../kube/index.js';
import { Informer } from '../kube/index.js';
import type { KubeObject } from '../shared/index.js';
import { diagnose } from './diagnosis.js';
import { assessReadiness, needsWatch } from './readiness.js';
import { podsOwnedBy } from './ownership.js';
import { earlyFailure } from './pod-state.js';
import { unobservedGeneration } from './object-access.js';
import type { Diagnosis, PodLogs, Readiness } from './types.js';

export interface WaitOptions {
  readonly client: KubeClient;
  /** The objects as applied. */
  readonly targets: readonly KubeObject[];
  /** Label selector matching the targets (all of them carry it), to keep watches narrow. */
  readonly selector?: string;
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch) of the whole deploy. */
  readonly deadline: number;
  /** Fail when nothing changes for this long. */
  readonly progressDeadlineMs: number;
  /** Events before this instant are not the deploy's business. */
  readonly since: Date;
  readonly onUpdate?: (object: KubeObject, readiness: Readiness) => void;
  readonly now?: () => number;
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
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet', 'Pod']);

function nsOf(object: KubeObject): string {
  return object.metadata.namespace ?? '';
}

function keyOf(object: KubeObject): string {
  return `${object.apiVersion}|${object.kind}|${nsOf(object)}|${object.metadata.name ?? ''}`;
}

/** Waits, by watches, until every target is ready, one fails, or a deadline passes. */
export async function waitForObjects(options: WaitOptions): Promise<WaitResult> {
  const now = options.now ?? Date.now;
  const watched = options.targets.filter((t) => needsWatch(t.kind));
  const states = new Map<string, { object: KubeObject; readiness: Readiness }>();
  for (const t of options.targets) {
    states.set(keyOf(t), { object: t, readiness: needsWatch(t.kind) ? { status: 'pending', message: 'waiting for status' } : { status: 'ready', message: 'applied' } });
  }
  for (const t of options.targets) if (!needsWatch(t.kind)) options.onUpdate?.(t, states.get(keyOf(t))!.readiness);
  if (watched.length === 0) return { ready: options.targets, failed: [], pending: [], outcome: 'ready' };

  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const stop = () => controller.abort();
  options.signal.addEventListener('abort', stop, { once: true });
  const informers = new Map<string, Informer>();
  const namespaces = [...new Set(watched.map(nsOf))];
  let wake: () => void = () => {};
  const poke = () => wake();

  const informerFor = (apiVersion: string, kind: string, namespace: string, labelSelector?: string): Informer => {
    const key = `${apiVersion}|${kind}|${namespace}`;
    let informer = informers.get(key);
    if (!informer) {
      informer = new Informer(options.client, {
        apiVersion,
        kind,
        namespace: namespace || undefined,
        labelSelector,
        signal: controller.signal,
        onChange: poke,
      });
      informers.set(key, informer);
    }
    return informer;
  };

  try {
    for (const t of watched) informerFor(t.apiVersion, t.kind, nsOf(t), options.selector);
    for (const ns of namespaces) {
      const kinds = new Set(watched.filter((t) => nsOf(t) === ns).map((t) => t.kind));
      if ([...kinds].some((k) => WORKLOADS.has(k))) informerFor('v1', 'Pod', ns);
      if (kinds.has('Deployment')) informerFor('apps/v1', 'ReplicaSet', ns);
      if (kinds.has('Service')) informerFor('discovery.k8s.io/v1', 'EndpointSlice', ns);
    }
    await Promise.all([...informers.values()].map((i) => i.synced));

    let lastProgress = now();
    for (;;) {
      let changed = false;
      let failed = false;
      const owners = new Map<string, OwnerIndex>();
      const slices = new Map<string, Map<string, KubeObject[]>>();
      for (const t of watched) {
        const key = keyOf(t);
        const state = states.get(key)!;
        if (state.readiness.status !== 'pending') continue;
        const live = informers.get(`${t.apiVersion}|${t.kind}|${nsOf(t)}`)?.get(t.metadata.namespace, t.metadata.name ?? '');
        let readiness: Readiness;
        if (!live) readiness = { status: 'pending', message: 'waiting for the object to appear' };
        else {
          readiness = assessReadiness(live, contextFor(live, informers, slices));
          // Pods are judged only once the controller has seen this generation: until then the
          // "current" pods may still be those of the previous (perhaps failed) rollout.
          if (readiness.status === 'pending' && WORKLOADS.has(live.kind) && live.kind !== 'Pod' && unobservedGeneration(live) === undefined) {
            const reason = earlyFailure(podsOf(live, informers, owners));
            if (reason) readiness = { status: 'failed', message: reason };
          }
        }
        if (readiness.status !== state.readiness.status || readiness.message !== state.readiness.message) {
          states.set(key, { object: live ?? t, readiness });
          options.onUpdate?.(live ?? t, readiness);
          changed = true;
        }
        if (readiness.status === 'failed') failed = true;
      }
      if (changed) lastProgress = now();
      const pending = [...states.values()].filter((s) => s.readiness.status === 'pending');
      let outcome: WaitResult['outcome'] | undefined;
      if (failed) outcome = 'failed';
      else if (pending.length === 0) outcome = 'ready';
      else if (options.signal.aborted) outcome = 'interrupted';
      else if (now() >= options.deadline) outcome = 'timed-out';
      else if (now() - lastProgress >= options.progressDeadlineMs) outcome = 'no-progress';
      if (outcome) return await finish(outcome, states, informers, options);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
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

function contextFor(live: KubeObject, informers: Map<string, Informer>, cache: Map<string, Map<string, KubeObject[]>>) {
  if (live.kind !== 'Service') return {};
  const ns = nsOf(live);
  let byService = cache.get(ns);
  if (!byService) {
    // EndpointSlices of one namespace by their Service, built once per evaluation.
    byService = new Map();
    for (const slice of informers.get(`discovery.k8s.io/v1|EndpointSlice|${ns}`)?.store.values() ?? []) {
      const name = slice.metadata.labels?.['kubernetes.io/service-name'] ?? '';
      byService.set(name, [...(byService.get(name) ?? []), slice]);
    }
    cache.set(ns, byService);
  }
  return { endpoints: byService.get(live.metadata.name ?? '') ?? [] };
}

/** Pods and ReplicaSets of one namespace by the uid of their controller, built once per evaluation. */
interface OwnerIndex {
  readonly pods: Map<string, KubeObject[]>;
  readonly replicaSets: Map<string, KubeObject[]>;
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

function podsOf(live: KubeObject, informers: Map<string, Informer>, cache: Map<string, OwnerIndex>): KubeObject[] {
  const ns = nsOf(live);
  let index = cache.get(ns);
  if (!index) {
    index = {
      pods: indexByOwner(informers.get(`v1|Pod|${ns}`)?.store.values() ?? []),
      replicaSets: indexByOwner(informers.get(`apps/v1|ReplicaSet|${ns}`)?.store.values() ?? []),
    };
    cache.set(ns, index);
  }
  const uid = live.metadata.uid ?? '';
  // Only this workload's own ReplicaSets and pods go to the (exact) ownership rules.
  const replicaSets = live.kind === 'Deployment' ? (index.replicaSets.get(uid) ?? []) : [];
  const pods = live.kind === 'Deployment' ? replicaSets.flatMap((rs) => index.pods.get(rs.metadata.uid ?? '') ?? []) : (index.pods.get(uid) ?? []);
  return podsOwnedBy(live, pods, replicaSets);
}

async function finish(
  outcome: WaitResult['outcome'],
  states: Map<string, { object: KubeObject; readiness: Readiness }>,
  informers: Map<string, Informer>,
  options: WaitOptions,
): Promise<WaitResult> {
  const all = [...states.values()];
  const ready = all.filter((s) => s.readiness.status === 'ready').map((s) => s.object);
  const pending = all.filter((s) => s.readiness.status === 'pending');
  const failing = all.filter((s) => s.readiness.status === 'failed');
  // Timed-out objects get a diagnosis too: a bare "timed out" helps nobody at 3 a.m.
  const toDiagnose = outcome === 'failed' ? failing : outcome === 'ready' ? [] : [...failing, ...pending];
  const failed: FailedObject[] = [];
  for (const s of toDiagnose) {
    const diagnosis = await collectDiagnosis(s.object, informers, options, outcome !== 'failed');
    failed.push({ object: s.object, readiness: s.readiness, diagnosis });
  }
  return {
    ready,
    failed,
    pending: outcome === 'failed' ? pending : [],
    outcome,
  };
}

/** Gathers pods, ReplicaSets, Warning events and log tails of a failed object, then diagnoses it. */
export async function collectDiagnosis(
  object: KubeObject,
  informers: Map<string, Informer> | undefined,
  options: Pick<WaitOptions, 'client' | 'since'>,
  timedOut: boolean,
): Promise<Diagnosis> {
  const client = options.client;
  const ns = nsOf(object);
  const signal = AbortSignal.timeout(20_000);
  let pods: KubeObject[] = [];
  let replicaSets: KubeObject[] = [];
  let events: KubeObject[] = [];
  const logs: Record<string, PodLogs[]> = {};
  try {
    if (WORKLOADS.has(object.kind)) {
      const allPods = informers?.get(`v1|Pod|${ns}`)?.values() ?? (await client.list('v1', 'Pod', { namespace: ns, signal })).items;
      replicaSets = object.kind === 'Deployment'
        ? informers?.get(`apps/v1|ReplicaSet|${ns}`)?.values() ?? (await client.list('apps/v1', 'ReplicaSet', { namespace: ns, signal })).items
        : [];
      pods = object.kind === 'Pod' ? [object] : podsOwnedBy(object, allPods, replicaSets);
    }
    const names = new Set([object.metadata.name, ...pods.map((p) => p.metadata.name), ...replicaSets.map((r) => r.metadata.name)]);
    events = (await client.list('v1', 'Event', { namespace: ns, signal })).items.filter((e) =>
      names.has((e as { involvedObject?: { name?: string } }).involvedObject?.name),
    );
    for (const pod of pods.slice(0, 3)) {
      const name = pod.metadata.name ?? '';
      const statuses = ((pod as { status?: { containerStatuses?: Array<{ name: string; restartCount?: number; ready?: boolean }> } }).status?.containerStatuses ?? []);
      const entries: PodLogs[] = [];
      for (const c of statuses) {
        if (c.ready) continue;
        const current = await client.logs(ns, name, { container: c.name, tailLines: 20, signal });
        const previous = (c.restartCount ?? 0) > 0 ? await client.logs(ns, name, { container: c.name, tailLines: 20, previous: true, signal }) : undefined;
        entries.push({ container: c.name, current: splitLines(current), previous: splitLines(previous) });
      }
      if (entries.length) logs[name] = entries;
    }
  } catch {
    // Diagnosis is best effort: what was gathered is still worth showing.
  }
  return diagnose({ object, pods, replicaSets, events, logs, since: options.since, timedOut });
}

function splitLines(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-20);
}

