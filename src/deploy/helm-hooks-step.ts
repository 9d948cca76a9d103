// Helm hook phases at deploy time: pre-install and post-install hooks run on an environment's
// first deploy (no succeeded release yet), pre-upgrade and post-upgrade ones on later deploys;
// hooks whose delete policy says hook-succeeded are deleted once their phase succeeded.
import type { ResolvedEnvironment } from '../config/index.js';
import type { KubeClient } from '../kube/index.js';
import { readReleases } from '../release/index.js';
import { helmHooksOf, hookDeletePolicies, runsOn, type RenderedPhase } from '../render/index.js';

/** The phases with the hooks of other events left out, and hook phases left empty dropped (pure). */
export function phasesForEvent(
  phases: readonly RenderedPhase[],
  event: 'install' | 'upgrade',
): RenderedPhase[] {
  return phases.flatMap((phase) => {
    const objects = phase.objects.filter((o) => runsOn(o.object, event));
    const hooksOnly =
      phase.objects.length > 0 && phase.objects.every((o) => helmHooksOf(o.object).length > 0);
    if (hooksOnly && objects.length === 0) return [];
    return [objects.length === phase.objects.length ? phase : { ...phase, objects }];
  });
}

/** The rendered phases for this deploy: charts' install or upgrade hooks, by the release history. */
export async function selectHelmHooks(
  client: KubeClient,
  env: ResolvedEnvironment,
  phases: readonly RenderedPhase[],
  signal?: AbortSignal,
): Promise<readonly RenderedPhase[]> {
  if (!phases.some((p) => p.objects.some((o) => helmHooksOf(o.object).length > 0))) return phases;
  const records = await readReleases(client, {
    namespace: env.namespace,
    app: env.app,
    env: env.name,
    signal,
  });
  return phasesForEvent(phases, records.some((r) => r.outcome === 'succeeded') ? 'upgrade' : 'install');
}

/** Deletes a succeeded phase's hook objects whose `helm.sh/hook-delete-policy` has hook-succeeded. */
export async function deleteSucceededHooks(
  client: KubeClient,
  phase: Pick<RenderedPhase, 'objects'>,
  signal?: AbortSignal,
): Promise<void> {
  for (const { object } of phase.objects) {
    if (helmHooksOf(object).length === 0 || !hookDeletePolicies(object).includes('hook-succeeded')) continue;
    signal?.throwIfAborted();
    await client.delete(
      {
        apiVersion: object.apiVersion,
        kind: object.kind,
        namespace: object.metadata.namespace,
        name: object.metadata.name ?? '',
      },
      { propagationPolicy: 'Background' },
    );
  }
}
