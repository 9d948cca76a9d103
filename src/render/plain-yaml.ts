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
  // Directives: `%YAML 1.1` changes the schema.
  /^%/m,
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
  if (LEFT_TO_THE_YAML_LIBRARY.some((pattern) => pattern.test(text)) || quoteMayContinue(text))
    return undefined;
  try {
    return loadAll(text, undefined, { schema: CORE_AS_THE_YAML_LIBRARY_READS_IT });
  } catch {
    return undefined;
  }
}

/**
 * A line with an odd number of single or of double quotes: a quoted scalar may go on to the next
 * line, where the two libraries' rules for its indentation differ. Escaped and doubled quotes are
 * counted too (an apostrophe in a plain scalar sends its stream to the yaml library, which is fine).
 */
function quoteMayContinue(text: string): boolean {
  let single = 0;
  let double = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 39) single++;
    else if (c === 34) double++;
    else if (c === 10 || Number.isNaN(c)) {
      if (single % 2 === 1 || double % 2 === 1) return true;
      single = 0;
      double = 0;
    }
  }
  return false;
}
