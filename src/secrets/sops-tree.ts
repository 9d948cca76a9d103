// SOPS documents as the Go sops tool sees them: ordered maps, Go YAML v3 scalar types, exact ints.
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';

/**
 * One value of a SOPS document. Maps keep their key order (the MAC and the walk depend on it);
 * integers are bigints so that no digit is lost; `number` is always a float (Go's float64).
 */
export type SopsValue = string | boolean | bigint | number | null | SopsMap | SopsValue[];
export type SopsMap = Map<string, SopsValue>;

export function isSopsMap(value: SopsValue): value is SopsMap {
  return value instanceof Map;
}

/** A problem at a place in a document; `path` is made of keys only, never a value. */
export class SopsTreeError extends Error {
  constructor(
    message: string,
    readonly path: readonly string[] = [],
    readonly line?: number,
  ) {
    super(message);
    this.name = 'SopsTreeError';
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const YAML_MAP: Record<string, SopsValue> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
  null: null,
  Null: null,
  NULL: null,
  '~': null,
  '': null,
  '.nan': NaN,
  '.NaN': NaN,
  '.NAN': NaN,
  '.inf': Infinity,
  '.Inf': Infinity,
  '.INF': Infinity,
  '+.inf': Infinity,
  '+.Inf': Infinity,
  '+.INF': Infinity,
  '-.inf': -Infinity,
  '-.Inf': -Infinity,
  '-.INF': -Infinity,
};

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}([Tt ]|$)/;

/** Go's `strconv.ParseInt(s, 0, 64)` (base prefixes 0x, 0o, 0b and a leading 0 for octal). */
function parseGoInt(text: string, base?: number): bigint | undefined {
  const match = /^([-+]?)(.*)$/.exec(text)!;
  const sign = match[1] === '-' ? -1n : 1n;
  let digits = match[2];
  let radix = base;
  if (radix === undefined) {
    if (/^0[xX]/.test(digits)) [radix, digits] = [16, digits.slice(2)];
    else if (/^0[oO]/.test(digits)) [radix, digits] = [8, digits.slice(2)];
    else if (/^0[bB]/.test(digits)) [radix, digits] = [2, digits.slice(2)];
    else if (/^0./.test(digits)) [radix, digits] = [8, digits.slice(1)];
    else radix = 10;
  }
  const allowed = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[radix];
  if (!allowed?.test(digits)) return undefined;
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[radix];
  const value = sign * BigInt(`${prefix}${digits}`);
  return value >= INT64_MIN && value <= INT64_MAX ? value : undefined;
}

/**
 * What Go's YAML v3 makes of a plain (unquoted, untagged) scalar when decoded as sops decodes it:
 * bools and nulls by exact spelling (not yes/no/on/off), ints with Go's base prefixes, floats, and
 * timestamps kept as strings. Integers beyond int64 are refused, as sops cannot hold them either.
 */
export function resolvePlainScalar(text: string): SopsValue {
  if (Object.hasOwn(YAML_MAP, text)) return YAML_MAP[text]!;
  const first = text[0] ?? '';
  if (first === '.') {
    return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : text;
  }
  if (!/[-+0-9]/.test(first) || TIMESTAMP.test(text)) return text;
  const plain = text.replaceAll('_', '');
  const int = parseGoInt(plain);
  if (int !== undefined) return int;
  if (YAML_STYLE_FLOAT.test(plain)) return Number(plain);
  if (/^-?0b/.test(plain)) return parseGoInt(plain.replace('0b', ''), 2) ?? text;
  if (/^-?0o/.test(plain)) return parseGoInt(plain.replace('0o', ''), 8) ?? text;
  return text;
}

const TAGGED: Record<string, (text: string) => SopsValue | undefined> = {
  'tag:yaml.org,2002:str': (text) => text,
  'tag:yaml.org,2002:null': (text) => (resolvePlainScalar(text) === null ? null : undefined),
  'tag:yaml.org,2002:bool': (text) => {
    const value = resolvePlainScalar(text);
    return typeof value === 'boolean' ? value : undefined;
  },
  'tag:yaml.org,2002:int': (text) => {
    const value = resolvePlainScalar(text);
    return typeof value === 'bigint' ? value : undefined;
  },
  'tag:yaml.org,2002:float': (text) => {
    const value = resolvePlainScalar(text);
    if (typeof value === 'bigint') return Number(value);
    return typeof value === 'number' ? value : undefined;
  },
};

function scalarValue(node: Node & { value: unknown; type?: string; tag?: string }, at: string[]): SopsValue {
  const text = typeof node.value === 'string' ? node.value : '';
  if (node.tag !== undefined) {
    const resolve = TAGGED[node.tag];
    const value = resolve?.(text);
    if (value === undefined)
      throw new SopsTreeError(`the YAML tag ${node.tag} is not supported here`, at, undefined);
    return value;
  }
  return node.type === 'PLAIN' ? resolvePlainScalar(text) : text;
}

function nodeValue(node: unknown, doc: Document, at: string[], depth: number): SopsValue {
  if (depth > 200) throw new SopsTreeError('the document is nested too deeply', at);
  if (isAlias(node)) return nodeValue(node.resolve(doc), doc, at, depth + 1);
  if (isScalar(node)) return scalarValue(node as never, at);
  if (isSeq(node)) return node.items.map((item) => nodeValue(item, doc, at, depth + 1));
  if (isMap(node)) {
    const map: SopsMap = new Map();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? scalarValue(pair.key as never, at) : undefined;
      if (typeof key !== 'string')
        throw new SopsTreeError('only string keys are supported (quote the key)', at);
      if (map.has(key)) throw new SopsTreeError(`the key "${key}" appears twice`, at);
      map.set(key, nodeValue(pair.value, doc, [...at, key], depth + 1));
    }
    return map;
  }
  if (node === null || node === undefined) return null;
  throw new SopsTreeError('unsupported YAML node', at);
}

/** The documents of a YAML stream, each a map (as sops requires); an empty document is skipped. */
export function parseSopsYaml(text: string): SopsMap[] {
  // Failsafe: every scalar stays text, so that this module alone decides types, the way Go does.
  const docs = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
  const branches: SopsMap[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0].line;
      // The parser's own message may quote the input: only its code and place are kept.
      throw new SopsTreeError(`not valid YAML (${error.code})`, [], line);
    }
    if (doc.contents === null) continue;
    const value = nodeValue(doc.contents, doc, [], 0);
    if (value === null) continue;
    if (!isSopsMap(value)) throw new SopsTreeError('each YAML document must be a mapping');
    branches.push(value);
  }
  return branches;
}

const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const JSON_WORD = /true|false|null/y;
const JSON_NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;

/** A JSON document the way sops's JSON store reads it: keys in order, int64 integers exact. */
export function parseSopsJson(text: string): SopsMap {
  let pos = 0;
  // Sticky patterns read at the position, without copying the rest of the text each time.
  const sticky = (pattern: RegExp) => {
    pattern.lastIndex = pos;
    return pattern.exec(text);
  };
  const fail = (): never => {
    const line = text.slice(0, pos).split('\n').length;
    throw new SopsTreeError('not valid JSON', [], line);
  };
  const space = () => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos])) pos++;
  };
  const stringAt = (): string => {
    const match = sticky(JSON_STRING);
    if (!match) return fail();
    pos += match[0].length;
    return JSON.parse(match[0]) as string;
  };
  const value = (at: string[], depth: number): SopsValue => {
    if (depth > 200) throw new SopsTreeError('the document is nested too deeply', at);
    space();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const map: SopsMap = new Map();
      space();
      if (text[pos] === '}') return (pos++, map);
      for (;;) {
        space();
        const key = stringAt();
        space();
        if (text[pos++] !== ':') fail();
        if (map.has(key)) throw new SopsTreeError(`the key "${key}" appears twice`, at);
        map.set(key, value([...at, key], depth + 1));
        space();
        const next = text[pos++];
        if (next === '}') return map;
        if (next !== ',') fail();
      }
    }
    if (c === '[') {
      pos++;
      const list: SopsValue[] = [];
      space();
      if (text[pos] === ']') return (pos++, list);
      for (;;) {
        list.push(value(at, depth + 1));
        space();
        const next = text[pos++];
        if (next === ']') return list;
        if (next !== ',') fail();
      }
    }
    if (c === '"') return stringAt();
    const word = sticky(JSON_WORD);
    if (word) {
      pos += word[0].length;
      return word[0] === 'null' ? null : word[0] === 'true';
    }
    const number = sticky(JSON_NUMBER);
    if (!number) return fail();
    pos += number[0].length;
    if (number[2] === undefined && number[3] === undefined) {
      const int = BigInt(number[0]);
      if (int >= INT64_MIN && int <= INT64_MAX) return int;
    }
    return Number(number[0]);
  };
  const root = value([], 0);
  space();
  if (pos !== text.length) fail();
  if (!isSopsMap(root)) throw new SopsTreeError('the JSON document must be an object');
  return root;
}

/** Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits, never an exponent. */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (Object.is(value, -0)) return '-0';
  const [mantissa, exp] = value.toExponential().split('e') as [string, string];
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const point = Number(exp) + 1;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

/** A float written so that Go reads it back as a float (never as an int). */
function floatLiteral(value: number, yaml: boolean): string {
  if (Number.isNaN(value)) {
    if (!yaml) throw new SopsTreeError('JSON cannot hold NaN');
    return '.nan';
  }
  if (!Number.isFinite(value)) {
    if (!yaml) throw new SopsTreeError('JSON cannot hold an infinite number');
    return value > 0 ? '.inf' : '-.inf';
  }
  const text = formatGoFloat(value);
  return text.includes('.') ? text : `${text}.0`;
}

const ENC_VALUE =
  /^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]*,tag:[A-Za-z0-9+/=]*,type:[a-z0-9]+\]$/;
const PLAIN_SAFE = /^[A-Za-z_/][A-Za-z0-9_./=+@-]*$/;
const LITERAL_SAFE = /^[!-~]([ -~]*[!-~])?(\n[!-~]([ -~]*[!-~])?)*\n$/;

/**
 * A YAML double-quoted scalar: JSON's escapes, plus escapes for what is not printable in YAML and
 * for NEL, LS and PS, which Go's YAML reads as line breaks (and would fold) even inside quotes.
 */
function quoteYaml(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udfff]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function yamlString(text: string, indent: string): string {
  if (ENC_VALUE.test(text)) return text;
  if (PLAIN_SAFE.test(text) && resolvePlainScalar(text) === text && !/^(y|n|yes|no|on|off)$/i.test(text))
    return text;
  if (LITERAL_SAFE.test(text)) return `|\n${text.replace(/\n$/, '').replace(/^/gm, `${indent}    `)}`;
  return quoteYaml(text);
}

function yamlScalar(value: SopsValue, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return yamlString(value, indent);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return floatLiteral(value, true);
  if (isSopsMap(value)) return '{}';
  return '[]';
}

function isBlock(value: SopsValue): boolean {
  return (isSopsMap(value) && value.size > 0) || (Array.isArray(value) && value.length > 0);
}

function yamlLines(value: SopsValue, indent: string): string[] {
  const lines: string[] = [];
  if (isSopsMap(value)) {
    for (const [key, item] of value) {
      const name = ENC_VALUE.test(key) || LITERAL_SAFE.test(key) ? quoteYaml(key) : yamlString(key, indent);
      if (isBlock(item)) lines.push(`${indent}${name}:`, ...yamlLines(item, `${indent}    `));
      else lines.push(`${indent}${name}: ${yamlScalar(item, indent)}`);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) {
      if (!isBlock(item)) {
        lines.push(`${indent}- ${yamlScalar(item, indent)}`);
        continue;
      }
      const inner = yamlLines(item, `${indent}  `);
      inner[0] = `${indent}- ${inner[0].slice(indent.length + 2)}`;
      lines.push(...inner);
    }
  }
  return lines;
}

/** YAML that Go's YAML v3 reads back as the same tree; documents separated by `---`. */
export function emitSopsYaml(branches: readonly SopsMap[]): string {
  return branches
    .map((branch) => (branch.size === 0 ? '{}\n' : `${yamlLines(branch, '').join('\n')}\n`))
    .join('---\n');
}

function jsonText(value: SopsValue, indent: string): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return floatLiteral(value, false);
  const inner = `${indent}\t`;
  if (isSopsMap(value)) {
    if (value.size === 0) return '{}';
    const members = [...value].map(([k, v]) => `${inner}${JSON.stringify(k)}: ${jsonText(v, inner)}`);
    return `{\n${members.join(',\n')}\n${indent}}`;
  }
  if (value.length === 0) return '[]';
  return `[\n${value.map((v) => `${inner}${jsonText(v, inner)}`).join(',\n')}\n${indent}]`;
}

/** JSON indented with tabs, as sops writes it; floats keep a decimal point so they stay floats. */
export function emitSopsJson(branch: SopsMap): string {
  return `${jsonText(branch, '')}\n`;
}

/** The tree as plain JSON-compatible data (for Kubernetes objects); ints beyond 2^53 stay text. */
export function toPlainData(value: SopsValue): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : String(value);
  }
  if (isSopsMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value)
      Object.defineProperty(out, k, {
        value: toPlainData(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlainData);
  return value;
}
