// Typed reads of untyped object JSON, and the identities the migration uses for objects and kinds.
import type { KubeObject } from '../shared/index.js';
import { at, list, record, str, type Json } from '../shared/index.js';
export { at, list, record, str };
export type { Json };

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `Kind` for the core group, `Kind.group` otherwise: a kind's identity whatever the version. */
export function groupKind(group: string, kind: string): string {
  return group ? `${kind}.${group}` : kind;
}

export function groupKindOf(object: Pick<KubeObject, 'apiVersion' | 'kind'>): string {
  return groupKind(groupOf(object.apiVersion), object.kind);
}

/** The reference printed to people: `Kind/namespace/name` or `Kind/name`. */
export interface MigrateObjectRef {
  readonly kind: string;
  readonly group: string;
  readonly namespace?: string;
  readonly name: string;
}

export function refOf(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): MigrateObjectRef {
  const ref = { kind: object.kind, group: groupOf(object.apiVersion), name: object.metadata.name ?? '' };
  return object.metadata.namespace ? { ...ref, namespace: object.metadata.namespace } : ref;
}

export function formatRef(ref: MigrateObjectRef): string {
  return `${groupKind(ref.group, ref.kind)}/${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** A deep copy of plain JSON, cheaper than a JSON round trip for the object sizes seen here. */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}

/** The `objectKey` of a reference: `Kind.group/namespace/name`. */
export function refKey(ref: MigrateObjectRef): string {
  return `${groupKind(ref.group, ref.kind)}/${ref.namespace ?? ''}/${ref.name}`;
}
