// Keeping secret values out of everything Capstan prints: a redactor and a values-free Secret diff.
import type { KubeObject } from '../shared/index.js';

export const REDACTED = '[redacted]';
/** Shorter values would redact ordinary words and numbers all over the output. */
export const MIN_REDACTED_LENGTH = 4;

/**
 * A function replacing every occurrence of any secret value in a text with `[redacted]`: the
 * value itself, its base64 form (as in a Secret's `data`) and its JSON-escaped form (as in a JSON
 * event). Values shorter than 4 characters are ignored. Longer values win over values they contain.
 */
export function createRedactor(secretValues: Iterable<string>): (text: string) => string {
  const forms = new Set<string>();
  for (const value of secretValues) {
    if (value.length < MIN_REDACTED_LENGTH) continue;
    forms.add(value);
    forms.add(Buffer.from(value, 'utf8').toString('base64'));
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  if (forms.size === 0) return (text) => text;
  const alternatives = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(alternatives.join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
}

/** The plaintext values of Secrets (`data` decoded, `stringData` as is), e.g. to build a redactor. */
export function secretValues(objects: Iterable<KubeObject>): string[] {
  const values: string[] = [];
  for (const object of objects) {
    if (object.kind !== 'Secret') continue;
    const { data, stringData } = object as {
      data?: Record<string, unknown>;
      stringData?: Record<string, unknown>;
    };
    for (const value of Object.values(data ?? {})) {
      if (typeof value === 'string') values.push(Buffer.from(value, 'base64').toString('utf8'));
    }
    for (const value of Object.values(stringData ?? {})) if (typeof value === 'string') values.push(value);
  }
  return values;
}

export type SecretKeyChange = 'added' | 'removed' | 'changed' | 'unchanged';

export interface SecretKeyDiff {
  readonly key: string;
  readonly change: SecretKeyChange;
}

/**
 * How a Secret's keys changed between two `data` maps (undefined: the Secret does not exist),
 * sorted by key. Says nothing about the values themselves.
 */
export function summarizeSecretDiff(
  before: Readonly<Record<string, string>> | undefined,
  after: Readonly<Record<string, string>> | undefined,
): SecretKeyDiff[] {
  const old = new Map(Object.entries(before ?? {}));
  const next = new Map(Object.entries(after ?? {}));
  const keys = [...new Set([...old.keys(), ...next.keys()])].sort();
  return keys.map((key) => {
    const a = old.get(key);
    const b = next.get(key);
    const change: SecretKeyChange =
      a === undefined ? 'added' : b === undefined ? 'removed' : a === b ? 'unchanged' : 'changed';
    return { key, change };
  });
}
