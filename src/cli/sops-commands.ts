// The SOPS side of `capstan secrets`: *.sops.yaml / *.sops.json files, age recipients and identities.
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import { CapstanError } from '../shared/index.js';
import {
  decryptSopsFileText,
  editSopsFile,
  encryptSopsFile,
  isSopsFileName,
  loadAgeIdentities,
  rotateSopsFile,
  type SopsEncryptionRule,
} from '../secrets/index.js';

export interface SopsCommandsIo {
  readonly stdout: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

export interface SopsEncryptOptions {
  readonly age: string[];
  readonly encryptedRegex?: string;
  readonly unencryptedRegex?: string;
  readonly encryptedSuffix?: string;
  readonly unencryptedSuffix?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--age a,b --age c` as one list. */
function recipientList(values: readonly string[]): string[] {
  return values
    .flatMap((a) => a.split(','))
    .map((a) => a.trim())
    .filter(Boolean);
}

export function usage(message: string): CapstanError {
  return new CapstanError('ERR_CAPSTAN_USAGE', message);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The options `secrets encrypt` takes for SOPS files. */
export function withSopsEncryptOptions(command: Command): Command {
  return command
    .option(
      '--age <recipients>',
      'SOPS: age recipients, comma-separated (default: the .sops.yaml creation rule)',
      collect,
      [],
    )
    .option(
      '--encrypted-regex <re>',
      "SOPS: encrypt only values under keys matching it (default '^(data|stringData)$')",
    )
    .option('--unencrypted-regex <re>', 'SOPS: leave values under keys matching it in clear')
    .option('--encrypted-suffix <suffix>', 'SOPS: encrypt only values under keys ending with it')
    .option('--unencrypted-suffix <suffix>', 'SOPS: leave values under keys ending with it in clear');
}

/** At most one of sops's four rules, from the flags. */
function encryptionRuleOf(options: SopsEncryptOptions): SopsEncryptionRule | undefined {
  const given = (
    [
      ['encrypted_regex', options.encryptedRegex],
      ['unencrypted_regex', options.unencryptedRegex],
      ['encrypted_suffix', options.encryptedSuffix],
      ['unencrypted_suffix', options.unencryptedSuffix],
    ] as const
  ).filter((entry): entry is readonly [SopsEncryptionRule['kind'], string] => entry[1] !== undefined);
  if (given.length > 1)
    throw usage(
      'give at most one of --encrypted-regex, --unencrypted-regex, --encrypted-suffix, --unencrypted-suffix',
    );
  return given[0] ? { kind: given[0][0], value: given[0][1] } : undefined;
}

/**
 * Encrypts the SOPS files among `files` in place (`encryptOther` gets the rest); the SOPS flags
 * given for another kind of file are a usage error.
 */
export async function encryptFiles(
  files: readonly string[],
  options: SopsEncryptOptions,
  io: SopsCommandsIo,
  encryptOther: (file: string) => Promise<void>,
): Promise<void> {
  const rule = encryptionRuleOf(options);
  const recipients = recipientList(options.age);
  for (const file of files) {
    if (!isSopsFileName(file)) {
      if (recipients.length > 0 || rule)
        throw usage(`${file}: --age and the SOPS rules apply to *.sops.yaml and *.sops.json files only`);
      await encryptOther(file);
      continue;
    }
    const result = await encryptSopsFile(file, { recipients, rule, cwd: process.cwd(), env: io.env });
    io.stdout.write(
      `${file}: encrypted for ${plural(result.recipients.length, 'age recipient')} (${result.rule.kind} ${result.rule.value})\n`,
    );
  }
}

/** `secrets decrypt` of a SOPS file: its plain text on standard output. */
export async function decryptSopsCommand(file: string, io: SopsCommandsIo): Promise<void> {
  const identities = await loadAgeIdentities({ env: io.env });
  io.stdout.write(await decryptSopsFileText(file, { identities, env: io.env }));
}

/** `secrets edit` of a SOPS file. */
export async function editSopsCommand(
  file: string,
  io: SopsCommandsIo,
  openEditor: (path: string) => Promise<void>,
): Promise<void> {
  const identities = await loadAgeIdentities({ env: io.env });
  const edited = await editSopsFile(file, {
    identities,
    env: io.env,
    openEditor,
    tempDir: io.env.TMPDIR || tmpdir(),
  });
  io.stdout.write(edited.changed ? `${file}: saved, encrypted anew\n` : `${file}: no changes\n`);
}

/** `secrets rotate`: SOPS files only (an ejson file has no data key to rotate). */
export function registerRotateCommand(secrets: Command, io: SopsCommandsIo): void {
  secrets
    .command('rotate')
    .description(
      'SOPS: encrypt *.sops.yaml / *.sops.json files anew under a new data key (what to do when a key may have leaked)',
    )
    .argument('<files...>', 'SOPS files')
    .option('--add-age <recipients>', 'also encrypt for these age recipients (comma-separated)', collect, [])
    .option(
      '--rm-age <recipients>',
      'no longer encrypt for these age recipients (comma-separated)',
      collect,
      [],
    )
    .action(async (files: string[], options: { addAge: string[]; rmAge: string[] }) => {
      const identities = await loadAgeIdentities({ env: io.env });
      for (const file of files) {
        if (!isSopsFileName(file)) throw usage(`${file}: rotate works on *.sops.yaml and *.sops.json files`);
        const result = await rotateSopsFile(file, {
          identities,
          env: io.env,
          addRecipients: recipientList(options.addAge),
          removeRecipients: recipientList(options.rmAge),
        });
        io.stdout.write(
          `${file}: new data key, encrypted for ${plural(result.recipients.length, 'age recipient')}\n`,
        );
      }
    });
}
