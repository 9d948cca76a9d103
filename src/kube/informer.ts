import type { KubeObject } from '../shared/index.js';
import type { KubeClient, ListOptions } from './client.js';
import { KubeApiError } from './errors.js';

export interface InformerOptions extends ListOptions {
  readonly apiVersion: string;
  readonly kind: string;
  /** Called after the first list and after every change, with the object that changed. */
  readonly onChange: (object: KubeObject, type: 'ADDED' | 'MODIFIED' | 'DELETED') => void;
  /** Called when the watch keeps failing (the caller's deadline still applies). */
  readonly onError?: (error: unknown) => void;
  readonly signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/**
 * Keeps a live copy of one kind's objects: list, then watch from the list's resourceVersion,
 * resuming after dropped streams and relisting when the server says the version is too old.
 * Resolves `synced` after the first list.
 */
export class Informer {
  readonly store = new Map<string, KubeObject>();
  readonly synced: Promise<void>;
  private markSynced!: () => void;
  private failSynced!: (error: unknown) => void;

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerOptions,
  ) {
    this.synced = new Promise((resolve, reject) => {
      this.markSynced = resolve;
      this.failSynced = reject;
    });
    this.synced.catch(() => {});
    void this.run();
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
    const { apiVersion, kind, signal, onChange, ...list } = this.options;
    const result = await this.client.list(apiVersion, kind, { ...list, signal });
    const seen = new Set<string>();
    for (const item of result.items) {
      const key = this.keyOf(item);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, item);
      if (!old || old.metadata.resourceVersion !== item.metadata.resourceVersion) onChange(item, old ? 'MODIFIED' : 'ADDED');
    }
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        onChange(old, 'DELETED');
      }
    }
    return result.resourceVersion;
  }

  private async run(): Promise<void> {
    const { apiVersion, kind, signal } = this.options;
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.relist();
          this.markSynced();
        }
        for await (const event of this.client.watch(apiVersion, kind, { ...this.options, resourceVersion })) {
          failures = 0;
          if (event.type === 'ERROR') {
            const status = event.object as unknown as { code?: number };
            if (status.code === 410) resourceVersion = undefined;
            break;
          }
          const rv = event.object.metadata?.resourceVersion;
          if (rv) resourceVersion = rv;
          if (event.type === 'BOOKMARK') continue;
          const key = this.keyOf(event.object);
          if (event.type === 'DELETED') this.store.delete(key);
          else this.store.set(key, event.object);
          this.options.onChange(event.object, event.type);
        }
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        if (error instanceof KubeApiError && error.status === 410) resourceVersion = undefined;
        if (resourceVersion === undefined && !(error instanceof KubeApiError && error.transient)) this.failSynced(error);
        this.options.onError?.(error);
        // Back off while the API server is away; the caller's deadline bounds the whole wait.
        await sleep(Math.min(200 * 2 ** Math.min(failures, 5), 5000), signal);
      }
    }
  }
}
