// The thin file edge: read an ejson file, run the pure core, write the result back safely.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CapstanError } from '../shared/index.js';
import { decryptEjsonBytes, encryptEjsonBytes, readEjsonPublicKey } from './ejson.js';
import type { DecryptEjsonBytesOptions } from './ejson.js';
import { envKeyProvider, keydirKeyProvider, resolveKeydir, resolvePrivateKey } from './key-providers.js';
import type { KeyProvider, Warn } from './key-providers.js';
import { SecretsErrorCode } from './keys.js';
import type { RandomBytes } from './keys.js';

/** Reads a whole file, turning "not there" and "not allowed" into a CapstanError naming it. */
export async function readSecretsFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new CapstanError(SecretsErrorCode.fileUnreadable, `couldn't read ${file} (${code})`, {
      cause: error,
    });
  }
}

/**
 * Replaces a file's content through a temporary file in the same folder and a rename, so a crash
 * never leaves half a file; the new file keeps the old one's permission bits.
 */
export async function writeFileAtomic(file: string, data: Uint8Array, mode: number): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, { mode, flag: 'wx' });
    await chmod(temp, mode);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export interface EncryptEjsonFileOptions {
  readonly randomBytes?: RandomBytes;
}

export interface EncryptEjsonFileResult {
  readonly file: string;
  readonly publicKey: string;
  readonly encrypted: number;
  readonly alreadyEncrypted: number;
  /** False when every value was encrypted already: the file was not rewritten. */
  readonly changed: boolean;
}

/** `ejson encrypt FILE`: encrypts the plaintext values in place, keeping the file's mode. */
export async function encryptEjsonFile(
  file: string,
  options: EncryptEjsonFileOptions = {},
): Promise<EncryptEjsonFileResult> {
  const input = await readSecretsFile(file);
  const { mode } = await stat(file);
  const result = encryptEjsonBytes(input, { file, ...options });
  const changed = Buffer.compare(result.output, input) !== 0;
  if (changed) await writeFileAtomic(file, result.output, mode & 0o7777);
  return {
    file,
    publicKey: result.publicKey,
    encrypted: result.encrypted,
    alreadyEncrypted: result.alreadyEncrypted,
    changed,
  };
}

export interface DecryptEjsonFileOptions {
  /** Tried in order; see `defaultKeyProviders`. */
  readonly keyProviders: readonly KeyProvider[];
  /** Shown when no key is found. */
  readonly hint?: string;
  readonly onValue?: DecryptEjsonBytesOptions['onValue'];
}

export interface DecryptedEjsonFile {
  readonly publicKey: string;
  /** Where the private key came from (a provider's description). */
  readonly keySource: string;
  /** The decrypted document: same bytes as the file except the values. */
  readonly output: Uint8Array;
}

/** Reads, finds the private key for its `_public_key`, and decrypts. */
export async function decryptEjsonFile(
  file: string,
  options: DecryptEjsonFileOptions,
): Promise<DecryptedEjsonFile> {
  const input = await readSecretsFile(file);
  const publicKey = readEjsonPublicKey(input, { file });
  const resolved = await resolvePrivateKey(publicKey, options.keyProviders, { hint: options.hint });
  const output = decryptEjsonBytes(input, resolved.privateKey, { file, onValue: options.onValue });
  return { publicKey, keySource: resolved.source, output };
}

export interface DefaultKeyProvidersOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Overrides `EJSON_KEYDIR` and the default `/opt/ejson/keys`. */
  readonly keydir?: string;
  /** Environment variable holding a private key; defaults to `EJSON_PRIVATE_KEY`. */
  readonly keyEnvVar?: string;
  readonly warn?: Warn;
}

/** The usual order: a private key in the environment, then the key directory. */
export function defaultKeyProviders(options: DefaultKeyProvidersOptions): KeyProvider[] {
  const keydir = options.keydir ?? resolveKeydir(options.env);
  return [
    envKeyProvider({ env: options.env, name: options.keyEnvVar }),
    keydirKeyProvider({ keydir, warn: options.warn }),
  ];
}
