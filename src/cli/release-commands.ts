import type { Command } from 'commander';
import {
  connectionOf,
  loadConfig,
  resolveEnvironment,
  resolveOneCluster,
  type ResolvedEnvironment,
} from '../config/index.js';
import { diffClusters, EXIT, type EnvironmentDiff } from '../deploy/index.js';
import { KubeClient } from '../kube/index.js';
import {
  forceUnlock,
  formatDiff,
  formatHistory,
  historyJson,
  LockHeldError,
  lockName,
  markInterrupted,
  readLock,
  readReleases,
  redactDiffs,
  rollback,
} from '../release/index.js';
import { secretValues, type Redactor } from '../secrets/index.js';
import { CapstanError, mapStrings } from '../shared/index.js';
import { currentActor, outputMode } from './session.js';
import { clusterViews, fleetHistory, fleetRollback } from './fleet-release-commands.js';
import type { CliIo, CommandResult } from './options.js';
import { collect, durationOption, type GlobalOptions } from './options.js';
import { reportError } from './report-error.js';
import { createReporter } from './reporter.js';
import { rollbackSettings } from './rollback-settings.js';

/** History entries with their strings redacted, but each release's `outcome` (Capstan's own word). */
function redactHistory<T>(entries: T, redactor: Redactor): T {
  return mapStrings(entries, redactor.text, (path) => path.length === 2 && path[1] === 'outcome');
}

function releaseOption(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CapstanError('ERR_CAPSTAN_USAGE', `--to "${value}" is not a release number`);
  return n;
}

/**
 * The environment (or one cluster of it) and a client for it. Its names are public
 * (docs/redaction.md): the redactor learns them before any secret value, so that no output of the
 * command hides them. With `command`, the command acts on one cluster: a multi-cluster environment
 * needs `cluster`.
 */
export async function openEnvironment(
  cmd: Command,
  io: CliIo,
  envName: string,
  redactor: Pick<Redactor, 'addPublic'>,
  options: { cluster?: string; command?: string } = {},
): Promise<{ env: ResolvedEnvironment; client: KubeClient }> {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const loaded = await loadConfig({ cwd: globals.cwd });
  const env =
    options.command === undefined
      ? resolveEnvironment(loaded, envName, { cluster: options.cluster })
      : resolveOneCluster(loaded, envName, { cluster: options.cluster, command: options.command });
  redactor.addPublic([env.app, env.name, env.namespace, ...(env.cluster === undefined ? [] : [env.cluster])]);
  const client = await KubeClient.connect({
    ...connectionOf(env, { kubeconfig: globals.kubeconfig, context: globals.context }),
    env: io.env,
  });
  return { env, client };
}

/** Expected refusals with their own exit codes; everything else goes to runCli's reporting. */
function refusal(error: unknown, io: CliIo, result: CommandResult): boolean {
  if (error instanceof LockHeldError) {
    reportError(error, io, result.redactor);
    result.exitCode = EXIT.locked;
    return true;
  }
  if (error instanceof CapstanError && error.code === 'ERR_CAPSTAN_NO_SUCH_RELEASE') {
    reportError(error, io, result.redactor);
    result.exitCode = EXIT.invalid;
    return true;
  }
  return false;
}

/**
 * `capstan unlock ENV`: removes the lock whoever holds it, and marks the holder's release
 * interrupted (its deploy can no longer finish it under the lock).
 */
async function unlockEnvironment(
  io: CliIo,
  result: CommandResult,
  envName: string,
  opts: { cluster?: string },
  cmd: Command,
): Promise<void> {
  const { env, client } = await openEnvironment(cmd, io, envName, result.redactor, {
    cluster: opts.cluster,
    command: 'unlock',
  });
  try {
    const scope = { namespace: env.namespace, app: env.app, env: env.name, signal: io.signal };
    const state = await readLock(client, scope);
    const removed = await forceUnlock(client, scope);
    const cluster = env.cluster === undefined ? '' : ` of cluster ${env.cluster}`;
    const name = `${lockName(env.app, env.name)} in ${env.namespace}${cluster}`;
    if (!removed) io.stdout.write(`no lock ${name}: nothing to do\n`);
    else if (state)
      io.stdout.write(`removed the lock ${name}, held by ${state.holder} since ${state.since ?? '?'}\n`);
    else io.stdout.write(`removed the lock ${name} (nobody held it)\n`);
    // The holder's deploy can no longer finish its record under the lock: it is interrupted.
    if (removed && state?.deployId) {
      // The lock is gone either way: a record that cannot be written is a warning, not a failure.
      const release = await markInterrupted(
        client,
        { ...scope, keep: env.releasesKeep },
        {
          deployId: state.deployId,
          renewedAt: state.renewedAt,
          by: `capstan unlock (${currentActor(io).holder})`,
          at: new Date(),
        },
      ).catch((error: unknown) => {
        io.stderr.write(
          result.redactor.text(
            `warning: could not mark release of ${state.holder} interrupted: ${(error as Error).message}\n`,
          ),
        );
        return undefined;
      });
      if (release !== undefined)
        io.stdout.write(
          `release ${release} of ${env.app}/${env.name}${cluster} (${state.holder}) is marked interrupted\n`,
        );
    }
    result.exitCode = EXIT.ok;
  } finally {
    client.close();
  }
}

interface RollbackCommandOptions {
  to?: number;
  cluster?: string;
  timeout?: number;
  progressDeadline?: number;
  output?: string;
}

/** `capstan rollback ENV`: re-applies a release under the lock; its events to the reporter, its exit code to the result. */
async function rollbackEnvironment(
  io: CliIo,
  result: CommandResult,
  envName: string,
  opts: RollbackCommandOptions,
  cmd: Command,
): Promise<void> {
  const views = await clusterViews(cmd, envName, result.redactor, opts.cluster);
  if (views) return fleetRollback(io, result, views, opts, cmd);
  const { env, client } = await openEnvironment(cmd, io, envName, result.redactor);
  const mode = outputMode(io, opts.output);
  const reporter = createReporter(io, mode, result.redactor);
  try {
    const run = rollback(client, {
      namespace: env.namespace,
      ...rollbackSettings(env, opts, io, result, (event) => reporter.event(event)),
    });
    // The reporter closes the rollback once it knows whether reportError will explain its end.
    result.exitCode = (await reporter.settle(run)).exitCode;
  } catch (error) {
    if (!refusal(error, io, result)) throw error;
  } finally {
    client.close();
  }
}

interface DiffCommandOptions {
  image?: string;
  set?: string[];
  cluster?: string;
  exitCode?: boolean;
  output?: string;
}

/**
 * `capstan diff`'s output: one environment's diff as always; the clusters of a multi-cluster
 * environment each under a heading of its own, then which of them would change.
 */
function writeDiffs(
  io: CliIo,
  redactor: Redactor,
  diffs: readonly EnvironmentDiff[],
  opts: DiffCommandOptions,
): void {
  const [first] = diffs;
  if (first === undefined) return;
  const grouped = opts.cluster === undefined && first.cluster !== undefined;
  const color = !!io.stdout.isTTY && !io.env.NO_COLOR;
  if (opts.output === 'json') {
    const document = grouped
      ? { app: first.app, env: first.env, hasChanges: diffs.some((d) => d.hasChanges), clusters: diffs }
      : first;
    io.stdout.write(`${JSON.stringify(redactDiffs(document, redactor.text), null, 2)}\n`);
  } else if (!grouped) {
    io.stdout.write(redactor.text(formatDiff(first.diffs, { color })));
  } else {
    const bold = (text: string) => (color ? `\u001b[1m${text}\u001b[0m` : text);
    const changed = diffs.filter((d) => d.hasChanges).map((d) => d.cluster ?? '');
    const text = [
      ...diffs.map(
        (d) =>
          `${bold(`=== cluster ${d.cluster ?? ''} (namespace ${d.namespace})`)}\n${formatDiff(d.diffs, { color })}\n`,
      ),
      changed.length === 0
        ? `no changes in any of the ${diffs.length} clusters\n`
        : `changes in ${changed.length} of ${diffs.length} clusters: ${changed.join(', ')}\n`,
    ];
    io.stdout.write(redactor.text(text.join('')));
  }
}

export function registerReleaseCommands(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('history')
    .description('releases of an environment, newest first')
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option(
      '-o, --output <format>',
      'json: the records (without manifests) as a JSON array; of several clusters, the merged releases',
    )
    .option('--cluster <name>', 'one cluster of a multi-cluster environment: its own records')
    .action(async (envName: string, opts: { output?: string; cluster?: string }, cmd: Command) => {
      // Every cluster side by side, unless one is named.
      const views =
        opts.cluster === undefined ? await clusterViews(cmd, envName, result.redactor) : undefined;
      if (views) return fleetHistory(io, result, views, opts, cmd);
      const { env, client } = await openEnvironment(cmd, io, envName, result.redactor, {
        cluster: opts.cluster,
      });
      try {
        const records = await readReleases(client, {
          namespace: env.namespace,
          app: env.app,
          env: env.name,
          signal: io.signal,
          onDamaged: (error) => io.stderr.write(`${result.redactor.text(`warning: ${error.message}`)}\n`),
        });
        // Records hold their manifests, Secrets included: what history prints is redacted with them.
        result.redactor.add(records.flatMap((r) => secretValues(r.manifests)));
        io.stdout.write(
          opts.output === 'json'
            ? `${JSON.stringify(redactHistory(historyJson(records), result.redactor), null, 2)}\n`
            : result.redactor.text(formatHistory(records)),
        );
        result.exitCode = EXIT.ok;
      } finally {
        client.close();
      }
    });

  program
    .command('unlock')
    .description("remove an environment's deploy lock, whoever holds it (for a deploy that died)")
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('--cluster <name>', 'the cluster whose lock to remove, for a multi-cluster environment')
    .action((envName: string, opts: { cluster?: string }, cmd: Command) =>
      unlockEnvironment(io, result, envName, opts, cmd),
    );

  program
    .command('diff')
    .description('what a deploy would change: server-side dry run against the live objects')
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('-i, --image <ref>', "container image (the templates' `image`)")
    .option('--set <key=value>', 'override a value (repeatable; dotted keys)', collect)
    .option('--cluster <name>', 'one cluster of a multi-cluster environment (default: every cluster)')
    .option('--exit-code', 'exit 1 when there are changes (in any cluster)')
    .option('-o, --output <format>', 'json: the object diffs as a JSON document')
    .action(async (envName: string, opts: DiffCommandOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const diffs = await diffClusters({
        cwd: globals.cwd,
        env: envName,
        image: opts.image,
        set: opts.set,
        cluster: opts.cluster,
        kubeconfig: globals.kubeconfig,
        context: globals.context,
        signal: io.signal,
        envVars: io.env,
        onWarning: (message) => io.stderr.write(`${result.redactor.text(`warning: ${message}`)}\n`),
        redactor: result.redactor,
      });
      writeDiffs(io, result.redactor, diffs, opts);
      result.exitCode = opts.exitCode && diffs.some((d) => d.hasChanges) ? 1 : EXIT.ok;
    });

  program
    .command('rollback')
    .description('re-apply an earlier release (default: the last succeeded one before the current)')
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('--to <release>', 'release number to re-apply (see `capstan history`)', releaseOption)
    .option('--cluster <name>', 'only this cluster of a multi-cluster environment (default: every cluster)')
    .option('--timeout <duration>', 'give up waiting after this long (e.g. 10m)', durationOption)
    .option('--progress-deadline <duration>', 'fail when nothing changes for this long', durationOption)
    .option(
      '-o, --output <format>',
      'json: one JSON event per line; plain: one line per event, also on a terminal',
    )
    .action((envName: string, opts: RollbackCommandOptions, cmd: Command) =>
      rollbackEnvironment(io, result, envName, opts, cmd),
    );
}
