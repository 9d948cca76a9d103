// `capstan secrets keygen|encrypt|decrypt|edit|rotate`: ejson and SOPS (age) commands over src/secrets.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import { CapstanError } from '../shared/index.js';
import {
  decryptEjsonFile,
  decryptSopsFileText,
  defaultKeyProviders,
  editEjsonFile,
  editSopsFile,
  encryptEjsonFile,
  encryptSopsFile,
  generateKeyPair,
  isSopsFileName,
  loadAgeIdentities,
  resolveKeydir,
  rotateSopsFile,
  SecretsErrorCode,
  staticKeyProvider,
  writePrivateKeyFile,
} from '../secrets/index.js';
import type { KeyProvider, SopsEncryptionRule } from '../secrets/index.js';

export interface SecretsCommandsIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
}

interface KeyOptions {
  readonly keydir?: string;
  readonly keyEnv?: string;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Runs `$VISUAL`/`$EDITOR` (default vi) through the shell, so editors given with arguments work. */
function editorLauncher(env: NodeJS.ProcessEnv): (path: string) => Promise<void> {
  const editor = env.VISUAL || env.EDITOR || 'vi';
  return (path) =>
    new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'sh', path], { stdio: 'inherit', env });
      child.on('error', (error) =>
        reject(
          new CapstanError(SecretsErrorCode.editorFailed, `couldn't start the editor (${editor})`, {
            cause: error,
          }),
        ),
      );
      child.on('exit', (code, signal) => {
        if (code === 0) resolve();
        else {
          const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
          reject(
            new CapstanError(
              SecretsErrorCode.editorFailed,
              `the editor (${editor}) ${how}; the file was left unchanged`,
            ),
          );
        }
      });
    });
}

export function registerSecretsCommands(program: Command, io: SecretsCommandsIo): void {
  const warn = (message: string): void => void io.stderr.write(`warning: ${message}\n`);
  const print = (text: string): void => void io.stdout.write(text);
  const keyProviders = (options: KeyOptions): KeyProvider[] =>
    defaultKeyProviders({ env: io.env, keydir: options.keydir, keyEnvVar: options.keyEnv, warn });

  const secrets = program
    .command('secrets')
    .description('ejson-compatible secrets: key pairs, encryption, decryption and editing of .ejson files');

  secrets
    .command('keygen')
    .description(
      'generate a key pair; print both keys, or with --write store the private key in the key directory',
    )
    .option(
      '-w, --write',
      'write the private key to <keydir>/<public key> (mode 0600) and print only the public key',
    )
    .option('-k, --keydir <dir>', 'key directory (default: EJSON_KEYDIR, then /opt/ejson/keys)')
    .action(async (options: { write?: boolean; keydir?: string }) => {
      const keyPair = generateKeyPair();
      if (!options.write) {
        print(`Public Key:\n${keyPair.publicKey}\nPrivate Key:\n${keyPair.privateKey}\n`);
        return;
      }
      const path = await writePrivateKeyFile({ keydir: options.keydir ?? resolveKeydir(io.env), keyPair });
      print(`${keyPair.publicKey}\n`);
      io.stderr.write(`wrote the private key to ${path}\n`);
    });

  secrets
    .command('encrypt')
    .description(
      "encrypt files in place: EJSON files' plaintext values (encrypted ones stay as they are), or a plain *.sops.yaml/*.sops.json file for age recipients",
    )
    .argument('<files...>', 'EJSON files, or *.sops.yaml / *.sops.json files')
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
    .option('--unencrypted-suffix <suffix>', 'SOPS: leave values under keys ending with it in clear')
    .action(async (files: string[], options: SopsEncryptOptions) => {
      const rule = encryptionRuleOf(options);
      const recipients = options.age
        .flatMap((a) => a.split(','))
        .map((a) => a.trim())
        .filter(Boolean);
      for (const file of files) {
        if (isSopsFileName(file)) {
          const result = await encryptSopsFile(file, { recipients, rule, cwd: process.cwd(), env: io.env });
          print(
            `${file}: encrypted for ${plural(result.recipients.length, 'age recipient')} (${result.rule.kind} ${result.rule.value})\n`,
          );
          continue;
        }
        if (recipients.length > 0 || rule)
          throw usage(`${file}: --age and the SOPS rules apply to *.sops.yaml and *.sops.json files only`);
        const result = await encryptEjsonFile(file);
        const kept = result.alreadyEncrypted > 0 ? `, ${result.alreadyEncrypted} already encrypted` : '';
        print(
          result.changed
            ? `${file}: encrypted ${plural(result.encrypted, 'value')}${kept}\n`
            : `${file}: nothing to encrypt${kept}\n`,
        );
      }
    });

  secrets
    .command('decrypt')
    .description('decrypt an EJSON or SOPS (*.sops.yaml, *.sops.json) file to standard output')
    .argument('<file>', 'EJSON or SOPS file')
    .option('--key-from-stdin', 'read the private key from standard input')
    .option('-k, --keydir <dir>', 'key directory (default: EJSON_KEYDIR, then /opt/ejson/keys)')
    .option('--key-env <name>', 'environment variable holding the private key', 'EJSON_PRIVATE_KEY')
    .action(async (file: string, options: KeyOptions & { keyFromStdin?: boolean }) => {
      if (isSopsFileName(file)) {
        const identities = await loadAgeIdentities({ env: io.env });
        print(await decryptSopsFileText(file, { identities, env: io.env }));
        return;
      }
      const providers = keyProviders(options);
      if (options.keyFromStdin)
        providers.unshift(staticKeyProvider((await readAll(io.stdin)).trim(), 'standard input'));
      const result = await decryptEjsonFile(file, { keyProviders: providers });
      io.stdout.write(result.output);
    });

  secrets
    .command('edit')
    .description(
      'decrypt an EJSON or SOPS file into a private temporary file, open $EDITOR, then re-encrypt it',
    )
    .argument('<file>', 'EJSON or SOPS file')
    .option('-k, --keydir <dir>', 'key directory (default: EJSON_KEYDIR, then /opt/ejson/keys)')
    .option('--key-env <name>', 'environment variable holding the private key', 'EJSON_PRIVATE_KEY')
    .action(async (file: string, options: KeyOptions) => {
      if (isSopsFileName(file)) {
        const identities = await loadAgeIdentities({ env: io.env });
        const edited = await editSopsFile(file, {
          identities,
          env: io.env,
          openEditor: editorLauncher(io.env),
          tempDir: io.env.TMPDIR || tmpdir(),
        });
        print(edited.changed ? `${file}: saved, encrypted anew\n` : `${file}: no changes\n`);
        return;
      }
      const result = await editEjsonFile({
        file,
        keyProviders: keyProviders(options),
        openEditor: editorLauncher(io.env),
        tempDir: io.env.TMPDIR || tmpdir(),
      });
      print(
        result.changed
          ? `${file}: saved, ${plural(result.encrypted, 'value')} encrypted anew\n`
          : `${file}: no changes\n`,
      );
    });

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
      const split = (list: string[]) =>
        list
          .flatMap((a) => a.split(','))
          .map((a) => a.trim())
          .filter(Boolean);
      const identities = await loadAgeIdentities({ env: io.env });
      for (const file of files) {
        if (!isSopsFileName(file)) throw usage(`${file}: rotate works on *.sops.yaml and *.sops.json files`);
        const result = await rotateSopsFile(file, {
          identities,
          env: io.env,
          addRecipients: split(options.addAge),
          removeRecipients: split(options.rmAge),
        });
        print(`${file}: new data key, encrypted for ${plural(result.recipients.length, 'age recipient')}\n`);
      }
    });
}

interface SopsEncryptOptions {
  readonly age: string[];
  readonly encryptedRegex?: string;
  readonly unencryptedRegex?: string;
  readonly encryptedSuffix?: string;
  readonly unencryptedSuffix?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function usage(message: string): CapstanError {
  return new CapstanError('ERR_CAPSTAN_USAGE', message);
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
