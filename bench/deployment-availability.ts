// Watches the Deployments of one namespace until the named ones are available: the floor's wait,
// and the deploy benchmark's independent observer of when the last Deployment became available.
import { isKubeApiError, type KubeClient } from '../src/kube/index.js';
import type { KubeObject } from '../src/shared/index.js';

interface DeploymentShape {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

/**
 * Rolled out as the floor counts it: the controller saw the current spec, every replica runs it and
 * is available, and no pod of an older template is left (what `kubectl rollout status` and Helm's
 * --wait ask too, so that a redeploy that changes the image waits for the new pods).
 */
export function isAvailable(object: KubeObject): boolean {
  const d = object as unknown as DeploymentShape;
  const wanted = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  return (
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) &&
    (status.updatedReplicas ?? 0) >= wanted &&
    (status.availableReplicas ?? 0) >= wanted &&
    (status.replicas ?? 0) <= wanted
  );
}

export interface WatchAvailableOptions {
  readonly namespace: string;
  readonly names: readonly string[];
  /** Abort to give up; the promise then rejects. */
  readonly signal: AbortSignal;
  /** Called once per Deployment, when it is first seen available, with the wall-clock time. */
  readonly onAvailable?: (name: string, atMs: number) => void;
}

/** List, then one watch from the list's version (resumed if the server ends it), until all are available. */
export async function watchUntilAvailable(client: KubeClient, options: WatchAvailableOptions): Promise<void> {
  const waiting = new Set(options.names);
  const see = (object: KubeObject) => {
    const name = object.metadata.name ?? '';
    if (waiting.has(name) && isAvailable(object)) {
      waiting.delete(name);
      options.onAvailable?.(name, Date.now());
    }
  };
  let resourceVersion: string | undefined;
  try {
    while (waiting.size > 0) {
      if (resourceVersion === undefined) {
        const list = await client.list('apps/v1', 'Deployment', {
          namespace: options.namespace,
          signal: options.signal,
        });
        list.items.forEach(see);
        resourceVersion = list.resourceVersion;
        if (waiting.size === 0) return;
      }
      for await (const event of client.watch('apps/v1', 'Deployment', {
        namespace: options.namespace,
        resourceVersion,
        signal: options.signal,
      })) {
        if (event.type === 'ERROR') {
          // 410 Gone: the version is too old to resume from; list again.
          resourceVersion = undefined;
          break;
        }
        resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
        if (event.type === 'ADDED' || event.type === 'MODIFIED') see(event.object);
        if (waiting.size === 0) return;
      }
      if (options.signal.aborted) break;
    }
  } catch (error) {
    if (!options.signal.aborted && !(isKubeApiError(error) && error.status === 410)) throw error;
    if (!options.signal.aborted) return watchUntilAvailable(client, { ...options, names: [...waiting] });
  }
  if (waiting.size > 0) {
    throw new Error(
      `${waiting.size} Deployments in ${options.namespace} not available (e.g. ${[...waiting][0]}): ${String(options.signal.reason)}`,
    );
  }
}
