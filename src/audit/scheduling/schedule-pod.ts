// One scheduling cycle of kube-scheduler's default profile (v1.36): the Filter plugins in their
// order, stopping at the first that rejects a node, then the scores that pick among the nodes left,
// and the FitError message when none is left.
import { at, list, record, str, type Json } from '../../shared/index.js';
import type { ClusterState, NodeState } from './cluster-state.js';
import {
  matchesSelector,
  type AffinityTerm,
  type PodInfo,
  type SpreadConstraint,
  type Taint,
  type Toleration,
} from './pod-info.js';

export const REASON = {
  unschedulable: 'node(s) were unschedulable',
  nodeName: "node(s) didn't match the requested node name",
  taint: 'node(s) had untolerated taint(s)',
  nodeAffinity: "node(s) didn't match Pod's node affinity/selector",
  ports: "node(s) didn't have free ports for the requested pod ports",
  tooManyPods: 'Too many pods',
  spreadLabel: "node(s) didn't match pod topology spread constraints (missing required label)",
  spread: "node(s) didn't match pod topology spread constraints",
  affinity: "node(s) didn't match pod affinity rules",
  antiAffinity: "node(s) didn't match pod anti-affinity rules",
  existingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
  notHelpful: 'Preemption is not helpful for scheduling',
  noVictims: 'No preemption victims found for incoming pod',
} as const;

/** Why a node was rejected: the first failing plugin's reasons; `resolvable` when preemption might help. */
export interface NodeRejection {
  readonly plugin: string;
  readonly reasons: readonly string[];
  readonly resolvable: boolean;
}

export interface ScheduleResult {
  /** The chosen node, or undefined when none fits. */
  readonly node?: string;
  /** Rejections by node name. */
  readonly rejections: ReadonlyMap<string, NodeRejection>;
  /** The scheduler's message when no node fits (`0/6 nodes are available: ...`). */
  readonly message?: string;
}

export function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return (t.key ?? '') === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchesRequirement(req: Json, value: string | undefined): boolean {
  const values = Array.isArray(req.values) ? req.values.map(String) : [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value) || values.length !== 1) return false;
      const a = Number(value);
      const b = Number(values[0]);
      return req.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** A node selector term: its expressions on labels and fields ANDed; an empty term matches nothing. */
export function matchesTerm(term: Json, node: NodeState): boolean {
  const exprs = list(term.matchExpressions);
  const fields = list(term.matchFields);
  if (exprs.length === 0 && fields.length === 0) return false;
  return (
    exprs.every((e) => matchesRequirement(e, node.labels[str(e.key) ?? ''])) &&
    fields.every((f) => str(f.key) === 'metadata.name' && matchesRequirement(f, node.name))
  );
}

/** nodeSelector and required node affinity (terms ORed). */
export function matchesNodeAffinity(pod: PodInfo, node: NodeState): boolean {
  for (const [k, v] of Object.entries(record(pod.spec.nodeSelector) ?? {}))
    if (node.labels[k] !== v) return false;
  const required = record(
    at(pod.spec, 'affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution'),
  );
  if (!required) return true;
  return list(required.nodeSelectorTerms).some((t) => matchesTerm(t, node));
}

/** Node names a required affinity on `metadata.name` narrows to (NodeAffinity's PreFilterResult). */
function nodeNamesFromAffinity(pod: PodInfo): Set<string> | undefined {
  const required = record(
    at(pod.spec, 'affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution'),
  );
  if (!required) return undefined;
  let names: Set<string> | undefined;
  for (const term of list(required.nodeSelectorTerms)) {
    const fields = list(term.matchFields).filter(
      (f) => str(f.key) === 'metadata.name' && f.operator === 'In',
    );
    // A term without a name requirement can match any node: no narrowing at all.
    if (fields.length === 0) return undefined;
    let termNames: Set<string> | undefined;
    for (const f of fields) {
      const values = new Set((Array.isArray(f.values) ? f.values : []).map(String));
      termNames = termNames ? new Set([...termNames].filter((n) => values.has(n))) : values;
    }
    names = new Set([...(names ?? []), ...(termNames ?? [])]);
  }
  return names;
}

function untoleratedTaint(pod: PodInfo, node: NodeState): boolean {
  return node.taints.some(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod.tolerations, t),
  );
}

function portsConflict(pod: PodInfo, node: NodeState): boolean {
  if (pod.hostPorts.length === 0) return false;
  for (const existing of node.pods) {
    for (const a of existing.hostPorts) {
      for (const b of pod.hostPorts) {
        if (a.port !== b.port || a.protocol !== b.protocol) continue;
        if (a.hostIP === '0.0.0.0' || b.hostIP === '0.0.0.0' || a.hostIP === b.hostIP) return true;
      }
    }
  }
  return false;
}

/** A request larger than the node's whole allocatable: no eviction can help (UnschedulableAndUnresolvable). */
function beyondAllocatable(pod: PodInfo, node: NodeState): boolean {
  const r = pod.requests;
  return (
    r.milliCpu > node.allocatable.milliCpu ||
    r.memory > node.allocatable.memory ||
    r.ephemeralStorage > node.allocatable.ephemeralStorage ||
    Object.entries(r.scalar).some(([name, amount]) => amount > (node.allocatable.scalar[name] ?? 0))
  );
}

function insufficient(pod: PodInfo, node: NodeState): string[] {
  const reasons: string[] = [];
  if (node.pods.length + 1 > node.allowedPods) reasons.push(REASON.tooManyPods);
  const r = pod.requests;
  const free = (alloc: number, used: number) => alloc - used;
  if (r.milliCpu > 0 && r.milliCpu > free(node.allocatable.milliCpu, node.requested.milliCpu))
    reasons.push('Insufficient cpu');
  if (r.memory > 0 && r.memory > free(node.allocatable.memory, node.requested.memory))
    reasons.push('Insufficient memory');
  if (
    r.ephemeralStorage > 0 &&
    r.ephemeralStorage > free(node.allocatable.ephemeralStorage, node.requested.ephemeralStorage)
  )
    reasons.push('Insufficient ephemeral-storage');
  for (const [name, amount] of Object.entries(r.scalar)) {
    if (amount > 0 && amount > (node.allocatable.scalar[name] ?? 0) - (node.requested.scalar[name] ?? 0))
      reasons.push(`Insufficient ${name}`);
  }
  return reasons;
}

function termNamespaces(term: AffinityTerm, state: ClusterState, namespace: string): boolean {
  if (term.allNamespaces || term.namespaces.includes(namespace)) return true;
  if (!term.namespaceSelector) return false;
  return matchesSelector(term.namespaceSelector, state.namespaceLabels.get(namespace) ?? {});
}

function termMatches(term: AffinityTerm, state: ClusterState, pod: PodInfo): boolean {
  return termNamespaces(term, state, pod.namespace) && matchesSelector(term.selector, pod.labels);
}

/** What PreFilter computes once per pod: spread counts and the inter-pod affinity counts. */
interface PreFilterState {
  readonly spread: readonly SpreadConstraint[];
  /** Per constraint: pods matching per topology value, over the eligible nodes. */
  readonly spreadCounts: readonly Map<string, number>[];
  readonly spreadMin: readonly number[];
  readonly affinityCounts: Map<string, number>;
  readonly antiAffinityCounts: Map<string, number>;
  readonly existingAntiCounts: Map<string, number>;
  readonly narrowedTo?: Set<string>;
}

const pair = (key: string, value: string) => `${key}\u0000${value}`;

function countsSpread(pod: PodInfo, c: SpreadConstraint, node: NodeState): number {
  return node.pods.filter(
    (p) => !p.terminating && p.namespace === pod.namespace && matchesSelector(c.selector, p.labels),
  ).length;
}

function eligibleForSpread(pod: PodInfo, node: NodeState, c: SpreadConstraint): boolean {
  if (c.nodeAffinityPolicy !== 'Ignore' && !matchesNodeAffinity(pod, node)) return false;
  if (c.nodeTaintsPolicy === 'Honor' && untoleratedTaint(pod, node)) return false;
  return true;
}

function preFilter(pod: PodInfo, state: ClusterState): PreFilterState {
  const spread = pod.spread.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
  const spreadCounts = spread.map(() => new Map<string, number>());
  for (const node of state.nodes) {
    if (!spread.every((c) => c.topologyKey in node.labels)) continue;
    spread.forEach((c, i) => {
      if (!eligibleForSpread(pod, node, c)) return;
      const value = node.labels[c.topologyKey];
      spreadCounts[i].set(value, (spreadCounts[i].get(value) ?? 0) + countsSpread(pod, c, node));
    });
  }
  const spreadMin = spread.map((c, i) => {
    const counts = [...spreadCounts[i].values()];
    if (counts.length < c.minDomains) return 0;
    return counts.length === 0 ? 0 : Math.min(...counts);
  });
  const affinityCounts = new Map<string, number>();
  const antiAffinityCounts = new Map<string, number>();
  const existingAntiCounts = new Map<string, number>();
  for (const node of state.nodes) {
    for (const existing of node.pods) {
      if (pod.affinityTerms.length > 0 && pod.affinityTerms.every((t) => termMatches(t, state, existing))) {
        for (const t of pod.affinityTerms) {
          const v = node.labels[t.topologyKey];
          if (v !== undefined)
            affinityCounts.set(pair(t.topologyKey, v), (affinityCounts.get(pair(t.topologyKey, v)) ?? 0) + 1);
        }
      }
      for (const t of pod.antiAffinityTerms) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined && termMatches(t, state, existing))
          antiAffinityCounts.set(
            pair(t.topologyKey, v),
            (antiAffinityCounts.get(pair(t.topologyKey, v)) ?? 0) + 1,
          );
      }
      for (const t of existing.antiAffinityTerms) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined && termMatches(t, state, pod))
          existingAntiCounts.set(
            pair(t.topologyKey, v),
            (existingAntiCounts.get(pair(t.topologyKey, v)) ?? 0) + 1,
          );
      }
    }
  }
  return {
    spread,
    spreadCounts,
    spreadMin,
    affinityCounts,
    antiAffinityCounts,
    existingAntiCounts,
    narrowedTo: nodeNamesFromAffinity(pod),
  };
}

function interPodAffinity(
  pod: PodInfo,
  node: NodeState,
  pre: PreFilterState,
  state: ClusterState,
): NodeRejection | undefined {
  if (pod.affinityTerms.length > 0) {
    let exist = true;
    for (const t of pod.affinityTerms) {
      const v = node.labels[t.topologyKey];
      if (v === undefined)
        return { plugin: 'InterPodAffinity', reasons: [REASON.affinity], resolvable: false };
      if ((pre.affinityCounts.get(pair(t.topologyKey, v)) ?? 0) <= 0) exist = false;
    }
    // The first pod of a group that must be near its own kind may go anywhere.
    const selfMatch = pod.affinityTerms.every((t) => termMatches(t, state, pod));
    if (!exist && !(pre.affinityCounts.size === 0 && selfMatch))
      return { plugin: 'InterPodAffinity', reasons: [REASON.affinity], resolvable: false };
  }
  for (const t of pod.antiAffinityTerms) {
    const v = node.labels[t.topologyKey];
    if (v !== undefined && (pre.antiAffinityCounts.get(pair(t.topologyKey, v)) ?? 0) > 0)
      return { plugin: 'InterPodAffinity', reasons: [REASON.antiAffinity], resolvable: true };
  }
  for (const [k, v] of Object.entries(node.labels)) {
    if ((pre.existingAntiCounts.get(pair(k, v)) ?? 0) > 0)
      return { plugin: 'InterPodAffinity', reasons: [REASON.existingAntiAffinity], resolvable: true };
  }
  return undefined;
}

function topologySpread(pod: PodInfo, node: NodeState, pre: PreFilterState): NodeRejection | undefined {
  for (let i = 0; i < pre.spread.length; i++) {
    const c = pre.spread[i];
    const value = node.labels[c.topologyKey];
    if (value === undefined)
      return { plugin: 'PodTopologySpread', reasons: [REASON.spreadLabel], resolvable: false };
    const selfMatch = matchesSelector(c.selector, pod.labels) ? 1 : 0;
    const skew = (pre.spreadCounts[i].get(value) ?? 0) + selfMatch - pre.spreadMin[i];
    if (skew > c.maxSkew) return { plugin: 'PodTopologySpread', reasons: [REASON.spread], resolvable: true };
  }
  return undefined;
}

/** The Filter plugins in the default profile's order; undefined when the node fits. */
export function filterNode(
  pod: PodInfo,
  node: NodeState,
  state: ClusterState,
  pre: PreFilterState = preFilter(pod, state),
): NodeRejection | undefined {
  if (
    node.unschedulable &&
    !tolerates(pod.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })
  )
    return { plugin: 'NodeUnschedulable', reasons: [REASON.unschedulable], resolvable: false };
  if (pod.nodeName !== undefined && pod.nodeName !== node.name)
    return { plugin: 'NodeName', reasons: [REASON.nodeName], resolvable: false };
  if (untoleratedTaint(pod, node))
    return { plugin: 'TaintToleration', reasons: [REASON.taint], resolvable: false };
  if (!matchesNodeAffinity(pod, node))
    return { plugin: 'NodeAffinity', reasons: [REASON.nodeAffinity], resolvable: false };
  if (portsConflict(pod, node)) return { plugin: 'NodePorts', reasons: [REASON.ports], resolvable: true };
  const short = insufficient(pod, node);
  if (short.length > 0)
    return { plugin: 'NodeResourcesFit', reasons: short, resolvable: !beyondAllocatable(pod, node) };
  return topologySpread(pod, node, pre) ?? interPodAffinity(pod, node, pre, state);
}

/** `5 Insufficient cpu, 1 node(s) ...`: counts per reason, sorted as strings (Go's sort.Strings). */
export function histogram(reasons: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts]
    .map(([r, n]) => `${n} ${r}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .join(', ');
}

/**
 * The FitError text: filter reasons, then the PostFilter plugins' messages (DynamicResources has
 * no claims to free; DefaultPreemption finds no lower-priority victims).
 */
export function fitMessage(
  pod: PodInfo,
  state: ClusterState,
  rejections: ReadonlyMap<string, NodeRejection>,
): string {
  const n = state.nodes.length;
  const filterMsg = histogram([...rejections.values()].flatMap((r) => r.reasons));
  const preemption = state.nodes.map((node) => {
    const r = rejections.get(node.name);
    // Preemption looks for victims on nodes that failed a resolvable filter; pods of equal or higher
    // priority never qualify (evicting lower-priority pods is not simulated).
    return r?.resolvable ? REASON.noVictims : REASON.notHelpful;
  });
  const post =
    pod.preemptionPolicy === 'Never'
      ? 'preemption: not eligible due to preemptionPolicy=Never.'
      : `preemption: 0/${n} nodes are available: ${histogram(preemption)}.`;
  return `0/${n} nodes are available: ${filterMsg}. no new claims to deallocate, ${post}`;
}

export function scheduleOne(pod: PodInfo, state: ClusterState, score: ScoreFn): ScheduleResult {
  const pre = preFilter(pod, state);
  const rejections = new Map<string, NodeRejection>();
  const feasible: NodeState[] = [];
  for (const node of state.nodes) {
    if (pre.narrowedTo && !pre.narrowedTo.has(node.name)) {
      rejections.set(node.name, {
        plugin: 'NodeAffinity',
        reasons: ["node(s) didn't satisfy plugin(s) [NodeAffinity]"],
        resolvable: false,
      });
      continue;
    }
    const rejection = filterNode(pod, node, state, pre);
    if (rejection) rejections.set(node.name, rejection);
    else feasible.push(node);
  }
  if (feasible.length === 0) {
    if (state.nodes.length === 0) return { rejections, message: 'no nodes available to schedule pods' };
    return { rejections, message: fitMessage(pod, state, rejections) };
  }
  if (feasible.length === 1) return { node: feasible[0].name, rejections };
  const scores = score(pod, feasible, state);
  let best = 0;
  for (let i = 1; i < feasible.length; i++) if (scores[i] > scores[best]) best = i;
  return { node: feasible[best].name, rejections };
}

export type ScoreFn = (pod: PodInfo, feasible: readonly NodeState[], state: ClusterState) => number[];
