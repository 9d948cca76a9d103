// `secrets edit`: decrypt to a private temporary file, let the user edit it, re-encrypt, clean up.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { encryptEjsonBytes, readEjsonPublicKey } from './ejson.js';
import type { PathSegment } from './json-scanner.js';
import { decryptEjsonFile, writeFileAtomic } from './files.js';
import type { KeyProvider } from './key-providers.js';
import type { RandomBytes } from './keys.js';

export interface EditEjsonFileOptions {
  readonly file: string;
  readonly keyProviders: readonly KeyProvider[];
  /** Opens the editor on a path and resolves when the user is done; rejects if the editor failed. */
  readonly openEditor: (path: string) => Promise<void>;
  /** Folder for the private temporary folder (e.g. `os.tmpdir()`). */
  readonly tempDir: string;
  readonly randomBytes?: RandomBytes;
}

export interface EditEjsonFileResult {
  /** False when the user saved nothing new: the file was not rewritten. */
  readonly changed: boolean;
  /** Values encrypted anew (changed or added); unchanged values keep their ciphertext. */
  readonly encrypted: number;
}

const pathKey = (path: readonly PathSegment[]): string => JSON.stringify(path);
const latin1 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/**
 * Decrypts `file` into a file only its owner can read (0600 in a 0700 folder), waits for the
 * editor, encrypts the result and writes it back. Values whose plaintext did not change keep
 * their ciphertext, so the diff shows only what was edited. The temporary folder is removed
 * whatever happens.
 */
export async function editEjsonFile(options: EditEjsonFileOptions): Promise<EditEjsonFileResult> {
  const { file } = options;
  const previous = new Map<string, { plaintext: string; message: string }>();
  const decrypted = await decryptEjsonFile(file, {
    keyProviders: options.keyProviders,
    onValue: (path, plaintext, message) =>
      previous.set(pathKey(path), { plaintext: latin1(plaintext), message }),
  });
  const { mode } = await stat(file);
  const folder = await mkdtemp(join(options.tempDir, 'capstan-secrets-'));
  try {
    const temp = join(folder, basename(file));
    await writeFile(temp, decrypted.output, { mode: 0o600, flag: 'wx' });
    await options.openEditor(temp);
    const edited = new Uint8Array(await readFile(temp));
    if (Buffer.compare(edited, decrypted.output) === 0) return { changed: false, encrypted: 0 };

    const samePublicKey = readEjsonPublicKey(edited, { file }) === decrypted.publicKey;
    let fresh = 0;
    const result = encryptEjsonBytes(edited, {
      file,
      randomBytes: options.randomBytes,
      reuse: (path, plaintext) => {
        const old = samePublicKey ? previous.get(pathKey(path)) : undefined;
        if (old && old.plaintext === latin1(plaintext)) return old.message;
        fresh++;
        return undefined;
      },
    });
    await writeFileAtomic(file, result.output, mode & 0o7777);
    return { changed: true, encrypted: fresh };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
