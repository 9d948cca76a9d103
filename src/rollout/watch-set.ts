// The informers of one wait: the targets' own kinds, and per namespace the pods, ReplicaSets,
// EndpointSlices and Warning events the rules need; with what their requests say about the API server.
import type { InformerClient } from '../kube/index.js';
import { Informer, isKubeApiError } from '../kube/index.js';
import type { KubeObject } from '../shared/index.js';

export type Role = 'pods' | 'replicaSets' | 'slices' | 'events';

const ROLES: Record<Role, { apiVersion: string; kind: string; fieldSelector?: string; optional?: boolean }> =
  {
    pods: { apiVersion: 'v1', kind: 'Pod' },
    replicaSets: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
    slices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
    // Only sharpens judgments (pull errors, quota refusals): a deploy identity that may not read
    // events still waits, as before.
    events: { apiVersion: 'v1', kind: 'Event', fieldSelector: 'type=Warning', optional: true },
  };

export interface Unreachable {
  readonly since: Date;
  /** Failed requests of the informer in trouble longest. */
  readonly retries: number;
  readonly lastError?: string;
}

/** `API server unreachable since <time> (N retries, last: <error>)`: how every command words it. */
export function describeUnreachable(unreachable: Unreachable): string {
  const { since, retries, lastError } = unreachable;
  return `API server unreachable since ${since.toISOString()} (${retries} retries${lastError ? `, last: ${lastError}` : ''})`;
}

export interface WatchSetOptions {
  readonly signal: AbortSignal;
  readonly onChange: () => void;
  /** Label selector of the targets' own informers. */
  readonly selector?: string;
  readonly now: () => number;
}

/**
 * Orders two resourceVersions of one resource, as Kubernetes allows since 1.35 (KEP-5504: positive
 * integers without leading zeros, compared as numbers); undefined when either is not such an integer
 * (an aggregated API's own versions), which only equality can compare.
 */
export function compareResourceVersions(
  a: string | undefined,
  b: string | undefined,
): -1 | 0 | 1 | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a === b) return 0;
  const integer = /^[1-9][0-9]*$/;
  if (!integer.test(a) || !integer.test(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}

function nsOf(object: KubeObject): string {
  return object.metadata.namespace ?? '';
}

function isTransient(error: unknown): boolean {
  return !isKubeApiError(error) || error.transient;
}

export class WatchSet {
  private readonly informers = new Map<string, { informer: Informer; optional: boolean }>();
  private listener: () => void;

  constructor(
    private readonly client: InformerClient,
    private readonly options: WatchSetOptions,
  ) {
    this.listener = options.onChange;
  }

  /** Who is told of changes from now on (a wait taking over watches started before the apply). */
  onChange(listener: () => void): void {
    this.listener = listener;
  }

  /**
   * Everything a wait on these targets (those that need a watch) reads: their own kinds, and per
   * namespace pods and Warning events for workloads, ReplicaSets for Deployments, EndpointSlices
   * for Services. Adding what is already watched changes nothing.
   */
  watchTargets(watched: readonly KubeObject[], workloadKinds: ReadonlySet<string>): void {
    for (const t of watched) this.watchTarget(t);
    for (const ns of new Set(watched.map(nsOf))) {
      const kinds = new Set(watched.filter((t) => nsOf(t) === ns).map((t) => t.kind));
      if ([...kinds].some((k) => workloadKinds.has(k))) {
        this.watch('pods', ns);
        this.watch('events', ns);
      }
      if (kinds.has('Deployment')) this.watch('replicaSets', ns);
      if (kinds.has('Service')) this.watch('slices', ns);
    }
  }

  private add(
    key: string,
    spec: {
      apiVersion: string;
      kind: string;
      namespace: string;
      labelSelector?: string;
      fieldSelector?: string;
      optional?: boolean;
    },
  ): Informer {
    const known = this.informers.get(key);
    if (known) return known.informer;
    const informer = new Informer(this.client, {
      apiVersion: spec.apiVersion,
      kind: spec.kind,
      namespace: spec.namespace || undefined,
      labelSelector: spec.labelSelector,
      fieldSelector: spec.fieldSelector,
      signal: this.options.signal,
      onChange: () => this.listener(),
      onError: () => this.listener(),
      now: this.options.now,
    });
    informer.synced.then(
      () => this.listener(),
      () => this.listener(),
    );
    this.informers.set(key, { informer, optional: spec.optional ?? false });
    return informer;
  }

  watchTarget(target: KubeObject): void {
    const { apiVersion, kind } = target;
    this.add(`target|${apiVersion}|${kind}|${nsOf(target)}`, {
      apiVersion,
      kind,
      namespace: nsOf(target),
      labelSelector: this.options.selector,
    });
  }

  watch(role: Role, namespace: string): void {
    this.add(`${role}|${namespace}`, { ...ROLES[role], namespace });
  }

  /**
   * The live copy of a target, once listed and at least as new as the target (the object as
   * applied): watches started before the apply may still hold the copy from before it.
   */
  live(target: KubeObject): KubeObject | undefined {
    const live = this.copyOf(target);
    return live !== undefined && this.isOlder(live, target) ? undefined : live;
  }

  /** Whether the watch holds only a copy of the target older than the object as applied. */
  holdsOlderCopy(target: KubeObject): boolean {
    const copy = this.copyOf(target);
    return copy !== undefined && this.isOlder(copy, target);
  }

  private copyOf(target: KubeObject): KubeObject | undefined {
    return this.informers
      .get(`target|${target.apiVersion}|${target.kind}|${nsOf(target)}`)
      ?.informer.get(target.metadata.namespace, target.metadata.name ?? '');
  }

  private isOlder(copy: KubeObject, target: KubeObject): boolean {
    const applied = target.metadata.resourceVersion;
    if (applied === undefined) return false;
    return (compareResourceVersions(copy.metadata.resourceVersion, applied) ?? 0) < 0;
  }

  /** A namespace's objects of one role; undefined when not watched (or, if optional, refused). */
  objects(role: Role, namespace: string): KubeObject[] | undefined {
    const entry = this.informers.get(`${role}|${namespace}`);
    if (!entry || entry.informer.health.refused !== undefined) return undefined;
    return entry.informer.values();
  }

  /** Every informer has listed once (optional ones may instead have been refused). */
  get synced(): boolean {
    return [...this.informers.values()].every(
      ({ informer, optional }) =>
        informer.health.synced || (optional && informer.health.refused !== undefined),
    );
  }

  /** The first refusal of a needed informer: retrying will not help, so the wait cannot go on. */
  refusal(): Error | undefined {
    for (const { informer, optional } of this.informers.values()) {
      if (!optional && informer.health.refused !== undefined) return informer.health.refused;
    }
    return undefined;
  }

  /**
   * Since when the API server has not answered, when some informer has not listed yet or is failing
   * with errors retrying may cure (or with none at all: a request that hangs).
   */
  unreachable(): Unreachable | undefined {
    let worst: { since: number; retries: number; lastError?: unknown } | undefined;
    for (const { informer } of this.informers.values()) {
      const health = informer.health;
      if (health.troubleSince === undefined || health.refused !== undefined) continue;
      if (health.lastError !== undefined && !isTransient(health.lastError)) continue;
      if (worst === undefined || health.troubleSince < worst.since) {
        worst = { since: health.troubleSince, retries: health.failures, lastError: health.lastError };
      }
    }
    if (worst === undefined) return undefined;
    const lastError = worst.lastError instanceof Error ? worst.lastError.message : undefined;
    return { since: new Date(worst.since), retries: worst.retries, ...(lastError ? { lastError } : {}) };
  }
}
