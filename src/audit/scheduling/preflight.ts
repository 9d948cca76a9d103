// Will the deploy's pods, and the extra pods of each rolling update, find a node? Workloads are
// rolled out one after another on a copy of the cluster, the way their controllers create and
// delete pods, each pod placed by the simulated scheduler (schedule-pod.ts).
import { at, list, record, sortKeys, str, type Json, type KubeObject } from '../../shared/index.js';
import { ClusterState, nodeState } from './cluster-state.js';
import { podInfo, selectorOf, type ContainerDefaults, type LabelSelector, type PodInfo } from './pod-info.js';
import { QuotaLedger } from './quota.js';
import { defaultScore } from './score.js';
import {
  matchesNodeAffinity,
  scheduleOne,
  tolerates,
  type NodeRejection,
  type ScoreFn,
} from './schedule-pod.js';

/** What the cluster holds now: the inputs of the preflight, read by read-snapshot.ts. */
export interface ClusterSnapshot {
  readonly nodes: readonly KubeObject[];
  /** Pods not yet Succeeded or Failed, in every namespace. */
  readonly pods: readonly KubeObject[];
  readonly resourceQuotas: readonly KubeObject[];
  readonly limitRanges: readonly KubeObject[];
  /** The live Deployments, StatefulSets and DaemonSets of the deploy's namespace. */
  readonly workloads: readonly KubeObject[];
  readonly replicaSets: readonly KubeObject[];
  readonly namespaces?: readonly KubeObject[];
}

export interface PreflightObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface WorkloadVerdict {
  readonly object: PreflightObject;
  readonly fits: boolean;
  /** New pods the deploy creates for this workload. */
  readonly pods: number;
  /** How many of them find no node (or are refused by a quota). */
  readonly unschedulable: number;
  /** The scheduler's message (or the quota admission's) for the first pod that does not fit. */
  readonly reason?: string;
  /** `Deployment/web: 2 surge pods of the rolling update would not schedule: ...`. */
  readonly message?: string;
  readonly hint?: string;
}

/** A finding in the shape `capstan audit` reports (check id `scheduling`). */
export interface SchedulingProblem {
  readonly object: PreflightObject;
  readonly severity: 'error' | 'warning' | 'info';
  readonly message: string;
  readonly hint: string;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'Pod']);

interface Context {
  readonly state: ClusterState;
  readonly quotas: Map<string, QuotaLedger>;
  readonly snapshot: ClusterSnapshot;
  readonly score: ScoreFn;
}

function meta(o: Json): { kind: string; name: string; namespace: string } {
  return {
    kind: str(o.kind) ?? '',
    name: str(at(o, 'metadata', 'name')) ?? '',
    namespace: str(at(o, 'metadata', 'namespace')) ?? 'default',
  };
}

function limitDefaults(snapshot: ClusterSnapshot, namespace: string): ContainerDefaults {
  const defaultRequest: Json = {};
  const defaultLimit: Json = {};
  for (const lr of snapshot.limitRanges) {
    if (lr.metadata.namespace !== namespace) continue;
    for (const item of list(at(lr, 'spec', 'limits'))) {
      if (item.type !== 'Container') continue;
      for (const [k, v] of Object.entries(record(item.defaultRequest) ?? {})) defaultRequest[k] ??= v;
      for (const [k, v] of Object.entries(record(item.default) ?? {})) defaultLimit[k] ??= v;
    }
  }
  return { defaultRequest, defaultLimit };
}

function quotaOf(ctx: Context, namespace: string): QuotaLedger {
  let q = ctx.quotas.get(namespace);
  if (!q) {
    q = new QuotaLedger(ctx.snapshot.resourceQuotas.filter((r) => r.metadata.namespace === namespace));
    ctx.quotas.set(namespace, q);
  }
  return q;
}

function ownedBy(o: KubeObject, kind: string, name: string): boolean {
  return list(o.metadata.ownerReferences).some((r) => r.kind === kind && r.name === name);
}

/** The template as the server stores it, without what the controller adds, for comparison. */
function templateKey(template: unknown): string {
  const t = structuredClone(record(template) ?? {});
  const labels = record(at(t, 'metadata', 'labels'));
  if (labels) {
    delete labels['pod-template-hash'];
    delete labels['controller-revision-hash'];
    delete labels['pod-template-generation'];
  }
  return JSON.stringify(sortKeys(t));
}

/** intstr scaled as the controllers do: percentages of replicas, surge rounded up, unavailable down. */
export function scaledValue(value: unknown, total: number, roundUp: boolean, fallback: string): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return 0;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** Pods the rollout creates, one template: every one a fresh PodInfo. */
function podFactory(
  ctx: Context,
  workload: Json,
  namespace: string,
  extraLabels: Record<string, string> = {},
) {
  const template =
    record(at(workload, 'spec', 'template')) ??
    record(at(workload, 'spec', 'jobTemplate', 'spec', 'template')) ??
    {};
  const defaults = limitDefaults(ctx.snapshot, namespace);
  const { kind, name } = meta(workload);
  let n = 0;
  return (spec?: Json, podName?: string): PodInfo =>
    podInfo(
      {
        metadata: {
          ...record(template.metadata),
          namespace,
          labels: { ...record(at(template, 'metadata', 'labels')), ...extraLabels },
          ownerReferences: [{ kind, name, controller: true }],
        },
        spec: spec ?? record(template.spec) ?? {},
      },
      { namespace, name: podName ?? `${name}-new-${n++}`, defaults },
    );
}

/** Places one pod: quota first (the API server refuses the pod), then the scheduler. */
function place(
  ctx: Context,
  pod: PodInfo,
): { placed: boolean; created: boolean; reason?: string; rejections?: ReadonlyMap<string, NodeRejection> } {
  const refusal = quotaOf(ctx, pod.namespace).admit(pod);
  if (refusal) return { placed: false, created: false, reason: refusal };
  const result = scheduleOne(pod, ctx.state, ctx.score);
  if (result.node === undefined)
    return { placed: false, created: true, reason: result.message, rejections: result.rejections };
  ctx.state.bind(pod, result.node);
  return { placed: true, created: true };
}

function remove(ctx: Context, pod: PodInfo): void {
  ctx.state.unbind(pod);
  quotaOf(ctx, pod.namespace).release(pod);
}

interface Stuck {
  readonly pending: number;
  readonly total: number;
  readonly surge: boolean;
  readonly reason: string;
  readonly pod: PodInfo;
  readonly rejections?: ReadonlyMap<string, NodeRejection>;
}

/** The Deployment controller's rolling update, step by step, until done or stuck. */
function rollDeployment(
  ctx: Context,
  old: PodInfo[],
  make: () => PodInfo,
  replicas: number,
  surge: number,
  unavailable: number,
): Stuck | undefined {
  const oldPods = [...old];
  const placed: PodInfo[] = [];
  const pending: PodInfo[] = [];
  let last: { reason: string; pod: PodInfo; rejections?: ReadonlyMap<string, NodeRejection> } | undefined;
  let refusedAt: number | undefined;
  for (let step = 0; step < 10_000; step++) {
    let progress = false;
    // Scale up the new ReplicaSet within maxSurge.
    const created = placed.length + pending.length;
    const room = Math.min(replicas + surge - (oldPods.length + created), replicas - created);
    for (let i = 0; i < room; i++) {
      const pod = make();
      const r = place(ctx, pod);
      if (!r.created) {
        last = { reason: r.reason!, pod };
        refusedAt = created + i;
        break;
      }
      progress = true;
      if (r.placed) placed.push(pod);
      else {
        pending.push(pod);
        last = { reason: r.reason!, pod, rejections: r.rejections };
      }
    }
    // Pending pods are retried when something changes.
    for (const pod of [...pending]) {
      const r = scheduleOne(pod, ctx.state, ctx.score);
      if (r.node !== undefined) {
        ctx.state.bind(pod, r.node);
        pending.splice(pending.indexOf(pod), 1);
        placed.push(pod);
        progress = true;
      } else last = { reason: r.message!, pod, rejections: r.rejections };
    }
    // Scale down the old ReplicaSets while enough pods stay available.
    const minAvailable = replicas - unavailable;
    const all = oldPods.length + placed.length + pending.length;
    const down = Math.min(oldPods.length, all - minAvailable - pending.length);
    for (let i = 0; i < down; i++) {
      remove(ctx, pickVictim(oldPods));
      progress = true;
    }
    if (oldPods.length === 0 && placed.length === replicas) return undefined;
    if (!progress) break;
    if (refusedAt !== undefined && down <= 0) break;
  }
  return {
    pending:
      oldPods.length > 0 ? pending.length + (refusedAt === undefined ? 0 : 1) : replicas - placed.length,
    total: replicas,
    surge: oldPods.length > 0,
    reason: last?.reason ?? 'the rollout does not progress',
    pod: last?.pod ?? make(),
    rejections: last?.rejections,
  };
}

/** The old pod the ReplicaSet controller deletes first: on the node with the most of them, newest first. */
function pickVictim(pods: PodInfo[]): PodInfo {
  const perNode = new Map<string, number>();
  for (const p of pods) perNode.set(p.nodeName ?? '', (perNode.get(p.nodeName ?? '') ?? 0) + 1);
  let best = pods.length - 1;
  for (let i = pods.length - 1; i >= 0; i--)
    if ((perNode.get(pods[i].nodeName ?? '') ?? 0) > (perNode.get(pods[best].nodeName ?? '') ?? 0)) best = i;
  return pods.splice(best, 1)[0];
}

/** Pods placed one by one (creation, scale-up, Jobs, Recreate): the first that fails stops the rest. */
function placeAll(ctx: Context, pods: PodInfo[], ordered = true): Stuck | undefined {
  let failed = 0;
  let first: Stuck | undefined;
  for (const pod of pods) {
    const r = place(ctx, pod);
    if (r.placed) continue;
    failed++;
    first ??= {
      pending: 0,
      total: pods.length,
      surge: false,
      reason: r.reason!,
      pod,
      rejections: r.rejections,
    };
    if (ordered) {
      failed = pods.length - pods.indexOf(pod);
      break;
    }
  }
  return first && { ...first, pending: failed };
}

function currentPods(ctx: Context, kind: string, name: string, namespace: string): PodInfo[] {
  const owners =
    kind === 'Deployment'
      ? new Set(
          ctx.snapshot.replicaSets
            .filter((rs) => rs.metadata.namespace === namespace && ownedBy(rs, 'Deployment', name))
            .map((rs) => rs.metadata.name),
        )
      : undefined;
  return ctx.state
    .pods()
    .filter((p) => p.namespace === namespace && p.owner !== undefined)
    .filter((p) =>
      owners
        ? p.owner!.kind === 'ReplicaSet' && owners.has(p.owner!.name)
        : p.owner!.kind === kind && p.owner!.name === name,
    );
}

const DAEMON_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

function simulateWorkload(ctx: Context, workload: KubeObject): Stuck | undefined {
  const { kind, name, namespace } = meta(workload);
  const spec = record((workload as Json).spec) ?? {};
  const live = ctx.snapshot.workloads.find(
    (w) => w.kind === kind && w.metadata.name === name && w.metadata.namespace === namespace,
  );
  const changed = !live || templateKey(at(live, 'spec', 'template')) !== templateKey(spec.template);
  const old = live ? currentPods(ctx, kind, name, namespace) : [];
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  switch (kind) {
    case 'Deployment': {
      const make = podFactory(ctx, workload, namespace, { 'pod-template-hash': 'capstan-preflight' });
      if (!changed) {
        // Same template: only a change of scale.
        for (const p of old.slice(replicas)) remove(ctx, p);
        return placeAll(
          ctx,
          Array.from({ length: Math.max(0, replicas - old.length) }, () => make()),
          false,
        );
      }
      if (at(spec, 'strategy', 'type') === 'Recreate') {
        for (const p of old) remove(ctx, p);
        return placeAll(
          ctx,
          Array.from({ length: replicas }, () => make()),
          false,
        );
      }
      const rolling = record(at(spec, 'strategy', 'rollingUpdate')) ?? {};
      const surge = scaledValue(rolling.maxSurge, replicas, true, '25%');
      let unavailable = scaledValue(rolling.maxUnavailable, replicas, false, '25%');
      if (surge === 0 && unavailable === 0) unavailable = 1;
      return rollDeployment(ctx, old, () => make(), replicas, surge, unavailable);
    }
    case 'StatefulSet': {
      const make = podFactory(ctx, workload, namespace);
      const byOrdinal = new Map(old.map((p) => [Number(p.name.slice(name.length + 1)), p]));
      const ordered = spec.podManagementPolicy !== 'Parallel';
      const onDelete = at(spec, 'updateStrategy', 'type') === 'OnDelete';
      const partition = Number(at(spec, 'updateStrategy', 'rollingUpdate', 'partition') ?? 0);
      for (const [i, p] of byOrdinal) if (i >= replicas) remove(ctx, p);
      // Missing ordinals are created first, lowest first; then updates go from the highest ordinal down.
      const fresh: PodInfo[] = [];
      for (let i = 0; i < replicas; i++) if (!byOrdinal.has(i)) fresh.push(make(undefined, `${name}-${i}`));
      const created = placeAll(ctx, fresh, ordered);
      if (created || !changed || onDelete) return created;
      for (let i = replicas - 1; i >= partition; i--) {
        const p = byOrdinal.get(i);
        if (!p) continue;
        remove(ctx, p);
        const pod = make(undefined, `${name}-${i}`);
        const r = place(ctx, pod);
        if (!r.placed)
          return {
            pending: i - partition + 1,
            total: replicas,
            surge: false,
            reason: r.reason!,
            pod,
            rejections: r.rejections,
          };
      }
      return undefined;
    }
    case 'DaemonSet': {
      const template = record(spec.template) ?? {};
      const podSpec = record(template.spec) ?? {};
      const tolerations = [...list(podSpec.tolerations), ...DAEMON_TOLERATIONS];
      const make = podFactory(ctx, workload, namespace);
      const surge = scaledValue(at(spec, 'updateStrategy', 'rollingUpdate', 'maxSurge'), 1, true, '0');
      let failed = 0;
      let first: Stuck | undefined;
      const nodes = ctx.state.nodes.filter((n) => {
        const probe = make({ ...podSpec, tolerations });
        return (
          matchesNodeAffinity(probe, n) &&
          n.taints.every(
            (t) => (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') || tolerates(probe.tolerations, t),
          )
        );
      });
      for (const node of nodes) {
        const own = old.find((p) => p.nodeName === node.name);
        if (own && !changed) continue;
        if (own && surge === 0) remove(ctx, own);
        const affinity = {
          ...record(podSpec.affinity),
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node.name] }] },
              ],
            },
          },
        };
        const pod = make({ ...podSpec, tolerations, affinity }, `${name}-${node.name}`);
        const r = place(ctx, pod);
        if (own && surge > 0) remove(ctx, own);
        if (r.placed) continue;
        failed++;
        first ??= {
          pending: 0,
          total: nodes.length,
          surge: false,
          reason: r.reason!,
          pod,
          rejections: r.rejections,
        };
      }
      return first && { ...first, pending: failed };
    }
    case 'Job': {
      const make = podFactory(ctx, workload, namespace);
      const parallelism = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
      const completions = typeof spec.completions === 'number' ? spec.completions : parallelism;
      const pods = Array.from({ length: Math.min(parallelism, completions) }, () => make());
      const stuck = placeAll(ctx, pods, false);
      // A Job's pods finish: they hold nothing once the phase is over.
      for (const p of pods) if (p.nodeName) remove(ctx, p);
      return stuck;
    }
    case 'Pod': {
      if (live || ctx.state.pods().some((p) => p.namespace === namespace && p.name === name))
        return undefined;
      const pod = podInfo(workload, { namespace, defaults: limitDefaults(ctx.snapshot, namespace) });
      if (pod.nodeName !== undefined) return undefined;
      return placeAll(ctx, [pod]);
    }
  }
  return undefined;
}

function cpu(milli: number): string {
  return String(Math.round(milli) / 1000);
}

function memory(bytes: number): string {
  const gi = bytes / 2 ** 30;
  return gi >= 1 ? `${Math.round(gi * 100) / 100}Gi` : `${Math.round((bytes / 2 ** 20) * 10) / 10}Mi`;
}

/** `Free: 0.5 cpu per node; each pod requests 7.` for the resource the scheduler found short. */
function freeText(ctx: Context, stuck: Stuck): string | undefined {
  const reasons = new Set([...(stuck.rejections?.values() ?? [])].flatMap((r) => r.reasons));
  const nodes = [...(stuck.rejections ?? new Map<string, NodeRejection>())]
    .filter(([, r]) => r.plugin === 'NodeResourcesFit')
    .map(([n]) => ctx.state.node(n)!);
  const pick = (
    label: string,
    free: (n: (typeof nodes)[number]) => number,
    want: number,
    fmt: (v: number) => string,
  ) => {
    const values = [...new Set(nodes.map((n) => fmt(free(n))))];
    const where =
      values.length === 1
        ? `${values[0]} ${label} per node`
        : `at most ${fmt(Math.max(...nodes.map(free)))} ${label} on a node`;
    return `Free: ${where}; each pod requests ${fmt(want)}.`;
  };
  if (reasons.has('Insufficient cpu'))
    return pick(
      'cpu',
      (n) => n.allocatable.milliCpu - n.requested.milliCpu,
      stuck.pod.requests.milliCpu,
      cpu,
    );
  if (reasons.has('Insufficient memory'))
    return pick(
      'memory',
      (n) => n.allocatable.memory - n.requested.memory,
      stuck.pod.requests.memory,
      memory,
    );
  return undefined;
}

/**
 * The verdict for every workload among `objects` (the deploy's rendered or dry-run objects), in
 * their order, against a cluster snapshot. Pure.
 */
export function planPreflight(objects: readonly KubeObject[], snapshot: ClusterSnapshot): WorkloadVerdict[] {
  const base = new ClusterState(
    snapshot.nodes.map(nodeState),
    new Map((snapshot.namespaces ?? []).map((n) => [n.metadata.name ?? '', n.metadata.labels ?? {}])),
  );
  for (const p of snapshot.pods) {
    const info = podInfo(p);
    if (info.nodeName) base.bind(info, info.nodeName);
  }
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const ctx: Context = {
    state: base,
    quotas: new Map(),
    snapshot,
    score: defaultScore(defaultSpreadSelector(workloads)),
  };
  const verdicts: WorkloadVerdict[] = [];
  for (const w of workloads) {
    const { kind, name, namespace } = meta(w);
    const object = { kind, name, namespace };
    const before = ctx.state.clone();
    const quotasBefore = new Map([...ctx.quotas].map(([k, v]) => [k, v.clone()]));
    const stuck = simulateWorkload(ctx, w);
    if (!stuck) {
      verdicts.push({ object, fits: true, pods: 0, unschedulable: 0 });
      continue;
    }
    const ref = `${kind}/${name}`;
    const what = stuck.surge
      ? `${stuck.pending} surge pod${stuck.pending === 1 ? '' : 's'} of the rolling update would not schedule`
      : `${stuck.pending} of ${stuck.total} pod${stuck.total === 1 ? '' : 's'} would not schedule`;
    const free = freeText(ctx, stuck);
    const hint = stuck.surge
      ? surgeHint(before, quotasBefore, snapshot, w, stuck)
      : 'add capacity, or lower the requests or replicas';
    verdicts.push({
      object,
      fits: false,
      pods: stuck.total,
      unschedulable: stuck.pending,
      reason: stuck.reason,
      message: `${ref}: ${what}: ${stuck.reason}${free ? ` ${free}` : ''}`,
      hint,
    });
    // The rest of the deploy is judged as if this workload had rolled out: its pods as far as they went.
  }
  return verdicts;
}

/** The smallest maxUnavailable that lets the rollout finish, by trying each. */
function surgeHint(
  state: ClusterState,
  quotas: Map<string, QuotaLedger>,
  snapshot: ClusterSnapshot,
  w: KubeObject,
  stuck: Stuck,
): string {
  const spec = record((w as Json).spec) ?? {};
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  for (let u = 1; u <= replicas; u++) {
    const ctx: Context = {
      state: state.clone(),
      quotas: new Map([...quotas].map(([k, v]) => [k, v.clone()])),
      snapshot,
      score: defaultScore(),
    };
    const { name, namespace } = meta(w);
    const rolling = record(at(spec, 'strategy', 'rollingUpdate')) ?? {};
    const surge = scaledValue(rolling.maxSurge, replicas, true, '25%');
    const make = podFactory(ctx, w, namespace, { 'pod-template-hash': 'capstan-preflight' });
    if (
      !rollDeployment(ctx, currentPods(ctx, 'Deployment', name, namespace), () => make(), replicas, surge, u)
    )
      return `Set maxUnavailable >= ${u}, or add capacity.`;
  }
  return stuck.pending > 0 ? 'add capacity, or lower the requests or replicas' : '';
}

/** Selectors of the deploy's own workloads: what the system default spreading counts pods by. */
function defaultSpreadSelector(
  workloads: readonly KubeObject[],
): (pod: PodInfo) => LabelSelector | undefined {
  return (pod) => {
    if (!pod.owner) return undefined;
    const w = workloads.find((o) => o.kind === pod.owner!.kind && o.metadata.name === pod.owner!.name);
    const selector = selectorOf(at(w, 'spec', 'selector'));
    if (!selector) return undefined;
    const hash = pod.labels['pod-template-hash'];
    return hash
      ? { ...selector, matchLabels: { ...selector.matchLabels, 'pod-template-hash': hash } }
      : selector;
  };
}

/** The verdicts as findings: one error per workload that cannot be placed. */
export function schedulingProblems(verdicts: readonly WorkloadVerdict[]): SchedulingProblem[] {
  return verdicts
    .filter((v) => !v.fits)
    .map((v) => ({
      object: v.object,
      severity: 'error' as const,
      message: v.message ?? '',
      hint: v.hint ?? '',
    }));
}
