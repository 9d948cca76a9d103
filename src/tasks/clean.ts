import { during, type KubeClient } from '../kube/index.js';
import type { KubeObject } from '../shared/index.js';
import { HOOK_LABEL } from './plan-task.js';
import { isJobFinished } from './run-task.js';

function createdAt(job: KubeObject): number {
  return Date.parse(job.metadata.creationTimestamp ?? '') || 0;
}

/** Finished Jobs older than a cutoff, among those Capstan created for an app and environment. */
export async function cleanJobs(
  client: KubeClient,
  options: { namespace: string; selector: string; olderThanMs: number; now?: number; dryRun?: boolean },
): Promise<string[]> {
  const now = options.now ?? Date.now();
  const jobs = await during('finding finished Jobs to clean needs it', () =>
    client.list('batch/v1', 'Job', { namespace: options.namespace, labelSelector: options.selector }),
  );
  const old = jobs.items.filter((j) => isJobFinished(j) && now - createdAt(j) >= options.olderThanMs);
  for (const job of old) {
    if (!options.dryRun) {
      await during(`cleaning finished Job/${job.metadata.name ?? ''} needs it`, () =>
        client.delete(
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            namespace: options.namespace,
            name: job.metadata.name ?? '',
          },
          { propagationPolicy: 'Background' },
        ),
      );
    }
  }
  return old.map((j) => j.metadata.name ?? '');
}

/** Which finished hook Jobs to delete so that each hook keeps its `keep` most recent runs (pure). */
export function planHookCleanup(jobs: readonly KubeObject[], keep: number): KubeObject[] {
  const byHook = new Map<string, KubeObject[]>();
  for (const job of jobs) {
    const hook = job.metadata.labels?.[HOOK_LABEL];
    if (hook === undefined) continue;
    byHook.set(hook, [...(byHook.get(hook) ?? []), job]);
  }
  const remove: KubeObject[] = [];
  for (const list of byHook.values()) {
    const sorted = [...list].sort((a, b) => createdAt(b) - createdAt(a));
    remove.push(...sorted.slice(keep).filter(isJobFinished));
  }
  return remove;
}

export async function keepRecentHookJobs(
  client: KubeClient,
  options: { namespace: string; selector: string; keep: number },
): Promise<string[]> {
  const jobs = await client.list('batch/v1', 'Job', {
    namespace: options.namespace,
    labelSelector: `${options.selector},${HOOK_LABEL}`,
  });
  const remove = planHookCleanup(jobs.items, options.keep);
  for (const job of remove) {
    await client
      .delete(
        { apiVersion: 'batch/v1', kind: 'Job', namespace: options.namespace, name: job.metadata.name ?? '' },
        { propagationPolicy: 'Background' },
      )
      .catch(() => false);
  }
  return remove.map((j) => j.metadata.name ?? '');
}
