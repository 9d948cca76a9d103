// Health of the copies in B: workloads available, claims bound, CRDs established; waited for
// until a deadline, judged by the same per-kind rules as deploys.
import type { KubeClient } from '../kube/index.js';
import { assessReadiness } from '../rollout/index.js';
import { mapLimit, objectKey, sleep, type KubeObject } from '../shared/index.js';
import { at, groupKindOf, refOf, str } from './json.js';
import type { HealthProblem, PlannedObject } from './types.js';

const HEALTH_KINDS = new Set([
  'Deployment.apps',
  'StatefulSet.apps',
  'DaemonSet.apps',
  'ReplicaSet.apps',
  'PersistentVolumeClaim',
  'CustomResourceDefinition.apiextensions.k8s.io',
]);

export function needsHealthCheck(planned: Pick<PlannedObject, 'object'>): boolean {
  return HEALTH_KINDS.has(groupKindOf(planned.object));
}

/** Problems of B's live objects: `failed` ones always, `pending` ones only once `final`. */
export function healthProblems(
  live: readonly KubeObject[],
  options: { readonly final: boolean; readonly bindingModes?: ReadonlyMap<string, string> },
): { readonly problems: HealthProblem[]; readonly pending: number } {
  const problems: HealthProblem[] = [];
  let pending = 0;
  for (const object of live) {
    const storageClass = str(at(object, 'spec', 'storageClassName'));
    const readiness = assessReadiness(object, {
      storageClassBindingMode: storageClass ? options.bindingModes?.get(storageClass) : undefined,
    });
    if (readiness.status === 'ready') continue;
    if (readiness.status === 'pending') pending++;
    if (readiness.status === 'failed' || options.final)
      problems.push({ ref: refOf(object), message: readiness.message });
  }
  return { problems, pending };
}

/** Polls B until every checked object is healthy or the deadline passes; returns what is not. */
export async function waitForHealth(
  client: KubeClient,
  planned: readonly PlannedObject[],
  options: { readonly timeoutMs: number; readonly concurrency: number; readonly signal?: AbortSignal },
): Promise<HealthProblem[]> {
  const checked = planned.filter(needsHealthCheck);
  if (checked.length === 0) return [];
  const wanted = new Set(checked.map((p) => p.key));
  const groups = new Map<string, { apiVersion: string; kind: string; namespace?: string }>();
  for (const p of checked) {
    const { apiVersion, kind, metadata } = p.object;
    groups.set(`${apiVersion}/${kind}/${metadata.namespace ?? ''}`, {
      apiVersion,
      kind,
      namespace: metadata.namespace,
    });
  }
  const bindingModes = new Map<string, string>();
  if (checked.some((p) => p.object.kind === 'PersistentVolumeClaim')) {
    const classes = await client.list('storage.k8s.io/v1', 'StorageClass', { signal: options.signal });
    for (const c of classes.items)
      bindingModes.set(c.metadata.name ?? '', str(c.volumeBindingMode) ?? 'Immediate');
  }
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const lists = await mapLimit(
      [...groups.values()],
      options.concurrency,
      async (g) =>
        (await client.list(g.apiVersion, g.kind, { namespace: g.namespace, signal: options.signal })).items,
    );
    const live = lists.flat().filter((o) => wanted.has(objectKey(o)));
    const final = Date.now() >= deadline || options.signal?.aborted === true;
    const { problems, pending } = healthProblems(live, { final, bindingModes });
    const absent = checked.filter((p) => !live.some((o) => objectKey(o) === p.key));
    if (final || pending === 0) {
      return [...problems, ...(final ? absent.map((p) => ({ ref: p.ref, message: 'not found in B' })) : [])];
    }
    await sleep(1000, options.signal);
  }
}
