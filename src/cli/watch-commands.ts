import { Option, type Command } from 'commander';
import type { ResolvedEnvironment } from '../config/index.js';
import { EXIT } from '../deploy/index.js';
import type { KubeClient } from '../kube/index.js';
import { CapstanError, mapStrings } from '../shared/index.js';
import {
  DEFAULT_GRACE_MS,
  evaluateEnvironment,
  formatIncidents,
  incidentsJson,
  runWatcher,
  addSilence,
  parseWorkloadRef,
  readWatchStore,
  writeSilences,
  type EnvironmentScope,
  type Silence,
} from '../watch/index.js';
import type { CliIo, CommandResult } from './options.js';
import { durationDefault, durationOption } from './options.js';
import { openEnvironment } from './release-commands.js';
import { currentActor } from './session.js';

interface WatchCommandOptions {
  once?: boolean;
  output?: string;
  cluster?: string;
  grace: number;
  tick?: number;
  lease?: number;
}

/** What both ways of watching work with. */
interface WatchRun {
  readonly io: CliIo;
  readonly result: CommandResult;
  readonly env: ResolvedEnvironment;
  readonly client: KubeClient;
  readonly opts: WatchCommandOptions;
  readonly scope: EnvironmentScope;
  readonly warn: (message: string) => void;
}

/** `capstan watch ENV --once`: the open incidents now; exit 1 when there are any. */
async function watchOnce({ io, result, client, opts, scope, warn }: WatchRun): Promise<void> {
  const { reports, context } = await evaluateEnvironment(client, {
    ...scope,
    graceMs: opts.grace,
    signal: io.signal,
    redactor: result.redactor,
    onWarning: warn,
  });
  const redact = result.redactor.text;
  io.stdout.write(
    opts.output === 'json'
      ? `${JSON.stringify(
          mapStrings(incidentsJson(reports, context.live, scope), redact, (path) => path.at(-1) === 'cause'),
          null,
          2,
        )}\n`
      : redact(formatIncidents(reports, context.live, scope)),
  );
  // A silenced incident is shown, but it does not fail the check.
  result.exitCode = reports.some((r) => r.silence === undefined) ? EXIT.failed : EXIT.ok;
}

/** `capstan watch ENV`: watches until SIGINT/SIGTERM, a line per thing it does. */
async function watchForever({ io, result, env, client, opts, scope, warn }: WatchRun): Promise<void> {
  const say = (line: string) =>
    io.stdout.write(`${result.redactor.text(`${new Date().toISOString()} ${line}`)}\n`);
  await runWatcher(client, {
    ...scope,
    notifications: env.notifications,
    envVars: io.env,
    signal: io.signal,
    graceMs: opts.grace,
    ...(opts.tick === undefined ? {} : { tickMs: opts.tick }),
    leadership: {
      holder: currentActor(io).holder,
      ...(opts.lease === undefined ? {} : { leaseSeconds: Math.max(1, Math.round(opts.lease / 1000)) }),
    },
    onEvent: (event) => say(`${event.type}: ${event.message}`),
    onWarning: warn,
  });
  result.exitCode = EXIT.ok;
}

/** `capstan watch silence ENV KIND/NAME --for 2h --reason "..."`: records a silence in the cluster. */
async function silenceWorkload(
  io: CliIo,
  result: CommandResult,
  args: { envName: string; workload: string; opts: { for: number; reason: string; cluster?: string } },
  cmd: Command,
): Promise<void> {
  const workload = parseWorkloadRef(args.workload);
  if (!args.opts.reason.trim()) throw new CapstanError('ERR_CAPSTAN_USAGE', '--reason must say why');
  const { env, client } = await openEnvironment(cmd, io, args.envName, result.redactor, {
    cluster: args.opts.cluster,
    command: 'watch silence',
  });
  try {
    const scope = { namespace: env.namespace, app: env.app, env: env.name, signal: io.signal };
    const now = new Date();
    const silence: Silence = {
      workload,
      until: new Date(now.getTime() + args.opts.for).toISOString(),
      reason: args.opts.reason.trim(),
      by: currentActor(io).user,
      at: now.toISOString(),
    };
    const { silences } = await readWatchStore(client, scope);
    await writeSilences(client, scope, addSilence(silences, silence, now));
    io.stdout.write(
      result.redactor.text(
        `silenced ${workload} of ${env.app}/${env.name} until ${silence.until}: ${silence.reason}\n`,
      ),
    );
    result.exitCode = EXIT.ok;
  } finally {
    client.close();
  }
}

export function registerWatchCommands(program: Command, io: CliIo, result: CommandResult): void {
  const watch = program
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
    .addOption(
      new Option('--lease <duration>', "the leader's Lease duration (default 15s)")
        .argParser(durationOption)
        .hideHelp(),
    )
    .addOption(
      new Option('--tick <duration>', 'how often the state is evaluated (default 2s)')
        .argParser(durationOption)
        .hideHelp(),
    )
    .action(async (envName: string, opts: WatchCommandOptions, cmd: Command) => {
      if (opts.output !== undefined && opts.output !== 'json' && opts.output !== 'text')
        throw new CapstanError('ERR_CAPSTAN_USAGE', `--output "${opts.output}" is not text or json`);
      if (!opts.once && opts.output !== undefined)
        throw new CapstanError('ERR_CAPSTAN_USAGE', '--output goes with --once only');
      const { env, client } = await openEnvironment(cmd, io, envName, result.redactor, {
        cluster: opts.cluster,
        command: 'watch',
      });
      const scope: EnvironmentScope = {
        app: env.app,
        env: env.name,
        namespace: env.namespace,
        ...(env.cluster === undefined ? {} : { cluster: env.cluster }),
      };
      const warn = (message: string) => io.stderr.write(`${result.redactor.text(`warning: ${message}`)}\n`);
      try {
        await (opts.once ? watchOnce : watchForever)({ io, result, env, client, opts, scope, warn });
      } finally {
        client.close();
      }
    });
  watch
    .command('silence')
    .description(
      "announce none of a workload's incidents for a while (they are still tracked, and shown by --once)",
    )
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .argument('<workload>', 'KIND/NAME, e.g. deployment/web')
    .addOption(
      new Option('--for <duration>', 'how long, e.g. 2h').argParser(durationOption).makeOptionMandatory(),
    )
    .addOption(new Option('--reason <text>', 'why, for whoever looks at it').makeOptionMandatory())
    .option('--cluster <name>', 'the cluster (required for a multi-cluster environment)')
    .action(
      async (
        envName: string,
        workload: string,
        opts: { for: number; reason: string; cluster?: string },
        cmd: Command,
      ) => silenceWorkload(io, result, { envName, workload, opts }, cmd),
    );
}
