// The default profile's Score plugins that decide where identical pods go, and so how many fit:
// LeastAllocated and BalancedAllocation, TaintToleration, preferred node affinity and
// PodTopologySpread (with the system default spreading). Not scored here: InterPodAffinity's
// preferred terms and ImageLocality (the simulator ranks those nodes equal).
import { at, list, record } from '../../shared/index.js';
import type { ClusterState, NodeState } from './cluster-state.js';
import { matchesSelector, type LabelSelector, type PodInfo, type SpreadConstraint } from './pod-info.js';
import { matchesNodeAffinity, matchesTerm, tolerates, type ScoreFn } from './schedule-pod.js';

const MAX = 100;
const HOSTNAME = 'kubernetes.io/hostname';

function leastAllocated(pod: PodInfo, node: NodeState): number {
  const one = (alloc: number, used: number) => {
    if (alloc === 0 || used > alloc) return 0;
    return Math.floor(((alloc - used) * MAX) / alloc);
  };
  const parts: number[] = [];
  if (node.allocatable.milliCpu > 0)
    parts.push(one(node.allocatable.milliCpu, node.nonZero.milliCpu + pod.nonZero.milliCpu));
  if (node.allocatable.memory > 0)
    parts.push(one(node.allocatable.memory, node.nonZero.memory + pod.nonZero.memory));
  return parts.length === 0 ? 0 : Math.floor(parts.reduce((a, b) => a + b, 0) / parts.length);
}

/** v1.36 scores the change in balance the pod makes: 75 for none, 50..100 worse to better. */
function balanced(pod: PodInfo, node: NodeState): number {
  const balance = (cpu: number, mem: number) => {
    const f = [] as number[];
    if (node.allocatable.milliCpu > 0) f.push(Math.min(1, cpu / node.allocatable.milliCpu));
    if (node.allocatable.memory > 0) f.push(Math.min(1, mem / node.allocatable.memory));
    if (f.length < 2) return 1;
    return 1 - Math.abs(f[0] - f[1]) / 2;
  };
  const without = balance(node.requested.milliCpu, node.requested.memory) * MAX;
  const withPod =
    balance(node.requested.milliCpu + pod.requests.milliCpu, node.requested.memory + pod.requests.memory) *
    MAX;
  return Math.trunc(50 + (50 + withPod - without) / 2);
}

function taintScores(pod: PodInfo, nodes: readonly NodeState[]): number[] {
  const counts = nodes.map(
    (n) => n.taints.filter((t) => t.effect === 'PreferNoSchedule' && !tolerates(pod.tolerations, t)).length,
  );
  const max = Math.max(0, ...counts);
  return counts.map((c) => (max === 0 ? MAX : MAX - Math.floor((MAX * c) / max)));
}

function nodeAffinityScores(pod: PodInfo, nodes: readonly NodeState[]): number[] {
  const preferred = list(
    at(pod.spec, 'affinity', 'nodeAffinity', 'preferredDuringSchedulingIgnoredDuringExecution'),
  );
  const raw = nodes.map((n) =>
    preferred.reduce((sum, p) => {
      const term = record(p.preference);
      const weight = typeof p.weight === 'number' ? p.weight : 0;
      return term && matchesTerm(term, n) ? sum + weight : sum;
    }, 0),
  );
  const max = Math.max(0, ...raw);
  return raw.map((s) => (max === 0 ? 0 : Math.floor((MAX * s) / max)));
}

function spreadScores(
  pod: PodInfo,
  nodes: readonly NodeState[],
  state: ClusterState,
  defaultSelector: LabelSelector | undefined,
): number[] | undefined {
  let constraints: SpreadConstraint[];
  const systemDefaulted = pod.spread.length === 0;
  if (systemDefaulted) {
    if (!defaultSelector) return undefined;
    const base = {
      whenUnsatisfiable: 'ScheduleAnyway',
      selector: defaultSelector,
      minDomains: 1,
      nodeAffinityPolicy: 'Honor',
      nodeTaintsPolicy: 'Ignore',
    };
    constraints = [
      { ...base, topologyKey: HOSTNAME, maxSkew: 3 },
      { ...base, topologyKey: 'topology.kubernetes.io/zone', maxSkew: 5 },
    ];
  } else {
    constraints = pod.spread.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    if (constraints.length === 0) return undefined;
  }
  const requireAll = !systemDefaulted;
  const hasAll = (n: NodeState) => constraints.every((c) => c.topologyKey in n.labels);
  const ignored = new Set(nodes.filter((n) => requireAll && !hasAll(n)).map((n) => n.name));
  const domains = constraints.map(() => new Map<string, number>());
  for (const n of nodes) {
    if (ignored.has(n.name)) continue;
    constraints.forEach((c, i) => {
      if (c.topologyKey !== HOSTNAME && c.topologyKey in n.labels) domains[i].set(n.labels[c.topologyKey], 0);
    });
  }
  const count = (n: NodeState, c: SpreadConstraint) =>
    n.pods.filter(
      (p) => !p.terminating && p.namespace === pod.namespace && matchesSelector(c.selector, p.labels),
    ).length;
  for (const n of state.nodes) {
    if (requireAll && !hasAll(n)) continue;
    constraints.forEach((c, i) => {
      if (c.topologyKey === HOSTNAME) return;
      if (c.nodeAffinityPolicy !== 'Ignore' && !matchesNodeAffinity(pod, n)) return;
      const v = n.labels[c.topologyKey];
      if (v !== undefined && domains[i].has(v)) domains[i].set(v, domains[i].get(v)! + count(n, c));
    });
  }
  const weights = constraints.map((c, i) =>
    Math.log((c.topologyKey === HOSTNAME ? nodes.length - ignored.size : domains[i].size) + 2),
  );
  const raw = nodes.map((n) => {
    if (ignored.has(n.name)) return undefined;
    let s = 0;
    constraints.forEach((c, i) => {
      const v = n.labels[c.topologyKey];
      if (v === undefined) return;
      const cnt = c.topologyKey === HOSTNAME ? count(n, c) : (domains[i].get(v) ?? 0);
      s += cnt * weights[i] + (c.maxSkew - 1);
    });
    return Math.round(s);
  });
  const valid = raw.filter((s): s is number => s !== undefined);
  const min = Math.min(...valid);
  const max = Math.max(0, ...valid);
  return raw.map((s) => (s === undefined ? 0 : max === 0 ? MAX : Math.floor((MAX * (max + min - s)) / max)));
}

/** Weighted sum of the plugins' normalised scores, per feasible node. */
export function defaultScore(
  defaultSelector: (pod: PodInfo) => LabelSelector | undefined = () => undefined,
): ScoreFn {
  return (pod, nodes, state) => {
    const taints = taintScores(pod, nodes);
    const affinity = nodeAffinityScores(pod, nodes);
    const spread = spreadScores(pod, nodes, state, defaultSelector(pod));
    const bestEffort = pod.requests.milliCpu === 0 && pod.requests.memory === 0;
    return nodes.map(
      (n, i) =>
        3 * taints[i] +
        2 * affinity[i] +
        2 * (spread?.[i] ?? 0) +
        leastAllocated(pod, n) +
        (bestEffort ? 0 : balanced(pod, n)),
    );
  };
}
