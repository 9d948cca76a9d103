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
}

export function createContext(
  objects: readonly RenderedObject[],
  namespace: string,
  snapshot: ClusterSnapshot | undefined,
  skip: (check: CheckId, reason: string) => void,
): AuditContext {
  const workloads = objects.map(workloadOf).filter((w): w is Workload => w !== undefined);
  return { objects, workloads, namespace, ...(snapshot ? { snapshot } : {}), skip };
}

export function nsOf(context: AuditContext, target: RenderedObject): string {
  return target.object.metadata.namespace ?? context.namespace;
}

/** Rendered Services whose selector matches the workload's pod labels. */
export function servicesOf(context: AuditContext, workload: Workload): RenderedObject[] {
  const ns = nsOf(context, workload.rendered);
  return context.objects.filter(
    (o) =>
      o.object.kind === 'Service' &&
      nsOf(context, o) === ns &&
      matchesLabels(strings(dig(o.object, ['spec', 'selector'])), workload.labels),
  );
}

/** Why the live part of the namespace is unknown (no snapshot, or it could not be read). */
export function liveUnknown(context: AuditContext): string | undefined {
  if (!context.snapshot) return 'no cluster access';
  return context.snapshot.live
    ? undefined
    : (context.snapshot.unavailable?.live ?? 'the namespace could not be read');
}
