// Keeping secret values out of everything Capstan prints: a redactor and a values-free Secret diff.
import { mapStrings, REDACTED, type KubeObject } from '../shared/index.js';

export { REDACTED };
/**
 * Shorter values are not redacted: they would erase ordinary words and numbers all over the output
 * (every `0`, `on`, `yes`), and such a value is no secret anyway (docs/redaction.md).
 */
export const MIN_REDACTED_LENGTH = 4;

function redactable(text: string): boolean {
  return text.trim().length >= MIN_REDACTED_LENGTH;
}

/**
 * What a value may look like in output: itself, its base64 form (a Secret's `data`), its
 * JSON-escaped form (a JSON document), and each of its lines, trimmed, on its own, because streamed
 * logs arrive one line at a time and a multi-line value (a PEM key) never shows whole in one line.
 */
function formsOf(value: string): string[] {
  if (!redactable(value)) return [];
  const forms = [value, Buffer.from(value, 'utf8').toString('base64'), JSON.stringify(value).slice(1, -1)];
  for (const line of value.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.length >= MIN_REDACTED_LENGTH) forms.push(trimmed, JSON.stringify(trimmed).slice(1, -1));
  }
  return forms;
}

/**
 * Keeps a growing set of secret values out of text and structured data. Text: every occurrence of
 * any form of a value is replaced, overlapping occurrences of different values as one
 * `[redacted]`, so no character of either survives. Structures: only string values are redacted,
 * never keys, numbers, booleans or null, so a document stays the same document.
 */
export class Redactor {
  private readonly forms = new Set<string>();
  private pattern: RegExp | undefined;
  /** Whether a text holds any form at all: most lines hold none, and this is far cheaper. */
  private any: RegExp | undefined;

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /** Adds values to keep out of output (shorter ones are ignored, see MIN_REDACTED_LENGTH). */
  add(values: Iterable<string>): void {
    const before = this.forms.size;
    for (const value of values) for (const form of formsOf(value)) this.forms.add(form);
    if (this.forms.size === before) return;
    // At each position, the longest form that starts there (alternatives are tried in order).
    const alternatives = [...this.forms]
      .sort((a, b) => b.length - a.length)
      .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.pattern = new RegExp(`(?=(${alternatives.join('|')}))`, 'g');
    this.any = new RegExp(alternatives.join('|'));
  }

  /** Whether any value is known. */
  get empty(): boolean {
    return this.pattern === undefined;
  }

  /** `text` with every occurrence of a value replaced by `[redacted]`. */
  readonly text = (text: string): string => {
    if (this.pattern === undefined || !this.any?.test(text)) return text;
    let out = '';
    let copied = 0;
    let start = -1;
    let end = -1;
    for (const match of text.matchAll(this.pattern)) {
      const from = match.index;
      const to = from + match[1].length;
      if (start !== -1 && from <= end) {
        end = Math.max(end, to);
        continue;
      }
      if (start !== -1) {
        out += text.slice(copied, start) + REDACTED;
        copied = end;
      }
      start = from;
      end = to;
    }
    if (start === -1) return text;
    return out + text.slice(copied, start) + REDACTED + text.slice(end);
  };

  /** A copy of `value` with every string value redacted; keys and other values untouched. */
  value<T>(value: T): T {
    return this.pattern === undefined ? value : mapStrings(value, this.text);
  }

  /**
   * An event with its string fields redacted, except its `type`, `outcome` and `action`: names
   * from Capstan's own closed lists, printed whatever the secrets are, so they tell nothing about
   * them, and the stream cannot be read without them.
   */
  event<T extends { readonly type: string }>(event: T): T {
    return this.pattern === undefined
      ? event
      : mapStrings(event, this.text, (path) => path.length === 1 && EVENT_VOCABULARY.has(String(path[0])));
  }
}

/** The fields of an event whose values come from Capstan's own closed lists, never from input. */
const EVENT_VOCABULARY: ReadonlySet<string> = new Set(['type', 'outcome', 'action']);

/**
 * A function replacing every occurrence of any secret value in a text with `[redacted]`: the
 * value itself, its base64 form (as in a Secret's `data`), its JSON-escaped form (as in a JSON
 * event) and each line of a multi-line value. Values shorter than 4 characters are ignored.
 */
export function createRedactor(secretValues: Iterable<string>): (text: string) => string {
  return new Redactor(secretValues).text;
}

/** Each value of each Secret (`data` decoded, `stringData` as is), with where it comes from. */
function* secretEntries(
  objects: Iterable<KubeObject>,
): Generator<{ ref: string; key: string; value: string }> {
  for (const object of objects) {
    if (object.kind !== 'Secret') continue;
    const { data, stringData } = object as {
      data?: Record<string, unknown>;
      stringData?: Record<string, unknown>;
    };
    const ref = `Secret/${object.metadata.name ?? ''}`;
    for (const [key, value] of Object.entries(data ?? {})) {
      if (typeof value === 'string') yield { ref, key, value: Buffer.from(value, 'base64').toString('utf8') };
    }
    for (const [key, value] of Object.entries(stringData ?? {}))
      if (typeof value === 'string') yield { ref, key, value };
  }
}

/** The plaintext values of Secrets (`data` decoded, `stringData` as is), e.g. to build a redactor. */
export function secretValues(objects: Iterable<KubeObject>): string[] {
  return [...secretEntries(objects)].map((entry) => entry.value);
}

/**
 * `Secret/NAME key KEY` for each Secret value too short to be redacted (docs/redaction.md): it
 * may appear in output as it is. Names the key, never the value.
 */
export function unredactedSecretKeys(objects: Iterable<KubeObject>): string[] {
  return [...secretEntries(objects)]
    .filter((entry) => entry.value.trim() !== '' && !redactable(entry.value))
    .map((entry) => `${entry.ref} key ${entry.key}`);
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
