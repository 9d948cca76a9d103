// The I/O edge of the preflight: what the cluster holds now, read with Capstan's kube client.
import { KubeApiError, type KubeClient } from '../../kube/index.js';
import type { KubeObject } from '../../shared/index.js';
import {
  planPreflight,
  schedulingProblems,
  type ClusterSnapshot,
  type SchedulingProblem,
  type WorkloadVerdict,
} from './preflight.js';

export interface ReadSnapshotOptions {
  /** The deploy's namespace: its quotas, limit ranges, workloads and ReplicaSets. */
  readonly namespace: string;
  readonly signal?: AbortSignal;
}

/**
 * The snapshot, or why there is none: a 403 (the identity may not list nodes or pods cluster-wide)
 * skips the preflight with that reason; any other error (unreachable) is thrown.
 */
export async function readSnapshot(
  client: KubeClient,
  options: ReadSnapshotOptions,
): Promise<{ snapshot: ClusterSnapshot } | { skipped: string }> {
  const { namespace, signal } = options;
  const all = async (
    apiVersion: string,
    kind: string,
    extra: { fieldSelector?: string; trim?: (item: KubeObject) => KubeObject } = {},
  ) => (await client.list(apiVersion, kind, { allNamespaces: true, signal, ...extra })).items;
  const inNamespace = async (apiVersion: string, kind: string) =>
    (await client.list(apiVersion, kind, { namespace, signal })).items;
  try {
    const [nodes, pods, resourceQuotas, limitRanges, deployments, statefulSets, daemonSets, replicaSets] =
      await Promise.all([
        all('v1', 'Node'),
        all('v1', 'Pod', {
          fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
          trim: podForPlacement,
        }),
        inNamespace('v1', 'ResourceQuota'),
        inNamespace('v1', 'LimitRange'),
        inNamespace('apps/v1', 'Deployment'),
        inNamespace('apps/v1', 'StatefulSet'),
        inNamespace('apps/v1', 'DaemonSet'),
        inNamespace('apps/v1', 'ReplicaSet'),
      ]);
    let namespaces: KubeObject[] = [];
    try {
      namespaces = await all('v1', 'Namespace');
    } catch (error) {
      // Namespace labels matter only to affinity terms with a namespaceSelector.
      if (!(error instanceof KubeApiError && error.forbidden)) throw error;
    }
    return {
      snapshot: {
        nodes,
        pods,
        resourceQuotas,
        limitRanges,
        workloads: [...deployments, ...statefulSets, ...daemonSets],
        replicaSets,
        namespaces,
      },
    };
  } catch (error) {
    if (error instanceof KubeApiError && error.forbidden) {
      const refusal = await client.explainRefusal(
        error,
        'the scheduling preflight reads nodes, pods, quotas and limit ranges',
        signal,
      );
      return { skipped: `scheduling preflight skipped: ${(refusal as Error).message}` };
    }
    throw error;
  }
}

export interface PreflightOutcome {
  readonly verdicts: readonly WorkloadVerdict[];
  readonly problems: readonly SchedulingProblem[];
  /** Why nothing was checked (no right to list nodes), as a warning. */
  readonly skipped?: string;
}

/** Reads the cluster and judges the deploy's objects (dry-run results, in their namespace). */
export async function runPreflight(
  client: KubeClient,
  objects: readonly KubeObject[],
  options: ReadSnapshotOptions & {
    /** A read already under way (the deploy starts it beside its dry run). */
    readonly snapshot?: ReturnType<typeof readSnapshot>;
  },
): Promise<PreflightOutcome> {
  const read = await (options.snapshot ?? readSnapshot(client, options));
  if ('skipped' in read) return { verdicts: [], problems: [], skipped: read.skipped };
  const verdicts = planPreflight(objects, read.snapshot);
  return { verdicts, problems: schedulingProblems(verdicts) };
}

/**
 * What the preflight reads of a running pod (its metadata, spec and node), without its status and
 * managedFields: on a cluster of thousands of pods those are most of the snapshot's memory.
 */
export function podForPlacement(pod: KubeObject): KubeObject {
  const { status: _status, ...rest } = pod as KubeObject & { status?: unknown };
  const { managedFields: _managed, ...metadata } = pod.metadata;
  return { ...rest, metadata };
}
