// What a phase's progress reads like on a terminal: counts by kind, the apply summarised per kind,
// the objects that still wait. Pure: the reporter decides when to draw it.
import type { EventObject } from '../deploy/index.js';
import { kindOrder } from '../render/index.js';

/** How an object was applied; `not sent`: unchanged since Capstan last applied it (docs/apply-order.md). */
export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'replaced' | 'not sent';

/** `1 ConfigMap`, `2 ConfigMaps`, `2 Ingresses`, `2 NetworkPolicies`, `2 Endpoints`. */
export function countOf(n: number, kind: string): string {
  return `${n} ${n === 1 ? kind : pluralKind(kind)}`;
}

/** `1 object`, `2 objects`: for words whose plural only adds an s. */
export function countWord(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function pluralKind(kind: string): string {
  if (/(ss|sh|ch|x|z)$/i.test(kind)) return `${kind}es`;
  // Kinds that already end in s are plural already (Endpoints).
  if (/s$/i.test(kind)) return kind;
  if (/[^aeiou]y$/i.test(kind)) return `${kind.slice(0, -1)}ies`;
  return `${kind}s`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The words of the apply summary, in this order; `configured` reads as changed. */
const ACTION_WORDS: ReadonlyArray<readonly [ApplyAction, string]> = [
  ['created', 'created'],
  ['configured', 'changed'],
  ['replaced', 'replaced'],
  ['unchanged', 'unchanged'],
  ['not sent', 'unchanged, not sent'],
];

interface KindProgress {
  applied: number;
  ready: number;
  readonly actions: Map<ApplyAction, number>;
}

/** One phase as it runs: what was applied and what is ready, per kind, and what still waits. */
export class PhaseProgress {
  private readonly kinds = new Map<string, KindProgress>();
  private readonly readyRefs = new Set<string>();
  /** What each object still waits for, oldest first: those that wait longest lead the block. */
  readonly waiting = new Map<string, string>();
  private appliedCount = 0;
  failed = false;

  constructor(
    readonly name: string,
    readonly objects: number,
    readonly startedAt: number,
  ) {}

  private kind(kind: string): KindProgress {
    let k = this.kinds.get(kind);
    if (!k) {
      k = { applied: 0, ready: 0, actions: new Map() };
      this.kinds.set(kind, k);
    }
    return k;
  }

  /** Kinds in the order a phase's kind groups go (ConfigMaps, Services, Deployments...), not the order first applied. */
  private kindsInOrder(): [string, KindProgress][] {
    return [...this.kinds.entries()].sort(
      ([a], [b]) => kindOrder(a) - kindOrder(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
  }

  applied(object: EventObject, action: ApplyAction): void {
    const k = this.kind(object.kind);
    k.applied++;
    k.actions.set(action, (k.actions.get(action) ?? 0) + 1);
    this.appliedCount++;
  }

  waitingFor(ref: string, message: string): void {
    if (!this.readyRefs.has(ref)) this.waiting.set(ref, message);
  }

  ready(object: EventObject, ref: string): void {
    this.waiting.delete(ref);
    if (this.readyRefs.has(ref)) return;
    this.readyRefs.add(ref);
    this.kind(object.kind).ready++;
  }

  done(ref: string): void {
    this.waiting.delete(ref);
  }

  /** `applied 100 ConfigMaps: 3 changed, 97 unchanged`, one per kind in kind order. */
  appliedLines(): string[] {
    return this.kindsInOrder()
      .filter(([, k]) => k.applied > 0)
      .map(([kind, k]) => {
        const parts = ACTION_WORDS.filter(([action]) => k.actions.has(action)).map(
          ([action, word]) => `${k.actions.get(action)} ${word}`,
        );
        return `applied ${countOf(k.applied, kind)}: ${parts.join(', ')}`;
      });
  }

  /**
   * `Deployments 37/100 ready · Services 100/100 · 12.4s`: kinds with objects still to come first
   * (workloads before Services before ConfigMaps),
   * `applying 120/300` while the apply goes on.
   */
  summary(now: number): string {
    const kinds = this.kindsInOrder().filter(([, k]) => k.applied > 0);
    // Still waiting first, the slowest kinds (workloads) leading; then the kinds already ready.
    const order = [
      ...kinds.filter(([, k]) => k.ready < k.applied).reverse(),
      ...kinds.filter(([, k]) => k.ready >= k.applied),
    ];
    const counts = order.map(
      ([kind, k], i) => `${pluralKind(kind)} ${k.ready}/${k.applied}${i === 0 ? ' ready' : ''}`,
    );
    const applying =
      this.appliedCount < this.objects && !this.failed
        ? [`applying ${this.appliedCount}/${this.objects}`]
        : [];
    return [...applying, ...counts, formatSeconds(now - this.startedAt)].join(' · ');
  }

  /** `100 Deployments · 100 Services ready in 12.4s`: the line a finished phase leaves. */
  finished(durationMs: number): string {
    const kinds = this.kindsInOrder()
      .filter(([, k]) => k.applied > 0)
      .map(([kind, k]) => countOf(k.applied, kind));
    return `${kinds.length > 0 ? kinds.join(' · ') : countWord(this.objects, 'object')} ready in ${formatSeconds(durationMs)}`;
  }
}

/** Cuts a line to the terminal's width, so a redraw moves the cursor up by exactly its lines. */
export function fitWidth(line: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1) return line;
  const chars = [...line];
  return chars.length < columns ? line : `${chars.slice(0, columns - 2).join('')}…`;
}
