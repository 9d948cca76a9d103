// age for SOPS: where identities come from (as sops looks for them) and the data key's wrapping.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { armor, Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { CapstanError } from '../shared/index.js';
import type { SopsAgeEntry } from './sops-format.js';

export const SopsErrorCode = {
  noIdentity: 'ERR_CAPSTAN_SOPS_NO_IDENTITY',
  identityUnreadable: 'ERR_CAPSTAN_SOPS_IDENTITY_UNREADABLE',
  noRecipient: 'ERR_CAPSTAN_SOPS_NO_RECIPIENT',
} as const;

/** An age identity and the recipient it decrypts for; `source` says where it came from (never the key). */
export interface AgeIdentity {
  readonly identity: string;
  readonly recipient: string;
  readonly source: string;
}

export interface LoadAgeIdentitiesOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long SOPS_AGE_KEY_CMD may run. */
  readonly commandTimeoutMs?: number;
}

const IDENTITY_PREFIX = /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/;

/** The identities in a keys.txt-style text: one per line, `#` comments; a bad line is named by number only. */
export async function parseAgeIdentities(text: string, source: string): Promise<AgeIdentity[]> {
  const identities: AgeIdentity[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let recipient: string | undefined;
    if (IDENTITY_PREFIX.test(line)) recipient = await identityToRecipient(line).catch(() => undefined);
    if (recipient === undefined)
      throw new CapstanError(
        SopsErrorCode.identityUnreadable,
        `${source}, line ${index + 1}, is not an age identity (AGE-SECRET-KEY-1...)`,
      );
    identities.push({ identity: line, recipient, source });
  }
  return identities;
}

function runKeyCommand(
  command: string,
  env: LoadAgeIdentitiesOptions['env'],
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { env: { ...env }, timeout: timeoutMs, maxBuffer: 1 << 20, encoding: 'utf8' },
      (error, stdout) => {
        if (error)
          reject(
            new CapstanError(
              SopsErrorCode.identityUnreadable,
              `SOPS_AGE_KEY_CMD failed (${error.killed ? `no answer within ${timeoutMs / 1000} s` : `exit ${String(error.code)}`})`,
            ),
          );
        else resolve(stdout);
      },
    );
  });
}

async function readKeyFile(path: string, source: string, optional: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (optional && code === 'ENOENT') return undefined;
    throw new CapstanError(SopsErrorCode.identityUnreadable, `couldn't read ${source} (${code ?? 'error'})`, {
      cause: error,
    });
  }
}

/** The default keys file: `$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`. */
export function defaultAgeKeysFile(env: LoadAgeIdentitiesOptions['env']): string | undefined {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'sops', 'age', 'keys.txt');
  return env.HOME ? join(env.HOME, '.config', 'sops', 'age', 'keys.txt') : undefined;
}

/**
 * Every age identity the user has, from where sops looks, all merged: SOPS_AGE_KEY,
 * SOPS_AGE_KEY_FILE, the output of SOPS_AGE_KEY_CMD, then the default keys file (if it exists).
 */
export async function loadAgeIdentities(options: LoadAgeIdentitiesOptions): Promise<AgeIdentity[]> {
  const { env } = options;
  const found: AgeIdentity[] = [];
  if (env.SOPS_AGE_KEY) found.push(...(await parseAgeIdentities(env.SOPS_AGE_KEY, 'SOPS_AGE_KEY')));
  if (env.SOPS_AGE_KEY_FILE) {
    const source = `SOPS_AGE_KEY_FILE (${env.SOPS_AGE_KEY_FILE})`;
    found.push(
      ...(await parseAgeIdentities((await readKeyFile(env.SOPS_AGE_KEY_FILE, source, false))!, source)),
    );
  }
  if (env.SOPS_AGE_KEY_CMD) {
    const output = await runKeyCommand(env.SOPS_AGE_KEY_CMD, env, options.commandTimeoutMs ?? 30_000);
    found.push(...(await parseAgeIdentities(output, 'SOPS_AGE_KEY_CMD')));
  }
  const keysFile = defaultAgeKeysFile(env);
  if (keysFile) {
    const text = await readKeyFile(keysFile, keysFile, true);
    if (text !== undefined) found.push(...(await parseAgeIdentities(text, keysFile)));
  }
  return found;
}

/** The places identities are looked for, for a "no key" message. */
export function ageIdentitySources(env: LoadAgeIdentitiesOptions['env']): string {
  return `SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD or ${defaultAgeKeysFile(env) ?? '~/.config/sops/age/keys.txt'}`;
}

/** Wraps the data key for each recipient separately, as sops does (one armored age file each). */
export async function wrapDataKey(
  dataKey: Uint8Array,
  recipients: readonly string[],
): Promise<SopsAgeEntry[]> {
  const entries: SopsAgeEntry[] = [];
  for (const recipient of recipients) {
    const encrypter = new Encrypter();
    try {
      encrypter.addRecipient(recipient);
    } catch (error) {
      throw new CapstanError(SopsErrorCode.noRecipient, `${recipient} is not an age recipient (age1...)`, {
        cause: error,
      });
    }
    entries.push({ recipient, enc: armor.encode(await encrypter.encrypt(dataKey)) });
  }
  return entries;
}

/**
 * The data key, from the first entry one of the identities opens. Identities are matched to
 * entries by recipient first, as sops does; then every identity is tried on every entry (an
 * entry's recipient field is not authenticated, so a mismatch there must not lock a user out).
 */
export async function unwrapDataKey(
  entries: readonly SopsAgeEntry[],
  identities: readonly AgeIdentity[],
): Promise<Uint8Array | undefined> {
  if (identities.length === 0) return undefined;
  const ordered = [...entries].sort(
    (a, b) =>
      Number(identities.some((i) => i.recipient === b.recipient)) -
      Number(identities.some((i) => i.recipient === a.recipient)),
  );
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity.identity);
  for (const entry of ordered) {
    let file: Uint8Array;
    try {
      file = armor.decode(entry.enc);
    } catch {
      continue;
    }
    const key = await decrypter.decrypt(file).catch(() => undefined);
    if (key?.length === 32) return key;
  }
  return undefined;
}
