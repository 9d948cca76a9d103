// The invariants of docs/guarantees.md, checked against the cluster's real state with the admin
// identity (never through the proxy). Each check returns the violations it found, as sentences.
import { alive } from '../cluster/processes.js';
import { selectorOf } from '../../src/apply/names.js';
import type { KubeClient } from '../../src/kube/index.js';
import {
  lockName,
  lockStateOf,
  readReleases,
  RELEASE_LABEL,
  type ReleaseRecord,
} from '../../src/release/index.js';
import { objectKey, type KubeObject } from '../../src/shared/index.js';
import { TASK_LABEL } from '../../src/tasks/index.js';
import { APP, ENV, imageOf, type Desired } from './app.js';
import type { CliRun } from './cli.js';

const TERMINAL = new Set(['succeeded', 'failed', 'interrupted', 'rolled-back', 'lock-lost']);
const KINDS: ReadonlyArray<[string, string]> = [
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['apps/v1', 'Deployment'],
  ['batch/v1', 'Job'],
];
/** Objects made by hand in the namespace: prune must never touch them. */
export const DECOYS = ['decoy-other-app', 'decoy-unlabelled'] as const;

/** What the last operation should have left, when it exited 0. */
export type Expectation =
  | { readonly kind: 'deployed'; readonly desired: Desired }
  | { readonly kind: 'rolled-back'; readonly to: number }
  | { readonly kind: 'none' };

export interface CheckContext {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly secret: string;
  /** Pids of Capstan processes the soak SIGKILLed. */
  readonly killed: ReadonlySet<number>;
  readonly expectation: Expectation;
  /** The runs of the last operation, whose output must not hold the secret. */
  readonly runs: readonly CliRun[];
}

export interface ClusterState {
  readonly records: ReleaseRecord[];
  readonly lease: KubeObject | undefined;
  /** Objects carrying the app's labels (release Secrets and task Jobs left out). */
  readonly live: KubeObject[];
  readonly all: Map<string, KubeObject[]>;
}

export async function readState(ctx: CheckContext): Promise<ClusterState> {
  const records = await readReleases(ctx.client, { namespace: ctx.namespace, app: APP, env: ENV });
  const lease = await ctx.client.get({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: ctx.namespace,
    name: lockName(APP, ENV),
  });
  const all = new Map<string, KubeObject[]>();
  for (const [apiVersion, kind] of [...KINDS, ['v1', 'Event'] as [string, string]])
    all.set(kind, (await ctx.client.list(apiVersion, kind, { namespace: ctx.namespace })).items);
  const selector = selectorOf(APP, ENV)
    .split(',')
    .map((pair) => pair.split('='));
  const live = KINDS.flatMap(([, kind]) => all.get(kind) ?? []).filter((o) => {
    const labels = o.metadata.labels ?? {};
    if (!selector.every(([k, v]) => labels[k] === v)) return false;
    return labels[RELEASE_LABEL] === undefined && labels[TASK_LABEL] === undefined;
  });
  return { records, lease, live, all };
}

/** Every record terminal, except one still `running` under the lock of its dead deploy. */
export function checkOutcomes(state: ClusterState): string[] {
  const holder = state.lease ? lockStateOf(state.lease) : undefined;
  return state.records.flatMap((r) => {
    if (TERMINAL.has(r.outcome)) return [];
    const pid = holder?.process?.pid;
    if (r.outcome === 'running' && holder?.deployId === r.deployId && pid !== undefined && !alive(pid))
      return [];
    return [
      `release ${r.release} is recorded ${r.outcome} although its deploy is gone and the lock ${holder ? `is held by ${holder.holder} (deploy ${holder.deployId ?? '?'})` : 'is free'}: nobody will mark it interrupted`,
    ];
  });
}

/** The lock: free, or held by a process the soak killed (which no longer runs). */
export function checkLock(state: ClusterState, killed: ReadonlySet<number>): string[] {
  const holder = state.lease ? lockStateOf(state.lease) : undefined;
  if (!holder) return [];
  const pid = holder.process?.pid;
  if (pid !== undefined && killed.has(pid) && !alive(pid)) return [];
  return [
    `the lock is held by ${holder.holder} (pid ${pid ?? '?'}${pid !== undefined && alive(pid) ? ', still running' : ''}) after every Capstan process ended${pid !== undefined && killed.has(pid) ? '' : ' (a process the soak did not kill)'}`,
  ];
}

/** Two releases never ran at once: each ended (or last renewed its lock) before the next began. */
export function checkNoOverlap(state: ClusterState): string[] {
  const ordered = [...state.records].sort((a, b) => a.release - b.release);
  const out: string[] = [];
  for (let i = 0; i + 1 < ordered.length; i++) {
    const a = ordered[i];
    const b = ordered[i + 1];
    const end = a.interruptedBy ? a.lockRenewedAt : a.finishedAt;
    if (end && Date.parse(end) > Date.parse(b.startedAt))
      out.push(
        `releases ${a.release} and ${b.release} overlap: ${a.release} ended ${end}, ${b.release} started ${b.startedAt}`,
      );
  }
  return out;
}

const entryKey = (e: { apiVersion: string; kind: string; namespace?: string; name: string }) =>
  objectKey({ apiVersion: e.apiVersion, kind: e.kind, metadata: { name: e.name, namespace: e.namespace } });

/** Every object carrying the app's labels is listed by a record: in its inventory, or rendered by it. */
export function checkRecorded(state: ClusterState, namespace: string): string[] {
  const listed = new Set<string>();
  for (const r of state.records) {
    for (const e of r.inventory) listed.add(entryKey(e));
    for (const m of r.manifests)
      listed.add(
        objectKey({ ...m, metadata: { ...m.metadata, namespace: m.metadata.namespace ?? namespace } }),
      );
  }
  return state.live
    .filter((o) => !listed.has(objectKey(o)))
    .map((o) => `${o.kind}/${o.metadata.name} carries the app's labels but no release record lists it`);
}

/** Prune: the decoys exist; the newest succeeded release's objects exist while only failed ones followed it. */
export function checkPrune(state: ClusterState): string[] {
  const out: string[] = [];
  const configMaps = new Set((state.all.get('ConfigMap') ?? []).map((c) => c.metadata.name));
  for (const decoy of DECOYS)
    if (!configMaps.has(decoy)) out.push(`ConfigMap ${decoy} (not the app's) was deleted`);
  const newestFirst = [...state.records].sort((a, b) => b.release - a.release);
  const good = newestFirst.findIndex((r) => r.outcome === 'succeeded' || r.outcome === 'rolled-back');
  if (good < 0 || newestFirst.slice(0, good).some((r) => r.outcome !== 'failed')) return out;
  const live = new Set(KINDS.flatMap(([, kind]) => state.all.get(kind) ?? []).map((o) => objectKey(o)));
  for (const e of newestFirst[good].inventory)
    if (e.kind !== 'Job' && !live.has(entryKey(e)))
      out.push(
        `${e.kind}/${e.name} of release ${newestFirst[good].release} (the newest that succeeded) is gone`,
      );
  return out;
}

const dataOf = (state: ClusterState, name: string) =>
  (state.all.get('ConfigMap') ?? []).find((c) => c.metadata.name === name)?.data as
    Record<string, string> | undefined;
const webImage = (objects: readonly KubeObject[]) =>
  (objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'web') as any)?.spec?.template?.spec
    ?.containers?.[0]?.image as string | undefined;

/** After an exit 0: the cluster runs what was deployed, or what the named release rendered. */
export function checkExpectation(state: ClusterState, expectation: Expectation): string[] {
  if (expectation.kind === 'none') return [];
  const out: string[] = [];
  const image = webImage(state.all.get('Deployment') ?? []);
  if (expectation.kind === 'deployed') {
    const d = expectation.desired;
    if (image !== imageOf(d.image))
      out.push(`deploy exited 0 but web runs ${image}, not ${imageOf(d.image)}`);
    if (dataOf(state, 'settings')?.VERSION !== String(d.config))
      out.push(
        `deploy exited 0 but settings VERSION is ${dataOf(state, 'settings')?.VERSION}, not ${d.config}`,
      );
    const inventories = new Set(state.records.flatMap((r) => r.inventory.map(entryKey)));
    for (const c of state.all.get('ConfigMap') ?? []) {
      const match = /^extra-(\d+)$/.exec(c.metadata.name ?? '');
      if (!match) continue;
      if (!d.extras.includes(Number(match[1])) && inventories.has(objectKey(c)))
        out.push(
          `deploy exited 0 but ${c.metadata.name}, no longer rendered and in a record's inventory, was not pruned`,
        );
    }
    for (const i of d.extras)
      if (!dataOf(state, `extra-${i}`)) out.push(`deploy exited 0 but extra-${i} is missing`);
    return out;
  }
  // The rollback's own record holds the target's manifests: the target itself may have been trimmed
  // by that very record's write (it was the oldest of the `keep` records).
  const target =
    [...state.records]
      .sort((a, b) => b.release - a.release)
      .find((r) => r.outcome === 'rolled-back' && r.rolledBackTo === expectation.to) ??
    state.records.find((r) => r.release === expectation.to);
  if (!target) return [`rollback to ${expectation.to} exited 0 but neither it nor its target is recorded`];
  const want = webImage(target.manifests);
  if (image !== want) out.push(`rollback to ${expectation.to} exited 0 but web runs ${image}, not ${want}`);
  const settings = target.manifests.find(
    (m) => m.kind === 'ConfigMap' && m.metadata.name === 'settings',
  ) as any;
  if (settings && dataOf(state, 'settings')?.VERSION !== settings.data?.VERSION)
    out.push(
      `rollback to ${expectation.to} exited 0 but settings VERSION is ${dataOf(state, 'settings')?.VERSION}, not ${settings.data?.VERSION}`,
    );
  return out;
}

/** The secret value, as is or in base64, nowhere but in Secrets: outputs, ConfigMaps, events, specs, records. */
export function checkSecret(state: ClusterState, ctx: CheckContext): string[] {
  const forms = [ctx.secret, Buffer.from(ctx.secret).toString('base64')];
  const places: [string, string][] = [
    ...ctx.runs.map((r): [string, string] => [
      `the output of \`capstan ${r.args.join(' ')}\``,
      r.stdout + r.stderr,
    ]),
    ...['ConfigMap', 'Event', 'Deployment', 'Job'].map((k): [string, string] => [
      `a ${k}`,
      JSON.stringify(state.all.get(k) ?? []),
    ]),
    ['the Lease', JSON.stringify(state.lease ?? {})],
    ...state.records.map((r): [string, string] => [
      `release record ${r.release} (Secret manifests left out)`,
      JSON.stringify({ ...r, manifests: r.manifests.filter((m) => m.kind !== 'Secret') }),
    ]),
  ];
  return places
    .filter(([, text]) => forms.some((f) => text.includes(f)))
    .map(([where]) => `the secret value appears in ${where}`);
}

/** All invariants; a history that cannot be read is itself a violation. */
export async function checkAll(ctx: CheckContext): Promise<string[]> {
  let state: ClusterState;
  try {
    state = await readState(ctx);
  } catch (error) {
    return [`the release history or the namespace cannot be read: ${(error as Error).message}`];
  }
  return [
    ...checkOutcomes(state),
    ...checkLock(state, ctx.killed),
    ...checkNoOverlap(state),
    ...checkRecorded(state, ctx.namespace),
    ...checkPrune(state),
    ...checkExpectation(state, ctx.expectation),
    ...checkSecret(state, ctx),
  ];
}
