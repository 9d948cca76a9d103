// Records the local control plane's build time (cold when the cache is empty) and warm start
// time, against the floor of starting etcd alone. Run: node --import tsx bench/control-plane.bench.ts
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureBinaries, startCluster, stopCluster } from '../test/cluster/cluster.js';
import { compare } from './harness.js';

const runs = Number(process.env.RUNS ?? 3);
const buildStarted = performance.now();
const binDir = ensureBinaries((line) => console.log(line));
const buildMs = performance.now() - buildStarted;
const recorded = join(dirname(binDir), 'build-seconds');
console.log(
  `binaries ready in ${(buildMs / 1000).toFixed(1)} s this run` +
    (existsSync(recorded) ? `; the cold build took ${readFileSync(recorded, 'utf8').trim()} s` : ''),
);

await compare(
  'local control plane start',
  [
    {
      name: 'capstan test cluster start',
      run: async () => {
        const t = performance.now();
        await startCluster({ name: 'bench-start', binDir });
        return { ms: performance.now() - t };
      },
      teardown: async () => {
        await stopCluster('bench-start');
      },
    },
    {
      // The floor: the same five binaries merely starting and exiting (--version), in sequence.
      name: 'floor: 5 binaries --version',
      run: () => {
        const t = performance.now();
        for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']) {
          execFileSync(join(binDir, b), ['--version'], { stdio: 'ignore' });
        }
        return Promise.resolve({ ms: performance.now() - t });
      },
    },
  ],
  runs,
);
