// The deploy benchmark's floor: the least a deployer must do. Server-side apply of every object in
// a folder of plain manifests (Namespaces first, the rest 32 at a time), then one watch on
// Deployments until all are available. No validation, no diagnosis, no prune, no output.
// Run: node --import tsx bench/floor-apply.ts --kubeconfig FILE [--concurrency 32] [--report FILE] DIR
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../src/kube/index.js';
import type { KubeObject } from '../src/shared/index.js';
import { watchUntilAvailable } from './deployment-availability.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kubeconfig: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    timeout: { type: 'string', default: '300' },
    report: { type: 'string' },
  },
});
const dir = positionals[0];
if (!dir || !values.kubeconfig) throw new Error('usage: floor-apply.ts --kubeconfig FILE [--concurrency N] [--timeout SECONDS] [--report FILE] DIR');
const concurrency = Number(values.concurrency);
const signal = AbortSignal.timeout(Number(values.timeout) * 1000);

const objects: KubeObject[] = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubeObject))
  .filter((o) => o !== null);

const client = await KubeClient.connect({ kubeconfig: values.kubeconfig });
const connectedAt = Date.now();
const apply = (object: KubeObject) => client.apply(object, { fieldManager: 'bench-floor', fieldValidation: 'Strict', signal });

try {
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  const rest = objects.filter((o) => o.kind !== 'Namespace');
  for (const ns of namespaces) await apply(ns);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, rest.length) }, async () => {
      while (next < rest.length) await apply(rest[next++]);
    }),
  );
  const appliedAt = Date.now();

  const deployments = rest.filter((o) => o.kind === 'Deployment');
  const byNamespace = new Map<string, KubeObject[]>();
  for (const d of deployments) {
    const namespace = d.metadata.namespace ?? client.connection.namespace;
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), d]);
  }
  await Promise.all(
    [...byNamespace].map(([namespace, list]) =>
      watchUntilAvailable(client, { namespace, names: list.map((d) => d.metadata.name ?? ''), signal }),
    ),
  );
  const availableAt = Date.now();
  if (values.report) {
    writeFileSync(values.report, JSON.stringify({ startedAt: performance.timeOrigin, connectedAt, appliedAt, availableAt, objects: objects.length }));
  }
} finally {
  client.close();
}
