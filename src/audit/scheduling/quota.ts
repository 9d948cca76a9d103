// What the ResourceQuota admission would say about one more pod in a namespace.
import { at, list, parseQuantity, record, str, type Json } from '../../shared/index.js';
import type { PodInfo } from './pod-info.js';

interface Quota {
  readonly name: string;
  readonly hard: Map<string, number>;
  readonly used: Map<string, number>;
}

/** A pod's usage under each quota key, in base units (cpu in cores). */
function usage(pod: PodInfo): Map<string, number> {
  const m = new Map<string, number>([
    ['pods', 1],
    ['count/pods', 1],
    ['requests.cpu', pod.requests.milliCpu / 1000],
    ['cpu', pod.requests.milliCpu / 1000],
    ['limits.cpu', pod.limits.milliCpu / 1000],
    ['requests.memory', pod.requests.memory],
    ['memory', pod.requests.memory],
    ['limits.memory', pod.limits.memory],
    ['requests.ephemeral-storage', pod.requests.ephemeralStorage],
    ['ephemeral-storage', pod.requests.ephemeralStorage],
    ['limits.ephemeral-storage', pod.limits.ephemeralStorage],
  ]);
  for (const [k, v] of Object.entries(pod.requests.scalar)) m.set(`requests.${k}`, v);
  return m;
}

/** A quantity as the API server prints it: `2`, `500m`, `1Gi`, `1536Mi`. */
export function formatQuantity(key: string, value: number): string {
  if (key.endsWith('cpu')) {
    const milli = Math.round(value * 1000);
    return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
  }
  if (key === 'pods' || key === 'count/pods') return String(value);
  const v = Math.round(value);
  for (const [suffix, size] of [
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (v !== 0 && v % size === 0) return `${v / size}${suffix}`;
  }
  return String(v);
}

const print = (m: Map<string, number>) =>
  [...m.keys()]
    .sort()
    .map((k) => `${k}=${formatQuantity(k, m.get(k)!)}`)
    .join(',');

export class QuotaLedger {
  private quotas: Quota[];

  constructor(resourceQuotas: readonly Json[]) {
    this.quotas = resourceQuotas
      // Scoped quotas (BestEffort, PriorityClass, ...) are not modelled: see docs/preflight.md.
      .filter((q) => !at(q, 'spec', 'scopes') && !at(q, 'spec', 'scopeSelector'))
      .map((q) => {
        const read = (v: unknown) => {
          const m = new Map<string, number>();
          for (const [k, raw] of Object.entries(record(v) ?? {})) {
            const n = parseQuantity(raw);
            if (n !== undefined) m.set(k, n);
          }
          return m;
        };
        return {
          name: str(at(q, 'metadata', 'name')) ?? '',
          hard: read(at(q, 'spec', 'hard')),
          used: read(at(q, 'status', 'used')),
        };
      });
  }

  clone(): QuotaLedger {
    const copy = new QuotaLedger([]);
    copy.quotas = this.quotas.map((q) => ({ name: q.name, hard: q.hard, used: new Map(q.used) }));
    return copy;
  }

  /** The admission's refusal for one more pod, or undefined when it is admitted (and counted). */
  admit(pod: PodInfo): string | undefined {
    const use = usage(pod);
    for (const q of this.quotas) {
      const missing = new Map<string, string[]>();
      for (const key of q.hard.keys()) {
        const resource = key.replace(/^(requests|limits)\./, '');
        if (resource !== 'cpu' && resource !== 'memory') continue;
        const field = key.startsWith('limits.') ? 'limits' : 'requests';
        for (const c of list(pod.spec.containers)) {
          if (
            record(at(c, 'resources', field))?.[resource] === undefined &&
            (field === 'limits' || at(c, 'resources', 'limits', resource) === undefined)
          ) {
            const k = key.includes('.') ? key : `requests.${key}`;
            missing.set(k, [...(missing.get(k) ?? []), str(c.name) ?? '']);
          }
        }
      }
      if (missing.size > 0) {
        const parts = [...missing.keys()].sort().map((k) => `${k} for: ${missing.get(k)!.join(',')}`);
        return `failed quota: ${q.name}: must specify ${parts.join('; ')}`;
      }
      const exceeded = [...q.hard.keys()].filter((k) => {
        const delta = use.get(k) ?? 0;
        return delta > 0 && (q.used.get(k) ?? 0) + delta > q.hard.get(k)! + 1e-9;
      });
      if (exceeded.length > 0) {
        const pick = (m: Map<string, number>) => new Map(exceeded.map((k) => [k, m.get(k) ?? 0]));
        return `exceeded quota: ${q.name}, requested: ${print(pick(use))}, used: ${print(pick(q.used))}, limited: ${print(pick(q.hard))}`;
      }
    }
    for (const q of this.quotas)
      for (const k of q.hard.keys()) q.used.set(k, (q.used.get(k) ?? 0) + (use.get(k) ?? 0));
    return undefined;
  }

  /** A pod of the namespace goes away: its usage is released. */
  release(pod: PodInfo): void {
    const use = usage(pod);
    for (const q of this.quotas)
      for (const k of q.hard.keys()) q.used.set(k, Math.max(0, (q.used.get(k) ?? 0) - (use.get(k) ?? 0)));
  }
}
