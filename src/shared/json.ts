// Typed reads of untyped JSON: live objects come from the API server as plain data, so every
// field is checked rather than trusted.

export type Json = Record<string, unknown>;

/** Whether a value is a plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
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

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(record).filter((item): item is Json => item !== undefined) : [];
}

export interface SortKeysOptions {
  /** Keys of the outermost object that come first, in this order (`apiVersion`, `kind`…). */
  readonly first?: readonly string[];
  /** Keys that come first in every object held under this key, at any depth (`metadata`: `name`…). */
  readonly firstUnder?: Readonly<Record<string, readonly string[]>>;
}

/**
 * The value with every object's keys in sorted order, for stable serialisation and hashing; keys
 * named in `options` come before the others, for people reading it.
 */
export function sortKeys(value: unknown, options: SortKeysOptions = {}): unknown {
  const under = options.firstUnder ?? {};
  const nested = (k: string): SortKeysOptions => ({
    first: Object.hasOwn(under, k) ? under[k] : [],
    firstUnder: under,
  });
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, { firstUnder: under }));
  const object = record(value);
  if (!object) return value;
  const first = options.first ?? [];
  const rank = (k: string) => (first.includes(k) ? first.indexOf(k) : first.length);
  const keys = Object.keys(object).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, sortKeys(object[k], nested(k))]));
}
