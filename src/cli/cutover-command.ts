import { Option, type Command } from 'commander';
import { loadConfig } from '../config/index.js';
import {
  cutover,
  describeStep,
  resolveCutoverEnvironment,
  formatVerification,
  type CutoverDirection,
  type CutoverEvent,
  type CutoverOptions,
  type CutoverOutcome,
} from '../migrate/index.js';
import { CapstanError } from '../shared/index.js';
import { runHook } from './cutover-hook.js';
import {
  jsonLines,
  selectionOf,
  selectionOptions,
  validateSelection,
  type SelectionFlags,
} from './migrate-commands.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { durationDefault, durationOption, integerOption } from './options.js';
import { currentActor, outputMode } from './session.js';

interface CutoverFlags extends SelectionFlags {
  back?: boolean;
  scaleDownSource?: boolean;
  exec?: string;
  execTimeout: number;
  allowEmptyVolumes?: boolean;
  healthTimeout?: number;
  concurrency?: number;
  output?: string;
}

const OUTCOME_TEXT: Readonly<Record<CutoverOutcome, string>> = {
  'cut-over': 'cut over: B is live',
  reversed: 'reversed: A is live again',
  unchanged: 'nothing to do',
  refused: 'refused',
  'rolled-back': 'rolled back',
  failed: 'failed',
  interrupted: 'interrupted',
};

function validate(flags: CutoverFlags): void {
  if (flags.back && flags.scaleDownSource)
    throw new CapstanError('ERR_CAPSTAN_USAGE', '--back and --scale-down-source exclude each other', {
      hint: '--back reverses what the cutover record says, replica counts included',
    });
  if (flags.exec !== undefined && flags.exec.trim() === '')
    throw new CapstanError('ERR_CAPSTAN_USAGE', '--exec needs a command', {
      hint: "e.g. --exec 'switch-lb.sh green'",
    });
}

/** Human output: the verification, the planned steps, each step as it is done, the outcome. */
function humanPrinter(io: CliIo, options: { readonly allowEmptyVolumes?: boolean }) {
  const write = (line: string) => io.stdout.write(`${line}\n`);
  let where = '';
  return (event: CutoverEvent) => {
    switch (event.type) {
      case 'cutover-started':
        where = `${event.record.namespace}/${event.record.name}`;
        write(
          `${event.direction === 'back' ? 'Reversing the cutover' : 'Cutting over'} from ${event.from} (A) to ${event.to} (B); record: ConfigMap ${where} in both clusters`,
        );
        if (event.message) write(event.message);
        if (event.decision === 'fresh') write('verifying B against A first');
        break;
      case 'verify-finished':
        write(formatVerification(event, options));
        break;
      case 'warning':
        write(`warning: ${event.message}`);
        break;
      case 'migrate-finished':
        if (event.exitCode !== 0 && event.message) write(`✗ ${event.message}`);
        break;
      case 'cutover-planned':
        write(event.steps.length === 0 ? 'no steps: nothing runs on a schedule in scope' : 'steps:');
        event.steps.forEach((step, i) => write(`  ${i + 1}. ${describeStep(step)}`));
        break;
      case 'cutover-step': {
        const mark = event.outcome === 'done' ? '✓' : event.outcome === 'gone' ? '–' : '✗';
        write(`${mark} ${event.description}${event.message ? `: ${event.message}` : ''}`);
        break;
      }
      case 'cutover-finished':
        write(
          `${event.exitCode === 0 ? '✓' : '✗'} ${OUTCOME_TEXT[event.outcome]}${event.message ? `: ${event.message}` : ''} (${(event.durationMs / 1000).toFixed(1)}s)`,
        );
        if (event.state) write(`record ${where} in A and B: state ${event.state}`);
        break;
    }
  };
}

/** The clusters and scope: from capstan.yaml when an environment is named, else from the flags. */
async function targetsOf(
  envName: string | undefined,
  flags: CutoverFlags,
  globals: GlobalOptions,
): Promise<Pick<CutoverOptions, 'from' | 'to' | 'scope' | 'environment'>> {
  if (envName === undefined) {
    validateSelection(flags);
    return selectionOf(flags, globals);
  }
  const clusterFlags = [
    flags.fromKubeconfig !== undefined ? '--from-kubeconfig' : undefined,
    flags.toKubeconfig !== undefined ? '--to-kubeconfig' : undefined,
    flags.namespace?.length ? '--namespace' : undefined,
    flags.allNamespaces ? '--all-namespaces' : undefined,
    flags.app !== undefined ? '--app' : undefined,
    globals.context !== undefined ? '--context' : undefined,
  ].filter(Boolean);
  if (clusterFlags.length > 0)
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `${clusterFlags.join(', ')}: capstan.yaml says where ${envName} runs`,
      { hint: `name its clusters: capstan cutover ${envName} --to NAME [--from NAME]` },
    );
  if (flags.to === undefined)
    throw new CapstanError('ERR_CAPSTAN_USAGE', `say which cluster of ${envName} to cut over to`, {
      hint: `pass --to NAME (a cluster under environments.${envName}.clusters in capstan.yaml)`,
    });
  return resolveCutoverEnvironment(await loadConfig({ cwd: globals.cwd }), envName, {
    to: flags.to,
    from: flags.from,
    kubeconfig: globals.kubeconfig,
    selector: flags.selector,
    includeKinds: flags.includeKinds,
    excludeKinds: flags.excludeKinds,
  });
}

export function registerCutoverCommand(program: Command, io: CliIo, result: CommandResult): void {
  selectionOptions(
    program
      .command('cutover [env]')
      .description(
        "make B live after `capstan migrate`: verify B, suspend A's CronJobs, run the switch hook, resume B's, optionally scale A down; --back reverses the last cutover. With ENV, --from and --to name clusters of the environment in capstan.yaml (--from may be left out when it has two)",
      ),
    'the live one until the cutover',
  )
    .option('--back', 'reverse the last cutover of this scope, from its record')
    .option(
      '--scale-down-source',
      "scale A's Deployments, StatefulSets and ReplicaSets to 0 (counts recorded)",
    )
    .option('--exec <command>', 'run this shell command at the switch point (a failure rolls back)')
    .addOption(
      durationDefault(new Option('--exec-timeout <duration>', 'deadline of the --exec command'), 300_000),
    )
    .option('--allow-empty-volumes', 'cut over although claimed volumes were copied empty')
    .option(
      '--health-timeout <duration>',
      "how long verification waits for B's workloads (default 2m)",
      durationOption,
    )
    .option('--concurrency <n>', 'parallel API requests per cluster (default 32)', integerOption())
    .option('-o, --output <format>', 'json: one JSON event per line')
    .action(async (envName: string | undefined, flags: CutoverFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      validate(flags);
      const targets = await targetsOf(envName, flags, globals);
      const json = outputMode(io, flags.output) === 'json';
      const print = json
        ? jsonLines<CutoverEvent>(io)
        : humanPrinter(io, { allowEmptyVolumes: flags.allowEmptyVolumes });
      const actor = currentActor(io);
      const outcome = await cutover({
        ...targets,
        direction: flags.back ? 'back' : 'forward',
        scaleDownSource: flags.scaleDownSource,
        command: flags.exec,
        runHook: (command: string, direction: CutoverDirection, servers) =>
          runHook({
            command,
            direction,
            from: { context: targets.from.context, server: servers.from },
            to: { context: targets.to.context, server: servers.to },
            ...(targets.environment ? { environment: targets.environment } : {}),
            timeoutMs: flags.execTimeout,
            env: io.env,
            signal: io.signal,
            // JSON output keeps stdout for events: the hook's lines go to standard error then.
            onLine: (stream, line) =>
              (json || stream === 'stderr' ? io.stderr : io.stdout).write(`  │ ${line}\n`),
          }),
        allowEmptyVolumes: flags.allowEmptyVolumes,
        healthTimeoutMs: flags.healthTimeout,
        concurrency: flags.concurrency,
        actor: `${actor.user}@${actor.host}`,
        env: io.env,
        signal: io.signal,
        onEvent: print,
      });
      result.exitCode = outcome.exitCode;
    });
}
