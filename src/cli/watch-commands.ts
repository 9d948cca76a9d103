import { Option, type Command } from 'commander';
import { EXIT } from '../deploy/index.js';
import { CapstanError, mapStrings } from '../shared/index.js';
import { DEFAULT_GRACE_MS, evaluateEnvironment, formatIncidents, incidentsJson } from '../watch/index.js';
import type { CliIo, CommandResult } from './options.js';
import { durationDefault } from './options.js';
import { openEnvironment } from './release-commands.js';

interface WatchCommandOptions {
  once?: boolean;
  output?: string;
  cluster?: string;
  grace: number;
}

/** `capstan watch ENV --once`: the open incidents now; exit 1 when there are any. */
async function watchOnce(
  io: CliIo,
  result: CommandResult,
  envName: string,
  opts: WatchCommandOptions,
  cmd: Command,
): Promise<void> {
  const { env, client } = await openEnvironment(cmd, io, envName, result.redactor, {
    cluster: opts.cluster,
    command: 'watch',
  });
  try {
    const scope = {
      app: env.app,
      env: env.name,
      namespace: env.namespace,
      ...(env.cluster === undefined ? {} : { cluster: env.cluster }),
    };
    const { reports, context } = await evaluateEnvironment(client, {
      ...scope,
      graceMs: opts.grace,
      signal: io.signal,
      redactor: result.redactor,
      onWarning: (message) => io.stderr.write(`${result.redactor.text(`warning: ${message}`)}\n`),
    });
    const redact = result.redactor.text;
    io.stdout.write(
      opts.output === 'json'
        ? `${JSON.stringify(
            mapStrings(
              incidentsJson(reports, context.live, scope),
              redact,
              (path) => path.at(-1) === 'cause',
            ),
            null,
            2,
          )}\n`
        : redact(formatIncidents(reports, context.live, scope)),
    );
    result.exitCode = reports.length > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    client.close();
  }
}

export function registerWatchCommands(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('watch')
    .description(
      "watch an environment's workloads and report incidents (crash loops, OOM kills, image pulls, failed Jobs, ...) with their cause and the live release",
    )
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('--once', 'evaluate the current state, print the open incidents and exit 1 if there are any')
    .option('-o, --output <format>', 'with --once: text (default) or json')
    .option('--cluster <name>', 'the cluster to watch (required for a multi-cluster environment)')
    .addOption(
      durationDefault(
        new Option(
          '--grace <duration>',
          'how long replicas may stay unavailable or pods unschedulable before it is an incident, and a workload healthy before it is resolved',
        ),
        DEFAULT_GRACE_MS,
      ),
    )
    .action(async (envName: string, opts: WatchCommandOptions, cmd: Command) => {
      if (opts.output !== undefined && opts.output !== 'json' && opts.output !== 'text')
        throw new CapstanError('ERR_CAPSTAN_USAGE', `--output "${opts.output}" is not text or json`);
      if (!opts.once)
        throw new CapstanError('ERR_CAPSTAN_USAGE', 'capstan watch runs with --once only, so far', {
          hint: `capstan watch ${envName} --once`,
        });
      await watchOnce(io, result, envName, opts, cmd);
    });
}
