// Keeping secret values out of everything Capstan prints: a redactor and a values-free Secret diff.
import { mapStrings, REDACTED, type KubeObject, type ValuePath } from '../shared/index.js';

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
 *
 * Public names (the app's, the environment's, the namespace's, the deploy's id, the phases', the
 * objects' kinds and names) are printed whatever the secrets are: a value equal to one or part of
 * one cannot be kept secret, so it is not redacted anywhere (docs/redaction.md). Hiding it in some
 * places and not in others would point at it, and hiding it everywhere would erase the deploy's
 * identity from every line.
 */
export class Redactor {
  /** Every form of every value added, public or not. */
  private readonly forms = new Set<string>();
  private readonly publicNames = new Set<string>();
  /** Public only as a whole (the deploy id): a value equal to one is not redacted, a part of one is. */
  private readonly wholeNames = new Set<string>();
  /** The public names joined by NUL, which no name holds: one search tells whether a form is in any. */
  private publicText = '';
  private pattern: RegExp | undefined;
  /** Whether a text holds any redacted form at all: most lines hold none, and this is far cheaper. */
  private any: RegExp | undefined;

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /** Adds values to keep out of output (shorter ones are ignored, see MIN_REDACTED_LENGTH). */
  add(values: Iterable<string>): void {
    let added = false;
    for (const value of values)
      for (const form of formsOf(value)) {
        if (this.forms.has(form)) continue;
        this.forms.add(form);
        added ||= !this.inPublicName(form);
      }
    if (added) this.compile();
  }

  /**
   * Adds names that Capstan prints whatever the secrets are (see the class): from now on a value
   * equal to one of them or part of one is not redacted.
   */
  addPublic(names: Iterable<string>): void {
    const fresh: string[] = [];
    for (const name of names) {
      if (name === '' || this.publicNames.has(name)) continue;
      this.publicNames.add(name);
      fresh.push(name);
    }
    if (fresh.length === 0) return;
    this.publicText += `\u0000${fresh.join('\u0000')}`;
    // Only a name that holds a form redacted so far changes what is redacted.
    if (this.any && fresh.some((name) => this.any!.test(name))) this.compile();
  }

  /** Adds names public only as a whole (the deploy id, a timestamp whose digits may be a PIN's). */
  addPublicWhole(names: Iterable<string>): void {
    let fresh = false;
    for (const name of names)
      if (name !== '' && !this.wholeNames.has(name)) {
        this.wholeNames.add(name);
        fresh = true;
      }
    if (fresh && this.any) this.compile();
  }

  /** Whether `value` (trimmed) equals a public name or is part of one, so cannot be kept secret. */
  readonly isPublic = (value: string): boolean => {
    const trimmed = value.trim();
    return trimmed !== '' && this.inPublicName(trimmed);
  };

  private inPublicName(text: string): boolean {
    if (this.wholeNames.has(text)) return true;
    // A text holding the separator could match across two names: those are asked one by one.
    return text.includes('\u0000')
      ? [...this.publicNames].some((name) => name.includes(text))
      : this.publicText.includes(text);
  }

  private compile(): void {
    // At each position, the longest form that starts there (alternatives are tried in order).
    const alternatives = [...this.forms]
      .filter((form) => !this.inPublicName(form))
      .sort((a, b) => b.length - a.length)
      .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.pattern = alternatives.length > 0 ? new RegExp(`(?=(${alternatives.join('|')}))`, 'g') : undefined;
    this.any = alternatives.length > 0 ? new RegExp(alternatives.join('|')) : undefined;
  }

  /** Whether any value is redacted. */
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
   * An event with its string fields redacted, except two kinds of field. Its `type`, `outcome` and
   * `action`: names from Capstan's own closed lists, printed whatever the secrets are. And the
   * fields that say which deploy and which objects it is about (`app`, `env`, `namespace`,
   * `deployId`, `phase`, `phases`, each object's `kind`, `name` and `namespace`): public names,
   * which the redactor learns here, so that no other output hides them either. A reader of the
   * stream cannot do without either kind.
   */
  event<T extends { readonly type: string }>(event: T): T {
    this.addPublic(identityNames(event));
    const id = (event as { deployId?: unknown }).deployId;
    if (typeof id === 'string') this.addPublicWhole([id]);
    return this.pattern === undefined ? event : mapStrings(event, this.text, keptInEvents);
  }
}

/** The fields of an event whose values come from Capstan's own closed lists, never from input. */
const EVENT_VOCABULARY: ReadonlySet<string> = new Set(['type', 'outcome', 'action']);
/** Top-level fields of an event that name the deploy: the app, environment, namespace, id, phase, cluster. */
const IDENTITY_FIELDS: ReadonlySet<string> = new Set([
  'app',
  'env',
  'namespace',
  'deployId',
  'phase',
  'cluster',
]);
/** Top-level lists of names in events: phases, and a multi-cluster deploy's clusters. */
const NAME_LISTS: ReadonlySet<string> = new Set(['phases', 'clusters', 'skipped']);
/** Lists of objects in events (`plan`, `deploy-finished`), each `{ kind, name, namespace }`. */
const OBJECT_LISTS: ReadonlySet<string> = new Set([
  'create',
  'change',
  'unchanged',
  'prune',
  'applied',
  'notApplied',
]);
const OBJECT_FIELDS: ReadonlySet<string> = new Set(['kind', 'name', 'namespace']);

/**
 * Whether a path of an event holds a public name: a top-level identity field, a phase of
 * `phases`, a cluster's name (`clusters`, `skipped`, `waves`, each cluster's outcome), or the kind,
 * name or namespace of an object the event is about (`object`, each item of its object lists, the
 * object of each preflight problem).
 */
function isIdentityPath(path: ValuePath): boolean {
  const [first, second, third, fourth] = path;
  if (path.length === 1) return IDENTITY_FIELDS.has(String(first));
  if (path.length === 2)
    return NAME_LISTS.has(String(first)) || (first === 'object' && OBJECT_FIELDS.has(String(second)));
  if (path.length === 3)
    return (
      (OBJECT_LISTS.has(String(first)) && OBJECT_FIELDS.has(String(third))) ||
      // A multi-cluster deploy's waves of cluster names, and each cluster's name in its outcome.
      first === 'waves' ||
      (first === 'clusters' && third === 'cluster')
    );
  return path.length === 4 && first === 'problems' && third === 'object' && OBJECT_FIELDS.has(String(fourth));
}

function keptInEvents(path: ValuePath): boolean {
  return (path.length === 1 && EVENT_VOCABULARY.has(String(path[0]))) || isIdentityPath(path);
}

/** The public names an event holds, at its identity paths. */
function identityNames(event: object): string[] {
  const names: string[] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      // The deploy id stays whole in its field, but is no public name (see deployPublicNames).
      if (isIdentityPath(path) && !(path.length === 1 && path[0] === 'deployId')) names.push(value);
    } else if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i]));
    else if (value !== null && typeof value === 'object' && path.length < 4)
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
  };
  walk(event, []);
  return names;
}

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
 * The names a deploy prints whatever its secrets are (docs/redaction.md): its app, environment,
 * namespace, phases, and its objects' kinds, names and namespaces. Given to
 * Redactor.addPublic before the secret values, so that no output hides them.
 */
export function deployPublicNames(deploy: {
  readonly app: string;
  readonly env: string;
  readonly namespace: string;
  readonly phases: readonly string[];
  readonly objects: Iterable<KubeObject>;
}): string[] {
  // Not the deploy id: it is a timestamp, and every run of digits in it would turn a numeric secret
  // (a PIN, a port) public; the event field keeps it whole anyway. Not the kube context either:
  // Capstan does not print it, and `kubernetes-admin@kubernetes` would make `admin` public.
  const names = [deploy.app, deploy.env, deploy.namespace, ...deploy.phases];
  for (const object of deploy.objects) {
    names.push(object.kind);
    if (object.metadata.name) names.push(object.metadata.name);
    if (object.metadata.namespace) names.push(object.metadata.namespace);
  }
  return names;
}

/**
 * What to warn about each Secret value Capstan cannot keep out of its output, naming the Secret
 * and the key, never the value: one shorter than MIN_REDACTED_LENGTH, and one equal to a public
 * name or part of one (`isPublic`, a Redactor's once it knows the deploy's public names).
 */
export function unredactableSecretWarnings(
  objects: Iterable<KubeObject>,
  isPublic: (value: string) => boolean,
): string[] {
  const entries = [...secretEntries(objects)].filter((entry) => entry.value.trim() !== '');
  return [
    ...entries
      .filter((entry) => !redactable(entry.value))
      .map(
        (entry) =>
          `${entry.ref} key ${entry.key} is shorter than ${MIN_REDACTED_LENGTH} characters, so Capstan cannot keep it out of its output (docs/redaction.md)`,
      ),
    ...entries
      .filter((entry) => redactable(entry.value) && isPublic(entry.value))
      .map(
        (entry) =>
          `${entry.ref} key ${entry.key} equals a name Capstan prints anyway (the app's, the environment's, the namespace's, a phase's or an object's) or part of one, so Capstan cannot keep it out of its output (docs/redaction.md)`,
      ),
  ];
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
