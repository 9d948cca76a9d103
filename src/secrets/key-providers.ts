// Where private keys come from: key directory, environment, stdin or a caller's provider, tried in order.
import { chmod, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CapstanError } from '../shared/index.js';
import { parsePrivateKeyHex, publicKeyFor, SecretsErrorCode, toHex } from './keys.js';
import type { EjsonKeyPair } from './keys.js';

/** ejson's default key directory, used when neither `--keydir` nor `EJSON_KEYDIR` says otherwise. */
export const DEFAULT_EJSON_KEYDIR = '/opt/ejson/keys';
export const DEFAULT_PRIVATE_KEY_ENV = 'EJSON_PRIVATE_KEY';

/**
 * One place a private key may be found. The deploy adds one reading the namespace's `ejson-keys`
 * Secret; the CLI uses the key directory, an environment variable and standard input.
 */
export interface KeyProvider {
  /** Where this provider looks, shown when no key is found, e.g. `key directory /opt/ejson/keys`. */
  readonly description: string;
  /** The private key (hex) for a public key (lowercase hex), or undefined when this place has none. */
  findPrivateKey(publicKeyHex: string): Promise<string | undefined>;
}

export type Warn = (message: string) => void;

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The key directory to use: `EJSON_KEYDIR` when set, else ejson's default. */
export function resolveKeydir(env: Readonly<Record<string, string | undefined>>): string {
  return env.EJSON_KEYDIR || DEFAULT_EJSON_KEYDIR;
}

export interface KeydirKeyProviderOptions {
  readonly keydir: string;
  /** Told when a key file can be read by group or others. */
  readonly warn?: Warn;
}

/** Reads `<keydir>/<public key hex>` as ejson does; a missing file means "not here". */
export function keydirKeyProvider(options: KeydirKeyProviderOptions): KeyProvider {
  const { keydir, warn } = options;
  return {
    description: `key directory ${keydir}`,
    async findPrivateKey(publicKeyHex) {
      const path = join(keydir, publicKeyHex);
      const unreadable = (error: unknown): CapstanError =>
        new CapstanError(
          SecretsErrorCode.keyFileUnreadable,
          `couldn't read key file ${path} (${errorCode(error) ?? String(error)})`,
          {
            cause: error,
            hint: 'The key file must be a file readable by the user running Capstan.',
          },
        );
      let handle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw unreadable(error);
      }
      try {
        const mode = (await handle.stat()).mode & 0o777;
        const content = await handle.readFile('utf8');
        if (mode & 0o044) {
          warn?.(
            `key file ${path} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
          );
        }
        return content;
      } catch (error) {
        throw unreadable(error);
      } finally {
        await handle.close();
      }
    },
  };
}

export interface EnvKeyProviderOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Defaults to `EJSON_PRIVATE_KEY`. */
  readonly name?: string;
}

/** A private key in an environment variable (any public key: the match is checked afterwards). */
export function envKeyProvider(options: EnvKeyProviderOptions): KeyProvider {
  const name = options.name ?? DEFAULT_PRIVATE_KEY_ENV;
  return {
    description: `environment variable ${name}`,
    findPrivateKey: () => Promise.resolve(options.env[name]?.trim() ? options.env[name] : undefined),
  };
}

/** A private key the caller already has, e.g. read from standard input. */
export function staticKeyProvider(privateKeyHex: string, description: string): KeyProvider {
  return { description, findPrivateKey: () => Promise.resolve(privateKeyHex) };
}

export interface ResolvedPrivateKey {
  readonly privateKey: Uint8Array;
  /** The description of the provider that had it. */
  readonly source: string;
}

export interface ResolvePrivateKeyOptions {
  /** Shown with the "not found" error; defaults to the CLI's ways of supplying a key. */
  readonly hint?: string;
}

/**
 * Asks each provider in order for the private key of `publicKeyHex` and returns the first that
 * belongs to it. A key found somewhere but belonging to another public key is skipped and, if
 * nothing matches, reported as a mismatch; nothing found names every place looked.
 */
export async function resolvePrivateKey(
  publicKeyHex: string,
  providers: readonly KeyProvider[],
  options: ResolvePrivateKeyOptions = {},
): Promise<ResolvedPrivateKey> {
  const publicKey = publicKeyHex.toLowerCase();
  const mismatches: string[] = [];
  for (const provider of providers) {
    const found = await provider.findPrivateKey(publicKey);
    if (found === undefined) continue;
    const privateKey = parsePrivateKeyHex(found);
    if (!privateKey) {
      throw new CapstanError(
        SecretsErrorCode.invalidPrivateKey,
        `invalid private key from ${provider.description}: expected 64 hexadecimal characters`,
      );
    }
    const owner = toHex(publicKeyFor(privateKey));
    if (owner === publicKey) return { privateKey, source: provider.description };
    mismatches.push(`${provider.description} holds the private key of public key ${owner}`);
  }
  if (mismatches.length > 0) {
    throw new CapstanError(
      SecretsErrorCode.keyMismatch,
      `no private key matching public key ${publicKey}:\n${mismatches.map((m) => `  - ${m}`).join('\n')}`,
      { hint: 'The file was encrypted for another key pair, or the wrong key was supplied.' },
    );
  }
  const looked =
    providers.length > 0
      ? providers.map((p) => `  - ${p.description}`).join('\n')
      : '  (no key sources configured)';
  throw new CapstanError(
    SecretsErrorCode.keyNotFound,
    `private key for public key ${publicKey} not found; looked in:\n${looked}`,
    {
      hint:
        options.hint ??
        `Put the private key in a file named ${publicKey} in the key directory (EJSON_KEYDIR or --keydir), set ${DEFAULT_PRIVATE_KEY_ENV}, or use --key-from-stdin.`,
    },
  );
}

export interface WritePrivateKeyFileOptions {
  readonly keydir: string;
  readonly keyPair: EjsonKeyPair;
}

/** Writes `<keydir>/<public key>` holding the private key, readable only by its owner (0600). */
export async function writePrivateKeyFile(options: WritePrivateKeyFileOptions): Promise<string> {
  const { keydir, keyPair } = options;
  const path = join(keydir, keyPair.publicKey);
  try {
    await mkdir(keydir, { recursive: true, mode: 0o700 });
    await writeFile(path, `${keyPair.privateKey}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') {
      throw new CapstanError(SecretsErrorCode.keyFileExists, `key file ${path} already exists`, {
        cause: error,
      });
    }
    throw new CapstanError(
      SecretsErrorCode.keyFileUnwritable,
      `couldn't write key file ${path} (${code ?? String(error)})`,
      {
        cause: error,
        hint: 'Choose a key directory you can write to with --keydir or EJSON_KEYDIR.',
      },
    );
  }
  await chmod(path, 0o600);
  return path;
}
