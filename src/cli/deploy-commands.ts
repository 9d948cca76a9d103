import type { Command } from 'commander';
import { createSecretsRenderer, createVaultResolver, EXIT } from '../deploy/index.js';
import { deployEnvironment } from '../fleet/index.js';
import { inCluster, loadConfig, resolveBuildInfo, resolveClusters, type BuildInfo } from '../config/index.js';
import { maskSecrets, renderEnvironment, toYaml, type RenderedPhase } from '../render/index.js';
import { secretValues, type Redactor } from '../secrets/index.js';
import type { CliIo, CommandResult } from './options.js';
import { collect, durationOption, integerOption, type GlobalOptions } from './options.js';
import { createReporter } from './reporter.js';
import { confirm, currentActor, localProcess, outputMode } from './session.js';
import { CapstanError } from '../shared/index.js';
import { formatDiff, hasChanges, type ObjectDiff } from '../release/index.js';

export function registerDeployCommands(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('deploy')
    .description('render, validate, apply phase by phase, wait for every object, prune')
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('-i, --image <ref>', "container image for this deploy (the templates' `image`)")
    .option('--set <key=value>', 'override a value (repeatable; dotted keys)', collect)
    .option('--commit <sha>', 'commit being deployed (default: the CI variables, then git)')
    .option('--branch <name>', 'branch being deployed (default: the CI variables, then git)')
    .option('--timeout <duration>', 'give up after this long (e.g. 10m)', durationOption)
    .option('--progress-deadline <duration>', 'fail when nothing changes for this long', durationOption)
    .option('--dry-run', 'validate with a server-side dry run and show the plan; change nothing')
    .option('--skip-audit', "do not stop on the audit's certainly-broken findings (capstan audit lists them)")
    .option('--no-prune', 'keep objects that are no longer rendered')
    .option('--full', 'send every object, also those unchanged since the last deploy')
    .option('--force-conflicts', 'take over fields owned by another field manager')
    .option(
      '--replace-broken-pods',
      "delete broken pods of a StatefulSet's earlier revision that block its rolling update",
    )
    .option(
      '--replace-running-jobs',
      'delete a phase Job an earlier deploy left running with another spec, instead of waiting for it',
    )
    .option(
      '--rollback-on-failure',
      'when the deploy fails or times out after changing the cluster, put back the last succeeded release',
    )
    .option(
      '--lock-wait <duration>',
      'longest wait for a lock whose holder stopped renewing it (default 2m; 0s: exit 4 at once)',
      durationOption,
    )
    .option('--concurrency <n>', 'parallel API requests', integerOption())
    .option(
      '--skip-cluster <name>',
      'leave this cluster of a multi-cluster environment out (repeatable; the release records it)',
      collect,
    )
    .option('--skip-preflight', 'do not check that every pod and surge pod finds a node')
    .option('--diff', 'show what will change and ask before applying')
    .option('-y, --yes', 'with --diff: apply without asking')
    .option(
      '-o, --output <format>',
      'json: one JSON event per line; plain: one line per event, also on a terminal',
    )
    .action((envName: string, opts: Record<string, unknown>, cmd: Command) =>
      runDeployCommand(io, result, envName, opts, cmd),
    );

  program
    .command('render')
    .description('print the rendered manifests of an environment (Secret values masked)')
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('-i, --image <ref>', 'container image')
    .option('--set <key=value>', 'override a value (repeatable)', collect)
    .option('--show-secrets', 'print Secret values in clear')
    .option('--commit <sha>', 'commit for templates (default: the CI variables, then git)')
    .option('--branch <name>', 'branch for templates (default: the CI variables, then git)')
    .option('--cluster <name>', 'one cluster of a multi-cluster environment (default: every cluster)')
    .action(async (envName: string, opts: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const loaded = await loadConfig({ cwd: globals.cwd });
      const cluster = opts.cluster as string | undefined;
      const views = resolveClusters(loaded, envName, { set: opts.set as string[] | undefined, cluster });
      const build = { ...buildInfo(io, globals.cwd, opts), envVars: io.env };
      // Every cluster renders before anything is printed: an error in one prints nothing.
      const rendered: { cluster?: string; phases: readonly RenderedPhase[] }[] = [];
      for (const env of views) {
        const warn = (message: string) => io.stderr.write(`${result.redactor.text(`warning: ${message}`)}\n`);
        const renderSecrets = createSecretsRenderer({ app: env.app, env: env.name, envVars: io.env, warn });
        const phases = await renderEnvironment({
          env,
          image: (opts.image as string | undefined) ?? env.image,
          deployId: 'render',
          ...build,
          renderSecrets: (file, ns) => renderSecrets(file, ns, undefined),
          resolveVaultReferences: createVaultResolver(env, { envVars: io.env, warn }),
        }).catch((error: unknown) => {
          throw views.length > 1 && env.cluster !== undefined ? inCluster(env.cluster, error) : error;
        });
        rendered.push({ ...(env.cluster === undefined ? {} : { cluster: env.cluster }), phases });
      }
      const redactor = opts.showSecrets ? undefined : result.redactor;
      // One cluster's objects may repeat another's secret value: all are known before any is shown.
      redactor?.add(
        secretValues(rendered.flatMap((r) => r.phases.flatMap((p) => p.objects.map((o) => o.object)))),
      );
      redactor?.addPublic(rendered.flatMap((r) => (r.cluster === undefined ? [] : [r.cluster])));
      // Without --cluster, each cluster of a multi-cluster environment under a comment naming it.
      for (const r of rendered)
        io.stdout.write(
          `${r.cluster === undefined || cluster !== undefined ? '' : `# cluster ${r.cluster}\n`}${renderedYaml(r.phases, redactor)}`,
        );
      result.exitCode = EXIT.ok;
    });
}

/** `capstan deploy ENV`: the options to deploy(), its events to the reporter, its exit code to the result. */
async function runDeployCommand(
  io: CliIo,
  result: CommandResult,
  envName: string,
  opts: Record<string, unknown>,
  cmd: Command,
): Promise<void> {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const reporter = createReporter(io, outputMode(io, opts.output as string | undefined), result.redactor);
  if (opts.diff && !opts.yes && !io.stdin.isTTY) {
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      '--diff asks for confirmation, but there is no terminal to ask on',
      {
        hint: 'pass --yes to apply without asking, or run capstan diff first',
      },
    );
  }
  const build = buildInfo(io, globals.cwd, opts);
  const run = deployEnvironment({
    cwd: globals.cwd,
    env: envName,
    skipClusters: opts.skipCluster as string[] | undefined,
    image: opts.image as string | undefined,
    ...build,
    set: opts.set as string[] | undefined,
    kubeconfig: globals.kubeconfig,
    context: globals.context,
    timeoutMs: opts.timeout as number | undefined,
    progressDeadlineMs: opts.progressDeadline as number | undefined,
    dryRun: !!opts.dryRun,
    skipAudit: !!opts.skipAudit,
    prune: opts.prune as boolean,
    full: !!opts.full,
    forceConflicts: !!opts.forceConflicts,
    replaceBrokenPods: !!opts.replaceBrokenPods,
    replaceRunningJobs: !!opts.replaceRunningJobs,
    rollbackOnFailure: opts.rollbackOnFailure ? true : undefined,
    lockWaitMs: opts.lockWait as number | undefined,
    skipPreflight: !!opts.skipPreflight,
    concurrency: opts.concurrency as number | undefined,
    signal: io.signal,
    envVars: io.env,
    onEvent: (event) => reporter.event(event),
    redactor: result.redactor,
    actor: {
      ...currentActor(io),
      ...(build.commit ? { gitCommit: build.commit } : {}),
      ...(build.branch ? { gitBranch: build.branch } : {}),
    },
    process: localProcess(),
    diff: !!opts.diff,
    confirm: (diffs) => confirmDiff(io, opts, result, [{ diffs }]),
    confirmClusters: (byCluster) => confirmDiff(io, opts, result, byCluster),
  });
  // The reporter closes the deploy once it knows whether reportError will explain its end.
  result.exitCode = (await reporter.settle(run)).exitCode;
}

/** Prints the diff (a heading per cluster of a multi-cluster environment) and asks once. */
async function confirmDiff(
  io: CliIo,
  opts: Record<string, unknown>,
  result: CommandResult,
  byCluster: readonly { cluster?: string; diffs: readonly ObjectDiff[] }[],
): Promise<boolean> {
  const color = outputMode(io) === 'tty' && !io.env.NO_COLOR;
  for (const { cluster, diffs } of byCluster) {
    if (cluster !== undefined) io.stdout.write(`# cluster ${cluster}\n`);
    const text = result.redactor.text(formatDiff(diffs, { color }));
    io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
  if (!byCluster.some((c) => hasChanges(c.diffs))) {
    io.stdout.write('no changes\n');
    return true;
  }
  return opts.yes ? true : confirm(io, 'Apply these changes?');
}

/**
 * `capstan render`'s output. With a redactor (unless `--show-secrets`), Secrets' data is masked
 * and every other string value that repeats a secret value is redacted, as in every other output.
 */
export function renderedYaml(
  phases: readonly RenderedPhase[],
  redactor?: Pick<Redactor, 'add' | 'value' | 'text'>,
): string {
  const all = phases.flatMap((p) => p.objects.map((o) => o.object));
  redactor?.add(secretValues(all));
  return phases
    .map((phase) => {
      const objects = phase.objects.map((o) => o.object);
      const shown = redactor ? redactor.value(maskSecrets(objects)) : objects;
      return `# phase ${redactor ? redactor.text(phase.name) : phase.name}\n${toYaml(shown)}`;
    })
    .join('');
}

/** `--commit`/`--branch`, else the CI's variables, else git in the application folder. */
function buildInfo(io: CliIo, cwd: string, opts: Record<string, unknown>): BuildInfo {
  return resolveBuildInfo({
    flags: { commit: opts.commit as string | undefined, branch: opts.branch as string | undefined },
    env: io.env,
    cwd,
  });
}
