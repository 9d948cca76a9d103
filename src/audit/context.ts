/** What every check of one audit sees: the rendered objects, their pod templates, the cluster snapshot. */
import type { RenderedObject } from '../render/index.js';
import type { CheckId } from './catalogue.js';
import { matchesLabels, strings, workloadOf, dig, type Workload } from './pods.js';
import type { ClusterSnapshot } from './types.js';

export interface AuditContext {
  readonly objects: readonly RenderedObject[];
  readonly workloads: readonly Workload[];
  /** The environment's namespace (objects without one go there). */
  readonly namespace: string;
  readonly snapshot?: ClusterSnapshot;
  /** Records that a cluster-aware check (or part of it) could not run, and why. */
  readonly skip: (check: CheckId, reason: string) => void;
  /** Rendered objects by `Kind/namespace/name`. */
  readonly byName: ReadonlyMap<string, RenderedObject>;
  /** Rendered objects by kind. */
  readonly byKind: ReadonlyMap<string, readonly RenderedObject[]>;
  /** Rendered Services with a selector, read once. */
  readonly services: readonly {
    readonly rendered: RenderedObject;
    readonly ns: string;
    readonly selector: Readonly<Record<string, string>>;
  }[];
  readonly servedBy: Map<Workload, RenderedObject[]>;
}

export function nameKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** The rendered object of that kind and name in that namespace, if any. */
export function renderedNamed(
  context: AuditContext,
  kind: string,
  namespace: string,
  name: string,
): RenderedObject | undefined {
  return context.byName.get(nameKey(kind, namespace, name));
}

export function createContext(
  objects: readonly RenderedObject[],
  namespace: string,
  snapshot: ClusterSnapshot | undefined,
  skip: (check: CheckId, reason: string) => void,
): AuditContext {
  const workloads = objects.map(workloadOf).filter((w): w is Workload => w !== undefined);
  const byName = new Map<string, RenderedObject>();
  const byKind = new Map<string, RenderedObject[]>();
  for (const o of objects) {
    const ns = o.object.metadata.namespace ?? namespace;
    byName.set(nameKey(o.object.kind, ns, o.object.metadata.name ?? ''), o);
    byKind.set(o.object.kind, [...(byKind.get(o.object.kind) ?? []), o]);
  }
  const services = (byKind.get('Service') ?? []).map((rendered) => ({
    rendered,
    ns: rendered.object.metadata.namespace ?? namespace,
    selector: strings(dig(rendered.object, ['spec', 'selector'])),
  }));
  return {
    objects,
    workloads,
    namespace,
    ...(snapshot ? { snapshot } : {}),
    skip,
    byName,
    byKind,
    services,
    servedBy: new Map(),
  };
}

export function nsOf(context: AuditContext, target: RenderedObject): string {
  return target.object.metadata.namespace ?? context.namespace;
}

/** Rendered Services whose selector matches the workload's pod labels. */
export function servicesOf(context: AuditContext, workload: Workload): RenderedObject[] {
  let found = context.servedBy.get(workload);
  if (!found) {
    const ns = nsOf(context, workload.rendered);
    found = context.services
      .filter((s) => s.ns === ns && matchesLabels(s.selector, workload.labels))
      .map((s) => s.rendered);
    context.servedBy.set(workload, found);
  }
  return found;
}

/** Why the live part of the namespace is unknown (no snapshot, or it could not be read). */
export function liveUnknown(context: AuditContext): string | undefined {
  if (!context.snapshot) return 'no cluster access';
  return context.snapshot.live
    ? undefined
    : (context.snapshot.unavailable?.live ?? 'the namespace could not be read');
}
