/** The audit's I/O edge: what the cluster-aware checks need, read with list calls only. */
import { setMaxListeners } from 'node:events';
import { isKubeApiError, type KubeClient } from '../kube/index.js';
import { list, str, type KubeObject } from '../shared/index.js';
import { dig, strings } from './pods.js';
import type { ClusterSnapshot, SnapshotNamespace } from './types.js';

/** Why a list failed, as the skipped checks say it: a refusal names the resource, anything else its message. */
function reasonOf(error: unknown, what: string): string {
  if (isKubeApiError(error) && error.forbidden) return `not allowed to list ${what}`;
  return `cannot list ${what}: ${(error as Error).message.split('\n')[0]}`;
}

async function attempt<T>(what: string, read: () => Promise<T>): Promise<{ value?: T; reason?: string }> {
  try {
    return { value: await read() };
  } catch (error) {
    return { reason: reasonOf(error, what) };
  }
}

/**
 * Nodes (zone labels), StorageClasses, and the names in `namespace` of ConfigMaps, Secrets, claims,
 * ServiceAccounts and Services plus the labels of its pods and pod templates. A part that cannot
 * be read (403, unreachable) is left out with its reason; this never throws for that.
 */
export async function readClusterSnapshot(
  client: KubeClient,
  options: { namespace: string; signal?: AbortSignal; timeoutMs?: number },
): Promise<ClusterSnapshot> {
  const { namespace } = options;
  // An unreachable server must not hold the audit up: every list gives up after 15 s.
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 15_000);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  // A dozen lists at once listen to it: more than Node's default of 10 is expected, not a leak.
  setMaxListeners(0, signal);
  const items = async (apiVersion: string, kind: string, ns?: string): Promise<KubeObject[]> =>
    (await client.list(apiVersion, kind, { ...(ns ? { namespace: ns } : {}), signal })).items;
  const names = (objects: KubeObject[]) => objects.map((o) => o.metadata.name ?? '');
  const [nodes, classes, live] = await Promise.all([
    attempt('nodes', async () =>
      (await items('v1', 'Node')).map((n) => ({
        name: n.metadata.name ?? '',
        labels: { ...(n.metadata.labels ?? {}) },
      })),
    ),
    attempt('storageclasses.storage.k8s.io', async () =>
      (await items('storage.k8s.io/v1', 'StorageClass')).map((c) => ({
        name: c.metadata.name ?? '',
        ...(str(c['volumeBindingMode']) ? { volumeBindingMode: str(c['volumeBindingMode']) } : {}),
        isDefault: c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
      })),
    ),
    attempt(`objects in namespace ${namespace}`, async (): Promise<SnapshotNamespace> => {
      const [configMaps, secrets, claims, accounts, services, pods, deployments, statefulSets, daemonSets] =
        await Promise.all([
          items('v1', 'ConfigMap', namespace),
          items('v1', 'Secret', namespace),
          items('v1', 'PersistentVolumeClaim', namespace),
          items('v1', 'ServiceAccount', namespace),
          items('v1', 'Service', namespace),
          items('v1', 'Pod', namespace),
          items('apps/v1', 'Deployment', namespace),
          items('apps/v1', 'StatefulSet', namespace),
          items('apps/v1', 'DaemonSet', namespace),
        ]);
      return {
        configMaps: names(configMaps),
        secrets: names(secrets),
        persistentVolumeClaims: names(claims),
        serviceAccounts: names(accounts),
        services: services.map((s) => ({
          name: s.metadata.name ?? '',
          ports: list(dig(s, ['spec', 'ports'])).map((p) => ({
            ...(str(p['name']) ? { name: str(p['name']) } : {}),
            port: Number(p['port']),
          })),
        })),
        podLabels: [
          ...pods.map((p) => ({ ...(p.metadata.labels ?? {}) })),
          ...[...deployments, ...statefulSets, ...daemonSets].map((w) =>
            strings(dig(w, ['spec', 'template', 'metadata', 'labels'])),
          ),
        ],
      };
    }),
  ]);
  const unavailable = {
    ...(nodes.reason ? { nodes: nodes.reason } : {}),
    ...(classes.reason ? { storageClasses: classes.reason } : {}),
    ...(live.reason ? { live: live.reason } : {}),
  };
  return {
    namespace,
    ...(nodes.value ? { nodes: nodes.value } : {}),
    ...(classes.value ? { storageClasses: classes.value } : {}),
    ...(live.value ? { live: live.value } : {}),
    ...(Object.keys(unavailable).length > 0 ? { unavailable } : {}),
  };
}
