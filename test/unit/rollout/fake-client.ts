// A stand-in for KubeClient in waiter and informer unit tests: lists answer from a recorded state
// (or fail, or hang), watches replay the watch events a test pushes, deletes and gets are recorded.
import type { KubeClient, ListOptions, WatchEvent } from '../../../src/kube/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

export type ListAnswer = KubeObject[] | Error | 'hang';

interface Stream {
  readonly kind: string;
  readonly namespace?: string;
  readonly queue: WatchEvent[];
  wake: () => void;
}

export interface FakeClientOptions {
  /** Per kind: the objects a list returns, an error it throws, or 'hang' (never answers). */
  readonly lists: Record<string, ListAnswer | (() => ListAnswer)>;
  readonly get?: (kind: string, name: string) => KubeObject | undefined | Error;
  /** A container's log tail, or the error reading it throws (default: no log). */
  readonly logs?: (
    pod: string,
    options: { container?: string; previous?: boolean },
  ) => string | undefined | Error;
}

export class FakeClient {
  readonly calls: string[] = [];
  readonly deleted: string[] = [];
  /** The kinds listed so far. */
  readonly listed = new Set<string>();
  private readonly streams = new Set<Stream>();
  private rv = 100;

  /**
   * The next resourceVersion: as etcd's, above every version seen so far (listed or pushed), so
   * that a pushed copy is newer than the object it updates, as on a real API server.
   */
  private nextRv(...seen: Array<string | undefined>): string {
    for (const v of seen) {
      const n = Number(v);
      if (Number.isSafeInteger(n) && n >= this.rv) this.rv = n + 1;
    }
    return String(this.rv++);
  }

  constructor(private readonly options: FakeClientOptions) {}

  /** The fake as the waiter's parameter type. */
  get client(): KubeClient {
    return this as unknown as KubeClient;
  }

  async list(
    _apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    this.calls.push(`list ${kind}`);
    this.listed.add(kind);
    const entry = this.options.lists[kind] ?? [];
    const answer = typeof entry === 'function' ? entry() : entry;
    if (answer === 'hang') {
      return new Promise((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), {
          once: true,
        });
      });
    }
    await Promise.resolve();
    if (answer instanceof Error) throw answer;
    const items = structuredClone(answer);
    return { items, resourceVersion: this.nextRv(...items.map((i) => i.metadata.resourceVersion)) };
  }

  async *watch(
    _apiVersion: string,
    kind: string,
    options: ListOptions & { resourceVersion: string },
  ): AsyncGenerator<WatchEvent> {
    this.calls.push(`watch ${kind}`);
    const stream: Stream = { kind, namespace: options.namespace, queue: [], wake: () => {} };
    this.streams.add(stream);
    try {
      while (!options.signal?.aborted) {
        const event = stream.queue.shift();
        if (event) {
          yield event;
          continue;
        }
        await new Promise<void>((resolve) => {
          stream.wake = resolve;
          options.signal?.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    } finally {
      this.streams.delete(stream);
    }
  }

  /** Delivers a watch event to every open watch of that kind. */
  push(type: WatchEvent['type'], object: KubeObject): void {
    const copy = structuredClone(object);
    copy.metadata.resourceVersion = this.nextRv(object.metadata.resourceVersion);
    for (const stream of this.streams) {
      if (stream.kind !== object.kind) continue;
      stream.queue.push({ type, object: copy });
      stream.wake();
    }
  }

  watching(kind: string): boolean {
    return [...this.streams].some((s) => s.kind === kind);
  }

  async get(id: { kind: string; name: string }): Promise<KubeObject | undefined> {
    this.calls.push(`get ${id.kind}/${id.name}`);
    await Promise.resolve();
    const answer = this.options.get?.(id.kind, id.name);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  async delete(id: { kind: string; name: string }): Promise<boolean> {
    this.deleted.push(`${id.kind}/${id.name}`);
    await Promise.resolve();
    return true;
  }

  async logs(
    _namespace: string,
    pod: string,
    options: { container?: string; previous?: boolean } = {},
  ): Promise<string | undefined> {
    await Promise.resolve();
    const answer = this.options.logs?.(pod, options);
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

/** Resolves once `check` holds, polling the event loop (bounded: tests must not hang). */
export async function until(check: () => boolean, what: string, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never happened: ${what}`);
}
