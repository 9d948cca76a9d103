// Writes a planned deploy tree and its ejson private key; refuses, writing nothing, when any file exists.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateKeyPair, writePrivateKeyFile } from '../secrets/index.js';
import { CapstanError } from '../shared/index.js';
import { planScaffold, type ScaffoldOptions } from './plan-scaffold.js';

export interface WriteScaffoldOptions extends ScaffoldOptions {
  /** The application folder that gets `.deploy/`. */
  readonly cwd: string;
  /** Where the private key goes (`capstan secrets keygen --write`'s key directory). */
  readonly keydir: string;
}

export interface WriteScaffoldResult {
  /** Paths written, relative to cwd, in order. */
  readonly files: readonly string[];
  readonly publicKey: string;
  readonly keyFile: string;
}

export async function writeScaffold(options: WriteScaffoldOptions): Promise<WriteScaffoldResult> {
  const keyPair = generateKeyPair();
  const plan = planScaffold(options, {
    publicKey: keyPair.publicKey,
    secretKeyBase: randomBytes(32).toString('hex'),
  });
  const paths = [...plan.files.keys()];
  const existing = paths.filter((path) => existsSync(join(options.cwd, path)));
  if (existing.length > 0) {
    const named =
      existing.length <= 5
        ? existing.join(', ')
        : `${existing.slice(0, 5).join(', ')} and ${existing.length - 5} more`;
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `${named} already exist${existing.length === 1 ? 's' : ''}: capstan init never overwrites a file, and wrote nothing`,
      { hint: 'move them away, or init another folder with --cwd' },
    );
  }
  const keyFile = await writePrivateKeyFile({ keydir: options.keydir, keyPair });
  for (const [path, content] of plan.files) {
    const file = join(options.cwd, path);
    await mkdir(dirname(file), { recursive: true });
    // `wx`: a file that appeared since the check is still not overwritten.
    await writeFile(file, content, { flag: 'wx' });
  }
  return { files: paths, publicKey: keyPair.publicKey, keyFile };
}
