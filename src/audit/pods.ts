/** Pod templates of the rendered objects, label selectors, and the small readers the checks share. */
import { TEMPLATE_PATHS, type RenderedObject } from '../render/index.js';
import { isRecord, type Json, type KubeObject, type LabelSelector } from '../shared/index.js';

export type { Json };

/** A rendered object that holds a pod template, with the path of that template inside it. */
export interface Workload {
  readonly rendered: RenderedObject;
  readonly object: KubeObject;
  /** Path of the pod template (the object itself for a Pod). */
  readonly podPath: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Json;
  /** spec.replicas (default 1) for Deployments, StatefulSets and ReplicaSets; undefined otherwise. */
  readonly replicas?: number;
}

/** A bare Pod is its own template. */
const POD_PATHS: Readonly<Record<string, readonly string[]>> = { Pod: [], ...TEMPLATE_PATHS };

const REPLICATED = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);

export function dig(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isRecord(node)) node = node[key];
    else return undefined;
  }
  return node;
}

export function strings(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

export function workloadOf(rendered: RenderedObject): Workload | undefined {
  const object = rendered.object;
  const podPath = POD_PATHS[object.kind];
  if (!podPath) return undefined;
  const template = podPath.length === 0 ? object : dig(object, podPath);
  if (!isRecord(template) || !isRecord(template['spec'])) return undefined;
  const replicas = dig(object, ['spec', 'replicas']);
  return {
    rendered,
    object,
    podPath,
    labels: strings(dig(template, ['metadata', 'labels'])),
    annotations: strings(dig(template, ['metadata', 'annotations'])),
    spec: template['spec'],
    ...(REPLICATED.has(object.kind) ? { replicas: typeof replicas === 'number' ? replicas : 1 } : {}),
  };
}

export interface ContainerAt {
  readonly container: Json;
  readonly path: readonly string[];
  readonly init: boolean;
}

export function containersOf(workload: Workload): ContainerAt[] {
  const out: ContainerAt[] = [];
  for (const field of ['initContainers', 'containers'] as const) {
    const items = workload.spec[field];
    (Array.isArray(items) ? (items as unknown[]) : []).forEach((container, index) => {
      if (isRecord(container))
        out.push({
          container,
          path: [...workload.podPath, 'spec', field, String(index)],
          init: field === 'initContainers',
        });
    });
  }
  return out;
}

export { matchesSelector } from '../shared/index.js';
export type { LabelSelector };

/** A Service-style selector (plain labels): matches when every pair is present; empty matches nothing. */
export function matchesLabels(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

export function selectorOf(value: unknown): LabelSelector | undefined {
  return isRecord(value) ? value : undefined;
}

export function namespaceOf(object: KubeObject, fallback: string): string {
  return object.metadata.namespace ?? fallback;
}
