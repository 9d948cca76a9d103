// Whole SOPS documents: text in, checked and decrypted tree out (and back), errors as located issues.
import { ConfigError, type Issue } from '../shared/index.js';
import { cryptoRandomBytes, type RandomBytes } from './keys.js';
import { formatJsonPath } from './json-scanner.js';
import { ageIdentitySources, unwrapDataKey, wrapDataKey, type AgeIdentity } from './sops-age.js';
import {
  decryptTree,
  encryptTree,
  formatSopsMetadata,
  lastModifiedNow,
  parseSopsMetadata,
  SOPS_FORMAT_VERSION,
  SOPS_METADATA_KEY,
  type DecryptedTree,
  type IvChooser,
  type SopsEncryptionRule,
  type SopsMetadata,
} from './sops-format.js';
import {
  emitSopsJson,
  emitSopsYaml,
  parseSopsJson,
  parseSopsYaml,
  SopsTreeError,
  type SopsMap,
} from './sops-tree.js';

export type SopsFormat = 'yaml' | 'json';

/** `*.sops.yaml`, `*.sops.yml` and `*.sops.json`: the names Capstan reads as SOPS files. */
export const SOPS_FILE_NAME = /\.sops\.(ya?ml|json)$/;

export function isSopsFileName(name: string): boolean {
  return SOPS_FILE_NAME.test(name);
}

/** The store sops would use for a file, by its extension. */
export function sopsFormatOf(file: string): SopsFormat {
  return file.endsWith('.json') ? 'json' : 'yaml';
}

/** A SopsTreeError as an issue of `file`: the path of keys, never a value. */
export function sopsIssue(file: string, error: SopsTreeError): Issue {
  return {
    file,
    ...(error.line === undefined ? {} : { line: error.line }),
    ...(error.path.length > 0 ? { path: formatJsonPath(error.path) } : {}),
    message: error.message,
  };
}

/** Runs `body`, turning a SopsTreeError into a ConfigError (exit 2) naming the file. */
export function asInputError<T>(file: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof SopsTreeError) throw new ConfigError([sopsIssue(file, error)], { cause: error });
    throw error;
  }
}

/** asInputError for a promise. */
export async function asyncInputError<T>(file: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SopsTreeError) throw new ConfigError([sopsIssue(file, error)], { cause: error });
    throw error;
  }
}

export function parsePlainDocuments(text: string, format: SopsFormat): SopsMap[] {
  return format === 'json' ? [parseSopsJson(text)] : parseSopsYaml(text);
}

export function emitDocuments(branches: readonly SopsMap[], format: SopsFormat): string {
  if (format === 'json') {
    if (branches.length !== 1) throw new SopsTreeError('a JSON file holds exactly one document');
    return emitSopsJson(branches[0]);
  }
  return emitSopsYaml(branches);
}

export interface SopsDocument {
  readonly format: SopsFormat;
  /** The documents without their `sops` block. */
  readonly branches: SopsMap[];
  readonly metadata: SopsMetadata;
}

/** Splits an encrypted file into its documents and its metadata (every document carries the same block). */
export function parseSopsDocument(text: string, format: SopsFormat): SopsDocument {
  const docs = parsePlainDocuments(text, format);
  if (docs.length === 0) throw new SopsTreeError('the file holds no document');
  const metadata = parseSopsMetadata(docs[0].get(SOPS_METADATA_KEY));
  const branches = docs.map((doc) => {
    const copy = new Map(doc);
    copy.delete(SOPS_METADATA_KEY);
    return copy;
  });
  return { format, branches, metadata };
}

export interface DecryptedSops extends DecryptedTree {
  readonly document: SopsDocument;
  readonly dataKey: Uint8Array;
}

/**
 * Decrypts a SOPS file's text with the user's age identities and checks its MAC. Any failure is
 * a ConfigError naming the file and, where there is one, the path of the value (never the value).
 */
export async function decryptSopsText(
  text: string,
  options: {
    readonly file: string;
    readonly identities: readonly AgeIdentity[];
    readonly env?: Readonly<Record<string, string | undefined>>;
  },
): Promise<DecryptedSops> {
  const { file } = options;
  const document = asInputError(file, () => {
    try {
      return parseSopsDocument(text, sopsFormatOf(file));
    } catch (error) {
      if (error instanceof SopsTreeError && error.message.startsWith('no "sops" metadata'))
        throw new ConfigError([sopsIssue(file, error)], {
          hint: `encrypt it first: capstan secrets encrypt --age age1... ${file}`,
        });
      throw error;
    }
  });
  const { metadata } = document;
  if (metadata.age.length === 0) {
    const others = metadata.otherKeyTypes.join(', ') || 'no key at all';
    throw new ConfigError([
      {
        file,
        path: SOPS_METADATA_KEY,
        message: `has no age recipient (it is encrypted for ${others}); Capstan decrypts SOPS files encrypted with age`,
      },
    ]);
  }
  const dataKey = await unwrapDataKey(metadata.age, options.identities);
  if (!dataKey) {
    const recipients = metadata.age.map((entry) => entry.recipient).join(', ');
    const looked = ageIdentitySources(options.env ?? {});
    throw new ConfigError(
      [
        {
          file,
          path: `${SOPS_METADATA_KEY}.age`,
          message:
            options.identities.length === 0
              ? `no age identity found to decrypt it (looked in ${looked})`
              : `none of the ${options.identities.length} age identities found opens it; it is encrypted for ${recipients}`,
        },
      ],
      { hint: `give the identity of one of its recipients in ${looked}` },
    );
  }
  const tree = asInputError(file, () => decryptTree(document.branches, metadata, dataKey));
  return { ...tree, document, dataKey };
}

export interface EncryptSopsOptions {
  readonly format: SopsFormat;
  readonly recipients: readonly string[];
  readonly rule: SopsEncryptionRule;
  readonly macOnlyEncrypted?: boolean;
  /** The data key to keep (edit); a new random one otherwise. */
  readonly dataKey?: Uint8Array;
  /** Recipients' wrapped keys to keep as they are (edit: the data key did not change). */
  readonly age?: SopsMetadata['age'];
  readonly chooseIv?: IvChooser;
  readonly randomBytes?: RandomBytes;
  readonly now?: Date;
}

/** Plain documents to the text of an encrypted file that sops itself decrypts. */
export async function encryptSopsDocuments(
  branches: readonly SopsMap[],
  options: EncryptSopsOptions,
): Promise<string> {
  const randomBytes = options.randomBytes ?? cryptoRandomBytes;
  const dataKey = options.dataKey ?? randomBytes(32);
  const age = options.age ?? (await wrapDataKey(dataKey, options.recipients));
  const lastModified = lastModifiedNow(options.now);
  const macOnlyEncrypted = options.macOnlyEncrypted ?? false;
  const encrypted = encryptTree(branches, dataKey, {
    rule: options.rule,
    macOnlyEncrypted,
    lastModified,
    randomBytes,
    chooseIv: options.chooseIv,
  });
  const block = formatSopsMetadata({
    age,
    lastModified,
    mac: encrypted.mac,
    rule: options.rule,
    macOnlyEncrypted,
    version: SOPS_FORMAT_VERSION,
  });
  const docs = encrypted.branches.map((branch) => new Map([...branch, [SOPS_METADATA_KEY, block]]));
  return emitDocuments(docs, options.format);
}
