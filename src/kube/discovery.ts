import type { HttpTransport } from './http.js';
import { CapstanError } from '../shared/index.js';
import { isKubeApiError } from './errors.js';

/** One served resource type. */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** Plural name used in paths, e.g. `deployments`. */
  readonly resource: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

interface ApiResourceList {
  groupVersion: string;
  resources: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }>;
}

interface ApiGroupList {
  groups: Array<{
    name: string;
    versions: Array<{ groupVersion: string; version: string }>;
    preferredVersion?: { groupVersion: string };
  }>;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function basePath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** Caches the API server's resource lists, one group-version at a time, refreshed on a miss. */
export class Discovery {
  private readonly byGroupVersion = new Map<string, Promise<ResourceType[]>>();

  constructor(private readonly http: HttpTransport) {}

  private load(apiVersion: string, refresh: boolean): Promise<ResourceType[]> {
    if (!refresh) {
      const cached = this.byGroupVersion.get(apiVersion);
      if (cached) return cached;
    }
    const { group, version } = splitApiVersion(apiVersion);
    const loading = this.http
      .json<ApiResourceList>({ method: 'GET', path: basePath(apiVersion) })
      .then((list) =>
        list.resources
          .filter((r) => !r.name.includes('/'))
          .map((r) => ({
            group,
            version,
            apiVersion,
            kind: r.kind,
            resource: r.name,
            namespaced: r.namespaced,
            verbs: r.verbs ?? [],
          })),
      )
      .catch((error: unknown) => {
        this.byGroupVersion.delete(apiVersion);
        if (isKubeApiError(error) && error.notFound) return [];
        throw error;
      });
    this.byGroupVersion.set(apiVersion, loading);
    return loading;
  }

  /** Finds the resource type of a kind; undefined when the server does not serve it. */
  async find(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    let found = (await this.load(apiVersion, false)).find((r) => r.kind === kind);
    if (!found) found = (await this.load(apiVersion, true)).find((r) => r.kind === kind);
    return found;
  }

  async require(apiVersion: string, kind: string): Promise<ResourceType> {
    const found = await this.find(apiVersion, kind);
    if (!found) {
      throw new CapstanError(
        'ERR_CAPSTAN_UNKNOWN_KIND',
        `the cluster does not serve ${kind} in ${apiVersion}`,
        {
          hint: 'check apiVersion and kind, or create the CustomResourceDefinition first',
        },
      );
    }
    return found;
  }

  /**
   * Starts loading these group-versions now, without waiting and without failing: a later `find`
   * takes the answer (or, if loading failed, asks again). At a distance each group-version learnt on
   * first use is one more round trip on that path; learnt up front, they come together.
   */
  prefetch(apiVersions: readonly string[]): void {
    for (const apiVersion of apiVersions) this.load(apiVersion, false).catch(() => {});
  }

  /** Every resource type at each group's preferred version (or every version when `allVersions`). */
  async all(options: { allVersions?: boolean } = {}): Promise<ResourceType[]> {
    const groups = await this.http.json<ApiGroupList>({ method: 'GET', path: '/apis' });
    const versions = ['v1'];
    for (const g of groups.groups) {
      if (options.allVersions) versions.push(...g.versions.map((v) => v.groupVersion));
      else versions.push(g.preferredVersion?.groupVersion ?? g.versions[0].groupVersion);
    }
    const lists = await Promise.all(versions.map((v) => this.load(v, false)));
    return lists.flat();
  }

  invalidate(): void {
    this.byGroupVersion.clear();
  }
}
