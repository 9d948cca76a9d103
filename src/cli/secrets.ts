// `capstan secrets keygen|encrypt|decrypt|edit|rotate`: ejson and SOPS (age) commands over src/secrets.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import { CapstanError } from '../shared/index.js';
import {
  decryptEjsonFile,
  defaultKeyProviders,
  editEjsonFile,
  encryptEjsonFile,
  generateKeyPair,
  isSopsFileName,
  resolveKeydir,
  SecretsErrorCode,
  staticKeyProvider,
  writePrivateKeyFile,
} from '../secrets/index.js';
import type { KeyProvider } from '../secrets/index.js';
import {
  decryptSopsCommand,
  editSopsCommand,
  encryptFiles,
  registerRotateCommand,
  withSopsEncryptOptions,
  type SopsEncryptOptions,
} from './sops-commands.js';

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
    .description(
      'secrets files: ejson (key pairs, .ejson files) and SOPS with age (*.sops.yaml, *.sops.json): encryption, decryption, editing, rotation',
    );

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

  withSopsEncryptOptions(
    secrets
      .command('encrypt')
      .description(
        "encrypt files in place: EJSON files' plaintext values (encrypted ones stay as they are), or a plain *.sops.yaml/*.sops.json file for age recipients",
      )
      .argument('<files...>', 'EJSON files, or *.sops.yaml / *.sops.json files'),
  ).action(async (files: string[], options: SopsEncryptOptions) => {
    await encryptFiles(files, options, io, async (file) => {
      const result = await encryptEjsonFile(file);
      const kept = result.alreadyEncrypted > 0 ? `, ${result.alreadyEncrypted} already encrypted` : '';
      print(
        result.changed
          ? `${file}: encrypted ${plural(result.encrypted, 'value')}${kept}\n`
          : `${file}: nothing to encrypt${kept}\n`,
      );
    });
  });

  secrets
    .command('decrypt')
    .description('decrypt an EJSON or SOPS (*.sops.yaml, *.sops.json) file to standard output')
    .argument('<file>', 'EJSON or SOPS file')
    .option('--key-from-stdin', 'read the private key from standard input')
    .option('-k, --keydir <dir>', 'key directory (default: EJSON_KEYDIR, then /opt/ejson/keys)')
    .option('--key-env <name>', 'environment variable holding the private key', 'EJSON_PRIVATE_KEY')
    .action(async (file: string, options: KeyOptions & { keyFromStdin?: boolean }) => {
      if (isSopsFileName(file)) return decryptSopsCommand(file, io);
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
      if (isSopsFileName(file)) return editSopsCommand(file, io, editorLauncher(io.env));
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

  registerRotateCommand(secrets, io);
}
