// The nodes and the pods bound to them, as the scheduler's cache holds them, with what each
// node has left. Pods are added and removed as the simulated rollout goes.
import { at, list, record, str, type Json } from '../../shared/index.js';
import { emptyResources, parseResources, type PodInfo, type Resources, type Taint } from './pod-info.js';

export interface NodeState {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly unschedulable: boolean;
  readonly allocatable: Resources;
  readonly allowedPods: number;
  pods: PodInfo[];
  requested: Resources;
  nonZero: { milliCpu: number; memory: number };
}

export function nodeState(node: { metadata?: Json; spec?: Json; status?: Json }): NodeState {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(at(node, 'metadata', 'labels')) ?? {}))
    if (typeof v === 'string') labels[k] = v;
  const allocatable = record(at(node, 'status', 'allocatable')) ?? {};
  const pods = Number(str(allocatable.pods) ?? allocatable.pods ?? 0);
  return {
    name: str(at(node, 'metadata', 'name')) ?? '',
    labels,
    taints: list(at(node, 'spec', 'taints')).map((t) => ({
      key: str(t.key) ?? '',
      value: str(t.value),
      effect: str(t.effect) ?? '',
    })),
    unschedulable: at(node, 'spec', 'unschedulable') === true,
    allocatable: parseResources(allocatable),
    allowedPods: Number.isFinite(pods) ? pods : 0,
    pods: [],
    requested: emptyResources(),
    nonZero: { milliCpu: 0, memory: 0 },
  };
}

function addTo(into: Resources, r: Resources, sign: number): void {
  into.milliCpu += sign * r.milliCpu;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  for (const [k, v] of Object.entries(r.scalar)) into.scalar[k] = (into.scalar[k] ?? 0) + sign * v;
}

export class ClusterState {
  readonly nodes: NodeState[];
  private readonly byName: Map<string, NodeState>;

  constructor(
    nodes: readonly NodeState[],
    /** Namespace labels, for affinity terms with a namespaceSelector. */
    readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map(),
  ) {
    this.nodes = nodes.map((n) => ({
      ...n,
      pods: [...n.pods],
      requested: { ...n.requested, scalar: { ...n.requested.scalar } },
      nonZero: { ...n.nonZero },
    }));
    this.byName = new Map(this.nodes.map((n) => [n.name, n]));
  }

  clone(): ClusterState {
    return new ClusterState(this.nodes, this.namespaceLabels);
  }

  node(name: string | undefined): NodeState | undefined {
    return name === undefined ? undefined : this.byName.get(name);
  }

  /** Binds a pod to a node; false when there is no such node. */
  bind(pod: PodInfo, nodeName: string): boolean {
    const node = this.byName.get(nodeName);
    if (!node) return false;
    pod.nodeName = nodeName;
    node.pods.push(pod);
    addTo(node.requested, pod.requests, 1);
    node.nonZero.milliCpu += pod.nonZero.milliCpu;
    node.nonZero.memory += pod.nonZero.memory;
    return true;
  }

  unbind(pod: PodInfo): void {
    const node = this.byName.get(pod.nodeName ?? '');
    if (!node) return;
    const i = node.pods.indexOf(pod);
    if (i < 0) return;
    node.pods.splice(i, 1);
    addTo(node.requested, pod.requests, -1);
    node.nonZero.milliCpu -= pod.nonZero.milliCpu;
    node.nonZero.memory -= pod.nonZero.memory;
  }

  pods(): PodInfo[] {
    return this.nodes.flatMap((n) => n.pods);
  }
}
