// Deploys N apps (one ConfigMap, Service and Deployment each: 300 objects at 100 apps, 1,500 at 500)
// to the local control plane and waits until every Deployment is available, with Capstan and the
// tools people would pick instead, interleaved, each run into a fresh namespace:
//   capstan deploy (compiled, a separate process, -o json),
//   the floor: bench/floor-apply.ts compiled and bundled as Capstan is (server-side apply, 32 at a time, one watch),
//   kubectl apply -f DIR, then ONE kubectl wait --for=condition=Available deployment --all,
//   Helm 4 and Helm 3 (built from their Go modules, bench/build-peers.sh): helm install --wait with
//   their defaults, and with --qps 100 (client-side throttling lifted); the same objects as a chart.
// Prints medians, ratios, peak RSS, how long after the last Deployment became available each exits,
// the requests each sent (API server audit log, by user agent), how Capstan grows with size, and
// where Capstan's time goes (from its JSON events).
// Run: node --import tsx bench/deploy.bench.ts   (RUNS=3, APPS=100,500 the sizes, HELM_DEFAULTS_UP_TO=100
// runs Helm without --qps only up to that many apps (87 s at 100 apps), CASES=capstan,floor picks cases,
// BENCH_CLUSTER=name of the cluster it starts and stops (default bench-deploy), KEEP=1 keeps the temp
// folder, CAPSTAN_USE_SOURCE=1 runs capstan through tsx, CAPSTAN_EXTRA_ARGS="--concurrency 32")
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addFakeNodes, startCluster, stopCluster, type ClusterInfo } from '../test/cluster/cluster.js';
import { KubeClient } from '../src/kube/index.js';
import { countRequests } from './audit-count.js';
import { controlPlaneCpu, cpuSince } from './cpu.js';
import { prepareCapstanCli, prepareFloorScript, sourceRevision } from './capstan-cli.js';
import {
  appNames,
  BENCH_ENV,
  writeCapstanApp,
  writeCapstanConfig,
  writeChart,
  writePlainManifests,
} from './deploy-fixture.js';
import { watchUntilAvailable } from './deployment-availability.js';
import { compare, deleteNamespaceAndWait, median, timeCommand, type Case, type Measured } from './harness.js';
import { helmVersion, preparePeers } from './peers.js';

const RUNS = Number(process.env.RUNS ?? 3);
const SIZES = (process.env.APPS ?? '100,500').split(',').map(Number);
const HELM_DEFAULTS_UP_TO = Number(process.env.HELM_DEFAULTS_UP_TO ?? 100);
const PICKED = (process.env.CASES ?? '').split(',').filter(Boolean);
const IMAGE = 'example.com/app:1';
const TARGETS = { floor: 1.15, helm4qps: { small: 0.6, large: 0.5 }, exitGapMs: 250, rssMib: 130 };
const CASE = {
  capstan: 'capstan deploy',
  floor: 'floor (compiled): SSA + one watch',
  kubectl: 'kubectl apply + one kubectl wait',
  helm4: 'helm 4 install --wait',
  helm4qps: 'helm 4 install --wait --qps 100',
  helm3: 'helm 3 install --wait',
  helm3qps: 'helm 3 install --wait --qps 100',
} as const;
type CaseKey = keyof typeof CASE;

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(`  ${line}`);

/** Wall-clock instants (ms since epoch) of one timed run, for the exit gap, the audit count and the breakdown. */
interface RunRecord {
  /** As timed by the harness. */
  ms: number;
  spawnAt: number;
  exitAt: number;
  maxRssKib?: number;
  /** CPU time of the tool's own processes (GNU time). */
  toolCpuMs?: number;
  /** CPU time the control plane's components spent while the tool ran (/proc). */
  clusterCpuMs?: number;
  /** When the bench's own watch saw the last Deployment available. */
  lastAvailableAt?: number;
  /** Requests the tool sent during the run (audit log). */
  requests?: number;
  /** Per case: named intervals in ms, for the breakdown. */
  phases: Record<string, number>;
}

interface DeployEventLine {
  time: string;
  type: string;
  object?: { kind: string; name: string };
  durationMs?: number;
}

/** Watches a namespace from before the run starts until every Deployment is available. */
class AvailabilityObserver {
  private readonly controller = new AbortController();
  private readonly times: number[] = [];
  private readonly done: Promise<void>;

  constructor(client: KubeClient, namespace: string, names: readonly string[]) {
    this.done = watchUntilAvailable(client, {
      namespace,
      names,
      signal: this.controller.signal,
      onAvailable: (_name, at) => this.times.push(at),
    });
    this.done.catch(() => {});
  }

  /** The instant the last Deployment was seen available; undefined if that did not happen within `graceMs`. */
  async lastAvailable(graceMs = 30_000): Promise<number | undefined> {
    const timer = setTimeout(() => this.controller.abort(new Error('observer gave up')), graceMs);
    try {
      await this.done;
      return Math.max(...this.times);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

function readEvents(file: string): DeployEventLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as DeployEventLine);
}

/** Where a capstan run spent its time, from its JSON events (relative to the process spawn). */
function capstanBreakdown(events: readonly DeployEventLine[], record: RunRecord): Record<string, number> {
  const at = (e: DeployEventLine | undefined) => (e ? Date.parse(e.time) : NaN);
  const first = (type: string) => events.find((e) => e.type === type);
  const lastOf = (pred: (e: DeployEventLine) => boolean) => Math.max(...events.filter(pred).map(at));
  const firstOf = (pred: (e: DeployEventLine) => boolean) => Math.min(...events.filter(pred).map(at));
  const started = at(first('deploy-started'));
  const validated = at(first('validation-finished'));
  const phaseStarted = at(first('phase-started'));
  const applied = (kind: string) => (e: DeployEventLine) =>
    e.type === 'object-applied' && e.object?.kind === kind;
  const ready = (kind?: string) => (e: DeployEventLine) =>
    e.type === 'object-ready' && (kind === undefined || e.object?.kind === kind);
  const lastApplied = lastOf((e) => e.type === 'object-applied');
  const lastDeploymentReady = lastOf(ready('Deployment'));
  const lastReady = lastOf(ready());
  const finished = at(first('deploy-finished'));
  return {
    'spawn -> deploy-started (node, modules, config, render, connect)': started - record.spawnAt,
    'deploy-started -> validation-finished (ns check, dry run, prune list)': validated - started,
    '  validation-finished.durationMs': first('validation-finished')?.durationMs ?? NaN,
    'validation-finished -> phase-started (namespace, lock, record)': phaseStarted - validated,
    'phase-started -> first Deployment applied': firstOf(applied('Deployment')) - phaseStarted,
    'phase-started -> last ConfigMap applied': lastOf(applied('ConfigMap')) - phaseStarted,
    'phase-started -> last Service applied': lastOf(applied('Service')) - phaseStarted,
    'phase-started -> last Deployment applied': lastOf(applied('Deployment')) - phaseStarted,
    'last applied -> first Deployment ready': firstOf(ready('Deployment')) - lastApplied,
    'last applied -> last Deployment ready': lastDeploymentReady - lastApplied,
    'last Deployment ready -> last object ready': lastReady - lastDeploymentReady,
    'last object ready -> deploy-finished (prune, record, lock)': finished - lastReady,
    'deploy-finished -> process exit': record.exitAt - finished,
    'exit gap: last object-ready event -> exit': record.exitAt - lastReady,
    'bench watch saw last available -> capstan last Deployment ready':
      record.lastAvailableAt === undefined ? NaN : lastDeploymentReady - record.lastAvailableAt,
    'events written (count)': events.length,
  };
}

function printBreakdown(title: string, records: readonly RunRecord[]): void {
  if (records.length === 0 || Object.keys(records[0].phases).length === 0) return;
  console.log(`\n${title} (median of ${records.length}; ms unless a count)`);
  for (const key of Object.keys(records[0].phases)) {
    const values = records.map((r) => r.phases[key]).filter((v) => Number.isFinite(v));
    console.log(`  ${key.padEnd(70)} ${values.length ? median(values).toFixed(0).padStart(7) : '      -'}`);
  }
}

const exitGap = (r: RunRecord) =>
  r.lastAvailableAt === undefined ? undefined : r.exitAt - r.lastAvailableAt;
const finite = (values: readonly (number | undefined)[]) =>
  values.filter((v): v is number => v !== undefined && Number.isFinite(v));
const medianOr = (values: readonly (number | undefined)[]) => {
  const f = finite(values);
  return f.length ? median(f) : undefined;
};
const verdict = (ok: boolean) => (ok ? 'meets target' : 'MISSES target');

interface SizeResult {
  apps: number;
  records: Partial<Record<CaseKey, RunRecord[]>>;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0];
  const cli = prepareCapstanCli(root, log);
  const floorScript = prepareFloorScript(root, log);
  const wanted = (key: CaseKey) => PICKED.length === 0 || PICKED.includes(key);
  const peers = preparePeers(
    root,
    log,
    (['helm4', 'helm3'] as const).filter((h) => wanted(h) || wanted(`${h}qps`)),
  );
  const revision = sourceRevision(root);
  console.log(
    `deploy benchmark: ${SIZES.map((a) => `${a * 3} objects`).join(' and ')}; ${RUNS} runs per case, interleaved`,
  );
  console.log(`capstan runs as: ${cli.description}, ${revision}`);
  console.log(`floor runs as: node ${floorScript} (tsc output, no tsx)`);
  for (const [name, bin] of Object.entries(peers) as [string, string][])
    console.log(`${name}: ${bin} (${helmVersion(bin)})`);
  const measureMemory = process.platform === 'linux' && existsSync('/usr/bin/time');
  if (!measureMemory)
    console.log('note: /usr/bin/time (GNU time) is missing, so peak memory is not measured');
  const extraArgs = (process.env.CAPSTAN_EXTRA_ARGS ?? '').split(/\s+/).filter(Boolean);
  if (extraArgs.length) console.log(`capstan extra arguments: ${extraArgs.join(' ')}`);

  const work = mkdtempSync(join(tmpdir(), 'capstan-bench-deploy-'));
  const auditLog = join(work, 'audit.log');
  const clusterName = process.env.BENCH_CLUSTER ?? 'bench-deploy';
  let cluster: ClusterInfo | undefined;
  let client: KubeClient | undefined;
  const results: SizeResult[] = [];
  try {
    const started = performance.now();
    cluster = await startCluster({ name: clusterName, log, auditLog });
    console.log(
      `local control plane "${clusterName}" ready in ${((performance.now() - started) / 1000).toFixed(1)} s, audit log ${auditLog}`,
    );
    const info = cluster;
    const kubeconfig = info.kubeconfig;
    const kubectlBin = join(info.binDir, 'kubectl');
    // The observer's requests are told apart from the tools' by its user agent.
    const kube = await KubeClient.connect({ kubeconfig, userAgent: 'bench-observer' });
    client = kube;
    // Helm keeps its caches and settings here, not in the home folder.
    const helmEnv = {
      ...process.env,
      HELM_CACHE_HOME: join(work, 'helm', 'cache'),
      HELM_CONFIG_HOME: join(work, 'helm', 'config'),
      HELM_DATA_HOME: join(work, 'helm', 'data'),
    };

    for (const apps of SIZES) {
      const names = appNames(apps);
      // Every pod fits, with room to spare.
      const nodes = Math.max(6, Math.ceil((apps * 3) / 100));
      await addFakeNodes(info, nodes);
      console.log(`\n=== ${apps} apps: ${apps * 3} objects, ${nodes} fake nodes of 110 pods ===`);
      const appDir = join(work, `app-${apps}`);
      const chartDir = join(work, `chart-${apps}`);
      writeCapstanApp(appDir, apps);
      writeChart(chartDir, apps, IMAGE);

      const records: Partial<Record<CaseKey, RunRecord[]>> = {};
      const current = new Map<CaseKey, RunRecord>();
      const observers = new Map<CaseKey, AvailabilityObserver>();
      const namespaceOf = (key: CaseKey, i: number) => `b${apps}-${key}-${i}`;

      const makeCase = (
        key: CaseKey,
        prepare: (i: number, ns: string) => void,
        run: (i: number, ns: string) => Promise<Measured & { phases?: Record<string, number> }>,
        after?: (i: number, record: RunRecord) => void,
      ): Case => ({
        name: CASE[key],
        setup: async (i) => {
          prepare(i, namespaceOf(key, i));
          observers.set(key, new AvailabilityObserver(kube, namespaceOf(key, i), names));
          // Let the observer's list and watch start before the clock does.
          await new Promise((resolve) => setTimeout(resolve, 200));
        },
        run: async (i) => {
          const cpuBefore = controlPlaneCpu(info.runDir);
          const spawnAt = Date.now();
          const m = await run(i, namespaceOf(key, i));
          current.set(key, {
            ms: m.ms,
            spawnAt,
            exitAt: Date.now(),
            maxRssKib: m.maxRssKib,
            toolCpuMs: m.cpuMs,
            clusterCpuMs: cpuSince(cpuBefore, controlPlaneCpu(info.runDir)),
            phases: m.phases ?? {},
          });
          return m;
        },
        teardown: async (i) => {
          const record = current.get(key)!;
          record.lastAvailableAt = await observers.get(key)!.lastAvailable();
          after?.(i, record);
          (records[key] ??= []).push(record);
          // Waited for, off the clock: the next case starts on a quiet cluster.
          await deleteNamespaceAndWait(kube, namespaceOf(key, i));
        },
      });

      const capstan = makeCase(
        'capstan',
        (_i, ns) => writeCapstanConfig(appDir, ns),
        (i) => {
          const events = join(work, `capstan-${apps}-${i}.jsonl`);
          const args = [
            cli.script,
            '--kubeconfig',
            kubeconfig,
            '--cwd',
            appDir,
            'deploy',
            BENCH_ENV,
            '--image',
            IMAGE,
            '-o',
            'json',
            ...extraArgs,
          ];
          // sh only redirects stdout to the events file, then becomes node (exec): GNU time measures node.
          return timeCommand(
            '/bin/sh',
            ['-c', 'out="$1"; shift; exec "$@" > "$out"', 'sh', events, process.execPath, ...args],
            {
              env: cli.env,
              measureMemory,
            },
          );
        },
        (i, record) => {
          record.phases = capstanBreakdown(readEvents(join(work, `capstan-${apps}-${i}.jsonl`)), record);
        },
      );
      const floor = makeCase(
        'floor',
        (i, ns) => writePlainManifests(join(work, `plain-floor-${apps}-${i}`), apps, IMAGE, ns),
        async (i) => {
          const report = join(work, `floor-${apps}-${i}.json`);
          const spawnAt = Date.now();
          const m = await timeCommand(
            process.execPath,
            [
              floorScript,
              '--kubeconfig',
              kubeconfig,
              '--report',
              report,
              join(work, `plain-floor-${apps}-${i}`),
            ],
            { measureMemory },
          );
          const exitAt = Date.now();
          const r = JSON.parse(readFileSync(report, 'utf8')) as {
            connectedAt: number;
            appliedAt: number;
            availableAt: number;
          };
          return {
            ...m,
            phases: {
              'spawn -> connected (node, modules, kubeconfig)': r.connectedAt - spawnAt,
              'apply (Namespace, then 32 at a time)': r.appliedAt - r.connectedAt,
              'applied -> all Deployments available': r.availableAt - r.appliedAt,
              'all available -> process exit': exitAt - r.availableAt,
            },
          };
        },
      );
      const kubectl = makeCase(
        'kubectl',
        (i, ns) => writePlainManifests(join(work, `plain-kubectl-${apps}-${i}`), apps, IMAGE, ns),
        async (i, ns) => {
          const run = (args: string[]) =>
            timeCommand(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { measureMemory });
          const t = performance.now();
          const apply = await run(['apply', '-f', join(work, `plain-kubectl-${apps}-${i}`)]);
          const applied = performance.now();
          const wait = await run([
            'wait',
            '--for=condition=Available',
            'deployment',
            '--all',
            '-n',
            ns,
            '--timeout=10m',
          ]);
          const ms = performance.now() - t;
          return {
            ms,
            maxRssKib: Math.max(apply.maxRssKib ?? 0, wait.maxRssKib ?? 0) || undefined,
            cpuMs:
              apply.cpuMs === undefined || wait.cpuMs === undefined ? undefined : apply.cpuMs + wait.cpuMs,
            phases: {
              'kubectl apply -f DIR': applied - t,
              'kubectl wait --for=condition=Available deployment --all': ms - (applied - t),
            },
          };
        },
      );
      const helm = (key: CaseKey, bin: string | undefined, qps: boolean) =>
        makeCase(
          key,
          () => {},
          (_i, ns) =>
            timeCommand(
              bin ?? 'helm',
              [
                'install',
                'bench',
                chartDir,
                '--kubeconfig',
                kubeconfig,
                '-n',
                ns,
                '--create-namespace',
                '--wait',
                '--timeout',
                '15m',
                ...(qps ? ['--qps', '100'] : []),
              ],
              { env: helmEnv, measureMemory },
            ),
        );
      const all: Array<[CaseKey, Case]> = [
        ['capstan', capstan],
        ['floor', floor],
        ['kubectl', kubectl],
        ['helm4qps', helm('helm4qps', peers.helm4, true)],
        ['helm3qps', helm('helm3qps', peers.helm3, true)],
        ['helm4', helm('helm4', peers.helm4, false)],
        ['helm3', helm('helm3', peers.helm3, false)],
      ];
      const cases = all.filter(
        ([key]) =>
          (wanted(key) || key === 'capstan') &&
          ((key !== 'helm4' && key !== 'helm3') || apps <= HELM_DEFAULTS_UP_TO),
      );
      await compare(
        `deploy ${apps * 3} objects`,
        cases.map(([, c]) => c),
        RUNS,
      );

      // The requests each run sent, from the audit log (its watches are logged when they end).
      await new Promise((resolve) => setTimeout(resolve, 2000));
      for (const list of Object.values(records))
        for (const r of list) r.requests = countRequests(auditLog, r.spawnAt, r.exitAt).total;
      results.push({ apps, records });
      printSize(
        apps,
        cases.map(([key]) => key),
        records,
      );
      printBreakdown(`capstan at ${apps * 3} objects: where the time goes`, records.capstan ?? []);
      printBreakdown(`floor at ${apps * 3} objects`, records.floor ?? []);
      printBreakdown(`kubectl at ${apps * 3} objects`, records.kubectl ?? []);
    }
    printGrowth(results);
    printTargets(results);
    console.log(
      `\nload average (1 min) at start ${loadAtStart.toFixed(1)}, at end ${loadavg()[0].toFixed(1)}, on ${availableParallelism()} CPUs`,
    );
    console.log(`capstan ran as: ${cli.description}, ${revision}`);
  } finally {
    client?.close();
    if (cluster) await stopCluster(clusterName);
    if (process.env.KEEP) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** One line per case: median time, capstan's ratio to it (median of per-iteration ratios too), memory, exit gap, requests. */
function printSize(
  apps: number,
  keys: readonly CaseKey[],
  records: Partial<Record<CaseKey, RunRecord[]>>,
): void {
  const capstan = records.capstan ?? [];
  console.log(
    `\n${apps * 3} objects (medians of ${RUNS}; capstan/x: ratio of medians [median of per-iteration ratios])`,
  );
  console.log(
    `  ${'case'.padEnd(36)} ${'time'.padStart(9)} ${'capstan/x'.padStart(16)} ${'peak RSS'.padStart(9)} ${'exit gap'.padStart(9)} ${'requests'.padStart(8)} ${'tool CPU'.padStart(9)} ${'cluster CPU'.padStart(11)}`,
  );
  for (const key of keys) {
    const list = records[key] ?? [];
    const ms = median(list.map((r) => r.ms));
    const ratio = median(capstan.map((r) => r.ms)) / ms;
    const paired = median(capstan.map((r, i) => r.ms / (list[i]?.ms ?? NaN)).filter(Number.isFinite));
    const rss = Math.max(...finite(list.map((r) => r.maxRssKib)));
    const gap = medianOr(list.map(exitGap));
    const requests = medianOr(list.map((r) => r.requests));
    const seconds = (v: number | undefined) => (v === undefined ? '-' : `${(v / 1000).toFixed(1)} s`);
    console.log(
      `  ${CASE[key].padEnd(36)} ${`${(ms / 1000).toFixed(2)} s`.padStart(9)} ${(key === 'capstan' ? '' : `${ratio.toFixed(2)} [${paired.toFixed(2)}]`).padStart(16)} ${(Number.isFinite(rss) ? `${(rss / 1024).toFixed(0)} MiB` : '-').padStart(9)} ${(gap === undefined ? '-' : `${gap.toFixed(0)} ms`).padStart(9)} ${(requests === undefined ? '-' : requests.toFixed(0)).padStart(8)} ${seconds(medianOr(list.map((r) => r.toolCpuMs))).padStart(9)} ${seconds(medianOr(list.map((r) => r.clusterCpuMs))).padStart(11)}`,
    );
  }
}

function printGrowth(results: readonly SizeResult[]): void {
  if (results.length < 2) return;
  console.log(`\nhow capstan grows (medians)`);
  const base = results[0];
  const at = (r: SizeResult) => ({
    ms: median((r.records.capstan ?? []).map((x) => x.ms)),
    rss: Math.max(...finite((r.records.capstan ?? []).map((x) => x.maxRssKib))) / 1024,
    floor: medianOr((r.records.floor ?? []).map((x) => x.ms)),
  });
  const b = at(base);
  for (const r of results) {
    const x = at(r);
    console.log(
      `  ${String(r.apps * 3).padStart(5)} objects: ${(x.ms / 1000).toFixed(2)} s (x${(x.ms / b.ms).toFixed(2)}), peak RSS ${x.rss.toFixed(0)} MiB (x${(x.rss / b.rss).toFixed(2)})` +
        (x.floor === undefined || b.floor === undefined
          ? ''
          : `; floor ${(x.floor / 1000).toFixed(2)} s (x${(x.floor / b.floor).toFixed(2)})`),
    );
  }
}

function printTargets(results: readonly SizeResult[]): void {
  console.log(`\ntargets (ratio of medians [median of per-iteration ratios])`);
  const largest = Math.max(...results.map((r) => r.apps));
  for (const r of results) {
    const capstan = r.records.capstan ?? [];
    const c = median(capstan.map((x) => x.ms));
    const ratio = (key: CaseKey, target: number) => {
      const list = r.records[key];
      if (!list?.length) return;
      const value = c / median(list.map((x) => x.ms));
      const paired = median(capstan.map((x, i) => x.ms / (list[i]?.ms ?? NaN)).filter(Number.isFinite));
      console.log(
        `  ${r.apps * 3} objects: capstan / ${CASE[key]}: ${value.toFixed(2)} [${paired.toFixed(2)}] (target <= ${target}): ${verdict(value <= target)}`,
      );
    };
    ratio('floor', TARGETS.floor);
    const helmTarget = r.apps >= 500 ? TARGETS.helm4qps.large : TARGETS.helm4qps.small;
    ratio('helm4qps', helmTarget);
    // What the machine allows: the control plane's own CPU for Capstan's runs, spread over every
    // core, is a wall time no tool gets under on this machine, however little it does itself.
    const clusterCpu = medianOr(capstan.map((x) => x.clusterCpuMs));
    const helm = r.records.helm4qps;
    if (clusterCpu !== undefined && helm?.length) {
      const bound = clusterCpu / availableParallelism();
      const asked = helmTarget * median(helm.map((x) => x.ms));
      console.log(
        `  ${r.apps * 3} objects: the control plane spent ${(clusterCpu / 1000).toFixed(1)} CPU-s in Capstan's runs: on ${availableParallelism()} cores no tool takes under ${(bound / 1000).toFixed(1)} s; ${helmTarget} x Helm 4 --qps 100 is ${(asked / 1000).toFixed(1)} s${bound > asked ? ' (the target is below what this machine can do)' : ''}`,
      );
    }
    const gaps = finite(capstan.map((x) => x.phases['exit gap: last object-ready event -> exit']));
    const watched = finite(capstan.map(exitGap));
    if (gaps.length)
      console.log(
        `  ${r.apps * 3} objects: capstan exit after its last object-ready event: ${median(gaps).toFixed(0)} ms (bench's watch: ${watched.length ? median(watched).toFixed(0) : '-'} ms) (target <= ${TARGETS.exitGapMs}): ${verdict(median(gaps) <= TARGETS.exitGapMs)}`,
      );
    if (r.apps === largest) {
      const rss = Math.max(...finite(capstan.map((x) => x.maxRssKib))) / 1024;
      if (Number.isFinite(rss))
        console.log(
          `  ${r.apps * 3} objects: capstan peak RSS ${rss.toFixed(0)} MiB (target <= ${TARGETS.rssMib}): ${verdict(rss <= TARGETS.rssMib)}`,
        );
    }
  }
}

await main();
