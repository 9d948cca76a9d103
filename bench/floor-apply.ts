// The deploy benchmark's floor: the least a deployer must do. Server-side apply of every object in
// a folder of plain manifests (Namespaces first, the rest 32 at a time), then one watch on
// Deployments until all are available. No validation, no diagnosis, no prune, no output.
// Run: node --import tsx bench/floor-apply.ts (the benchmark runs it compiled: prepareFloorScript)
//      --kubeconfig FILE [--concurrency 32] [--order file|kind]
//      [--timeout SECONDS] [--report FILE] DIR
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KubeClient } from '../src/kube/index.js';
import { floorApply, readManifests } from './floor-core.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kubeconfig: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    order: { type: 'string', default: 'file' },
    timeout: { type: 'string', default: '300' },
    report: { type: 'string' },
  },
});
const dir = positionals[0];
if (!dir || !values.kubeconfig || (values.order !== 'file' && values.order !== 'kind')) {
  throw new Error(
    'usage: floor-apply.ts --kubeconfig FILE [--concurrency N] [--order file|kind] [--timeout SECONDS] [--report FILE] DIR',
  );
}

const objects = readManifests(dir);
// Its own user agent: the benchmark counts each tool's requests in the API server's audit log.
const client = await KubeClient.connect({ kubeconfig: values.kubeconfig, userAgent: 'bench-floor' });
const connectedAt = Date.now();
try {
  const times = await floorApply(client, objects, {
    concurrency: Number(values.concurrency),
    order: values.order,
    signal: AbortSignal.timeout(Number(values.timeout) * 1000),
  });
  if (values.report) {
    writeFileSync(
      values.report,
      JSON.stringify({ startedAt: performance.timeOrigin, connectedAt, ...times, objects: objects.length }),
    );
  }
} finally {
  client.close();
}
