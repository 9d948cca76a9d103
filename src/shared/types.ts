/** A Kubernetes object as Capstan handles it: plain JSON, any kind. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
  }>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Where a rendered object came from, for error messages. */
export interface SourceLocation {
  readonly file: string;
  readonly line?: number;
}

/** `kind/namespace/name` (namespace empty for cluster-scoped objects): the identity used everywhere. */
export function objectKey(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  const kind = group ? `${obj.kind}.${group}` : obj.kind;
  return `${kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** Short human reference, e.g. `Deployment/web`. */
export function objectRef(obj: Pick<KubeObject, 'kind' | 'metadata'>): string {
  return `${obj.kind}/${obj.metadata.name ?? '?'}`;
}

/** What Capstan prints in place of a secret value, everywhere. */
export const REDACTED = '[redacted]';
