// Copying 5,000 objects (ConfigMaps and Secrets in four namespaces) from cluster A to cluster B:
// `capstan migrate` (the compiled CLI, a separate process) against the usual script, `kubectl get
// -o yaml` piped through the same stripping into `kubectl apply -f -`, in the same run on two local
// clusters, interleaved; B's namespaces are deleted between runs. A floor shows what B's API server
// allows: the same objects server-side applied in process, 32 at a time, nothing else.
// Prints objects per second and the ratios.
//   node --import tsx bench/migrate.bench.ts        (env: RUNS=3, OBJECTS=5000,
//   BENCH_CLUSTERS=bench-mig-a,bench-mig-b: the two clusters' names, one pair per person on a shared machine)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../src/kube/index.js';
import { MIGRATE_FIELD_MANAGER, stripForCopy } from '../src/migrate/index.js';
import { mapLimit, type KubeObject } from '../src/shared/index.js';
import {
  ensureBinaries,
  kubectl,
  startCluster,
  stopCluster,
  type ClusterInfo,
} from '../test/cluster/cluster.js';
import { compare, timeCommand, type Case } from './harness.js';

const runs = Number(process.env.RUNS ?? 3);
const total = Number(process.env.OBJECTS ?? 5000);
const namespaces = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];
const root = fileURLToPath(new URL('..', import.meta.url));
const [nameA, nameB] = (process.env.BENCH_CLUSTERS ?? 'bench-mig-a,bench-mig-b').split(',');

/** Runs a command with optional stdin and returns its stdout; fails on a non-zero exit. */
function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new Error(`${command} exited ${code}: ${err.slice(-2000)}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/** The CLI as users run it: compiled (into a temporary folder, since dist/ may be stale), not through tsx. */
function compileCli(): { run: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-bench-'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const started = performance.now();
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(dir, 'dist'),
    ],
    { stdio: 'inherit' },
  );
  console.log(`compiled the CLI in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { run: join(dir, 'dist/cli/run.js'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function populate(a: ClusterInfo): Promise<void> {
  const client = await KubeClient.connect({ kubeconfig: a.kubeconfig, maxSockets: 64 });
  try {
    const labels = { bench: 'migrate' };
    for (const name of namespaces)
      await client.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
        { fieldManager: 'bench' },
      );
    const started = performance.now();
    await mapLimit(
      Array.from({ length: total }, (_, i) => i),
      64,
      async (i) => {
        const namespace = namespaces[i % namespaces.length];
        const name = `item-${i}`;
        const object: KubeObject =
          i % 2 === 0
            ? {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name, namespace, labels },
                data: { 'app.properties': `item=${i}\n${'x=1\n'.repeat(40)}`, MODE: 'live' },
              }
            : {
                apiVersion: 'v1',
                kind: 'Secret',
                type: 'Opaque',
                metadata: { name, namespace, labels },
                data: {
                  password: Buffer.from(`secret-${i}`).toString('base64'),
                  token: Buffer.alloc(96, i).toString('base64'),
                },
              };
        await client.create(object);
      },
    );
    console.log(`created ${total} objects in A in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    client.close();
  }
}

/** A's objects as the migration applies them, read once for the floor. */
async function readStripped(a: ClusterInfo): Promise<KubeObject[]> {
  const client = await KubeClient.connect({ kubeconfig: a.readOnlyKubeconfig, maxSockets: 64 });
  try {
    const lists = await Promise.all(
      [
        ['v1', 'Namespace'],
        ['v1', 'ConfigMap'],
        ['v1', 'Secret'],
      ].map(([apiVersion, kind]) =>
        client.list(apiVersion, kind, { allNamespaces: true, labelSelector: 'bench=migrate' }),
      ),
    );
    return lists.flatMap((l) => l.items).map((o) => stripForCopy(o));
  } finally {
    client.close();
  }
}

/** Server-side apply of every object, 32 at a time, Namespaces first: what B allows at best. */
async function applyFloor(b: ClusterInfo, objects: readonly KubeObject[]): Promise<void> {
  const client = await KubeClient.connect({ kubeconfig: b.kubeconfig, maxSockets: 64 });
  try {
    const apply = (o: KubeObject) =>
      client.apply(o, { fieldManager: MIGRATE_FIELD_MANAGER, force: true, fieldValidation: 'Strict' });
    await mapLimit(
      objects.filter((o) => o.kind === 'Namespace'),
      32,
      apply,
    );
    await mapLimit(
      objects.filter((o) => o.kind !== 'Namespace'),
      32,
      apply,
    );
  } finally {
    client.close();
  }
}

/** Deletes B's copies and waits (with a deadline) until the namespaces are gone. */
async function clearB(b: ClusterInfo): Promise<void> {
  await kubectl(b, [
    'delete',
    'namespace',
    ...namespaces,
    '--ignore-not-found',
    '--wait=true',
    '--timeout=180s',
  ]);
}

const binDir = ensureBinaries((line) => console.log(line));
const cli = compileCli();
const [a, b] = await Promise.all([
  startCluster({ name: nameA, binDir }),
  startCluster({ name: nameB, binDir }),
]);
try {
  await populate(a);
  const kubectlBin = join(binDir, 'kubectl');
  const capstanArgs = [
    cli.run,
    'migrate',
    '--from-kubeconfig',
    a.readOnlyKubeconfig,
    '--to-kubeconfig',
    b.kubeconfig,
    ...namespaces.flatMap((n) => ['-n', n]),
    '-o',
    'json',
  ];
  const env = process.env;
  const stripped = await readStripped(a);
  const steps: string[] = [];
  const cases: Case[] = [
    {
      name: 'kubectl get | strip | apply',
      setup: () => clearB(b),
      run: async () => {
        const t0 = performance.now();
        const yaml = await run(kubectlBin, [
          '--kubeconfig',
          a.readOnlyKubeconfig,
          'get',
          'namespaces,configmaps,secrets',
          '-A',
          '-l',
          'bench=migrate',
          '-o',
          'yaml',
        ]);
        const t1 = performance.now();
        const items = parseAllDocuments(yaml).flatMap(
          (doc) => (doc.toJS() as { items?: KubeObject[] }).items ?? [],
        );
        const stripped = JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: items.map((o) => stripForCopy(o)),
        });
        const t2 = performance.now();
        await run(kubectlBin, ['--kubeconfig', b.kubeconfig, 'apply', '-f', '-'], stripped);
        const t3 = performance.now();
        steps.push(
          `get ${(t1 - t0).toFixed(0)} ms, strip ${(t2 - t1).toFixed(0)} ms, apply ${(t3 - t2).toFixed(0)} ms (${items.length} objects)`,
        );
        return { ms: t3 - t0 };
      },
    },
    {
      name: 'capstan migrate --no-verify',
      setup: () => clearB(b),
      run: () => timeCommand(process.execPath, [...capstanArgs, '--no-verify'], { env, cwd: root }),
    },
    {
      name: 'capstan migrate (+ verify)',
      setup: () => clearB(b),
      run: () => timeCommand(process.execPath, capstanArgs, { env, cwd: root }),
    },
    {
      name: 'floor: in-process SSA only',
      setup: () => clearB(b),
      run: async () => {
        const t0 = performance.now();
        await applyFloor(b, stripped);
        return { ms: performance.now() - t0 };
      },
    },
  ];
  console.log(
    `${availableParallelism()} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} before the runs`,
  );
  const result = await compare(
    `copying ${total} ConfigMaps and Secrets (+${namespaces.length} namespaces) from A to B`,
    cases,
    runs,
  );
  console.log(`\nkubectl pipeline steps: ${steps.join('; ')}`);
  const objects = total + namespaces.length;
  for (const [name, ms] of Object.entries(result.medians))
    console.log(`  ${name.padEnd(28)} ${(objects / (ms / 1000)).toFixed(0).padStart(6)} objects/s`);
  for (const [name, ratio] of Object.entries(result.ratios))
    console.log(`  throughput ${name} / kubectl: ${ratio.toFixed(2)}x`);
  const floor = result.medians['floor: in-process SSA only'];
  console.log(
    `  capstan migrate --no-verify takes ${(result.medians['capstan migrate --no-verify'] / floor).toFixed(2)}x the floor's time`,
  );
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} after the runs`,
  );
} finally {
  await Promise.all([stopCluster(nameA), stopCluster(nameB)]);
  cli.cleanup();
}
