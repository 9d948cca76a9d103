// JSON string literals handled the way ejson does: Go's decoding rules in, ejson's quoting out.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const REPLACEMENT_CHARACTER = 0xfffd;

/**
 * Length of the well-formed UTF-8 sequence starting at `i`, or 0 where Go's `utf8.DecodeRune`
 * would return a one-byte RuneError (overlong forms, surrogates, beyond U+10FFFF, truncation).
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) length = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 === 0xe0) low = 0xa0;
    else if (b0 === 0xed) high = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 === 0xf0) low = 0x90;
    else if (b0 === 0xf4) high = 0x8f;
  } else return 0;
  if (i + length > bytes.length) return 0;
  const b1 = bytes[i + 1];
  if (b1 < low || b1 > high) return 0;
  for (let k = 2; k < length; k++) {
    const b = bytes[i + k];
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return length;
}

class ByteWriter {
  private buffer: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buffer = new Uint8Array(Math.max(16, capacity));
  }

  push(byte: number): void {
    if (this.length === this.buffer.length) {
      const bigger = new Uint8Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[this.length++] = byte;
  }

  pushRune(rune: number): void {
    if (rune < 0x80) this.push(rune);
    else if (rune < 0x800) {
      this.push(0xc0 | (rune >> 6));
      this.push(0x80 | (rune & 0x3f));
    } else if (rune < 0x10000) {
      this.push(0xe0 | (rune >> 12));
      this.push(0x80 | ((rune >> 6) & 0x3f));
      this.push(0x80 | (rune & 0x3f));
    } else {
      this.push(0xf0 | (rune >> 18));
      this.push(0x80 | ((rune >> 12) & 0x3f));
      this.push(0x80 | ((rune >> 6) & 0x3f));
      this.push(0x80 | (rune & 0x3f));
    }
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

/** The code unit of a `\uXXXX` escape at `i`, or -1 when there is none (Go's `getu4`). */
function readU4(bytes: Uint8Array, i: number, end: number): number {
  if (i + 6 > end || bytes[i] !== BACKSLASH || bytes[i + 1] !== 0x75) return -1;
  let value = 0;
  for (let k = 2; k < 6; k++) {
    const digit = hexValue(bytes[i + k]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

const SIMPLE_ESCAPES: Readonly<Record<number, number>> = {
  0x22: 0x22, // \"
  0x5c: 0x5c, // \\
  0x2f: 0x2f, // \/
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
};

/**
 * The bytes a scanned string literal `bytes[start, end)` (quotes included) stands for, decoded as
 * Go's encoding/json does: invalid UTF-8 and unpaired surrogates become U+FFFD. Raw line breaks
 * (accepted only when encrypting) decode to themselves, as ejson's escaping pass would have made them.
 */
export function unquoteJsonString(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const from = start + 1;
  const to = end - 1;
  let simple = true;
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c === BACKSLASH || c >= 0x80) {
      simple = false;
      break;
    }
  }
  if (simple) return bytes.subarray(from, to);

  const out = new ByteWriter(to - from);
  let i = from;
  while (i < to) {
    const c = bytes[i];
    if (c === BACKSLASH) {
      const kind = bytes[i + 1];
      if (kind !== 0x75) {
        out.push(SIMPLE_ESCAPES[kind]);
        i += 2;
        continue;
      }
      let rune = readU4(bytes, i, to);
      i += 6;
      if (rune >= 0xd800 && rune < 0xe000) {
        const next = readU4(bytes, i, to);
        if (rune < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
          rune = 0x10000 + ((rune - 0xd800) << 10) + (next - 0xdc00);
          i += 6;
        } else {
          rune = REPLACEMENT_CHARACTER;
        }
      }
      out.pushRune(rune);
    } else if (c < 0x80) {
      out.push(c);
      i++;
    } else {
      const length = utf8SequenceLength(bytes, i);
      if (length === 0) {
        out.pushRune(REPLACEMENT_CHARACTER);
        i++;
      } else {
        for (let k = 0; k < length; k++) out.push(bytes[i + k]);
        i += length;
      }
    }
  }
  return out.bytes();
}

const HEX_DIGITS = '0123456789abcdef';

/**
 * A JSON string literal for `value`, quoted as ejson's `quoteBytes` does: `"`, `\`, newline,
 * carriage return and tab get short escapes, other control bytes `\u00xx`, everything else
 * (including `<`, `>`, `&` and non-ASCII) stays raw.
 */
export function quoteJsonString(value: Uint8Array): Uint8Array {
  const out = new ByteWriter(value.length + 2);
  out.push(QUOTE);
  for (const b of value) {
    if (b === QUOTE || b === BACKSLASH) {
      out.push(BACKSLASH);
      out.push(b);
    } else if (b === 0x0a) {
      out.push(BACKSLASH);
      out.push(0x6e);
    } else if (b === 0x0d) {
      out.push(BACKSLASH);
      out.push(0x72);
    } else if (b === 0x09) {
      out.push(BACKSLASH);
      out.push(0x74);
    } else if (b < 0x20) {
      for (const ch of `\\u00${HEX_DIGITS[b >> 4]}${HEX_DIGITS[b & 0xf]}`) out.push(ch.charCodeAt(0));
    } else {
      out.push(b);
    }
  }
  out.push(QUOTE);
  return out.bytes();
}

/** Raw line breaks inside a literal rewritten to `\n`/`\r`, as ejson's encrypt pre-pass does. */
export function escapeRawLineBreaks(literal: Uint8Array): Uint8Array {
  const out = new ByteWriter(literal.length + 8);
  for (const b of literal) {
    if (b === 0x0a || b === 0x0d) {
      out.push(BACKSLASH);
      out.push(b === 0x0a ? 0x6e : 0x72);
    } else {
      out.push(b);
    }
  }
  return out.bytes();
}

/** 1-based line and column (in characters) of a byte offset, for error messages. */
export function locate(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, bytes.length);
  for (let i = 0; i < end; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  let column = 1;
  for (let i = lineStart; i < end; i++) {
    if ((bytes[i] & 0xc0) !== 0x80) column++;
  }
  return { line, column };
}
