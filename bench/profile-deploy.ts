// Where a deploy's time goes, in one process: runs Capstan's deploy() with option variants and the
// floor in file order and in kind order, interleaved, each into a fresh namespace, and counts every
// HTTP request by category (through node's http diagnostics channels) with its latency.
// Not a benchmark with a target; deploy.bench.ts is. Helps explain its numbers.
// Run: node --import tsx bench/profile-deploy.ts   (RUNS=3, APPS=100, VARIANTS=floor,no-prune picks
// the variants whose names contain one of the words)
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveEnvironment } from '../src/config/index.js';
import { deploy, type AnyDeployEvent, type DeployOptions } from '../src/deploy/index.js';
import { KubeClient } from '../src/kube/index.js';
import { renderEnvironment } from '../src/render/index.js';
import { startCluster, stopCluster } from '../test/cluster/cluster.js';
import { BENCH_ENV, writeCapstanApp, writeCapstanConfig, writePlainManifests } from './deploy-fixture.js';
import { floorApply, readManifests, type FloorOptions } from './floor-core.js';
import { median } from './harness.js';

const RUNS = Number(process.env.RUNS ?? 3);
const APPS = Number(process.env.APPS ?? 100);
const IMAGE = 'example.com/app:1';

interface RequestRecord {
  category: string;
  ms: number;
}

/** Every request of the current variant; reset before each run. */
let requests: RequestRecord[] = [];
const startedAt = new WeakMap<object, number>();

function categoryOf(method: string, path: string): string {
  const [pathname = '', query = ''] = path.split('?');
  const params = new URLSearchParams(query);
  if (params.get('watch')) return 'GET watch';
  if (method === 'PATCH') return params.get('dryRun') ? 'PATCH apply (dry run)' : 'PATCH apply';
  if (method !== 'GET') return method;
  const segments = pathname.split('/').filter(Boolean);
  // /api, /api/v1, /apis, /apis/g, /apis/g/v: discovery
  if ((segments[0] === 'api' && segments.length <= 2) || (segments[0] === 'apis' && segments.length <= 3))
    return 'GET discovery';
  const rest = segments.slice(segments[0] === 'api' ? 2 : 3);
  const collection = rest[0] === 'namespaces' ? rest.length === 3 : rest.length === 1;
  return collection ? 'GET list' : 'GET object';
}

subscribe('http.client.request.start', (message) => {
  startedAt.set((message as { request: ClientRequest }).request, performance.now());
});
subscribe('http.client.response.finish', (message) => {
  const { request } = message as { request: ClientRequest };
  const start = startedAt.get(request);
  if (start !== undefined)
    requests.push({ category: categoryOf(request.method, request.path), ms: performance.now() - start });
});

/**
 * CPU seconds used so far by each control plane process (utime + stime from /proc, in clock
 * ticks of 10 ms). CPU time, unlike wall time, barely depends on what else the machine runs.
 */
function controlPlaneCpu(runDir: string): Record<string, number> {
  const cpu: Record<string, number> = {};
  const pids = join(runDir, 'pids');
  for (const file of readdirSync(pids).filter((f) => f.endsWith('.pid'))) {
    try {
      const stat = readFileSync(`/proc/${readFileSync(join(pids, file), 'utf8').trim()}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu[file.replace(/\.pid$/, '')] = (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // a process that is gone used no more CPU
    }
  }
  return cpu;
}

interface RunResult {
  totalMs: number;
  /** CPU seconds of this process (the deploy or the floor) and of each control plane process. */
  cpu: Record<string, number>;
  steps: Record<string, number>;
  requests: RequestRecord[];
}

interface Variant {
  readonly name: string;
  readonly run: (namespace: string) => Promise<Record<string, number>>;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'capstan-profile-deploy-'));
  const appDir = join(work, 'app');
  writeCapstanApp(appDir, APPS);
  const cluster = await startCluster({ name: 'bench-profile', log: (line) => console.log(`  ${line}`) });
  const client = await KubeClient.connect({ kubeconfig: cluster.kubeconfig });
  try {
    const capstan = (name: string, options: Partial<DeployOptions>): Variant => ({
      name,
      run: async (namespace) => {
        writeCapstanConfig(appDir, namespace);
        // The local steps alone, timed once more outside deploy() to split its first second.
        let t = performance.now();
        const env = resolveEnvironment(await loadConfig({ cwd: appDir }), BENCH_ENV, {});
        const configMs = performance.now() - t;
        t = performance.now();
        await renderEnvironment({ env, image: IMAGE, deployId: 'profile' });
        const renderMs = performance.now() - t;
        t = performance.now();
        (await KubeClient.connect({ kubeconfig: cluster.kubeconfig })).close();
        const connectMs = performance.now() - t;

        const events: Array<{ at: number; event: AnyDeployEvent }> = [];
        const start = Date.now();
        const result = await deploy({
          cwd: appDir,
          env: BENCH_ENV,
          image: IMAGE,
          kubeconfig: cluster.kubeconfig,
          envVars: {},
          onEvent: (event) => events.push({ at: Date.now(), event }),
          ...options,
        });
        if (result.exitCode !== 0) throw new Error(`deploy failed: ${result.message ?? result.outcome}`);
        const at = (type: string) => events.find((e) => e.event.type === type)?.at ?? NaN;
        const last = (pred: (e: AnyDeployEvent) => boolean) =>
          Math.max(...events.filter((e) => pred(e.event)).map((e) => e.at));
        const applied = (kind: string) => (e: AnyDeployEvent) =>
          e.type === 'object-applied' && e.object.kind === kind;
        const lastApplied = last((e) => e.type === 'object-applied');
        return {
          '(outside deploy) load + resolve config': configMs,
          '(outside deploy) render 100 EJS files': renderMs,
          '(outside deploy) KubeClient.connect': connectMs,
          'deploy() -> deploy-started': at('deploy-started') - start,
          'deploy-started -> validation-finished': at('validation-finished') - at('deploy-started'),
          'apply Namespace + ConfigMaps': last(applied('ConfigMap')) - at('phase-started'),
          'apply Services': last(applied('Service')) - last(applied('ConfigMap')),
          'apply Deployments': last(applied('Deployment')) - last(applied('Service')),
          'last applied -> last Deployment ready':
            last((e) => e.type === 'object-ready' && e.object.kind === 'Deployment') - lastApplied,
          'last Deployment ready -> deploy-finished':
            at('deploy-finished') - last((e) => e.type === 'object-ready' && e.object.kind === 'Deployment'),
        };
      },
    });
    const floor = (name: string, options: Omit<FloorOptions, 'signal'>): Variant => ({
      name,
      run: async (namespace) => {
        const dir = join(work, `plain-${namespace}`);
        writePlainManifests(dir, APPS, IMAGE, namespace);
        const objects = readManifests(dir);
        const start = Date.now();
        const times = await floorApply(client, objects, { ...options, signal: AbortSignal.timeout(300_000) });
        return {
          apply: times.appliedAt - start,
          'applied -> all available': times.availableAt - times.appliedAt,
        };
      },
    });
    const allVariants: Variant[] = [
      capstan('capstan (defaults: concurrency 8, prune)', {}),
      capstan('capstan --concurrency 32', { concurrency: 32 }),
      capstan('capstan --no-prune', { prune: false }),
      capstan('capstan --concurrency 32 --no-prune', { concurrency: 32, prune: false }),
      floor('floor, file order, 32 at a time', { concurrency: 32, order: 'file' }),
      floor('floor, kind order, 32 at a time', { concurrency: 32, order: 'kind' }),
      floor('floor, kind order, 8 at a time', { concurrency: 8, order: 'kind' }),
    ];
    const picked = (process.env.VARIANTS ?? '').split(',').filter(Boolean);
    const variants = picked.length
      ? allVariants.filter((v) => picked.some((word) => v.name.includes(word)))
      : allVariants;

    const results = new Map<string, RunResult[]>();
    for (let i = 0; i < RUNS; i++) {
      for (const [v, variant] of variants.entries()) {
        const namespace = `prof-${v}-${i}`;
        requests = [];
        const cpuBefore = controlPlaneCpu(cluster.runDir);
        const ownBefore = process.cpuUsage();
        const t = performance.now();
        const steps = await variant.run(namespace);
        const totalMs = performance.now() - t;
        const own = process.cpuUsage(ownBefore);
        const cpuAfter = controlPlaneCpu(cluster.runDir);
        const cpu: Record<string, number> = { 'this process (client)': (own.user + own.system) / 1e6 };
        for (const [name, seconds] of Object.entries(cpuAfter)) cpu[name] = seconds - (cpuBefore[name] ?? 0);
        results.set(variant.name, [...(results.get(variant.name) ?? []), { totalMs, cpu, steps, requests }]);
        console.log(
          `  run ${i + 1}/${RUNS} ${variant.name}: ${totalMs.toFixed(0)} ms, ${requests.length} requests`,
        );
        requests = [];
        // Unlike the benchmark, wait for the namespace to go: its cleanup would bill the next variant's CPU.
        await client.delete(
          { apiVersion: 'v1', kind: 'Namespace', name: namespace },
          { propagationPolicy: 'Background' },
        );
        const deadline = Date.now() + 120_000;
        while (
          (await client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace })) &&
          Date.now() < deadline
        ) {
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    }

    for (const variant of variants) {
      const runs = results.get(variant.name) ?? [];
      console.log(
        `\n${variant.name}: median ${median(runs.map((r) => r.totalMs)).toFixed(0)} ms over ${runs.length} runs`,
      );
      for (const key of Object.keys(runs[0]?.steps ?? {})) {
        console.log(
          `  ${key.padEnd(48)} ${median(runs.map((r) => r.steps[key] ?? NaN))
            .toFixed(0)
            .padStart(7)} ms`,
        );
      }
      const cpuText = Object.keys(runs[0]?.cpu ?? {})
        .map((name) => `${name} ${median(runs.map((r) => r.cpu[name] ?? 0)).toFixed(2)}`)
        .join(', ');
      const cpuTotal = median(runs.map((r) => Object.values(r.cpu).reduce((a, b) => a + b, 0)));
      console.log(`  CPU seconds (median): total ${cpuTotal.toFixed(2)}: ${cpuText}`);
      const categories = [...new Set(runs.flatMap((r) => r.requests.map((q) => q.category)))].sort();
      for (const category of categories) {
        const per = runs.map((r) => r.requests.filter((q) => q.category === category));
        const latencies = per.flat().map((q) => q.ms);
        console.log(
          `  requests ${category.padEnd(24)} ${median(per.map((p) => p.length))
            .toFixed(0)
            .padStart(5)} per run, ` +
            `latency to headers median ${median(latencies).toFixed(1)} ms, p90 ${latencies.sort((a, b) => a - b)[Math.floor(latencies.length * 0.9)]?.toFixed(1)} ms`,
        );
      }
    }
  } finally {
    client.close();
    await stopCluster('bench-profile');
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
