// SOPS files on disk: read a phase's objects, and what `capstan secrets` does to `*.sops.*` files.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { CapstanError, ConfigError } from '../shared/index.js';
import { readSecretsFile, writeFileAtomic } from './files.js';
import type { RandomBytes } from './keys.js';
import { SopsErrorCode, type AgeIdentity } from './sops-age.js';
import {
  asInputError,
  asyncInputError,
  decryptSopsText,
  emitDocuments,
  encryptSopsDocuments,
  parsePlainDocuments,
  parseSopsDocument,
  sopsFormatOf,
  type DecryptedSops,
} from './sops-document.js';
import { goRegExp, SOPS_METADATA_KEY, type IvChooser, type SopsEncryptionRule } from './sops-format.js';
import { planObjectsFromSops } from './sops-objects.js';
import { isSopsMap, toPlainData, type SopsValue } from './sops-tree.js';

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** What decrypting needs: the user's age identities, and the environment to name where they were looked for. */
export interface SopsReadOptions {
  readonly identities: readonly AgeIdentity[];
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Reads and decrypts a SOPS file (MAC checked); errors name the file and path, never a value. */
export async function decryptSopsFile(file: string, options: SopsReadOptions): Promise<DecryptedSops> {
  return decryptSopsText(utf8(await readSecretsFile(file)), { file, ...options });
}

/** A phase's `*.sops.yaml`/`*.sops.json` file as the objects it holds, decrypted and checked. */
export async function readSopsObjects(file: string, options: SopsReadOptions): Promise<unknown[]> {
  return planObjectsFromSops(await decryptSopsFile(file, options), { file });
}

/**
 * The objects of a SOPS file without decrypting it (encrypted values stay `ENC[...]`): enough for
 * what only needs kinds, names and structure (rbac, offline audit). Nothing is checked.
 */
export async function readSopsObjectsUnverified(file: string): Promise<unknown[]> {
  const text = utf8(await readSecretsFile(file));
  const document = asInputError(file, () => parseSopsDocument(text, sopsFormatOf(file)));
  return document.branches.map((branch) => toPlainData(branch));
}

/** What `.sops.yaml` says about a file: its recipients and which values to encrypt. */
export interface SopsCreationRule {
  readonly configFile: string;
  readonly recipients: readonly string[];
  readonly rule?: SopsEncryptionRule;
  readonly macOnlyEncrypted: boolean;
}

function listOfStrings(value: SopsValue | undefined): string[] {
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(value)) return value.flatMap((item) => listOfStrings(item));
  return [];
}

async function findConfigFile(start: string, env: Readonly<Record<string, string | undefined>>) {
  if (env.SOPS_CONFIG) return env.SOPS_CONFIG;
  let dir = resolve(start);
  for (let depth = 0; depth < 100; depth++) {
    const candidate = join(dir, '.sops.yaml');
    if (
      await stat(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

/**
 * The first creation rule of the nearest `.sops.yaml` (from `cwd` up, or SOPS_CONFIG) whose
 * `path_regex` matches the file's path relative to that config file, as sops picks it.
 */
export async function findCreationRule(
  file: string,
  options: { readonly cwd: string; readonly env: Readonly<Record<string, string | undefined>> },
): Promise<SopsCreationRule | undefined> {
  const configFile = await findConfigFile(options.cwd, options.env);
  if (!configFile) return undefined;
  const text = utf8(await readSecretsFile(configFile));
  const config = asInputError(configFile, () => parsePlainDocuments(text, 'yaml'))[0];
  const rules = config?.get('creation_rules');
  if (!Array.isArray(rules)) return undefined;
  const path = relative(dirname(resolve(configFile)), resolve(options.cwd, file));
  for (const [index, rule] of rules.entries()) {
    if (!isSopsMap(rule)) continue;
    const regex = rule.get('path_regex');
    const matches = asInputError(configFile, () =>
      typeof regex !== 'string' || regex === '' ? true : goRegExp(regex).test(path),
    );
    if (!matches) continue;
    if (rule.has('key_groups'))
      throw new ConfigError([
        {
          file: configFile,
          path: `creation_rules[${index}].key_groups`,
          message:
            'key groups (Shamir secret sharing) are not supported by Capstan; list age recipients under "age"',
        },
      ]);
    const kinds = ['unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex'] as const;
    const found = kinds.flatMap((kind) => {
      const value = rule.get(kind);
      return typeof value === 'string' && value !== '' ? [{ kind, value }] : [];
    });
    if (found.length > 1)
      throw new ConfigError([
        { file: configFile, path: `creation_rules[${index}]`, message: 'sets more than one encryption rule' },
      ]);
    return {
      configFile,
      recipients: listOfStrings(rule.get('age')),
      ...(found[0] ? { rule: found[0] } : {}),
      macOnlyEncrypted: rule.get('mac_only_encrypted') === true,
    };
  }
  throw new ConfigError([{ file: configFile, message: `no creation rule matches ${path}` }]);
}

/** What Capstan encrypts when neither a flag nor `.sops.yaml` says: a Secret's values, nothing else. */
export const DEFAULT_KUBERNETES_RULE: SopsEncryptionRule = {
  kind: 'encrypted_regex',
  value: '^(data|stringData)$',
};

export interface EncryptSopsFileOptions {
  /** `--age`: recipients; else those of the matching `.sops.yaml` creation rule. */
  readonly recipients?: readonly string[];
  readonly rule?: SopsEncryptionRule;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly randomBytes?: RandomBytes;
}

export interface EncryptSopsFileResult {
  readonly recipients: readonly string[];
  readonly rule: SopsEncryptionRule;
}

/** `sops encrypt --in-place`: a plain YAML/JSON file becomes a SOPS file for age recipients. */
export async function encryptSopsFile(
  file: string,
  options: EncryptSopsFileOptions,
): Promise<EncryptSopsFileResult> {
  const text = utf8(await readSecretsFile(file));
  const { mode } = await stat(file);
  const format = sopsFormatOf(file);
  const branches = asInputError(file, () => parsePlainDocuments(text, format));
  if (branches.some((branch) => branch.has(SOPS_METADATA_KEY)))
    throw new ConfigError([
      {
        file,
        path: SOPS_METADATA_KEY,
        message: 'is encrypted already (use edit to change it, rotate for a new data key)',
      },
    ]);
  const fromConfig =
    options.recipients && options.recipients.length > 0 ? undefined : await findCreationRule(file, options);
  const recipients = options.recipients?.length ? options.recipients : (fromConfig?.recipients ?? []);
  if (recipients.length === 0)
    throw new CapstanError(SopsErrorCode.noRecipient, `no age recipient for ${file}`, {
      hint: 'give one with --age age1..., or in a .sops.yaml creation rule (age: age1...)',
    });
  const rule = options.rule ?? fromConfig?.rule ?? DEFAULT_KUBERNETES_RULE;
  const output = await asyncInputError(file, () =>
    encryptSopsDocuments(branches, {
      format,
      recipients,
      rule,
      macOnlyEncrypted: fromConfig?.macOnlyEncrypted ?? false,
      randomBytes: options.randomBytes,
    }),
  );
  await writeFileAtomic(file, Buffer.from(output, 'utf8'), mode & 0o7777);
  return { recipients, rule };
}

/** `sops decrypt`: the plain text of a SOPS file (without its metadata). */
export async function decryptSopsFileText(file: string, options: SopsReadOptions): Promise<string> {
  const decrypted = await decryptSopsFile(file, options);
  return asInputError(file, () => emitDocuments(decrypted.branches, decrypted.document.format));
}

export interface ReEncryptOptions extends SopsReadOptions {
  readonly randomBytes?: RandomBytes;
}

/**
 * `sops rotate`: a new data key, every value encrypted anew under it, for the same recipients
 * (plus `addRecipients`, minus `removeRecipients`).
 */
export async function rotateSopsFile(
  file: string,
  options: ReEncryptOptions & {
    readonly addRecipients?: readonly string[];
    readonly removeRecipients?: readonly string[];
  },
): Promise<{ readonly recipients: readonly string[] }> {
  const decrypted = await decryptSopsFile(file, options);
  const { mode } = await stat(file);
  const { metadata, format } = decrypted.document;
  const removed = new Set(options.removeRecipients ?? []);
  const recipients = [
    ...new Set([...metadata.age.map((e) => e.recipient), ...(options.addRecipients ?? [])]),
  ].filter((r) => !removed.has(r));
  if (recipients.length === 0)
    throw new CapstanError(SopsErrorCode.noRecipient, `${file} would have no recipient left`);
  const output = await asyncInputError(file, () =>
    encryptSopsDocuments(decrypted.branches, {
      format,
      recipients,
      rule: metadata.rule,
      macOnlyEncrypted: metadata.macOnlyEncrypted,
      randomBytes: options.randomBytes,
    }),
  );
  await writeFileAtomic(file, Buffer.from(output, 'utf8'), mode & 0o7777);
  return { recipients };
}

export interface EditSopsFileOptions extends ReEncryptOptions {
  readonly openEditor: (path: string) => Promise<void>;
  readonly tempDir: string;
}

/**
 * `sops edit`: decrypts into a file only its owner can read, waits for the editor, encrypts the
 * result with the same data key and recipients. A value whose plaintext did not change keeps its
 * IV, so its ciphertext stays the same and the Git diff shows only what was edited.
 */
export async function editSopsFile(
  file: string,
  options: EditSopsFileOptions,
): Promise<{ readonly changed: boolean }> {
  const decrypted = await decryptSopsFile(file, options);
  const { metadata, format } = decrypted.document;
  const { mode } = await stat(file);
  const plain = asInputError(file, () => emitDocuments(decrypted.branches, format));
  const ivs = new Map<string, Buffer>();
  const ivKey = (aad: string, type: string, plaintext: Buffer) =>
    `${aad}\0${type}\0${plaintext.toString('hex')}`;
  for (const { path, value } of decrypted.decrypted)
    if (value.iv.length > 0) ivs.set(ivKey(`${path.join(':')}:`, value.type, value.plaintext), value.iv);
  const chooseIv: IvChooser = (aad, type, plaintext) => ivs.get(ivKey(aad, type, plaintext));
  const folder = await mkdtemp(join(options.tempDir, 'capstan-sops-'));
  try {
    const temp = join(folder, basename(file));
    await writeFile(temp, plain, { mode: 0o600, flag: 'wx' });
    await options.openEditor(temp);
    const edited = await readFile(temp, 'utf8');
    if (edited === plain) return { changed: false };
    const branches = asInputError(file, () => parsePlainDocuments(edited, format));
    const output = await asyncInputError(file, () =>
      encryptSopsDocuments(branches, {
        format,
        recipients: metadata.age.map((e) => e.recipient),
        age: metadata.age,
        dataKey: decrypted.dataKey,
        rule: metadata.rule,
        macOnlyEncrypted: metadata.macOnlyEncrypted,
        chooseIv,
        randomBytes: options.randomBytes,
      }),
    );
    await writeFileAtomic(file, Buffer.from(output, 'utf8'), mode & 0o7777);
    return { changed: true };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
