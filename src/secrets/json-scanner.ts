// A small JSON scanner that locates every string literal, so callers can rewrite values in place.
import { ConfigError } from '../shared/index.js';
import { locate, unquoteJsonString } from './json-string.js';

export type PathSegment = string | number;
export type JsonValueKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

export interface JsonStringLiteral {
  /** Byte offset of the opening quote. */
  readonly start: number;
  /** Byte offset just after the closing quote. */
  readonly end: number;
  readonly isKey: boolean;
  /**
   * ejson's rule: a string value (never a key) whose most recently scanned object key does not
   * begin with a raw `_` byte. "Most recent" is in scan order, not the lexical parent.
   */
  readonly encryptable: boolean;
  /** Where the value (or the member a key names) sits in the document. */
  readonly path: readonly PathSegment[];
  /** Holds raw CR/LF bytes; only possible with `allowRawLineBreaks`. */
  readonly hasRawLineBreak: boolean;
}

export interface JsonMember {
  readonly key: string;
  readonly kind: JsonValueKind;
  /** Byte offset where the value starts. */
  readonly start: number;
  readonly literal?: JsonStringLiteral;
}

export interface JsonScan {
  readonly rootKind: JsonValueKind;
  /** Every string literal, keys included, in source order. */
  readonly strings: readonly JsonStringLiteral[];
  /** The top-level object's members in source order (empty when the root is not an object). */
  readonly members: readonly JsonMember[];
}

export interface ScanJsonOptions {
  /** Reported in errors. */
  readonly file: string;
  /** ejson's encrypt accepts raw line breaks inside strings (it escapes them first). */
  readonly allowRawLineBreaks?: boolean;
}

interface Frame {
  readonly kind: 'object' | 'array';
  count: number;
}

const keyDecoder = new TextDecoder();

function describeByte(byte: number | undefined): string {
  if (byte === undefined) return 'end of input';
  if (byte >= 0x21 && byte < 0x7f) return `character '${String.fromCharCode(byte)}'`;
  return `byte 0x${byte.toString(16).padStart(2, '0')}`;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

class Scanner {
  private pos = 0;
  private lastKeyIsComment = false;
  private readonly path: PathSegment[] = [];
  private readonly frames: Frame[] = [];
  readonly strings: JsonStringLiteral[] = [];
  readonly members: JsonMember[] = [];

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: ScanJsonOptions,
  ) {}

  run(): JsonScan {
    this.skipSpace();
    const rootKind = this.value();
    while (this.frames.length > 0) {
      const frame = this.frames[this.frames.length - 1];
      this.skipSpace();
      const c = this.bytes[this.pos];
      const close = frame.kind === 'object' ? 0x7d : 0x5d;
      if (c === close) {
        this.pos++;
        this.frames.pop();
        if (this.frames.length > 0) this.path.pop();
        continue;
      }
      if (frame.count > 0) {
        if (c !== 0x2c) this.fail(`(expected ',' or '${String.fromCharCode(close)}')`);
        this.pos++;
        this.skipSpace();
      }
      if (frame.kind === 'object') this.key();
      else this.path.push(frame.count);
      frame.count++;
      const kind = this.value();
      if (kind !== 'object' && kind !== 'array') this.path.pop();
    }
    this.skipSpace();
    if (this.pos < this.bytes.length) this.fail('after the top-level value');
    return { rootKind, strings: this.strings, members: this.members };
  }

  private fail(expected: string): never {
    const { line, column } = locate(this.bytes, this.pos);
    const found = describeByte(this.bytes[this.pos]);
    throw new ConfigError([
      { file: this.options.file, line, column, message: `invalid JSON: unexpected ${found} ${expected}` },
    ]);
  }

  private skipSpace(): void {
    const bytes = this.bytes;
    let c = bytes[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = bytes[++this.pos];
  }

  private key(): void {
    if (this.bytes[this.pos] !== 0x22) this.fail('(expected a string key)');
    const start = this.pos;
    const hasRawLineBreak = this.string();
    this.lastKeyIsComment = this.bytes[start + 1] === 0x5f;
    const key = keyDecoder.decode(unquoteJsonString(this.bytes, start, this.pos));
    this.path.push(key);
    this.strings.push({
      start,
      end: this.pos,
      isKey: true,
      encryptable: false,
      path: this.path.slice(),
      hasRawLineBreak,
    });
    this.skipSpace();
    if (this.bytes[this.pos] !== 0x3a) this.fail("(expected ':' after an object key)");
    this.pos++;
    this.skipSpace();
  }

  /** Scans one value; containers are opened (pushed) and finished by `run`. */
  private value(): JsonValueKind {
    const bytes = this.bytes;
    const start = this.pos;
    const c = bytes[start];
    let kind: JsonValueKind;
    let literal: JsonStringLiteral | undefined;
    if (c === 0x7b || c === 0x5b) {
      kind = c === 0x7b ? 'object' : 'array';
      this.pos++;
      this.frames.push({ kind, count: 0 });
    } else if (c === 0x22) {
      kind = 'string';
      const hasRawLineBreak = this.string();
      const encryptable = !this.lastKeyIsComment;
      literal = { start, end: this.pos, isKey: false, encryptable, path: this.path.slice(), hasRawLineBreak };
      this.strings.push(literal);
    } else if (c === 0x2d || isDigit(c)) {
      kind = 'number';
      this.number();
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      for (let k = 0; k < word.length; k++) {
        if (bytes[this.pos] !== word.charCodeAt(k)) this.fail(`in literal ${word}`);
        this.pos++;
      }
      kind = word === 'null' ? 'null' : 'boolean';
    } else {
      this.fail('(expected a value)');
    }
    const topObject = this.frames.length === (kind === 'object' || kind === 'array' ? 2 : 1);
    if (topObject && this.frames[0].kind === 'object') {
      const key = this.path[0] as string;
      this.members.push(literal ? { key, kind, start, literal } : { key, kind, start });
    }
    return kind;
  }

  /** Scans a string literal at `pos`; returns whether it held raw line breaks. */
  private string(): boolean {
    const bytes = this.bytes;
    let i = this.pos + 1;
    let rawLineBreak = false;
    for (;;) {
      const c = bytes[i];
      if (c === undefined) {
        this.pos = i;
        this.fail('in a string literal');
      }
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = bytes[i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            const h = bytes[i + k];
            const isHex =
              h !== undefined && (isDigit(h) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46));
            if (!isHex) {
              this.pos = i + k;
              this.fail('in a \\u escape (expected a hex digit)');
            }
          }
          i += 6;
          continue;
        }
        if (
          e !== 0x22 &&
          e !== 0x5c &&
          e !== 0x2f &&
          e !== 0x62 &&
          e !== 0x66 &&
          e !== 0x6e &&
          e !== 0x72 &&
          e !== 0x74
        ) {
          this.pos = i + 1;
          this.fail('in a string escape');
        }
        i += 2;
        continue;
      }
      if (c < 0x20) {
        if (this.options.allowRawLineBreaks && (c === 0x0a || c === 0x0d)) {
          rawLineBreak = true;
        } else {
          this.pos = i;
          this.fail(
            c === 0x0a || c === 0x0d
              ? 'in a string literal (write line breaks as \\n)'
              : 'in a string literal (control characters must be escaped)',
          );
        }
      }
      i++;
    }
    this.pos = i + 1;
    return rawLineBreak;
  }

  private number(): void {
    const bytes = this.bytes;
    if (bytes[this.pos] === 0x2d) this.pos++;
    if (bytes[this.pos] === 0x30) this.pos++;
    else if (isDigit(bytes[this.pos])) while (isDigit(bytes[this.pos])) this.pos++;
    else this.fail('in a number');
    if (bytes[this.pos] === 0x2e) {
      this.pos++;
      if (!isDigit(bytes[this.pos])) this.fail('in a number (expected a digit after the decimal point)');
      while (isDigit(bytes[this.pos])) this.pos++;
    }
    if (bytes[this.pos] === 0x65 || bytes[this.pos] === 0x45) {
      this.pos++;
      if (bytes[this.pos] === 0x2b || bytes[this.pos] === 0x2d) this.pos++;
      if (!isDigit(bytes[this.pos])) this.fail('in a number (expected an exponent)');
      while (isDigit(bytes[this.pos])) this.pos++;
    }
  }
}

/** Scans a whole JSON text; malformed input throws a ConfigError with line and column. */
export function scanJson(bytes: Uint8Array, options: ScanJsonOptions): JsonScan {
  return new Scanner(bytes, options).run();
}

/** `a.b[0]["dotted.key"]`: a value's path as issues show it. */
export function formatJsonPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
