// Encrypting and decrypting ejson documents: pure functions over the file's bytes.
import nacl from 'tweetnacl';
import { CapstanError, ConfigError } from '../shared/index.js';
import type { Issue } from '../shared/index.js';
import { BoxedMessageError, formatBoxedMessage, isBoxedMessage, parseBoxedMessage } from './boxed-message.js';
import { formatJsonPath, scanJson } from './json-scanner.js';
import type { JsonScan, JsonStringLiteral, PathSegment } from './json-scanner.js';
import { escapeRawLineBreaks, locate, quoteJsonString, unquoteJsonString } from './json-string.js';
import {
  cryptoRandomBytes,
  parsePrivateKeyHex,
  parsePublicKeyHex,
  publicKeyFor,
  SecretsErrorCode,
  toHex,
} from './keys.js';
import type { RandomBytes } from './keys.js';

export const PUBLIC_KEY_FIELD = '_public_key';
const DEFAULT_FILE = '<input>';

export interface EjsonSourceOptions {
  /** Names the document in error messages. */
  readonly file?: string;
}

export interface EncryptEjsonOptions extends EjsonSourceOptions {
  /** Source of the ephemeral private key (first 32 bytes) and the nonces (24 bytes each, in document order). */
  readonly randomBytes?: RandomBytes;
}

export interface EncryptEjsonResult {
  readonly output: Uint8Array;
  readonly publicKey: string;
  /** Values encrypted by this run. */
  readonly encrypted: number;
  /** Values that already had the `EJ[...]` format and were left as they were. */
  readonly alreadyEncrypted: number;
}

/** Lets an edit keep a value's old ciphertext when its plaintext did not change. */
export type ReuseCiphertext = (path: readonly PathSegment[], plaintext: Uint8Array) => string | undefined;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBytes(source: string | Uint8Array): Uint8Array {
  return typeof source === 'string' ? encoder.encode(source) : source;
}

function issueAt(
  bytes: Uint8Array,
  file: string,
  literal: { start: number; path: readonly PathSegment[] },
  message: string,
): Issue {
  const { line, column } = locate(bytes, literal.start);
  const path = formatJsonPath(literal.path);
  return path ? { file, line, column, path, message } : { file, line, column, message };
}

/** The document's `_public_key` (lowercase hex), checked as ejson checks it. */
export function publicKeyFromScan(bytes: Uint8Array, scan: JsonScan, file: string): string {
  if (scan.rootKind !== 'object') {
    throw new ConfigError([{ file, line: 1, column: 1, message: 'an EJSON file must hold a JSON object' }]);
  }
  let member;
  for (const m of scan.members) if (m.key === PUBLIC_KEY_FIELD) member = m;
  if (!member) {
    throw new ConfigError([
      { file, message: `public key not present in EJSON file (no top-level "${PUBLIC_KEY_FIELD}")` },
    ]);
  }
  const key =
    member.literal &&
    parsePublicKeyHex(decoder.decode(unquoteJsonString(bytes, member.literal.start, member.literal.end)));
  if (!key) {
    const where = { start: member.start, path: [PUBLIC_KEY_FIELD] };
    throw new ConfigError([
      issueAt(bytes, file, where, 'public key has invalid format (expected 64 hexadecimal characters)'),
    ]);
  }
  return toHex(key);
}

/** Reads `_public_key` without decrypting anything. */
export function readEjsonPublicKey(source: string | Uint8Array, options: EjsonSourceOptions = {}): string {
  const bytes = toBytes(source);
  const file = options.file ?? DEFAULT_FILE;
  return publicKeyFromScan(bytes, scanJson(bytes, { file }), file);
}

/**
 * Copies `bytes`, replacing the literals `replace` returns bytes for; with `collapse`, raw line
 * breaks in the other literals become escapes, as in ejson's encrypt.
 */
function rewrite(
  bytes: Uint8Array,
  scan: JsonScan,
  collapse: boolean,
  replace: (literal: JsonStringLiteral) => Uint8Array | undefined,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  let copied = 0;
  for (const literal of scan.strings) {
    let replacement: Uint8Array | undefined;
    if (literal.encryptable) replacement = replace(literal);
    else if (collapse && literal.hasRawLineBreak)
      replacement = escapeRawLineBreaks(bytes.subarray(literal.start, literal.end));
    if (replacement === undefined) continue;
    chunks.push(bytes.subarray(copied, literal.start), replacement);
    copied = literal.end;
  }
  chunks.push(bytes.subarray(copied));
  return new Uint8Array(Buffer.concat(chunks));
}

/** The encryption core, with the counts and the reuse hook the file and edit helpers need. */
export function encryptEjsonBytes(
  bytes: Uint8Array,
  options: EncryptEjsonOptions & { readonly reuse?: ReuseCiphertext } = {},
): EncryptEjsonResult {
  const file = options.file ?? DEFAULT_FILE;
  const randomBytes = options.randomBytes ?? cryptoRandomBytes;
  const scan = scanJson(bytes, { file, allowRawLineBreaks: true });
  const publicKey = publicKeyFromScan(bytes, scan, file);
  // One ephemeral key pair per run, as ejson: values encrypted together share its public key.
  const ephemeral = nacl.box.keyPair.fromSecretKey(randomBytes(32));
  const shared = nacl.box.before(parsePublicKeyHex(publicKey)!, ephemeral.secretKey);
  let encrypted = 0;
  let alreadyEncrypted = 0;
  const output = rewrite(bytes, scan, true, (literal) => {
    const plaintext = unquoteJsonString(bytes, literal.start, literal.end);
    if (isBoxedMessage(plaintext)) {
      alreadyEncrypted++;
      return quoteJsonString(plaintext);
    }
    encrypted++;
    const kept = options.reuse?.(literal.path, plaintext);
    if (kept !== undefined) return quoteJsonString(encoder.encode(kept));
    const nonce = randomBytes(24);
    const box = nacl.box.after(plaintext, nonce, shared);
    const message = formatBoxedMessage({
      schemaVersion: 1,
      encrypterPublic: ephemeral.publicKey,
      nonce,
      box,
    });
    return quoteJsonString(encoder.encode(message));
  });
  return { output, publicKey, encrypted, alreadyEncrypted };
}

/**
 * Encrypts every encryptable string value that is not encrypted yet, to the document's
 * `_public_key`. Everything else is kept byte for byte, except that raw line breaks inside
 * strings become `\n`/`\r` escapes (ejson does the same). Idempotent.
 */
export function encryptEjson(source: string, options?: EncryptEjsonOptions): string;
export function encryptEjson(source: Uint8Array, options?: EncryptEjsonOptions): Uint8Array;
export function encryptEjson(
  source: string | Uint8Array,
  options: EncryptEjsonOptions = {},
): string | Uint8Array {
  const { output } = encryptEjsonBytes(toBytes(source), options);
  return typeof source === 'string' ? decoder.decode(output) : output;
}

/** Turns a private key given as hex or bytes into bytes, checking it belongs to `publicKey`. */
function checkPrivateKey(privateKey: string | Uint8Array, publicKey: string): Uint8Array {
  const key = typeof privateKey === 'string' ? parsePrivateKeyHex(privateKey) : privateKey;
  if (!key || key.length !== 32) {
    throw new CapstanError(
      SecretsErrorCode.invalidPrivateKey,
      'invalid private key: expected 64 hexadecimal characters',
    );
  }
  const owner = toHex(publicKeyFor(key));
  if (owner !== publicKey) {
    throw new CapstanError(
      SecretsErrorCode.keyMismatch,
      `the private key does not match public key ${publicKey} (it belongs to public key ${owner})`,
    );
  }
  return key;
}

export interface DecryptEjsonBytesOptions extends EjsonSourceOptions {
  /** Called with each decrypted value, its path and its `EJ[...]` form. */
  readonly onValue?: (path: readonly PathSegment[], plaintext: Uint8Array, message: string) => void;
}

/** The decryption core over bytes; every undecryptable value is reported, then it fails once. */
export function decryptEjsonBytes(
  bytes: Uint8Array,
  privateKey: string | Uint8Array,
  options: DecryptEjsonBytesOptions = {},
): Uint8Array {
  const file = options.file ?? DEFAULT_FILE;
  const scan = scanJson(bytes, { file });
  const key = checkPrivateKey(privateKey, publicKeyFromScan(bytes, scan, file));
  const issues: Issue[] = [];
  // Values encrypted in one run share an ephemeral key: derive each shared key once, not per value.
  const sharedKeys = new Map<string, Uint8Array>();
  const sharedKeyFor = (encrypterPublic: Uint8Array): Uint8Array => {
    const id = toHex(encrypterPublic);
    let shared = sharedKeys.get(id);
    if (!shared) sharedKeys.set(id, (shared = nacl.box.before(encrypterPublic, key)));
    return shared;
  };
  const output = rewrite(bytes, scan, false, (literal) => {
    const value = unquoteJsonString(bytes, literal.start, literal.end);
    let reason: string;
    try {
      const message = parseBoxedMessage(value);
      const plaintext = nacl.box.open.after(
        message.box,
        message.nonce,
        sharedKeyFor(message.encrypterPublic),
      );
      if (plaintext) {
        options.onValue?.(literal.path, plaintext, decoder.decode(value));
        return quoteJsonString(plaintext);
      }
      reason = "couldn't decrypt message: the value was encrypted for another key or is corrupted";
    } catch (error) {
      if (!(error instanceof BoxedMessageError)) throw error;
      const looksEncrypted = value[0] === 0x45 && value[1] === 0x4a && value[2] === 0x5b; // "EJ["
      reason = looksEncrypted
        ? `malformed encrypted value: ${error.reason}`
        : 'value is not encrypted (invalid message format); run "capstan secrets encrypt" first';
    }
    issues.push(issueAt(bytes, file, literal, reason));
    return undefined;
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return output;
}

/**
 * Decrypts every encrypted value with the private key (hex or bytes), which must belong to the
 * document's `_public_key`. Everything outside the rewritten values is kept byte for byte.
 */
export function decryptEjson(
  source: string,
  privateKey: string | Uint8Array,
  options?: EjsonSourceOptions,
): string;
export function decryptEjson(
  source: Uint8Array,
  privateKey: string | Uint8Array,
  options?: EjsonSourceOptions,
): Uint8Array;
export function decryptEjson(
  source: string | Uint8Array,
  privateKey: string | Uint8Array,
  options: EjsonSourceOptions = {},
): string | Uint8Array {
  const output = decryptEjsonBytes(toBytes(source), privateKey, options);
  return typeof source === 'string' ? decoder.decode(output) : output;
}
