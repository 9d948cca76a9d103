// The pure judgment of whether a cluster is live for a deploy, from the cutover records found in it
// (and, for an environment on several clusters, in its other clusters): A is not live once a
// cutover left it, and neither side is while a cutover between them is unfinished.
import {
  CUTOVER_NAMESPACE,
  SOURCE_LIVE_STATES,
  type CutoverRecord,
  type CutoverState,
} from './cutover-plan.js';
import type { MigrationScope } from './types.js';

/** On each copy of a record: which side of the cutover the cluster holding it is (`A` or `B`). */
export const CUTOVER_SIDE_ANNOTATION = 'capstan.dev/cutover-side';

export type CutoverSide = 'A' | 'B';

/** One record as read from one cluster: where it was, and the side that cluster's copy names. */
export interface FoundCutoverRecord {
  readonly location: { readonly namespace: string; readonly name: string };
  readonly record: CutoverRecord;
  /** From the copy's annotation; undefined on records written before copies said so. */
  readonly side?: CutoverSide;
}

/** The deploy asking: the cluster (as reached) and what it deploys. */
export interface LivenessTarget {
  /** The API server URL the deploy talks to. */
  readonly server: string;
  /** The environment's namespaces (its own first). */
  readonly namespaces: readonly string[];
  readonly app?: string;
  readonly env?: string;
}

export interface NotLive {
  readonly record: CutoverRecord;
  /** The copy that said so. */
  readonly location: FoundCutoverRecord['location'];
  /** This cluster's side in the record; undefined when it cannot be told (refused all the same). */
  readonly side?: CutoverSide;
  /** For people: the record, when, from which cluster to which, and the ways on. */
  readonly reason: string;
}

/** States of an unfinished cutover: neither cluster takes deploys until it is finished or reversed. */
const UNFINISHED: ReadonlySet<CutoverState> = new Set(['cutting-over', 'rolling-back', 'going-back']);

/**
 * Whether a cutover of `scope` moved what a deploy of `target` writes. Only what certainly lies
 * outside counts as outside: another app, or namespaces the environment does not use; a label
 * selector or kind filter within the namespaces still concerns it.
 */
export function scopeConcerns(scope: MigrationScope, target: Omit<LivenessTarget, 'server'>): boolean {
  if (scope.app !== undefined) return target.app === undefined || scope.app === target.app;
  if (!scope.namespaces) return true;
  return target.namespaces.some((ns) => scope.namespaces!.includes(ns));
}

/** This cluster's side: the copy's own word, else the API server URL it was reached at. */
function sideOf(found: FoundCutoverRecord, server: string, own: boolean): CutoverSide | undefined {
  if (own && found.side) return found.side;
  if (found.record.from.server === server) return 'A';
  if (found.record.to.server === server) return 'B';
  return undefined;
}

function isNewer(a: CutoverRecord, b: CutoverRecord): boolean {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt > b.updatedAt;
  return a.seq > b.seq;
}

/**
 * Undefined when the cluster may take the deploy; else why not. `own` are the records read from
 * the cluster itself; `others` those read from the environment's other clusters (they speak of
 * this one only when they name its API server). Of the records between the same two clusters,
 * the newest decides (a later cutover back from B to A makes A live again); any pair that says
 * not live refuses.
 */
export function judgeLiveness(
  own: readonly FoundCutoverRecord[],
  target: LivenessTarget,
  others: readonly FoundCutoverRecord[] = [],
): NotLive | undefined {
  const newestByPair = new Map<string, { found: FoundCutoverRecord; side?: CutoverSide }>();
  const consider = (found: FoundCutoverRecord, isOwn: boolean) => {
    if (!scopeConcerns(found.record.scope, target)) return;
    const side = sideOf(found, target.server, isOwn);
    if (!side && !isOwn) return;
    const pair = [found.record.from.server, found.record.to.server].sort().join(' ');
    const current = newestByPair.get(pair);
    if (!current || isNewer(found.record, current.found.record)) newestByPair.set(pair, { found, side });
  };
  own.forEach((f) => consider(f, true));
  others.forEach((f) => consider(f, false));
  for (const { found, side } of newestByPair.values()) {
    const { state } = found.record;
    const notLive =
      side === undefined || UNFINISHED.has(state) || (side === 'A' && !SOURCE_LIVE_STATES.has(state));
    if (notLive) return { ...found, ...(side ? { side } : {}), reason: describeNotLive(found, side, target) };
  }
  return undefined;
}

/** One cluster of an environment, as the fleet asks about it. */
export interface ClusterRecords extends LivenessTarget {
  /** The cluster's name in capstan.yaml. */
  readonly cluster: string;
  /** The cutover records read from this cluster. */
  readonly found: readonly FoundCutoverRecord[];
}

export interface LiveClusters {
  /** The clusters the deploy goes to, in the order given. */
  readonly live: readonly string[];
  /** The clusters left out, each with why. */
  readonly leftOut: readonly { readonly cluster: string; readonly notLive: NotLive }[];
}

/**
 * For an environment on several clusters: which clusters a deploy goes to. Each cluster is judged
 * by its own records and those its sibling clusters keep about it. An empty `live` means no
 * cluster may take the deploy: the caller refuses it.
 */
export function liveClusters(clusters: readonly ClusterRecords[]): LiveClusters {
  const live: string[] = [];
  const leftOut: { cluster: string; notLive: NotLive }[] = [];
  for (const cluster of clusters) {
    const others = clusters.filter((c) => c !== cluster).flatMap((c) => c.found);
    const notLive = judgeLiveness(cluster.found, cluster, others);
    if (notLive) leftOut.push({ cluster: cluster.cluster, notLive });
    else live.push(cluster.cluster);
  }
  return { live, leftOut };
}

function clusterName(record: CutoverRecord, side: CutoverSide): string {
  const ref = side === 'A' ? record.from : record.to;
  const named = record.environment
    ? `cluster ${side === 'A' ? record.environment.from : record.environment.to} of ${record.environment.name}, `
    : '';
  return `${named}${ref.context ? `context ${ref.context}, ` : ''}${ref.server}`;
}

/** The command that continues (`forward`) or reverses (`back`) the recorded cutover. */
export function cutoverCommand(record: CutoverRecord, back: boolean): string {
  const tail = back ? ' --back' : '';
  if (record.environment)
    return `capstan cutover ${record.environment.name} --from ${record.environment.from} --to ${record.environment.to}${tail}`;
  const side = (flag: string, ref: CutoverRecord['from']) =>
    ref.context ? `--${flag} ${ref.context}` : `--${flag}-kubeconfig <kubeconfig of ${ref.server}>`;
  const { scope } = record;
  const parts = [side('from', record.from), side('to', record.to)];
  if (scope.app !== undefined) parts.push(`--app ${scope.app}`);
  else if (scope.namespaces) parts.push(`-n ${scope.namespaces.join(',')}`);
  else parts.push('-A');
  if (scope.selector) parts.push(`-l '${scope.selector}'`);
  if (scope.includeKinds?.length) parts.push(`--include-kinds ${scope.includeKinds.join(',')}`);
  if (scope.excludeKinds?.length) parts.push(`--exclude-kinds ${scope.excludeKinds.join(',')}`);
  return `capstan cutover ${parts.join(' ')}${tail}`;
}

function describeNotLive(
  found: FoundCutoverRecord,
  side: CutoverSide | undefined,
  target: LivenessTarget,
): string {
  const { record, location } = found;
  const where =
    location.namespace === CUTOVER_NAMESPACE
      ? `cutover record ${location.namespace}/${location.name}`
      : `cutover record ${location.name} (ConfigMap in ${CUTOVER_NAMESPACE}, copy in ${location.namespace})`;
  const clusters = `from ${clusterName(record, 'A')} (A) to ${clusterName(record, 'B')} (B)`;
  const what = `the cutover ${clusters} is ${record.state} since ${record.updatedAt} (by ${record.by})`;
  const back = `\`${cutoverCommand(record, true)}\``;
  if (side === undefined)
    return `the ${where} is about this cluster, but names neither the API server it was reached at (${target.server}) nor its side: ${what}. Capstan cannot tell whether this cluster is live. Ways on: reach the cluster at the address the cutover used, or reverse the cutover with ${back}`;
  if (UNFINISHED.has(record.state)) {
    const finish =
      record.state === 'cutting-over'
        ? `finish it with \`${cutoverCommand(record, false)}\` (then deploy to B), or reverse it with ${back}`
        : `finish reversing it with ${back} (then A is live)`;
    return `this cluster (${side}) is in an unfinished cutover: the ${where} says ${what}; a deploy now would race the cutover. Ways on: ${finish}`;
  }
  return `this cluster is not live: the ${where} says B is live, cut over ${clusters} at ${record.updatedAt} by ${record.by}; a deploy here would bring back workloads in A while B is live. Two ways on: deploy to the live cluster (${clusterName(record, 'B')}), or make this cluster live again with ${back}`;
}
