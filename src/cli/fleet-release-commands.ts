// `capstan history` and `capstan rollback` for an environment on several clusters: every cluster's
// records side by side, and every cluster (or the one named) put back to one release.
import type { Command } from 'commander';
import {
  connectionOf,
  inCluster,
  loadConfig,
  resolveClusters,
  type ResolvedEnvironment,
} from '../config/index.js';
import { EXIT } from '../deploy/index.js';
import {
  formatFleetHistory,
  HISTORY_READ_DEADLINE_MS,
  mergeHistories,
  rollbackFleet,
  type ClusterHistory,
} from '../fleet/index.js';
import { KubeClient } from '../kube/index.js';
import { readReleases } from '../release/index.js';
import { secretValues, type Redactor } from '../secrets/index.js';
import { CapstanError, mapStrings } from '../shared/index.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { reportError } from './report-error.js';
import { createReporter } from './reporter.js';
import { rollbackSettings } from './rollback-settings.js';
import { outputMode } from './session.js';

/**
 * The clusters of a multi-cluster environment a command acts on (only `cluster` when named), or
 * undefined for a single-cluster environment. Their names are public (docs/redaction.md).
 */
export async function clusterViews(
  cmd: Command,
  envName: string,
  redactor: Pick<Redactor, 'addPublic'>,
  cluster?: string,
): Promise<ResolvedEnvironment[] | undefined> {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const views = resolveClusters(await loadConfig({ cwd: globals.cwd }), envName, { cluster });
  const [first] = views;
  if (!first?.fleet) return undefined;
  redactor.addPublic([first.app, first.name, ...views.flatMap((v) => [v.namespace, v.cluster ?? ''])]);
  if (globals.context !== undefined && views.length > 1)
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `--context: environment "${first.name}" names a context per cluster in capstan.yaml`,
      { hint: 'leave out --context, or name one cluster with --cluster' },
    );
  return views;
}

function connect(view: ResolvedEnvironment, cmd: Command, io: CliIo): Promise<KubeClient> {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  return KubeClient.connect({
    ...connectionOf(view, { kubeconfig: globals.kubeconfig, context: globals.context }),
    env: io.env,
  });
}

/** A cluster's history, or why it could not be read (a bug still throws). */
async function readClusterHistory(
  view: ResolvedEnvironment,
  cmd: Command,
  io: CliIo,
  redactor: Redactor,
): Promise<ClusterHistory & { unreachable?: boolean }> {
  const cluster = view.cluster ?? view.name;
  let client: KubeClient | undefined;
  try {
    client = await connect(view, cmd, io);
    const records = await readReleases(client, {
      namespace: view.namespace,
      app: view.app,
      env: view.name,
      signal: io.signal,
      retryDeadlineMs: HISTORY_READ_DEADLINE_MS,
      onDamaged: (error) =>
        io.stderr.write(`${redactor.text(`warning: cluster ${cluster}: ${error.message}`)}\n`),
    });
    return { cluster, records };
  } catch (error) {
    if (!(error instanceof CapstanError)) throw error;
    return { cluster, error: error.message, unreachable: error.code === 'ERR_CAPSTAN_KUBE_UNREACHABLE' };
  } finally {
    client?.close();
  }
}

/**
 * `capstan history ENV` of a multi-cluster environment: one row per release, a column per cluster.
 * A cluster that cannot be read does not hide the others: its column is marked, a warning says
 * why, and the command exits 3 (unreachable) or 1, as the history it printed is incomplete.
 */
export async function fleetHistory(
  io: CliIo,
  result: CommandResult,
  views: readonly ResolvedEnvironment[],
  opts: { output?: string },
  cmd: Command,
): Promise<void> {
  const histories = await Promise.all(views.map((v) => readClusterHistory(v, cmd, io, result.redactor)));
  // Records hold their manifests, Secrets included: what history prints is redacted with them.
  result.redactor.add(histories.flatMap((h) => (h.records ?? []).flatMap((r) => secretValues(r.manifests))));
  const failed = histories.filter((h) => h.error !== undefined);
  for (const h of failed)
    io.stderr.write(
      `${result.redactor.text(`warning: cluster ${h.cluster}: its history cannot be read (${h.error}); its column is marked unreachable`)}\n`,
    );
  const merged = mergeHistories(
    histories.map(({ cluster, records, error }) => ({ cluster, records, error })),
  );
  io.stdout.write(
    opts.output === 'json'
      ? // Each cell's outcome is Capstan's own word, never a secret.
        `${JSON.stringify(
          mapStrings(
            merged,
            result.redactor.text,
            (path) => path.length === 5 && path[0] === 'releases' && path[4] === 'outcome',
          ),
          null,
          2,
        )}\n`
      : result.redactor.text(formatFleetHistory(merged)),
  );
  result.exitCode =
    failed.length === 0 ? EXIT.ok : failed.every((h) => h.unreachable) ? EXIT.timeout : EXIT.failed;
}

export interface FleetRollbackCommandOptions {
  to?: number;
  timeout?: number;
  progressDeadline?: number;
  output?: string;
}

/** Refusals of a multi-cluster rollback, each naming its cluster, with their exit codes. */
const REFUSALS: Readonly<Record<string, number>> = {
  ERR_CAPSTAN_LOCKED: EXIT.locked,
  ERR_CAPSTAN_NO_SUCH_RELEASE: EXIT.invalid,
  ERR_CAPSTAN_KUBE_UNREACHABLE: EXIT.timeout,
};

/**
 * `capstan rollback ENV [--cluster NAME]` of a multi-cluster environment: every cluster (or the one
 * named) to one release, in parallel; each cluster's events carry its name, `fleet-finished` ends.
 */
export async function fleetRollback(
  io: CliIo,
  result: CommandResult,
  views: readonly ResolvedEnvironment[],
  opts: FleetRollbackCommandOptions,
  cmd: Command,
): Promise<void> {
  const clients: KubeClient[] = [];
  try {
    for (const view of views)
      clients.push(
        await connect(view, cmd, io).catch((error: unknown) => {
          throw inCluster(view.cluster ?? '', error);
        }),
      );
    const [env] = views;
    const reporter = createReporter(io, outputMode(io, opts.output), result.redactor);
    const run = rollbackFleet({
      clusters: views.map((v, i) => ({
        name: v.cluster ?? v.name,
        client: clients[i],
        namespace: v.namespace,
      })),
      maxParallel: env.fleet?.maxParallel ?? views.length,
      ...rollbackSettings(env, opts, io, result, (event) => reporter.event(event)),
    });
    result.exitCode = (await reporter.settle(run)).exitCode;
  } catch (error) {
    const exit = error instanceof CapstanError ? REFUSALS[error.code] : undefined;
    if (exit === undefined) throw error;
    reportError(error, io, result.redactor);
    result.exitCode = exit;
  } finally {
    for (const client of clients) client.close();
  }
}
