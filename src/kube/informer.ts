import { sleep, type KubeObject } from '../shared/index.js';
import type { KubeClient, ListOptions, WatchEvent } from './client.js';
import { KubeApiError } from './errors.js';

/** What an informer needs of a client: a list and a watch (a fake in unit tests). */
export type InformerClient = Pick<KubeClient, 'list' | 'watch'>;

export interface InformerOptions extends ListOptions {
  readonly apiVersion: string;
  readonly kind: string;
  /** Called after the first list and after every change, with the object that changed. */
  readonly onChange: (object: KubeObject, type: 'ADDED' | 'MODIFIED' | 'DELETED') => void;
  /** Called on every failed list or watch (the caller's deadline still applies). */
  readonly onError?: (error: unknown) => void;
  readonly signal: AbortSignal;
  /** Clock for the health record (default Date.now). */
  readonly now?: () => number;
  /**
   * A watch that brings nothing, not even a bookmark, for this long is dropped and the kind listed
   * again: a stream can stall without an error (default: no deadline; the server ends it in 5 min).
   */
  readonly idleTimeoutMs?: number;
}

/** How an informer's requests fare, for a caller that must say why it waited in vain. */
export interface InformerHealth {
  readonly synced: boolean;
  /** When the current run of failed requests began (or the first list was sent, while it has not answered). */
  readonly troubleSince?: number;
  /** Failed requests since the last success. */
  readonly failures: number;
  readonly lastError?: unknown;
  /** A refusal that retrying will not cure, before the first list succeeded (e.g. 403). */
  readonly refused?: Error;
}

function isTransient(error: unknown): boolean {
  return error instanceof KubeApiError ? error.transient : true;
}

/**
 * Keeps a live copy of one kind's objects: list, then watch from the list's resourceVersion,
 * resuming after dropped streams. After a failed request it lists again, as client-go's reflector
 * does, so a success proves the API server answers. Resolves `synced` after the first list; rejects
 * it when the first list is refused for good.
 */
export class Informer {
  readonly store = new Map<string, KubeObject>();
  readonly synced: Promise<void>;
  private markSynced!: () => void;
  private failSynced!: (error: unknown) => void;
  private readonly now: () => number;
  private readonly startedAt: number;
  private isSynced = false;
  private troubleSince: number | undefined;
  private failures = 0;
  private lastError: unknown;
  private refused: Error | undefined;

  constructor(
    private readonly client: InformerClient,
    private readonly options: InformerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.synced = new Promise((resolve, reject) => {
      this.markSynced = resolve;
      this.failSynced = reject;
    });
    this.synced.catch(() => {});
    void this.run();
  }

  get health(): InformerHealth {
    const troubleSince = this.troubleSince ?? (this.isSynced ? undefined : this.startedAt);
    return {
      synced: this.isSynced,
      failures: this.failures,
      ...(troubleSince === undefined ? {} : { troubleSince }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      ...(this.refused === undefined ? {} : { refused: this.refused }),
    };
  }

  private keyOf(object: KubeObject): string {
    return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(`${namespace ?? ''}/${name}`);
  }

  values(): KubeObject[] {
    return [...this.store.values()];
  }

  private async relist(): Promise<string> {
    const { apiVersion, kind, signal, onChange, onError: _onError, now: _now, ...list } = this.options;
    const result = await this.client.list(apiVersion, kind, { ...list, signal });
    const seen = new Set<string>();
    for (const item of result.items) {
      dropManagedFields(item);
      const key = this.keyOf(item);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, item);
      if (!old || old.metadata.resourceVersion !== item.metadata.resourceVersion)
        onChange(item, old ? 'MODIFIED' : 'ADDED');
    }
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        onChange(old, 'DELETED');
      }
    }
    return result.resourceVersion;
  }

  private recovered(): void {
    this.troubleSince = undefined;
    this.failures = 0;
    this.lastError = undefined;
  }

  /** Applies a watch's events to the store; returns the resourceVersion to resume from (undefined: list again). */
  private async follow(
    watch: AsyncIterable<WatchEvent>,
    from: string,
    heard: () => void,
  ): Promise<string | undefined> {
    let resourceVersion: string | undefined = from;
    for await (const event of watch) {
      heard();
      this.recovered();
      if (event.type === 'ERROR') {
        const status = event.object as unknown as { code?: number; reason?: string; message?: string };
        // 410: the version is too old, list again now; anything else counts as a failure.
        if (status.code === 410) {
          return undefined;
        }
        throw new KubeApiError(
          status.code ?? 500,
          status.reason ?? 'WatchError',
          status.message ?? 'the watch ended with an error',
        );
      }
      const rv = event.object.metadata?.resourceVersion;
      if (rv) resourceVersion = rv;
      if (event.type === 'BOOKMARK') continue;
      dropManagedFields(event.object);
      const key = this.keyOf(event.object);
      if (event.type === 'DELETED') this.store.delete(key);
      else this.store.set(key, event.object);
      this.options.onChange(event.object, event.type);
    }
    return resourceVersion;
  }

  /**
   * A signal for one watch request: aborted with the informer's, or once nothing has been heard for
   * idleTimeoutMs (then `idled()` tells).
   */
  private idleDeadline(): { signal: AbortSignal; heard: () => void; idled: () => boolean; done: () => void } {
    const controller = new AbortController();
    const parent = this.options.signal;
    const stop = () => controller.abort();
    parent.addEventListener('abort', stop, { once: true });
    const limit = this.options.idleTimeoutMs;
    let idled = false;
    let timer: NodeJS.Timeout | undefined;
    const heard = () => {
      if (limit === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        idled = true;
        controller.abort();
      }, limit);
    };
    heard();
    return {
      signal: controller.signal,
      heard,
      idled: () => idled,
      done: () => {
        clearTimeout(timer);
        parent.removeEventListener('abort', stop);
      },
    };
  }

  private async run(): Promise<void> {
    const { apiVersion, kind, signal, fieldSelector, labelSelector, namespace } = this.options;
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.relist();
          this.recovered();
          if (!this.isSynced) {
            this.isSynced = true;
            this.markSynced();
          }
        }
        const stream = this.idleDeadline();
        const watch = this.client.watch(apiVersion, kind, {
          namespace,
          labelSelector,
          fieldSelector,
          signal: stream.signal,
          resourceVersion,
        });
        try {
          resourceVersion = await this.follow(watch, resourceVersion, stream.heard);
        } finally {
          stream.done();
        }
        // Silent too long: whatever the stream missed, a list brings back.
        if (stream.idled()) resourceVersion = undefined;
      } catch (error) {
        if (signal.aborted) return;
        this.failures++;
        // Before the first answer the trouble began with the first list; after it, with this failure.
        this.troubleSince ??= this.isSynced ? this.now() : this.startedAt;
        this.lastError = error;
        // List again next time: only an answered list shows the API server is back.
        resourceVersion = undefined;
        if (!this.isSynced && !isTransient(error) && this.refused === undefined) {
          this.refused =
            error instanceof Error ? error : new Error(`listing ${kind} failed`, { cause: error });
          this.failSynced(this.refused);
        }
        this.options.onError?.(error);
        // Back off while the API server is away; the caller's deadline bounds the whole wait.
        await sleep(Math.min(200 * 2 ** Math.min(this.failures, 5), 5000), signal);
      }
    }
  }
}

/**
 * The objects an informer keeps carry no managedFields: no reader of a cache needs them, and they
 * are a third of a pod's size (500 pods, ReplicaSets and Deployments held through a rollout).
 */
function dropManagedFields(object: KubeObject | undefined): void {
  if (object?.metadata && 'managedFields' in object.metadata) delete object.metadata.managedFields;
}
