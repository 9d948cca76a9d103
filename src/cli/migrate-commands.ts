import type { Command } from 'commander';
import {
  formatApply,
  formatPlan,
  formatRef,
  formatVerification,
  migrate,
  type ClusterAccess,
  type MigrateEvent,
  type MigrationScope,
} from '../migrate/index.js';
import { CapstanError } from '../shared/index.js';
import { outputMode } from './session.js';
import type { CliIo, CommandResult } from './options.js';
import { durationOption, integerOption, type GlobalOptions } from './options.js';

/** Which clusters and objects: the options `migrate` and `cutover` share. */
export interface SelectionFlags {
  from?: string;
  to?: string;
  fromKubeconfig?: string;
  toKubeconfig?: string;
  namespace?: string[];
  allNamespaces?: boolean;
  app?: string;
  selector?: string;
  includeKinds?: string[];
  excludeKinds?: string[];
}

interface MigrateFlags extends SelectionFlags {
  dryRun?: boolean;
  verifyOnly?: boolean;
  verify: boolean;
  concurrency?: number;
  healthTimeout?: number;
  allowEmptyVolumes?: boolean;
  output?: string;
}

/** Repeatable and comma-separated at once: `-n a -n b,c`. */
function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

function usage(message: string, hint?: string): CapstanError {
  return new CapstanError('ERR_CAPSTAN_USAGE', message, { hint });
}

/** Usage errors in the cluster and scope options (exit 2). */
export function validateSelection(flags: SelectionFlags): void {
  if (!flags.from && !flags.fromKubeconfig)
    throw usage('say which cluster to copy from', 'pass --from CONTEXT or --from-kubeconfig FILE');
  if (!flags.to && !flags.toKubeconfig)
    throw usage('say which cluster to copy to', 'pass --to CONTEXT or --to-kubeconfig FILE');
  const scopes = [
    flags.namespace?.length ? '--namespace' : undefined,
    flags.allNamespaces ? '--all-namespaces' : undefined,
    flags.app !== undefined ? '--app' : undefined,
  ].filter(Boolean);
  if (scopes.length === 0)
    throw usage('say what to copy', 'pass --namespace NS (repeatable), --all-namespaces or --app NAME');
  if (scopes.length > 1) throw usage(`${scopes.join(' and ')} exclude each other`);
  if (flags.app !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(flags.app))
    throw usage(
      `--app ${JSON.stringify(flags.app)} is not a label value`,
      'an application name: letters, digits, -, _ and ., at most 63',
    );
  if (flags.app !== undefined && flags.selector)
    throw usage(
      '--app and --selector exclude each other',
      '--app chooses objects by their capstan.dev/app and app.kubernetes.io/part-of labels',
    );
}

function validate(flags: MigrateFlags): void {
  validateSelection(flags);
  if (flags.dryRun && flags.verifyOnly) throw usage('--dry-run and --verify-only exclude each other');
  if (flags.verifyOnly && !flags.verify) throw usage('--verify-only and --no-verify exclude each other');
  if (flags.concurrency !== undefined && !(flags.concurrency >= 1))
    throw usage('--concurrency must be a positive number');
}

/** Human output: summaries, the plan table, failures, and the objects that changed (up to a limit). */
function humanPrinter(
  io: CliIo,
  options: { readonly allowEmptyVolumes?: boolean },
): (event: MigrateEvent) => void {
  const write = (line: string) => io.stdout.write(`${line}\n`);
  const maxObjectLines = 50;
  let objectLines = 0;
  let dryRun = false;
  return (event) => {
    switch (event.type) {
      case 'migrate-started':
        dryRun = event.mode === 'dry-run';
        write(
          `${event.mode === 'dry-run' ? 'Plan for copying' : event.mode === 'verify-only' ? 'Verifying the copy' : 'Copying'} from ${event.from} (A) to ${event.to} (B)`,
        );
        break;
      case 'plan':
        write(formatPlan(event, { listSkipped: dryRun }));
        break;
      case 'wave-started':
        write(`wave ${event.wave}: ${event.objects} ${event.kinds.join(', ')}`);
        break;
      case 'crds-established':
        write(`  CustomResourceDefinitions established in B after ${(event.durationMs / 1000).toFixed(1)}s`);
        break;
      case 'object-applied':
        if (event.action === 'unchanged') break;
        if (objectLines++ < maxObjectLines) write(`  ${event.action} ${formatRef(event.object)}`);
        else if (objectLines === maxObjectLines + 1) write('  … (more objects: use -o json to see each)');
        break;
      case 'object-failed':
        write(`  ✗ ${formatRef(event.object)}: ${event.message}`);
        break;
      case 'apply-finished':
        write(formatApply(event));
        break;
      case 'verify-finished':
        write(formatVerification(event, options));
        break;
      case 'warning':
        write(`warning: ${event.message}`);
        break;
      case 'migrate-finished':
        write(
          `${event.exitCode === 0 ? '✓' : '✗'} ${event.outcome}${event.message ? `: ${event.message}` : ''} (${(event.durationMs / 1000).toFixed(1)}s)`,
        );
        break;
    }
  };
}

/** The cluster and scope options of `migrate` and `cutover`. */
export function selectionOptions(command: Command, sourceIs = 'the source (only read)'): Command {
  return command
    .option('--from <context>', `kube context of cluster A, ${sourceIs}`)
    .option('--to <context>', 'kube context of cluster B, the target')
    .option(
      '--from-kubeconfig <file>',
      'kubeconfig of cluster A (default: --kubeconfig, KUBECONFIG, ~/.kube/config)',
    )
    .option(
      '--to-kubeconfig <file>',
      'kubeconfig of cluster B (default: --kubeconfig, KUBECONFIG, ~/.kube/config)',
    )
    .option('-n, --namespace <ns>', 'namespace to copy (repeatable, or comma-separated)', collectList)
    .option('-A, --all-namespaces', 'copy every namespace and the cluster-scoped objects')
    .option(
      '--app <name>',
      'an application stack: objects labelled capstan.dev/app=NAME or app.kubernetes.io/part-of=NAME in every namespace, with their namespaces, ServiceAccounts, RBAC, Secrets and ConfigMaps',
    )
    .option('-l, --selector <selector>', 'only objects with these labels (kubectl syntax)')
    .option(
      '--include-kinds <kinds>',
      'only these kinds, e.g. Deployment,ConfigMap (plus the Namespaces and CRDs they need)',
      collectList,
    )
    .option('--exclude-kinds <kinds>', 'never these kinds', collectList);
}

/** The clusters and the scope the options name. */
export function selectionOf(
  flags: SelectionFlags,
  globals: GlobalOptions,
): {
  from: ClusterAccess;
  to: ClusterAccess;
  scope: MigrationScope;
} {
  return {
    from: { kubeconfig: flags.fromKubeconfig ?? globals.kubeconfig, context: flags.from },
    to: { kubeconfig: flags.toKubeconfig ?? globals.kubeconfig, context: flags.to },
    scope: {
      namespaces: flags.allNamespaces || flags.app !== undefined ? undefined : flags.namespace,
      app: flags.app,
      selector: flags.selector,
      includeKinds: flags.includeKinds,
      excludeKinds: flags.excludeKinds,
    },
  };
}

/** `-o json` of migrate and cutover: one event a line, with the time. */
export function jsonLines<E extends object>(io: CliIo): (event: E) => void {
  return (event) => io.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

export function registerMigrateCommands(program: Command, io: CliIo, result: CommandResult): void {
  selectionOptions(
    program
      .command('migrate')
      .description(
        'copy namespaces or an application stack (minus what clusters generate, volume data and running Jobs) from cluster A to cluster B, then verify',
      ),
  )
    .option('--dry-run', 'print the plan (counts per kind, every skipped object and why); change nothing')
    .option('--verify-only', 'compare B with A without copying')
    .option('--no-verify', 'copy without verifying afterwards')
    .option('--concurrency <n>', 'parallel API requests per cluster (default 32)', integerOption())
    .option(
      '--health-timeout <duration>',
      "how long verification waits for B's workloads (default 2m)",
      durationOption,
    )
    .option(
      '--allow-empty-volumes',
      'succeed although claimed volumes are copied empty (their data stays in A; copy it yourself)',
    )
    .option('-o, --output <format>', 'json: one JSON event per line')
    .action(async (flags: MigrateFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      validate(flags);
      const json = outputMode(io, flags.output) === 'json';
      const print = json
        ? jsonLines<MigrateEvent>(io)
        : humanPrinter(io, { allowEmptyVolumes: flags.allowEmptyVolumes });
      const outcome = await migrate({
        ...selectionOf(flags, globals),
        mode: flags.dryRun ? 'dry-run' : flags.verifyOnly ? 'verify-only' : 'migrate',
        verify: flags.verify,
        concurrency: flags.concurrency,
        healthTimeoutMs: flags.healthTimeout,
        allowEmptyVolumes: flags.allowEmptyVolumes,
        env: io.env,
        signal: io.signal,
        onEvent: print,
      });
      result.exitCode = outcome.exitCode;
    });
}
