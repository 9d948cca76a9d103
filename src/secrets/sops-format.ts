// The SOPS file format (v3): which values are encrypted, `ENC[...]` values, the MAC and the metadata.
import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { cryptoRandomBytes, type RandomBytes } from './keys.js';
import { formatGoFloat, isSopsMap, SopsTreeError, type SopsMap, type SopsValue } from './sops-tree.js';

/** The sops version whose format Capstan writes (and which checks the files Capstan writes). */
export const SOPS_FORMAT_VERSION = '3.13.3';
export const SOPS_METADATA_KEY = 'sops';
export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';

/** Which values are encrypted: exactly one of sops's four rules (comment rules are not supported). */
export interface SopsEncryptionRule {
  readonly kind: 'unencrypted_suffix' | 'encrypted_suffix' | 'unencrypted_regex' | 'encrypted_regex';
  readonly value: string;
}

export interface SopsAgeEntry {
  readonly recipient: string;
  /** An armored age file holding the 32-byte data key. */
  readonly enc: string;
}

export interface SopsMetadata {
  readonly age: readonly SopsAgeEntry[];
  readonly lastModified: string;
  /** The encrypted MAC, `ENC[...]`. */
  readonly mac: string;
  readonly rule: SopsEncryptionRule;
  readonly macOnlyEncrypted: boolean;
  readonly version: string;
  /** Key types Capstan cannot use (pgp, kms, ...), by field name: named in errors. */
  readonly otherKeyTypes: readonly string[];
}

const RULE_KINDS = [
  'unencrypted_suffix',
  'encrypted_suffix',
  'unencrypted_regex',
  'encrypted_regex',
] as const;
const OTHER_KEY_TYPES = ['kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault', 'pgp'];
/** SHA-256 of "sops": seeds the MAC when only encrypted values are hashed (mac_only_encrypted). */
const MAC_ONLY_ENCRYPTED_SEED = createHash('sha256').update('sops').digest();

/**
 * A Go RE2 pattern as a JavaScript RegExp, or an error: the common syntax is shared; a leading
 * flag group `(?i)` becomes a flag and `(?P<name>` a named group. Patterns JavaScript reads
 * differently (or not at all) are refused rather than guessed.
 */
export function goRegExp(pattern: string): RegExp {
  let source = pattern;
  let flags = 'u';
  const leading = /^\(\?([imsU]+)\)/.exec(source);
  if (leading) {
    if (leading[1].includes('U'))
      throw new SopsTreeError(`the regular expression ${pattern} uses (?U), which is not supported`);
    flags += leading[1];
    source = source.slice(leading[0].length);
  }
  source = source.replaceAll('(?P<', '(?<');
  if (/\(\?[a-zA-Z]+[:)]/.test(source) || /\\[zACQE]|\[\[:/.test(source))
    throw new SopsTreeError(`the regular expression ${pattern} uses RE2 syntax Capstan does not read`);
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new SopsTreeError(`the regular expression ${pattern} is not valid (${(error as Error).message})`);
  }
}

/** sops's shouldBeEncrypted: each rule is tested against every key of the path, not only the last. */
export function encryptionTest(rule: SopsEncryptionRule): (path: readonly string[]) => boolean {
  switch (rule.kind) {
    case 'unencrypted_suffix':
      return (path) => !path.some((key) => key.endsWith(rule.value));
    case 'encrypted_suffix':
      return (path) => path.some((key) => key.endsWith(rule.value));
    case 'unencrypted_regex': {
      const re = goRegExp(rule.value);
      return (path) => !path.some((key) => re.test(key));
    }
    case 'encrypted_regex': {
      const re = goRegExp(rule.value);
      return (path) => path.some((key) => re.test(key));
    }
  }
}

/** The additional authenticated data of a value: its map keys joined by `:`, plus a trailing `:`. */
export function additionalData(path: readonly string[]): string {
  return `${path.join(':')}:`;
}

type Leaf = string | boolean | bigint | number;

/** Visits every non-null leaf in sops's walk order; array items share their parent's path. */
export function walkLeaves(
  value: SopsValue,
  path: readonly string[],
  visit: (leaf: Leaf, path: readonly string[]) => SopsValue,
): SopsValue {
  if (value === null) return null;
  if (isSopsMap(value)) {
    const out: SopsMap = new Map();
    for (const [key, item] of value) out.set(key, walkLeaves(item, [...path, key], visit));
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => walkLeaves(item, path, visit));
  return visit(value, path);
}

/** The bytes sops hashes (and encrypts) for a value: Go's ToBytes. */
export function valueBytes(value: Leaf): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'boolean') return Buffer.from(value ? 'True' : 'False');
  if (typeof value === 'bigint') return Buffer.from(value.toString());
  return Buffer.from(formatGoFloat(value));
}

function typeOf(value: Leaf): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'bigint' ? 'int' : 'float';
}

const ENC = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isEncryptedValue(value: unknown): boolean {
  return typeof value === 'string' && ENC.test(value);
}

function base64(text: string, path: readonly string[], part: string): Buffer {
  if (!BASE64.test(text)) throw new SopsTreeError(`the encrypted value's ${part} is not base64`, path);
  return Buffer.from(text, 'base64');
}

/** Pick the IV for a value; return undefined for a fresh random one (what `edit` uses to keep unchanged values). */
export type IvChooser = (aad: string, type: string, plaintext: Buffer) => Uint8Array | undefined;

export interface ValueCipherOptions {
  readonly randomBytes?: RandomBytes;
  readonly chooseIv?: IvChooser;
}

/** One value as `ENC[AES256_GCM,...]`; the empty string stays empty, as sops leaves it. */
export function encryptValue(
  value: Leaf,
  key: Uint8Array,
  aad: string,
  options: ValueCipherOptions = {},
): string {
  if (value === '') return '';
  const type = typeOf(value);
  const plaintext = valueBytes(value);
  const iv = options.chooseIv?.(aad, type, plaintext) ?? (options.randomBytes ?? cryptoRandomBytes)(32);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return `ENC[AES256_GCM,data:${b64(data)},iv:${b64(iv)},tag:${b64(tag)},type:${type}]`;
}

export interface DecryptedValue {
  readonly value: Leaf;
  /** What the value was encrypted from; with `type`, what `edit` needs to keep an unchanged value's IV. */
  readonly plaintext: Buffer;
  readonly iv: Buffer;
  readonly type: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Go's strconv.ParseBool. */
const GO_BOOLS: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

function typedValue(plaintext: Buffer, type: string, path: readonly string[]): Leaf {
  let text: string;
  try {
    text = UTF8.decode(plaintext);
  } catch {
    throw new SopsTreeError('the decrypted value is not UTF-8 text', path);
  }
  const bad = (): never => {
    throw new SopsTreeError(`the decrypted value is not a valid ${type}`, path);
  };
  switch (type) {
    case 'str':
    case 'bytes':
    case 'time':
      return text;
    case 'int': {
      if (!/^[-+]?\d+$/.test(text)) return bad();
      const int = BigInt(text);
      return int >= -(2n ** 63n) && int < 2n ** 63n ? int : bad();
    }
    case 'float': {
      if (/^[-+]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
      if (/^nan$/i.test(text)) return NaN;
      return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : bad();
    }
    case 'bool':
      return Object.hasOwn(GO_BOOLS, text) ? GO_BOOLS[text] : bad();
    default:
      throw new SopsTreeError(`the encrypted value has an unknown type (${type})`, path);
  }
}

/** Decrypts one `ENC[...]` value; errors name the path, never the value or its ciphertext. */
export function decryptValue(text: string, key: Uint8Array, path: readonly string[]): DecryptedValue {
  if (text === '') return { value: '', plaintext: Buffer.alloc(0), iv: Buffer.alloc(0), type: 'str' };
  const match = ENC.exec(text);
  if (!match) throw new SopsTreeError('the value should be encrypted (ENC[AES256_GCM,...]) but is not', path);
  const data = base64(match[1], path, 'data');
  const iv = base64(match[2], path, 'iv');
  const tag = base64(match[3], path, 'tag');
  if (iv.length === 0 || tag.length !== 16) throw new SopsTreeError('the encrypted value is malformed', path);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(additionalData(path), 'utf8'));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new SopsTreeError(
      'the value does not decrypt: it was changed, moved from another key, or encrypted with another data key',
      path,
    );
  }
  const type = match[4];
  return { value: typedValue(plaintext, type, path), plaintext, iv, type };
}

function macText(digest: Buffer): string {
  return digest.toString('hex').toUpperCase();
}

/** `lastmodified` as Go re-formats it (RFC 3339, no fraction, `Z` for UTC): the MAC's additional data. */
export function normalizeLastModified(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m)
    throw new SopsTreeError('sops.lastmodified is not an RFC 3339 time', [SOPS_METADATA_KEY, 'lastmodified']);
  const zone = m[3] === 'Z' || m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : m[3];
  return `${m[1]}${zone}`;
}

export interface DecryptedTree {
  readonly branches: SopsMap[];
  /** Every decrypted value with its path, in walk order (for `edit`, and to learn the values). */
  readonly decrypted: ReadonlyArray<{
    readonly doc: number;
    readonly path: readonly string[];
    readonly value: DecryptedValue;
  }>;
}

/**
 * Decrypts every value the file's rule says is encrypted, recomputes the MAC and compares it (in
 * constant time) with the one stored: a value deleted, added, reordered or replaced by plaintext
 * is caught here, even where each value alone decrypts.
 */
export function decryptTree(
  branches: readonly SopsMap[],
  metadata: SopsMetadata,
  key: Uint8Array,
): DecryptedTree {
  const encrypted = encryptionTest(metadata.rule);
  const hash = createHash('sha512');
  if (metadata.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_SEED);
  const decrypted: Array<{ doc: number; path: readonly string[]; value: DecryptedValue }> = [];
  const out = branches.map(
    (branch, doc) =>
      walkLeaves(branch, [], (leaf, path) => {
        const isEncrypted = encrypted(path);
        let value = leaf;
        if (isEncrypted) {
          if (typeof leaf !== 'string')
            throw new SopsTreeError('the value should be encrypted (ENC[AES256_GCM,...]) but is not', path);
          const one = decryptValue(leaf, key, path);
          decrypted.push({ doc, path, value: one });
          value = one.value;
        }
        if (!metadata.macOnlyEncrypted || isEncrypted) hash.update(valueBytes(value));
        return value;
      }) as SopsMap,
  );
  // The MAC's additional data is the (normalised) time, not a path.
  const mac = decryptMac(metadata.mac, key, normalizeLastModified(metadata.lastModified));
  const expected = Buffer.from(macText(hash.digest()));
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected))
    throw new SopsTreeError(
      'the MAC does not match: the file was changed after it was encrypted (a value added, removed, reordered or replaced)',
      [SOPS_METADATA_KEY, 'mac'],
    );
  return { branches: out, decrypted };
}

function decryptMac(text: string, key: Uint8Array, aad: string): Buffer {
  const match = ENC.exec(text);
  const where = [SOPS_METADATA_KEY, 'mac'];
  if (!match) throw new SopsTreeError('sops.mac is missing or not encrypted', where);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, base64(match[2], where, 'iv'), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(base64(match[3], where, 'tag'));
    return Buffer.concat([decipher.update(base64(match[1], where, 'data')), decipher.final()]);
  } catch (error) {
    if (error instanceof SopsTreeError) throw error;
    throw new SopsTreeError('the MAC does not decrypt: the file was changed after it was encrypted', where);
  }
}

export interface EncryptTreeOptions extends ValueCipherOptions {
  readonly rule: SopsEncryptionRule;
  readonly macOnlyEncrypted: boolean;
  /** RFC 3339, seconds, UTC (`2026-01-02T03:04:05Z`). */
  readonly lastModified: string;
}

/** Encrypts a plain tree; returns the encrypted branches and the encrypted MAC. */
export function encryptTree(
  branches: readonly SopsMap[],
  key: Uint8Array,
  options: EncryptTreeOptions,
): { branches: SopsMap[]; mac: string } {
  const encrypted = encryptionTest(options.rule);
  const hash = createHash('sha512');
  if (options.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_SEED);
  const out = branches.map((branch) => {
    if (branch.has(SOPS_METADATA_KEY))
      throw new SopsTreeError('the document already has a "sops" key: is it encrypted already?', [
        SOPS_METADATA_KEY,
      ]);
    return walkLeaves(branch, [], (leaf, path) => {
      const isEncrypted = encrypted(path);
      if (!options.macOnlyEncrypted || isEncrypted) hash.update(valueBytes(leaf));
      return isEncrypted ? encryptValue(leaf, key, additionalData(path), options) : leaf;
    }) as SopsMap;
  });
  const mac = encryptValue(macText(hash.digest()), key, normalizeLastModified(options.lastModified), options);
  return { branches: out, mac };
}

function str(map: SopsMap, field: string): string | undefined {
  const value = map.get(field);
  return typeof value === 'string' ? value : undefined;
}

function isEmptyList(value: SopsValue | undefined): boolean {
  return (
    value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
  );
}

/** The `sops` block of a document, checked; what Capstan cannot use is refused with the reason. */
export function parseSopsMetadata(block: SopsValue | undefined): SopsMetadata {
  const at = (field?: string) => (field ? [SOPS_METADATA_KEY, field] : [SOPS_METADATA_KEY]);
  if (block === undefined)
    throw new SopsTreeError('no "sops" metadata: this is not a SOPS-encrypted file', at());
  if (!isSopsMap(block)) throw new SopsTreeError('the "sops" metadata must be a mapping', at());
  if (!isEmptyList(block.get('key_groups')) || Number(block.get('shamir_threshold') ?? 0) > 1)
    throw new SopsTreeError(
      'uses key groups (Shamir secret sharing), which Capstan does not read; re-encrypt it with plain age recipients',
      at('key_groups'),
    );
  for (const field of ['unencrypted_comment_regex', 'encrypted_comment_regex'])
    if (str(block, field))
      throw new SopsTreeError(
        `${field} is not supported by Capstan; use encrypted_regex or a suffix`,
        at(field),
      );
  const rules = RULE_KINDS.flatMap((kind) => {
    const value = str(block, kind);
    return value ? [{ kind, value }] : [];
  });
  if (rules.length > 1)
    throw new SopsTreeError(`more than one encryption rule (${rules.map((r) => r.kind).join(', ')})`, at());
  const ageList = block.get('age');
  const age: SopsAgeEntry[] = [];
  if (!isEmptyList(ageList)) {
    if (!Array.isArray(ageList)) throw new SopsTreeError('must be a list', at('age'));
    for (const entry of ageList) {
      const recipient = isSopsMap(entry) ? str(entry, 'recipient') : undefined;
      const enc = isSopsMap(entry) ? str(entry, 'enc') : undefined;
      if (!recipient || !enc) throw new SopsTreeError('each entry needs "recipient" and "enc"', at('age'));
      age.push({ recipient, enc });
    }
  }
  const lastModified = str(block, 'lastmodified');
  const mac = str(block, 'mac');
  if (!lastModified) throw new SopsTreeError('is missing', at('lastmodified'));
  if (!mac)
    throw new SopsTreeError('is missing: without it nothing proves the file was not changed', at('mac'));
  return {
    age,
    lastModified,
    mac,
    rule: rules[0] ?? { kind: 'unencrypted_suffix', value: DEFAULT_UNENCRYPTED_SUFFIX },
    macOnlyEncrypted: block.get('mac_only_encrypted') === true,
    version: str(block, 'version') ?? '',
    otherKeyTypes: OTHER_KEY_TYPES.filter((field) => !isEmptyList(block.get(field))),
  };
}

/** The `sops` block as sops writes it (field order of sops's metadata struct). */
export function formatSopsMetadata(metadata: Omit<SopsMetadata, 'otherKeyTypes'>): SopsMap {
  const block: SopsMap = new Map();
  block.set(
    'age',
    metadata.age.map(
      (entry) =>
        new Map<string, SopsValue>([
          ['recipient', entry.recipient],
          ['enc', entry.enc],
        ]),
    ),
  );
  block.set('lastmodified', metadata.lastModified);
  block.set('mac', metadata.mac);
  block.set(metadata.rule.kind, metadata.rule.value);
  if (metadata.macOnlyEncrypted) block.set('mac_only_encrypted', true);
  block.set('version', metadata.version);
  return block;
}

/** Now as sops writes `lastmodified`: RFC 3339 in UTC, to the second. */
export function lastModifiedNow(now: Date = new Date()): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}
