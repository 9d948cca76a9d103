// The plan of a multi-cluster deploy, as pure code: which clusters deploy in which wave, how many
// at once, and what the clusters' outcomes make of the whole.
import type { FleetConfig } from '../config/index.js';
import type { ClusterOutcome, DeployOutcome } from '../events/index.js';
import { CapstanError } from '../shared/index.js';

export interface WavePlan {
  /** The waves in order, without the clusters left out; a wave left empty is dropped. */
  readonly waves: readonly (readonly string[])[];
  /** Left out with --skip-cluster, in capstan.yaml's order. */
  readonly skipped: readonly string[];
}

/** The waves once the clusters `skip` names are left out; an unknown name is a usage error. */
export function planWaves(fleet: FleetConfig, skip: readonly string[] = []): WavePlan {
  const known = fleet.clusters.map((c) => c.name);
  const unknown = skip.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `--skip-cluster ${unknown.join(', ')}: not a cluster of this environment`,
      { hint: `its clusters: ${known.join(', ')}` },
    );
  if (skip.length > 0 && known.every((name) => skip.includes(name)))
    throw new CapstanError('ERR_CAPSTAN_USAGE', 'every cluster is skipped: nothing would be deployed');
  const left = new Set(skip);
  return {
    waves: fleet.waves.map((wave) => wave.filter((c) => !left.has(c))).filter((wave) => wave.length > 0),
    skipped: known.filter((name) => left.has(name)),
  };
}

/** Runs `work` on every item, at most `limit` at once; results in the items' order. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

const QUIET: ReadonlySet<ClusterOutcome['outcome']> = new Set(['succeeded', 'not-deployed', 'skipped']);

/**
 * What a multi-cluster deploy comes to: succeeded when every cluster deployed succeeded, else the
 * outcome and exit code of the cluster that stopped it (the first in wave order that did not
 * succeed; the others were not deployed because of it), or of the first failed soak.
 */
export function fleetOutcome(clusters: readonly ClusterOutcome[]): {
  outcome: DeployOutcome;
  exitCode: number;
  cause?: ClusterOutcome;
} {
  const cause = clusters.find((c) => !QUIET.has(c.outcome));
  if (!cause) return { outcome: 'succeeded', exitCode: 0 };
  return { outcome: cause.outcome as DeployOutcome, exitCode: cause.exitCode, cause };
}

/** The clusters a failed multi-cluster deploy puts back: those it changed (recorded a release in). */
export function clustersToRollBack(clusters: readonly ClusterOutcome[]): string[] {
  return clusters
    .filter((c) => c.release !== undefined && c.outcome !== 'not-deployed' && c.outcome !== 'skipped')
    .map((c) => c.cluster);
}

/** The fleet's closing message: the cause, naming its cluster, and what became of the others. */
export function fleetMessage(clusters: readonly ClusterOutcome[]): string | undefined {
  const { cause } = fleetOutcome(clusters);
  if (!cause) return undefined;
  const notDeployed = clusters.filter((c) => c.outcome === 'not-deployed').map((c) => c.cluster);
  const lines = [`cluster ${cause.cluster}: ${cause.message ?? cause.outcome}`];
  for (const other of clusters)
    if (other !== cause && !QUIET.has(other.outcome))
      lines.push(`cluster ${other.cluster}: ${other.message ?? other.outcome}`);
  if (notDeployed.length > 0) lines.push(`not deployed: ${notDeployed.join(', ')}`);
  return lines.join('\n');
}
