// A pod as the scheduler sees it: requests summed the way NodeResourcesFit sums them, host ports,
// tolerations, affinity terms and spread constraints read once from the raw pod spec.
import {
  at,
  list,
  matchesSelector as matchesLabelSelector,
  parseQuantity,
  record,
  str,
  type Json,
  type LabelSelector,
} from '../../shared/index.js';

export interface Resources {
  milliCpu: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources (`nvidia.com/gpu`, hugepages) by name. */
  scalar: Record<string, number>;
}

export interface HostPort {
  readonly hostIP: string;
  readonly protocol: string;
  readonly port: number;
}

export interface AffinityTerm {
  readonly selector: LabelSelector | undefined;
  readonly topologyKey: string;
  /** Namespaces the term looks in; undefined with `allNamespaces` false means none beyond these. */
  readonly namespaces: readonly string[];
  /** An empty namespaceSelector: every namespace. */
  readonly allNamespaces: boolean;
  readonly namespaceSelector?: LabelSelector;
}

export interface SpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: string;
  readonly selector: LabelSelector | undefined;
  readonly minDomains: number;
  readonly nodeAffinityPolicy: string;
  readonly nodeTaintsPolicy: string;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface PodInfo {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  nodeName?: string;
  readonly terminating: boolean;
  readonly spec: Json;
  readonly requests: Resources;
  /** Requests with 100m CPU and 200 MiB for containers that ask for none: what scoring counts. */
  readonly nonZero: { milliCpu: number; memory: number };
  readonly limits: Resources;
  readonly hostPorts: readonly HostPort[];
  readonly tolerations: readonly Toleration[];
  readonly affinityTerms: readonly AffinityTerm[];
  readonly antiAffinityTerms: readonly AffinityTerm[];
  readonly spread: readonly SpreadConstraint[];
  readonly priority: number;
  readonly preemptionPolicy: string;
  /** Owner kind/name, for the system default spreading and the rollout's bookkeeping. */
  readonly owner?: { kind: string; name: string };
}

const DEFAULT_MILLI_CPU = 100;
const DEFAULT_MEMORY = 200 * 1024 * 1024;

export function emptyResources(): Resources {
  return { milliCpu: 0, memory: 0, ephemeralStorage: 0, scalar: {} };
}

function add(into: Resources, r: Resources): void {
  into.milliCpu += r.milliCpu;
  into.memory += r.memory;
  into.ephemeralStorage += r.ephemeralStorage;
  for (const [k, v] of Object.entries(r.scalar)) into.scalar[k] = (into.scalar[k] ?? 0) + v;
}

function max(into: Resources, r: Resources): void {
  into.milliCpu = Math.max(into.milliCpu, r.milliCpu);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of Object.entries(r.scalar)) into.scalar[k] = Math.max(into.scalar[k] ?? 0, v);
}

function copy(r: Resources): Resources {
  return { ...r, scalar: { ...r.scalar } };
}

/** Go's Quantity.MilliValue() and Value() round up. */
function ceil(value: number): number {
  const rounded = Math.round(value);
  return Math.abs(value - rounded) < 1e-6 ? rounded : Math.ceil(value);
}

/** A resource list (`{cpu: 500m, memory: 1Gi}`) in the scheduler's units. */
export function parseResources(value: unknown): Resources {
  const out = emptyResources();
  for (const [name, raw] of Object.entries(record(value) ?? {})) {
    const q = parseQuantity(raw);
    if (q === undefined) continue;
    if (name === 'cpu') out.milliCpu = ceil(q * 1000);
    else if (name === 'memory') out.memory = ceil(q);
    else if (name === 'ephemeral-storage') out.ephemeralStorage = ceil(q);
    else if (name !== 'pods') out.scalar[name] = ceil(q);
  }
  return out;
}

/** What the API server's defaulting and the LimitRanger admission make of a container's resources. */
export interface ContainerDefaults {
  readonly defaultRequest?: Json;
  readonly defaultLimit?: Json;
}

export function containerResources(
  container: Json,
  defaults: ContainerDefaults = {},
): { requests: Json; limits: Json } {
  const limits: Json = {
    ...(record(defaults.defaultLimit) ?? {}),
    ...(record(at(container, 'resources', 'limits')) ?? {}),
  };
  const own = record(at(container, 'resources', 'requests')) ?? {};
  const ownLimits = record(at(container, 'resources', 'limits')) ?? {};
  // Defaulting (requests from the container's own limits) happens before the LimitRanger.
  const requests: Json = { ...(record(defaults.defaultRequest) ?? {}), ...ownLimits, ...own };
  return { requests, limits };
}

/**
 * Requests as NodeResourcesFit computes them: the containers' sum, or more if an init container
 * (plus the sidecars started before it) needs more; sidecars add to the sum; then pod overhead.
 */
export function podRequests(
  spec: Json,
  pick: (c: Json) => Json,
  options: { nonZero?: boolean } = {},
): Resources {
  const of = (c: Json): Resources => {
    const r = parseResources(pick(c));
    if (options.nonZero) {
      if (r.milliCpu === 0) r.milliCpu = DEFAULT_MILLI_CPU;
      if (r.memory === 0) r.memory = DEFAULT_MEMORY;
    }
    return r;
  };
  const reqs = emptyResources();
  for (const c of list(spec.containers)) add(reqs, of(c));
  const sidecars = emptyResources();
  const init = emptyResources();
  for (const c of list(spec.initContainers)) {
    let r = of(c);
    if (c.restartPolicy === 'Always') {
      add(reqs, r);
      add(sidecars, r);
      r = copy(sidecars);
    } else {
      add(r, sidecars);
    }
    max(init, r);
  }
  max(reqs, init);
  // Pod-level resources replace the containers' sum for the resources they name.
  const podLevel = parseResources(at(spec, 'resources', 'requests'));
  if (podLevel.milliCpu > 0) reqs.milliCpu = podLevel.milliCpu;
  if (podLevel.memory > 0) reqs.memory = podLevel.memory;
  add(reqs, parseResources(spec.overhead));
  return reqs;
}

function labelsOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(value) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

export function selectorOf(value: unknown): LabelSelector | undefined {
  const s = record(value);
  if (!s) return undefined;
  return {
    matchLabels: labelsOf(s.matchLabels),
    matchExpressions: list(s.matchExpressions).map((e) => ({
      key: str(e.key) ?? '',
      operator: str(e.operator) ?? '',
      values: Array.isArray(e.values) ? e.values.filter((v): v is string => typeof v === 'string') : [],
    })),
  };
}

/** matchLabelKeys and mismatchLabelKeys become part of the selector, as the API server merges them. */
function withLabelKeys(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
  match: unknown,
  mismatch: unknown,
): LabelSelector | undefined {
  const keys = (v: unknown) => (Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : []);
  const extra = [
    ...keys(match)
      .filter((k) => k in labels)
      .map((k) => ({ key: k, operator: 'In', values: [labels[k]] })),
    ...keys(mismatch)
      .filter((k) => k in labels)
      .map((k) => ({ key: k, operator: 'NotIn', values: [labels[k]] })),
  ];
  if (extra.length === 0 || !selector) return selector;
  return { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...extra] };
}

function terms(value: unknown, namespace: string, labels: Record<string, string>): AffinityTerm[] {
  return list(value).map((t) => {
    const nsSelector = record(t.namespaceSelector);
    const namespaces = Array.isArray(t.namespaces)
      ? t.namespaces.filter((n): n is string => typeof n === 'string')
      : [];
    const emptyNsSelector =
      nsSelector !== undefined &&
      Object.keys(record(nsSelector.matchLabels) ?? {}).length === 0 &&
      list(nsSelector.matchExpressions).length === 0;
    return {
      selector: withLabelKeys(selectorOf(t.labelSelector), labels, t.matchLabelKeys, t.mismatchLabelKeys),
      topologyKey: str(t.topologyKey) ?? '',
      namespaces: namespaces.length === 0 && !nsSelector ? [namespace] : namespaces,
      allNamespaces: emptyNsSelector,
      namespaceSelector: emptyNsSelector ? undefined : selectorOf(nsSelector),
    };
  });
}

function hostPortsOf(spec: Json): HostPort[] {
  const containers = [
    ...list(spec.containers),
    ...list(spec.initContainers).filter((c) => c.restartPolicy === 'Always'),
  ];
  return containers.flatMap((c) =>
    list(c.ports)
      .filter((p) => typeof p.hostPort === 'number' && p.hostPort > 0)
      .map((p) => ({
        hostIP: str(p.hostIP) || '0.0.0.0',
        protocol: str(p.protocol) || 'TCP',
        port: p.hostPort as number,
      })),
  );
}

export interface PodInput {
  readonly metadata?: Json;
  readonly spec?: Json;
}

/**
 * The spec as the LimitRanger admission leaves it: every container's resources with the defaults
 * written in, so that the quota admission after it (QuotaLedger.admit) sees them as the API server
 * does. Unchanged (the same object) without defaults.
 */
function withDefaults(spec: Json, defaults: ContainerDefaults): Json {
  const any =
    Object.keys(record(defaults.defaultRequest) ?? {}).length +
    Object.keys(record(defaults.defaultLimit) ?? {}).length;
  if (any === 0) return spec;
  const fill = (containers: unknown) =>
    list(containers).map((c) => ({
      ...c,
      resources: { ...record(c.resources), ...containerResources(c, defaults) },
    }));
  return {
    ...spec,
    containers: fill(spec.containers),
    ...(spec.initContainers === undefined ? {} : { initContainers: fill(spec.initContainers) }),
  };
}

/**
 * Reads a pod, or a pod template about to become one in `namespace` (LimitRange defaults applied
 * to containers that do not set their resources, as the admission would).
 */
export function podInfo(
  pod: PodInput,
  options: { namespace?: string; name?: string; defaults?: ContainerDefaults; nodeName?: string } = {},
): PodInfo {
  const metadata = pod.metadata ?? {};
  const defaults = options.defaults ?? {};
  const spec = withDefaults(pod.spec ?? {}, defaults);
  const namespace = str(metadata.namespace) ?? options.namespace ?? 'default';
  const labels = labelsOf(metadata.labels);
  const req = (c: Json) => containerResources(c, defaults).requests;
  const lim = (c: Json) => containerResources(c, defaults).limits;
  const affinity = record(spec.affinity) ?? {};
  const owner =
    list(metadata.ownerReferences).find((o) => o.controller === true) ?? list(metadata.ownerReferences)[0];
  const spread = list(spec.topologySpreadConstraints).map((c) => ({
    maxSkew: typeof c.maxSkew === 'number' ? c.maxSkew : 1,
    topologyKey: str(c.topologyKey) ?? '',
    whenUnsatisfiable: str(c.whenUnsatisfiable) ?? 'DoNotSchedule',
    selector: withLabelKeys(selectorOf(c.labelSelector), labels, c.matchLabelKeys, undefined),
    minDomains: typeof c.minDomains === 'number' ? c.minDomains : 1,
    nodeAffinityPolicy: str(c.nodeAffinityPolicy) ?? 'Honor',
    nodeTaintsPolicy: str(c.nodeTaintsPolicy) ?? 'Ignore',
  }));
  return {
    name: str(metadata.name) ?? options.name ?? '',
    namespace,
    labels,
    nodeName: str(spec.nodeName) ?? options.nodeName,
    terminating: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
    spec,
    requests: podRequests(spec, req),
    nonZero: podRequests(spec, req, { nonZero: true }),
    limits: podRequests(spec, lim),
    hostPorts: hostPortsOf(spec),
    tolerations: list(spec.tolerations).map((t) => ({
      key: str(t.key),
      operator: str(t.operator),
      value: str(t.value),
      effect: str(t.effect),
    })),
    affinityTerms: terms(
      at(affinity, 'podAffinity', 'requiredDuringSchedulingIgnoredDuringExecution'),
      namespace,
      labels,
    ),
    antiAffinityTerms: terms(
      at(affinity, 'podAntiAffinity', 'requiredDuringSchedulingIgnoredDuringExecution'),
      namespace,
      labels,
    ),
    spread,
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    preemptionPolicy: str(spec.preemptionPolicy) ?? 'PreemptLowerPriority',
    owner: owner ? { kind: str(owner.kind) ?? '', name: str(owner.name) ?? '' } : undefined,
  };
}

export type { LabelSelector };

/** Whether labels satisfy a label selector; a missing (null) selector matches nothing, as the scheduler reads it. */
export function matchesSelector(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  return selector !== undefined && matchesLabelSelector(selector, labels);
}
