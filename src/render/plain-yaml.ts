// A fast reader for the YAML that rendered manifests are made of. The yaml library (which reads
// everything else, and every stream this one declines) builds a document tree with positions for
// each file; at a few hundred templates that was a third of Capstan's start-up. js-yaml reads the
// same text to the same values about five times faster: it is given YAML 1.2's core schema exactly
// as the yaml library resolves plain scalars, and it is only trusted where the two libraries were
// found to agree (test/unit/render/plain-yaml.test.ts compares them on generated and odd inputs).
import { FAILSAFE_SCHEMA, Type, loadAll } from 'js-yaml';

// The yaml library's core-schema tests (yaml/dist/schema/common and core), in its order.
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const INT_OCT = /^0o[0-7]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN_INF = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

const coreNull = new Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (data: string | null) => data === null || NULL.test(data),
  construct: () => null,
});

const coreBool = new Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && BOOL.test(data),
  construct: (data: string) => data.startsWith('t') || data.startsWith('T'),
});

const coreInt = new Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string | null) =>
    data !== null && (INT_OCT.test(data) || INT.test(data) || INT_HEX.test(data)),
  construct: (data: string) =>
    INT_OCT.test(data)
      ? parseInt(data.slice(2), 8)
      : INT_HEX.test(data)
        ? parseInt(data.slice(2), 16)
        : parseInt(data, 10),
});

const coreFloat = new Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string | null) =>
    data !== null && (FLOAT_NAN_INF.test(data) || FLOAT_EXP.test(data) || FLOAT.test(data)),
  construct: (data: string) => {
    if (!FLOAT_NAN_INF.test(data)) return parseFloat(data);
    if (data.slice(-3).toLowerCase() === 'nan') return NaN;
    return data.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  },
});

const CORE_AS_THE_YAML_LIBRARY_READS_IT = FAILSAFE_SCHEMA.extend({
  implicit: [coreNull, coreBool, coreInt, coreFloat],
});

/**
 * What the two libraries read differently, or what only the yaml library checks, found by a look
 * at the text. A match sends the stream to the yaml library; a false alarm (the same characters in
 * a quoted string, say) costs only time.
 */
const LEFT_TO_THE_YAML_LIBRARY: readonly RegExp[] = [
  // Directives: `%YAML 1.1` changes the schema. Byte-order marks (the yaml library drops one
  // anywhere a document may start; js-yaml only at the very beginning).
  /^%/m,
  /\uFEFF/,
  // Anything after a `---` or `...` marker on its line (`---x` is a scalar to one, a marker to the
  // other); a carriage return not followed by a line feed; `\U` escapes (js-yaml takes out-of-range ones).
  /^(?:---|\.\.\.)(?![ \t]*\r?$)/m,
  /\r(?!\n)/,
  // A stream ending in a line of spaces: js-yaml keeps one more line break in a `|+` scalar there.
  /\n[ ]+$/,
  /\\U/,
  // Tags (`!!binary`, `!local`), anchors and aliases (with their alias-count limit), explicit keys.
  /(?:^|[\s[\]{},:])[!&*?]/,
  // Merge keys.
  /<</,
  // A null or empty key (`~: x`, `null: x`, `: x`): the yaml library names it "", js-yaml "null".
  /(?:^|[\s[{,])(?:~|null|Null|NULL)?[ \t]*:(?=[ \t]|$)/m,
  // A flow collection as a key (`[a, b]: x`): each library makes a different string of it.
  /[\]}][ \t]*:/,
  // ... or as an entry of a flow collection, or null as one (`{a, null}`: a null key again).
  /[[{,][ \t]*(?:[[{]|(?:~|null|Null|NULL)[ \t]*[,}\]])/,
  // An implicit key may be at most 1,024 characters long; only the yaml library says so.
  /[^\n]{1025}/,
  // What js-yaml lets pass and the yaml library refuses, found by editing valid YAML at random:
  // a comment right after a closing quote or bracket, a key or value indicator right after a flow
  // indicator, block scalars with an indentation indicator, tabs (indentation).
  /[\]}'"[{,]#/,
  /(?:^|\s)-[ \t]+#/m,
  /[[{,][ \t]*:/,
  /[|>][-+]?[0-9]/,
  /\t/,
];

/**
 * The values of every document in `text` (empty documents as null), or undefined when the yaml
 * library must read it: a construct listed above, or anything js-yaml refuses (the yaml library then
 * says what is wrong, with its line and column).
 */
export function readPlainYaml(text: string): unknown[] | undefined {
  if (LEFT_TO_THE_YAML_LIBRARY.some((pattern) => pattern.test(text)) || mayContinueOnNextLine(text))
    return undefined;
  try {
    return loadAll(text, undefined, { schema: CORE_AS_THE_YAML_LIBRARY_READS_IT });
  } catch {
    return undefined;
  }
}

/**
 * Whether some line may leave a quoted scalar or a flow collection open for the next one: the two
 * libraries' rules for how such a continuation must be indented differ (a shifted `]` in a
 * multi-line list is an error to the yaml library, not to js-yaml). Declined when a line has an
 * odd number of single quotes, or of double quotes not escaped by a backslash; when a quoted
 * scalar that starts a node is not closed on its line; or when the line's brackets, counted
 * outside such scalars (in comments and plain scalars too), go below zero or do not return to zero. False alarms only
 * cost time.
 */
function mayContinueOnNextLine(text: string): boolean {
  for (const line of text.split('\n')) {
    let single = 0;
    let double = 0;
    let depth = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      // A quoted scalar that starts a node must close on this line; what it holds is not counted.
      if ((c === "'" || c === '"') && startsNode(line, i)) {
        const end = closingQuote(line, i);
        if (end < 0) return true;
        i = end;
        continue;
      }
      if (c === "'") single++;
      else if (c === '"' && !escapedAt(line, i)) double++;
      else if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') {
        if (--depth < 0) return true;
      }
    }
    if (single % 2 === 1 || double % 2 === 1 || depth !== 0) return true;
  }
  return false;
}

/** A quote preceded by an odd number of backslashes. */
function escapedAt(line: string, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && line[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

/** Whether the character at `at` begins a node: first on its line, or after `- `, `:`, `[`, `{`, `,`. */
function startsNode(line: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && line[i] === ' ') i--;
  if (i < 0) return true;
  const before = line[i];
  if (before === '[' || before === '{' || before === ',') return true;
  // `"a":"b"` (JSON style) starts one right after the colon.
  return before === ':' || (before === '-' && i < at - 1);
}

/** Index of the quote that closes the quoted scalar opened at `at`, or -1 if not on this line. */
function closingQuote(line: string, at: number): number {
  const quote = line[at];
  for (let i = at + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') i++;
    else if (line[i] === quote) {
      if (quote === "'" && line[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}
