// Server-side apply field sets (managedFields fieldsV1): which fields a manager set, and picking them (pure).
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../shared/index.js';
import { isRecord } from '../shared/index.js';

/** A fieldsV1 tree: `f:name` fields, `k:{json}` list items by key, `v:json` set items, `i:n` by index, `.` the node itself. */
export interface FieldSet {
  [key: string]: FieldSet;
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  fieldsType?: string;
  fieldsV1?: FieldSet;
  subresource?: string;
}

/** The union of the fields `manager` owns through apply, or undefined when it owns none. */
export function managedFieldSet(object: KubeObject | undefined, manager: string): FieldSet | undefined {
  const entries = (object?.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  let set: FieldSet | undefined;
  for (const entry of entries) {
    if (entry.manager !== manager || entry.operation !== 'Apply' || entry.subresource || !entry.fieldsV1)
      continue;
    set = set ? mergeFieldSets(set, entry.fieldsV1) : entry.fieldsV1;
  }
  return set;
}

export function mergeFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { ...a };
  for (const [key, child] of Object.entries(b)) out[key] = out[key] ? mergeFieldSets(out[key], child) : child;
  return out;
}

function matchesItem(key: string, item: unknown, index: number): boolean {
  if (key.startsWith('i:')) return Number(key.slice(2)) === index;
  let parsed: unknown;
  try {
    parsed = JSON.parse(key.slice(2));
  } catch {
    return false;
  }
  if (key.startsWith('v:')) return isDeepStrictEqual(parsed, item);
  if (key.startsWith('k:') && isRecord(parsed) && isRecord(item)) {
    return Object.entries(parsed).every(([field, value]) => isDeepStrictEqual(item[field], value));
  }
  return false;
}

/** The part of `value` covered by `set`: a leaf (or atomic) set keeps the whole value. */
export function pickFields(value: unknown, set: FieldSet): unknown {
  const keys = Object.keys(set).filter((k) => k !== '.');
  if (keys.length === 0) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    value.forEach((item, index) => {
      const key = keys.find((k) => matchesItem(k, item, index));
      if (key !== undefined) out.push(pickFields(item, set[key]));
    });
    return out;
  }
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [field, child] of Object.entries(value)) {
      const sub = set[`f:${field}`];
      if (sub) out[field] = pickFields(child, sub);
    }
    return out;
  }
  return value;
}
