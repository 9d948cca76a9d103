/** `capstan audit ENV` as a library call: render the environment, read the cluster if it can, audit. */
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import { loadConfig, resolveEnvironment } from '../config/index.js';
import { KubeClient } from '../kube/index.js';
import { managedLabels, renderEnvironment, type RenderedObject } from '../render/index.js';
import { planSecretsFromEjson } from '../secrets/index.js';
import { auditObjects, resolveAuditConfig, type AuditFinding } from './audit.js';
import { readClusterSnapshot } from './read-snapshot.js';
import { runPreflight, type SchedulingProblem } from './scheduling/index.js';
import type { AuditResult, ClusterSnapshot } from './types.js';

/** Stands in for `--image` when none is given: the image a deploy gets is not the audit's to judge. */
export const PLACEHOLDER_IMAGE = 'image.invalid/given-at-deploy:audit';

export interface RunAuditOptions {
  readonly cwd: string;
  readonly env: string;
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
}

/**
 * Renders the environment (Secrets from ejson by name only: the audit needs no secret value, so no
 * key), reads a snapshot of the cluster when it can reach it, and audits the objects.
 */
export async function runAudit(options: RunAuditOptions): Promise<RunAuditResult> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveEnvironment(loaded, options.env, { set: options.set });
  const phases = await renderEnvironment({
    env,
    image: options.image ?? env.image ?? PLACEHOLDER_IMAGE,
    deployId: 'audit',
    commit: options.commit,
    branch: options.branch,
    renderSecrets: async (file, namespace) => {
      const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
      return planSecretsFromEjson(doc, { file, namespace, labels: managedLabels(env.app, env.name) });
    },
  });
  const rendered = phases.flatMap((p) => p.objects);
  const cluster = options.offline
    ? { schedulingSkipped: 'offline: the cluster was not read' }
    : await readCluster(options, env.context, env.namespace, rendered);
  const result = auditObjects(rendered, {
    namespace: env.namespace,
    config: resolveAuditConfig(env.audit),
    ...cluster,
  });
  return { ...result, rendered, namespace: env.namespace };
}

interface ClusterView {
  readonly snapshot?: ClusterSnapshot;
  readonly scheduling?: readonly SchedulingProblem[];
  readonly schedulingSkipped?: string;
}

/** The audit's snapshot and the scheduling preflight, read over one connection. */
async function readCluster(
  options: RunAuditOptions,
  context: string | undefined,
  namespace: string,
  rendered: readonly RenderedObject[],
): Promise<ClusterView> {
  let client: KubeClient;
  try {
    client = await KubeClient.connect({
      kubeconfig: options.kubeconfig,
      context: options.context ?? context,
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
