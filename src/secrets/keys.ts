// ejson key pairs: Curve25519 keys written as lowercase hex, generated from an injectable random source.
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import nacl from 'tweetnacl';

/** Returns `length` random bytes; tests inject a fixed source. */
export type RandomBytes = (length: number) => Uint8Array;

export const cryptoRandomBytes: RandomBytes = (length) => new Uint8Array(nodeRandomBytes(length));

export interface EjsonKeyPair {
  /** 64 lowercase hex characters: what goes into `_public_key`. */
  readonly publicKey: string;
  /** 64 lowercase hex characters: what goes into the key file. Never print it unasked. */
  readonly privateKey: string;
}

export const SecretsErrorCode = {
  keyNotFound: 'ERR_CAPSTAN_EJSON_KEY_NOT_FOUND',
  keyMismatch: 'ERR_CAPSTAN_EJSON_KEY_MISMATCH',
  invalidPrivateKey: 'ERR_CAPSTAN_EJSON_INVALID_PRIVATE_KEY',
  keyFileUnreadable: 'ERR_CAPSTAN_EJSON_KEY_UNREADABLE',
  keyFileExists: 'ERR_CAPSTAN_EJSON_KEY_EXISTS',
  keyFileUnwritable: 'ERR_CAPSTAN_EJSON_KEY_UNWRITABLE',
  fileUnreadable: 'ERR_CAPSTAN_EJSON_FILE_UNREADABLE',
  editorFailed: 'ERR_CAPSTAN_EDITOR_FAILED',
} as const;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX = /^[0-9a-fA-F]*$/;

/** Go's `hex.DecodeString` (either case, even length), or undefined. */
function decodeHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !HEX.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** ejson's `_public_key` check: exactly 64 hex characters. */
export function parsePublicKeyHex(text: string): Uint8Array | undefined {
  return text.length === 64 ? decodeHex(text) : undefined;
}

/** ejson's private key check: surrounding whitespace trimmed, then 32 bytes of hex. */
export function parsePrivateKeyHex(text: string): Uint8Array | undefined {
  const bytes = decodeHex(text.trim());
  return bytes?.length === 32 ? bytes : undefined;
}

/** The public key that belongs to a private key. */
export function publicKeyFor(privateKey: Uint8Array): Uint8Array {
  return nacl.scalarMult.base(privateKey);
}

/** A new key pair, as `ejson keygen` makes one: 32 random bytes are the private key. */
export function generateKeyPair(randomBytes: RandomBytes = cryptoRandomBytes): EjsonKeyPair {
  const privateKey = randomBytes(32);
  return { publicKey: toHex(publicKeyFor(privateKey)), privateKey: toHex(privateKey) };
}
