// A wave's soak: once its clusters are ready, their workloads' pods must stay healthy for a while
// (no crash loop, no restart, no failed pod) before the next wave starts.
import type { KubeClient } from '../kube/index.js';
import { containerStates, formatLabelSelector, podProblem } from '../rollout/index.js';
import type { KubeObject } from '../shared/index.js';

const WORKLOADS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

/** The pods to watch during a soak: the pod selector and namespace of each workload applied. */
export function soakTargets(
  applied: readonly KubeObject[],
  defaultNamespace: string,
): { namespace: string; selector: string; workload: string }[] {
  const targets = new Map<string, { namespace: string; selector: string; workload: string }>();
  for (const object of applied) {
    if (!WORKLOADS.has(object.kind)) continue;
    const selector = formatLabelSelector((object as { spec?: { selector?: unknown } }).spec?.selector);
    if (!selector) continue;
    const namespace = object.metadata.namespace ?? defaultNamespace;
    targets.set(`${namespace}/${selector}`, {
      namespace,
      selector,
      workload: `${object.kind}/${object.metadata.name ?? '?'}`,
    });
  }
  return [...targets.values()];
}

/** Restarts per container, keyed `pod/container`. */
export function restartsOf(pods: readonly KubeObject[]): Map<string, number> {
  const restarts = new Map<string, number>();
  for (const pod of pods)
    for (const c of containerStates(pod)) restarts.set(`${pod.metadata.name ?? '?'}/${c.name}`, c.restarts);
  return restarts;
}

/**
 * What went wrong with these pods since `baseline` (pure): a failed pod, a container that cannot
 * run (crash loop, image pull, configuration), or one that restarted. Pods of Jobs are left out:
 * a Job's pod ends by design, and a phase Job already passed.
 */
export function soakProblem(
  pods: readonly KubeObject[],
  baseline: ReadonlyMap<string, number>,
): string | undefined {
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (pod.metadata.ownerReferences?.some((o) => o.kind === 'Job')) continue;
    const name = pod.metadata.name ?? '?';
    const status = (pod as { status?: { phase?: string; reason?: string; message?: string } }).status;
    if (status?.phase === 'Failed')
      return `pod ${name} failed${status.reason ? ` (${status.reason})` : ''}${status.message ? `: ${status.message}` : ''}`;
    const problem = podProblem(pod, { crashLoopIsFinal: true });
    if (problem !== undefined) return `pod ${name} ${problem}`;
    for (const c of containerStates(pod)) {
      const before = baseline.get(`${name}/${c.name}`);
      if (before === undefined || c.restarts <= before) continue;
      const last = c.lastTerminated;
      const how = last ? ` (exit code ${last.exitCode ?? '?'}${last.reason ? `, ${last.reason}` : ''})` : '';
      return `container ${c.name} of pod ${name} restarted during the soak${how}`;
    }
  }
  return undefined;
}

export interface SoakOptions {
  readonly durationMs: number;
  readonly signal: AbortSignal;
  /** How often the pods are read (default 2 s). */
  readonly pollMs?: number;
}

/**
 * Watches the pods of `applied`'s workloads for `durationMs`; returns what went wrong, or
 * undefined when they stayed healthy. A pod created during the soak (a replacement) starts with the
 * restarts it has when first seen. An API error ends the soak as a failure: unknown is not healthy.
 */
export async function soak(
  client: KubeClient,
  applied: readonly KubeObject[],
  namespace: string,
  options: SoakOptions,
): Promise<string | undefined> {
  const targets = soakTargets(applied, namespace);
  const readPods = async (): Promise<KubeObject[]> =>
    (
      await Promise.all(
        targets.map((t) =>
          client
            .list('v1', 'Pod', { namespace: t.namespace, labelSelector: t.selector, signal: options.signal })
            .then((list) => list.items),
        ),
      )
    ).flat();
  const end = Date.now() + options.durationMs;
  try {
    const baseline = restartsOf(await readPods());
    for (;;) {
      const pods = await readPods();
      for (const [key, count] of restartsOf(pods)) if (!baseline.has(key)) baseline.set(key, count);
      const problem = soakProblem(pods, baseline);
      if (problem) return problem;
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await sleep(Math.min(left, options.pollMs ?? 2000), options.signal);
    }
  } catch (error) {
    if (options.signal.aborted) return 'interrupted during the soak';
    return `could not read the pods during the soak: ${(error as Error).message}`;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
