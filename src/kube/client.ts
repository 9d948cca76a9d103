import type { KubeObject } from '../shared/index.js';
import { loadConnection, type KubeConnection, type KubeConnectionOptions } from './config.js';
import { currentActivity } from './activity.js';
import { Discovery, basePath, type ResourceType } from './discovery.js';
import { KubeApiError } from './errors.js';
import { explainRefusal, RefusalError, type Identity } from './forbidden.js';
import { HttpTransport, readAll, statusError, type HttpRequest } from './http.js';

export interface ObjectId {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly signal?: AbortSignal;
  /** Keeps only what the caller reads of each item, page by page (a cluster's pods are many). */
  readonly trim?: (item: KubeObject) => KubeObject;
}

export interface ObjectList {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
}

export interface ApplyOptions {
  readonly fieldManager: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /** `Strict` turns unknown and duplicate fields into errors. */
  readonly fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  readonly signal?: AbortSignal;
}

export interface DeleteOptions {
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  readonly dryRun?: boolean;
  /** Delete only this very object (409 Conflict when the name now belongs to another one). */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly signal?: AbortSignal;
}

export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: KubeObject;
}

export interface WatchOptions extends ListOptions {
  readonly resourceVersion: string;
}

export interface LogOptions {
  readonly container?: string;
  readonly previous?: boolean;
  readonly tailLines?: number;
  readonly sinceTime?: string;
  readonly timestamps?: boolean;
  readonly signal?: AbortSignal;
}

/** Capstan's own small Kubernetes client: everything else talks to the cluster through this. */
export class KubeClient {
  readonly discovery: Discovery;

  private constructor(
    readonly connection: KubeConnection,
    private readonly http: HttpTransport,
  ) {
    this.discovery = new Discovery(http);
  }

  static async connect(
    options: KubeConnectionOptions & { maxSockets?: number; userAgent?: string } = {},
  ): Promise<KubeClient> {
    const connection = await loadConnection(options);
    return new KubeClient(connection, new HttpTransport(connection, options.maxSockets, options.userAgent));
  }

  close(): void {
    this.http.close();
  }

  private identity: Promise<Identity | undefined> | undefined;

  /** Who the API server takes us for (a SelfSubjectReview, asked once); undefined when it cannot say. */
  whoAmI(signal?: AbortSignal): Promise<Identity | undefined> {
    this.identity ??= this.http
      .json<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        signal,
        timeoutMs: 10_000,
      })
      .then(
        (review) => {
          const info = review.status?.userInfo;
          return info?.username ? { username: info.username, groups: info.groups ?? [] } : undefined;
        },
        () => undefined,
      );
    return this.identity;
  }

  /**
   * A 403 retold for people: `cannot create leases.coordination.k8s.io in namespace shop as
   * oidc:alice@example.com (groups: oidc:deployers): <doing>`, with the missing rule as hint.
   * Other errors come back unchanged.
   */
  async explainRefusal(error: unknown, doing: string, signal?: AbortSignal): Promise<unknown> {
    if (!(error instanceof KubeApiError) || !error.forbidden) return error;
    return explainRefusal(error, { identity: await this.whoAmI(signal), doing });
  }

  /** A 403 retold with the identity and the current activity; other errors unchanged. */
  private async explained(error: unknown): Promise<unknown> {
    if (!(error instanceof KubeApiError) || !error.forbidden || error instanceof RefusalError) return error;
    return explainRefusal(error, { identity: await this.whoAmI(), doing: currentActivity() });
  }

  private async request<T>(req: HttpRequest): Promise<T> {
    try {
      return await this.http.json<T>(req);
    } catch (error) {
      throw await this.explained(error);
    }
  }

  async pathOf(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name?: string,
  ): Promise<{ path: string; type: ResourceType }> {
    const type = await this.discovery.require(apiVersion, kind);
    let path = basePath(type.apiVersion);
    if (type.namespaced) path += `/namespaces/${encodeURIComponent(namespace ?? this.connection.namespace)}`;
    path += `/${type.resource}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    return { path, type };
  }

  async get(id: ObjectId, signal?: AbortSignal): Promise<KubeObject | undefined> {
    const { path } = await this.pathOf(id.apiVersion, id.kind, id.namespace, id.name);
    try {
      return await this.request<KubeObject>({ method: 'GET', path, signal });
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return undefined;
      throw error;
    }
  }

  /** Lists every page; namespace undefined with a namespaced kind lists across all namespaces. */
  async list(
    apiVersion: string,
    kind: string,
    options: ListOptions & { allNamespaces?: boolean } = {},
  ): Promise<ObjectList> {
    const type = await this.discovery.require(apiVersion, kind);
    let path = basePath(type.apiVersion);
    if (type.namespaced && !options.allNamespaces) {
      path += `/namespaces/${encodeURIComponent(options.namespace ?? this.connection.namespace)}`;
    }
    path += `/${type.resource}`;
    const items: KubeObject[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.request<{
        items: KubeObject[];
        metadata: { continue?: string; resourceVersion: string };
      }>({
        method: 'GET',
        path,
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: 500,
          continue: token,
        },
        signal: options.signal,
      });
      for (const item of page.items) {
        const typed = { ...item, apiVersion: type.apiVersion, kind: type.kind };
        items.push(options.trim ? options.trim(typed) : typed);
      }
      token = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (token);
    return { items, resourceVersion };
  }

  /** Server-side apply. */
  async apply(object: KubeObject, options: ApplyOptions): Promise<KubeObject> {
    const { path } = await this.pathOf(
      object.apiVersion,
      object.kind,
      object.metadata.namespace,
      object.metadata.name ?? '',
    );
    return this.request<KubeObject>({
      method: 'PATCH',
      path,
      query: {
        fieldManager: options.fieldManager,
        force: options.force ? true : undefined,
        dryRun: options.dryRun ? 'All' : undefined,
        fieldValidation: options.fieldValidation,
      },
      body: object,
      contentType: 'application/apply-patch+yaml',
      signal: options.signal,
    });
  }

  async create(
    object: KubeObject,
    options: {
      dryRun?: boolean;
      fieldManager?: string;
      fieldValidation?: ApplyOptions['fieldValidation'];
      signal?: AbortSignal;
    } = {},
  ): Promise<KubeObject> {
    const { path } = await this.pathOf(object.apiVersion, object.kind, object.metadata.namespace);
    return this.request<KubeObject>({
      method: 'POST',
      path,
      query: {
        dryRun: options.dryRun ? 'All' : undefined,
        fieldManager: options.fieldManager,
        fieldValidation: options.fieldValidation,
      },
      body: object,
      signal: options.signal,
    });
  }

  async patchMerge(
    id: ObjectId,
    patch: unknown,
    options: { subresource?: string; signal?: AbortSignal } = {},
  ): Promise<KubeObject> {
    const { path } = await this.pathOf(id.apiVersion, id.kind, id.namespace, id.name);
    return this.request<KubeObject>({
      method: 'PATCH',
      path: options.subresource ? `${path}/${options.subresource}` : path,
      body: patch,
      contentType: 'application/merge-patch+json',
      signal: options.signal,
    });
  }

  /** A JSON patch (RFC 6902); a `test` operation makes it conditional. */
  async patchJson(
    id: ObjectId,
    operations: readonly { op: string; path: string; value?: unknown }[],
    options: { signal?: AbortSignal } = {},
  ): Promise<KubeObject> {
    const { path } = await this.pathOf(id.apiVersion, id.kind, id.namespace, id.name);
    return this.request<KubeObject>({
      method: 'PATCH',
      path,
      body: operations,
      contentType: 'application/json-patch+json',
      signal: options.signal,
    });
  }

  async replace(object: KubeObject, signal?: AbortSignal): Promise<KubeObject> {
    const { path } = await this.pathOf(
      object.apiVersion,
      object.kind,
      object.metadata.namespace,
      object.metadata.name ?? '',
    );
    return this.request<KubeObject>({ method: 'PUT', path, body: object, signal });
  }

  /** Deletes; true when it existed. */
  async delete(id: ObjectId, options: DeleteOptions = {}): Promise<boolean> {
    const { path } = await this.pathOf(id.apiVersion, id.kind, id.namespace, id.name);
    try {
      await this.request({
        method: 'DELETE',
        path,
        query: { propagationPolicy: options.propagationPolicy, dryRun: options.dryRun ? 'All' : undefined },
        // With a body the API server reads every option from it and ignores the query.
        body: options.preconditions
          ? {
              kind: 'DeleteOptions',
              apiVersion: 'v1',
              preconditions: options.preconditions,
              propagationPolicy: options.propagationPolicy,
              dryRun: options.dryRun ? ['All'] : undefined,
            }
          : undefined,
        signal: options.signal,
      });
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return false;
      throw error;
    }
  }

  /** One watch request: yields events until the server ends the stream or the signal aborts. */
  async *watch(
    apiVersion: string,
    kind: string,
    options: WatchOptions & { allNamespaces?: boolean },
  ): AsyncGenerator<WatchEvent> {
    const type = await this.discovery.require(apiVersion, kind);
    let path = basePath(type.apiVersion);
    if (type.namespaced && !options.allNamespaces) {
      path += `/namespaces/${encodeURIComponent(options.namespace ?? this.connection.namespace)}`;
    }
    path += `/${type.resource}`;
    const res = await this.http.open({
      method: 'GET',
      path,
      query: {
        watch: 1,
        allowWatchBookmarks: true,
        resourceVersion: options.resourceVersion,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        timeoutSeconds: 300,
      },
      signal: options.signal,
    });
    if ((res.statusCode ?? 0) >= 300)
      throw await this.explained(
        statusError(res.statusCode ?? 0, await readAll(res), { method: 'GET', path }),
      );
    let buffer = '';
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        buffer += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent;
          if (event.type !== 'ERROR' && event.type !== 'BOOKMARK') {
            event.object.apiVersion ??= type.apiVersion;
            event.object.kind ??= type.kind;
          }
          yield event;
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    } finally {
      res.destroy();
    }
  }

  /** A container's log, or undefined when there is none (e.g. no previous container). */
  async logs(namespace: string, pod: string, options: LogOptions = {}): Promise<string | undefined> {
    try {
      const res = await this.http.open({
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
        query: {
          container: options.container,
          previous: options.previous ? true : undefined,
          tailLines: options.tailLines,
          sinceTime: options.sinceTime,
          timestamps: options.timestamps ? true : undefined,
        },
        signal: options.signal,
        timeoutMs: 15_000,
      });
      const text = await readAll(res, options.signal);
      if ((res.statusCode ?? 0) >= 300) {
        const error = statusError(res.statusCode ?? 0, text, { method: 'GET', path: 'pods/log' });
        if (error.status === 400 || error.notFound) return undefined;
        throw await this.explained(error);
      }
      return text;
    } catch (error) {
      if (error instanceof KubeApiError && (error.status === 400 || error.notFound)) return undefined;
      throw error;
    }
  }

  /** Follows a container's log as a stream of text chunks. */
  async *followLogs(namespace: string, pod: string, options: LogOptions = {}): AsyncGenerator<string> {
    const res = await this.http.open({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
      query: {
        container: options.container,
        follow: true,
        sinceTime: options.sinceTime,
        timestamps: options.timestamps ? true : undefined,
        tailLines: options.tailLines,
      },
      signal: options.signal,
    });
    if ((res.statusCode ?? 0) >= 300)
      throw await this.explained(
        statusError(res.statusCode ?? 0, await readAll(res), { method: 'GET', path: 'pods/log' }),
      );
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) yield chunk.toString('utf8');
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    } finally {
      res.destroy();
    }
  }

  /** A raw GET, for paths such as /readyz or /version. */
  async getPath<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ method: 'GET', path, signal });
  }
}
