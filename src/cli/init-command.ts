// `capstan init`: scaffolds .deploy/ for an application from flags (src/scaffold).
import { InvalidArgumentError, type Command } from 'commander';
import { writeScaffold } from '../scaffold/index.js';
import { resolveKeydir } from '../secrets/index.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { collect, integerOption } from './options.js';

interface InitOptions {
  app: string;
  image?: string;
  web?: string;
  port: number;
  worker?: string[];
  migrate?: string;
  envs: string[];
  ingressHost?: string;
  keydir?: string;
}

function listOption(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected names separated by commas');
  return items;
}

export function registerInitCommand(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('init')
    .description(
      'scaffold .deploy/ for an application: capstan.yaml, a shared partial, phases per environment (never overwrites a file)',
    )
    .requiredOption('--app <name>', 'application name (lowercase letters, digits, "-")')
    .option('-i, --image <ref>', 'container image written to capstan.yaml (else each deploy passes --image)')
    .option('--web <cmd>', "the web server's command: a Deployment, Service, PodDisruptionBudget")
    .option(
      '--port <n>',
      'the port the web server listens on (probes, Service, scrape)',
      integerOption(),
      8080,
    )
    .option('--worker <cmd>', "a background worker's command: a Deployment each (repeatable)", collect)
    .option('--migrate <cmd>', 'the migration command: a Job that runs before the Deployments change')
    .option('--envs <names>', 'environments, separated by commas', listOption, ['staging', 'production'])
    .option('--ingress-host <host>', 'an Ingress for the web server on this host')
    .option(
      '-k, --keydir <dir>',
      'where the ejson private key goes (default: EJSON_KEYDIR, then /opt/ejson/keys)',
    )
    .action(async (opts: InitOptions, cmd: Command) => {
      const { cwd } = cmd.optsWithGlobals<GlobalOptions>();
      const written = await writeScaffold({
        cwd,
        keydir: opts.keydir ?? resolveKeydir(io.env),
        app: opts.app,
        ...(opts.image === undefined ? {} : { image: opts.image }),
        ...(opts.web === undefined ? {} : { web: opts.web }),
        port: opts.port,
        workers: opts.worker ?? [],
        ...(opts.migrate === undefined ? {} : { migrate: opts.migrate }),
        envs: opts.envs,
        ...(opts.ingressHost === undefined ? {} : { ingressHost: opts.ingressHost }),
      });
      for (const file of written.files) io.stdout.write(`wrote ${file}\n`);
      io.stdout.write(
        `wrote the ejson private key to ${written.keyFile} (public key ${written.publicKey}): deploys need it there, in EJSON_PRIVATE_KEY or in the Secret ejson-keys\n`,
      );
      io.stdout.write(
        `next: capstan audit ${opts.envs[0]}${opts.image === undefined ? ' --image REF' : ''}, then capstan deploy ${opts.envs[0]}${opts.image === undefined ? ' --image REF' : ''}\n`,
      );
      result.exitCode = 0;
    });
}
