// Benchmark harness: runs a subject and a baseline in the same run, alternating, and prints
// medians and the ratio subject/baseline. Never used by tests; wall clock belongs here only.
import { spawn } from 'node:child_process';
import type { KubeClient } from '../src/kube/index.js';

export interface Measured {
  readonly ms: number;
  /** Peak resident memory of the child process in KiB, when measured through /usr/bin/time. */
  readonly maxRssKib?: number;
  /** CPU time (user + system) of the child process in ms, when measured through /usr/bin/time. */
  readonly cpuMs?: number;
}

export interface Case {
  readonly name: string;
  /** Runs once and returns its duration (and memory); `setup`/`teardown` are not timed. */
  readonly run: (iteration: number) => Promise<Measured>;
  readonly setup?: (iteration: number) => Promise<void>;
  readonly teardown?: (iteration: number) => Promise<void>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Times a shell-free command; with `measureMemory`, through GNU time for the peak RSS and CPU time. */
export function timeCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; measureMemory?: boolean; quiet?: boolean } = {},
): Promise<Measured> {
  const useTime = options.measureMemory && process.platform === 'linux';
  const [cmd, argv] = useTime
    ? ['/usr/bin/time', ['-f', 'CAPSTAN_BENCH_RSS=%M CAPSTAN_BENCH_CPU=%U+%S', command, ...args]]
    : [command, [...args]];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', options.quiet === false ? 'inherit' : 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0)
        return reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${stderr.slice(-2000)}`));
      const rss = /CAPSTAN_BENCH_RSS=(\d+)/.exec(stderr);
      const cpu = /CAPSTAN_BENCH_CPU=([\d.]+)\+([\d.]+)/.exec(stderr);
      resolve({
        ms,
        maxRssKib: rss ? Number(rss[1]) : undefined,
        cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : undefined,
      });
    });
  });
}

export interface Comparison {
  readonly name: string;
  readonly medians: Record<string, number>;
  readonly ratios: Record<string, number>;
  readonly maxRssKib: Record<string, number | undefined>;
}

/** Runs every case `runs` times, interleaved, then prints medians and ratios against the first case. */
export async function compare(title: string, cases: readonly Case[], runs: number): Promise<Comparison> {
  const times: Record<string, number[]> = {};
  const rss: Record<string, number | undefined> = {};
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      await c.setup?.(i);
      const m = await c.run(i);
      await c.teardown?.(i);
      (times[c.name] ??= []).push(m.ms);
      if (m.maxRssKib !== undefined) rss[c.name] = Math.max(rss[c.name] ?? 0, m.maxRssKib);
      console.log(
        `  run ${i + 1}/${runs} ${c.name}: ${m.ms.toFixed(0)} ms${m.maxRssKib ? `, peak RSS ${(m.maxRssKib / 1024).toFixed(0)} MiB` : ''}`,
      );
    }
  }
  const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const subject = cases[0].name;
  const ratios = Object.fromEntries(cases.slice(1).map((c) => [c.name, medians[subject] / medians[c.name]]));
  console.log(`\n${title} (median of ${runs})`);
  for (const c of cases) {
    const r = rss[c.name];
    console.log(
      `  ${c.name.padEnd(28)} ${medians[c.name].toFixed(0).padStart(8)} ms${r ? `  peak RSS ${(r / 1024).toFixed(0)} MiB` : ''}`,
    );
  }
  for (const [name, ratio] of Object.entries(ratios))
    console.log(`  ratio ${subject} / ${name}: ${ratio.toFixed(2)}`);
  return { name: title, medians, ratios, maxRssKib: rss };
}

/**
 * Deletes a namespace and waits until the namespace controller has removed it and everything in
 * it, so that the next case runs on a quiet cluster rather than beside a cleanup of 1,500 objects
 * (which slowed whichever case came next by half). Outside every clock; gives up after `deadlineMs`
 * and says so, since a cleanup that never ends must not stall the benchmark.
 */
export async function deleteNamespaceAndWait(
  client: KubeClient,
  name: string,
  deadlineMs = 180_000,
): Promise<void> {
  const id = { apiVersion: 'v1', kind: 'Namespace', name };
  await client.delete(id, { propagationPolicy: 'Background' }).catch(() => undefined);
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const live = await client.get(id).catch(() => null);
    if (live === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.log(`  namespace ${name} still being deleted after ${deadlineMs / 1000} s; going on`);
}
