// The floor's work, shared by bench/floor-apply.ts (its own process, as the deploy benchmark runs
// it) and bench/profile-deploy.ts (in process, also in kind order to price Capstan's grouping).
import { setMaxListeners } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../src/kube/index.js';
import type { KubeObject } from '../src/shared/index.js';
import { watchUntilAvailable } from './deployment-availability.js';

export interface FloorOptions {
  readonly concurrency: number;
  /**
   * `file`: Namespaces, then everything else in file order, `concurrency` at a time.
   * `kind`: Namespaces, then ConfigMaps, Services, Deployments, each kind finished before the next starts.
   */
  readonly order?: 'file' | 'kind';
  readonly signal: AbortSignal;
}

export interface FloorTimes {
  readonly appliedAt: number;
  readonly availableAt: number;
}

/** Every document of every *.yaml file in `dir`, files in name order. */
export function readManifests(dir: string): KubeObject[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubeObject | null),
    )
    .filter((o): o is KubeObject => o !== null);
}

async function applyPool(
  client: KubeClient,
  objects: readonly KubeObject[],
  options: FloorOptions,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency, objects.length) }, async () => {
      while (next < objects.length) {
        await client.apply(objects[next++], {
          fieldManager: 'bench-floor',
          fieldValidation: 'Strict',
          signal: options.signal,
        });
      }
    }),
  );
}

/** Server-side applies the objects, then watches Deployments (one watch per namespace) until all are available. */
export async function floorApply(
  client: KubeClient,
  objects: readonly KubeObject[],
  options: FloorOptions,
): Promise<FloorTimes> {
  // Every request in flight listens to the signal.
  setMaxListeners(0, options.signal);
  const rest = objects.filter((o) => o.kind !== 'Namespace');
  for (const ns of objects.filter((o) => o.kind === 'Namespace')) await applyPool(client, [ns], options);
  if (options.order === 'kind') {
    const kinds = ['ConfigMap', 'Service', 'Deployment'];
    for (const kind of kinds)
      await applyPool(
        client,
        rest.filter((o) => o.kind === kind),
        options,
      );
    await applyPool(
      client,
      rest.filter((o) => !kinds.includes(o.kind)),
      options,
    );
  } else {
    await applyPool(client, rest, options);
  }
  const appliedAt = Date.now();

  const byNamespace = new Map<string, string[]>();
  for (const d of rest.filter((o) => o.kind === 'Deployment')) {
    const namespace = d.metadata.namespace ?? client.connection.namespace;
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), d.metadata.name ?? '']);
  }
  await Promise.all(
    [...byNamespace].map(([namespace, names]) =>
      watchUntilAvailable(client, { namespace, names, signal: options.signal }),
    ),
  );
  return { appliedAt, availableAt: Date.now() };
}
