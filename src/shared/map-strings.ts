// Rewriting the string values of structured data, never its serialized text: a redactor that
// edited JSON text would turn `false` or `5432` into `[redacted]` and break the document.

/** Where a value sits in a document: property names and array indexes from the root. */
export type ValuePath = readonly (string | number)[];

/**
 * A copy of `value` where every string value went through `mapText`. Keys, numbers, booleans,
 * null and undefined stay as they are; a value with `toJSON` (a Date) is read as JSON reads it.
 * `keep` names the paths whose strings stay untouched.
 */
export function mapStrings<T>(
  value: T,
  mapText: (text: string) => string,
  keep?: (path: ValuePath) => boolean,
): T {
  const walk = (current: unknown, path: (string | number)[]): unknown => {
    if (typeof current === 'string') return keep?.(path) ? current : mapText(current);
    if (current === null || typeof current !== 'object') return current;
    const json = (current as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return walk(json.call(current), path);
    if (Array.isArray(current)) return current.map((item, i) => walk(item, [...path, i]));
    return Object.fromEntries(Object.entries(current).map(([k, v]) => [k, walk(v, [...path, k])]));
  };
  return walk(value, []) as T;
}
