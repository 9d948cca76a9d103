import { Option, type Command } from 'commander';
import { connectionOf, loadConfig, resolveOneCluster } from '../config/index.js';
import { selectorOf } from '../deploy/index.js';
import { KubeClient } from '../kube/index.js';
import { cleanJobs, runTask } from '../tasks/index.js';
import { CapstanError } from '../shared/index.js';
import type { CliIo, CommandResult } from './options.js';
import { collect, durationDefault, type GlobalOptions } from './options.js';
import { currentActor } from './session.js';

export function registerTasksCommands(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('run')
    .description("run a one-off task in a fresh container with the app's image, environment and volumes")
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .argument('[command...]', 'the command, after --')
    .option('--cluster <name>', 'the cluster to run in (required for a multi-cluster environment)')
    .option(
      '--from <deployment/NAME>',
      'Deployment whose pod spec the task copies (default: the first rendered)',
    )
    .option('--live', 'copy the live Deployment instead of the rendered one')
    .option('-c, --container <name>', 'container to run (default: the first)')
    .option('-i, --image <ref>', "image (default: the last successful release's, else the live Deployment's)")
    .option(
      '--task <name>',
      "the task's name, for its Job, its lock and capstan.yaml tasks (default: the command's first word)",
    )
    .option('-e, --env <KEY=VALUE>', 'extra environment variable (repeatable)', collect)
    .addOption(durationDefault(new Option('--timeout <duration>', 'give up after this long'), 3_600_000))
    .option('--detach', 'print the Job name and return at once')
    .option('--keep', 'keep the Job when interrupted or failed')
    .option(
      '--concurrency <policy>',
      'forbid: refuse while the same task still runs (default: capstan.yaml tasks.<name>.concurrency, else allow)',
    )
    .action(async (envName: string, command: string[], opts: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const redact = result.redactor.text;
      const concurrency = opts.concurrency as string | undefined;
      if (concurrency !== undefined && concurrency !== 'allow' && concurrency !== 'forbid') {
        throw new CapstanError(
          'ERR_CAPSTAN_USAGE',
          `--concurrency must be allow or forbid, not "${concurrency}"`,
        );
      }
      const outcome = await runTask({
        cwd: globals.cwd,
        env: envName,
        cluster: opts.cluster as string | undefined,
        from: opts.from as string | undefined,
        live: !!opts.live,
        container: opts.container as string | undefined,
        image: opts.image as string | undefined,
        envPairs: (opts.env as string[] | undefined) ?? [],
        command,
        timeoutMs: opts.timeout as number,
        detach: !!opts.detach,
        keep: !!opts.keep,
        concurrency,
        task: opts.task as string | undefined,
        holder: currentActor(io).holder,
        kubeconfig: globals.kubeconfig,
        context: globals.context,
        signal: io.signal,
        envVars: io.env,
        // Line by line, as the log streams: each line of a multi-line value is redacted on its own.
        onLine: (line) => io.stdout.write(`${redact(line)}\n`),
        onStatus: (message) => io.stderr.write(`${redact(`capstan: ${message}`)}\n`),
        redactor: result.redactor,
      });
      if (outcome.outcome === 'detached') io.stdout.write(`${redact(outcome.jobName)}\n`);
      else if (outcome.message) io.stderr.write(`${redact(`capstan: ${outcome.message}`)}\n`);
      result.exitCode = outcome.exitCode;
    });

  const jobs = program.command('jobs').description('Jobs Capstan created: hook Jobs and one-off tasks');
  jobs
    .command('clean')
    .description('delete finished Jobs that Capstan created for an environment')
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .addOption(
      durationDefault(new Option('--older-than <duration>', 'only Jobs created at least this long ago'), 0),
    )
    .option('--dry-run', 'list them, delete nothing')
    .option('--cluster <name>', 'the cluster to clean (required for a multi-cluster environment)')
    .action((envName: string, opts: Record<string, unknown>, cmd: Command) =>
      cleanEnvironmentJobs(io, envName, opts, cmd),
    );
}

/** `capstan jobs clean ENV`: deletes (or lists) the finished Jobs Capstan created in one cluster. */
async function cleanEnvironmentJobs(
  io: CliIo,
  envName: string,
  opts: Record<string, unknown>,
  cmd: Command,
): Promise<void> {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const env = resolveOneCluster(await loadConfig({ cwd: globals.cwd }), envName, {
    cluster: opts.cluster as string | undefined,
    command: 'jobs clean',
  });
  const client = await KubeClient.connect({
    ...connectionOf(env, { kubeconfig: globals.kubeconfig, context: globals.context }),
    env: io.env,
  });
  try {
    const removed = await cleanJobs(client, {
      namespace: env.namespace,
      selector: selectorOf(env.app, env.name),
      olderThanMs: opts.olderThan as number,
      dryRun: !!opts.dryRun,
    });
    for (const name of removed) io.stdout.write(`${opts.dryRun ? 'would delete' : 'deleted'} Job/${name}\n`);
    if (removed.length === 0) io.stdout.write('no finished Jobs to clean\n');
  } finally {
    client.close();
  }
}
