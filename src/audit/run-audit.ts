/** `capstan audit ENV` as a library call: render the environment, read the cluster if it can, audit. */
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import {
  connectionOf,
  eachCluster,
  loadConfig,
  resolveOneCluster,
  type ResolvedEnvironment,
} from '../config/index.js';
import { KubeClient } from '../kube/index.js';
import { managedLabels, renderEnvironment, type RenderedObject } from '../render/index.js';
import { isSopsFileName, planSecretsFromEjson, readSopsObjectsUnverified } from '../secrets/index.js';
import type { KubeObject } from '../shared/index.js';
import { auditObjects, resolveAuditConfig, type AuditFinding } from './audit.js';
import { readClusterSnapshot } from './read-snapshot.js';
import { runPreflight, type SchedulingProblem } from './scheduling/index.js';
import type { AuditResult, ClusterSnapshot, Finding, SkippedCheck } from './types.js';

/** Stands in for `--image` when none is given: the image a deploy gets is not the audit's to judge. */
export const PLACEHOLDER_IMAGE = 'image.invalid/given-at-deploy:audit';

export interface RunAuditOptions {
  readonly cwd: string;
  readonly env: string;
  /** One cluster of a multi-cluster environment (auditClusters: only that one). */
  readonly cluster?: string;
  readonly image?: string;
  readonly set?: readonly string[];
  readonly commit?: string;
  readonly branch?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Environment variables (KUBECONFIG); the library reads no globals. */
  readonly envVars?: NodeJS.ProcessEnv;
  /** Leave the cluster alone: the cluster-aware checks say they were skipped. */
  readonly offline?: boolean;
  readonly signal?: AbortSignal;
}

export interface RunAuditResult extends AuditResult {
  readonly findings: readonly AuditFinding[];
  readonly rendered: readonly RenderedObject[];
  readonly namespace: string;
  /** The cluster audited, for a multi-cluster environment. */
  readonly cluster?: string;
}

/**
 * Renders the environment (Secrets from ejson by name only: the audit needs no secret value, so no
 * key), reads a snapshot of the cluster when it can reach it, and audits the objects.
 */
export async function runAudit(options: RunAuditOptions): Promise<RunAuditResult> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveOneCluster(loaded, options.env, {
    set: options.set,
    cluster: options.cluster,
    command: 'audit',
  });
  return auditView(env, options);
}

/**
 * Audits each cluster of the environment (only `cluster`, if given) as runAudit audits one: its
 * values, namespace and live state differ, so do its findings. In capstan.yaml's order; one result
 * for a single-cluster environment. An error in one cluster fails the whole, naming the cluster.
 */
export async function auditClusters(options: RunAuditOptions): Promise<RunAuditResult[]> {
  const loaded = await loadConfig({ cwd: options.cwd });
  return eachCluster(loaded, options.env, { set: options.set, cluster: options.cluster }, (env) =>
    auditView(env, options),
  );
}

async function auditView(env: ResolvedEnvironment, options: RunAuditOptions): Promise<RunAuditResult> {
  const phases = await renderEnvironment({
    env,
    image: options.image ?? env.image ?? PLACEHOLDER_IMAGE,
    deployId: 'audit',
    envVars: options.envVars ?? {},
    commit: options.commit,
    branch: options.branch,
    renderSecrets: async (file, namespace) => {
      // A SOPS file's structure is readable without its keys; its values stay encrypted here.
      if (isSopsFileName(file)) return (await readSopsObjectsUnverified(file)) as KubeObject[];
      const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
      return planSecretsFromEjson(doc, { file, namespace, labels: managedLabels(env.app, env.name) });
    },
  });
  const rendered = phases.flatMap((p) => p.objects);
  const cluster = options.offline
    ? { schedulingSkipped: 'offline: the cluster was not read' }
    : await readCluster(options, env, rendered);
  const result = auditObjects(rendered, {
    namespace: env.namespace,
    config: resolveAuditConfig(env.audit),
    ...cluster,
  });
  return {
    ...result,
    rendered,
    namespace: env.namespace,
    ...(env.cluster === undefined ? {} : { cluster: env.cluster }),
  };
}

/**
 * The findings of several clusters as one list, for outputs that cannot group (SARIF, CI
 * annotations): a finding every cluster has is listed once as it is; one that only some have
 * says which. Skipped checks likewise.
 */
export function mergeClusterFindings(results: readonly RunAuditResult[]): AuditResult {
  const clusters = results.map((r) => r.cluster ?? '');
  const findings = mergeByKey(
    results.map((r) => r.findings),
    clusters,
    // The namespace may differ by cluster: the same object at the same line is one finding.
    (f) => JSON.stringify([f.check, f.file, f.line, f.object.kind, f.object.name, f.message]),
    (f, where): Finding => ({ ...f, message: `${f.message} (in ${where})` }),
  );
  const skipped = mergeByKey(
    results.map((r) => r.skipped),
    clusters,
    (s) => JSON.stringify([s.check, s.reason]),
    (s, where): SkippedCheck => ({ ...s, reason: `${where}: ${s.reason}` }),
  );
  return { findings, skipped };
}

/** Items of each cluster's list, equal ones (by key) once, in first-seen order; tagged unless in every list. */
function mergeByKey<T>(
  lists: readonly (readonly T[])[],
  clusters: readonly string[],
  key: (item: T) => string,
  tag: (item: T, where: string) => T,
): T[] {
  const seen = new Map<string, { item: T; in: string[] }>();
  lists.forEach((list, i) => {
    for (const item of list) {
      const entry = seen.get(key(item)) ?? { item, in: [] };
      const cluster = clusters[i] ?? '';
      if (!entry.in.includes(cluster)) entry.in.push(cluster);
      seen.set(key(item), entry);
    }
  });
  return [...seen.values()].map((e) =>
    e.in.length === lists.length
      ? e.item
      : tag(e.item, `${e.in.length === 1 ? 'cluster' : 'clusters'} ${e.in.join(', ')}`),
  );
}

interface ClusterView {
  readonly snapshot?: ClusterSnapshot;
  readonly scheduling?: readonly SchedulingProblem[];
  readonly schedulingSkipped?: string;
}

/** The audit's snapshot and the scheduling preflight, read over one connection. */
async function readCluster(
  options: RunAuditOptions,
  env: ResolvedEnvironment,
  rendered: readonly RenderedObject[],
): Promise<ClusterView> {
  const namespace = env.namespace;
  let client: KubeClient;
  try {
    client = await KubeClient.connect({
      ...connectionOf(env, { kubeconfig: options.kubeconfig, context: options.context }),
      env: options.envVars,
    });
  } catch (error) {
    const reason = `no cluster access (${(error as Error).message.split('\n')[0]})`;
    return {
      snapshot: { namespace, unavailable: { nodes: reason, storageClasses: reason, live: reason } },
      schedulingSkipped: reason,
    };
  }
  try {
    const snapshot = await readClusterSnapshot(client, {
      namespace,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // Without the nodes there is nothing to place pods on; an unreachable server must not hold the audit up.
    const noNodes = snapshot.unavailable?.nodes;
    let preflight: ClusterView;
    if (noNodes) preflight = { schedulingSkipped: noNodes };
    else
      try {
        const deadline = AbortSignal.timeout(15_000);
        const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
        setMaxListeners(0, signal);
        const outcome = await runPreflight(
          client,
          rendered.map((r) => r.object),
          { namespace, signal },
        );
        preflight = outcome.skipped
          ? { schedulingSkipped: outcome.skipped }
          : { scheduling: outcome.problems };
      } catch (error) {
        const reason = (error as Error).message.split('\n')[0];
        preflight = { schedulingSkipped: `the cluster could not be read (${reason})` };
      }
    return { snapshot, ...preflight };
  } finally {
    client.close();
  }
}
