// Typed reads of untyped object JSON, and the identities the migration uses for objects and kinds.
import type { KubeObject } from '../shared/index.js';

export type Json = Record<string, unknown>;

export function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

export function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(record).filter((item): item is Json => item !== undefined) : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The value at a path of property names, or undefined when any step is missing. */
export function at(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const object = record(current);
    if (object === undefined) return undefined;
    current = object[key];
  }
  return current;
}

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
