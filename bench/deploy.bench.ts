// Deploys N apps (one ConfigMap, Service and Deployment each: 300 objects at 100 apps, 1,500 at 500)
// and waits until every Deployment is rolled out, with Capstan and the tools people would pick
// instead, each into a fresh namespace, at each network round trip asked for. Per tool and
// repetition, three deploys into the same namespace, one after the other:
//   first:     a first deploy (the namespace is new, every object is created);
//   image:     an image-only redeploy (every Deployment's image changes, nothing else);
//   unchanged: the same redeploy again (nothing changes).
// The tools: capstan deploy (compiled, a separate process, -o json); the floor: bench/floor-apply.ts
// compiled and bundled as Capstan is (server-side apply of everything, 32 at a time, one watch);
// kubectl apply -f DIR, then ONE kubectl wait --for=condition=Available deployment --all; Helm 4 and
// Helm 3 (built from their Go modules, bench/build-peers.sh): helm install --wait, then helm upgrade
// --wait, with their defaults and with --qps 100 (client-side throttling lifted); the same objects
// as a chart. Every tool talks to the API server through a toxiproxy (bench/latency.ts) adding the
// round trip; the bench's own watch, cleanup and /metrics go directly.
// Prints per round trip, size and deploy: medians, ratios, peak RSS, how long after the last
// Deployment became available each exits (first deploys), the requests each sent (the audit log,
// by user agent) and the API server's request counts by verb (/metrics, before and after each
// deploy), how Capstan grows with size, and where Capstan's time goes (from its JSON events).
// Run: node --import tsx bench/deploy.bench.ts [--rtt 0,50]   (round trips in ms, default 0,50;
// RUNS=3, APPS=100,500 the sizes, DEPLOYS=first,image,unchanged, HELM_DEFAULTS_UP_TO=100 runs Helm
// without --qps only up to that many apps (87 s at 100 apps), CASES=capstan,floor picks cases,
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
import { deleteNamespaceAndWait, median, timeCommand, type Measured } from './harness.js';
import {
  countOf,
  countsSince,
  formatCounts,
  measuredRoundTrip,
  readRequestCounts,
  roundTrips,
  startLatency,
  type Latency,
  type RequestCounts,
} from './latency.js';
import { helmVersion, preparePeers } from './peers.js';

const RUNS = Number(process.env.RUNS ?? 3);
const SIZES = (process.env.APPS ?? '100,500').split(',').map(Number);
const RTTS = roundTrips([0, 50]);
const HELM_DEFAULTS_UP_TO = Number(process.env.HELM_DEFAULTS_UP_TO ?? 100);
const PICKED = (process.env.CASES ?? '').split(',').filter(Boolean);
const DEPLOYS = ['first', 'image', 'unchanged'] as const;
type Deploy = (typeof DEPLOYS)[number];
/** The redeploys need the deploys before them: a pick only leaves out what comes after. */
const PICKED_DEPLOYS = DEPLOYS.slice(
  0,
  Math.max(
    1,
    ...(process.env.DEPLOYS ?? 'unchanged').split(',').map((d) => DEPLOYS.indexOf(d as Deploy) + 1),
  ),
);
const DEPLOY_LABEL: Record<Deploy, string> = {
  first: 'first deploy',
  image: 'image-only redeploy',
  unchanged: 'unchanged redeploy',
};
/** The image of each deploy: the redeploys change only the image, then nothing. */
const IMAGE: Record<Deploy, string> = {
  first: 'example.com/app:1',
  image: 'example.com/app:2',
  unchanged: 'example.com/app:2',
};
/** The issue's targets (issue 30) at a distance; at 0 ms those of before it. */
const TARGETS = {
  floor: { near: 1.15, far: 1.1 },
  helm4qps: { small: 0.6, large: 0.5, far: 0.5 },
  exitGapMs: 250,
  rssMib: 130,
  imageVsFloor: 0.5,
  unchangedVsFloor: 0.3,
  /** Image-only redeploy: applies and dry runs within 10% of the number of Deployments. */
  imageRequestSlack: 1.1,
};
const CASE = {
  capstan: 'capstan deploy',
  floor: 'floor (compiled): SSA + one watch',
  kubectl: 'kubectl apply + one kubectl wait',
  helm4: 'helm 4 install/upgrade --wait',
  helm4qps: 'helm 4 install/upgrade --wait --qps 100',
  helm3: 'helm 3 install/upgrade --wait',
  helm3qps: 'helm 3 install/upgrade --wait --qps 100',
} as const;
type CaseKey = keyof typeof CASE;
/** The kinds of the app's objects, as /metrics names their resources. */
const APP_RESOURCES = ['configmaps', 'services', 'deployments'];

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
  /** When the bench's own watch saw the last Deployment available (first deploys). */
  lastAvailableAt?: number;
  /** Requests the tool sent during the run (audit log, by user agent). */
  requests?: number;
  /** The API server's request counts during the run (/metrics, cluster-wide). */
  counts?: RequestCounts;
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

/** One deploy of each kind, per tool: results keyed by deploy, then case. */
type Records = Record<Deploy, Partial<Record<CaseKey, RunRecord[]>>>;

interface SizeResult {
  apps: number;
  rtt: number;
  records: Records;
}

/** What every tool's runs share within one size and round trip. */
interface Bench {
  readonly work: string;
  readonly apps: number;
  readonly rtt: number;
  readonly info: ClusterInfo;
  /** Through the proxy: what the tools are given. */
  readonly kubeconfig: string;
  readonly kubectlBin: string;
  readonly kube: KubeClient;
  readonly names: readonly string[];
  readonly measureMemory: boolean;
}

type Run = Measured & { phases?: Record<string, number> };

/** One tool: `before` prepares a deploy off the clock, `run` is timed, `after` reads what it left. */
interface Tool {
  readonly key: CaseKey;
  readonly before?: (deploy: Deploy, tag: string, ns: string) => void;
  readonly run: (deploy: Deploy, tag: string, ns: string) => Promise<Run>;
  readonly after?: (deploy: Deploy, tag: string, record: RunRecord) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Times one deploy, with the API server's request counts before and after it (read directly). */
async function timedDeploy(
  b: Bench,
  tool: Tool,
  deploy: Deploy,
  tag: string,
  ns: string,
): Promise<RunRecord> {
  tool.before?.(deploy, tag, ns);
  // The first deploy's Deployments become available during the run; a redeploy's already are.
  const observer = deploy === 'first' ? new AvailabilityObserver(b.kube, ns, b.names) : undefined;
  // Let the observer's list and watch start before the clock does.
  if (observer) await sleep(200);
  const countsBefore = await readRequestCounts(b.kubectlBin, b.info.kubeconfig);
  const cpuBefore = controlPlaneCpu(b.info.runDir);
  const spawnAt = Date.now();
  const m = await tool.run(deploy, tag, ns);
  const record: RunRecord = {
    ms: m.ms,
    spawnAt,
    exitAt: Date.now(),
    maxRssKib: m.maxRssKib,
    toolCpuMs: m.cpuMs,
    clusterCpuMs: cpuSince(cpuBefore, controlPlaneCpu(b.info.runDir)),
    phases: m.phases ?? {},
  };
  record.lastAvailableAt = await observer?.lastAvailable();
  // A watch is counted when it ends: let the API server see the tool's connections close.
  await sleep(1000);
  record.counts = countsSince(countsBefore, await readRequestCounts(b.kubectlBin, b.info.kubeconfig));
  tool.after?.(deploy, tag, record);
  console.log(
    `  ${tag} ${CASE[tool.key]}: ${record.ms.toFixed(0)} ms${record.maxRssKib ? `, peak RSS ${(record.maxRssKib / 1024).toFixed(0)} MiB` : ''}; ${formatCounts(record.counts)}`,
  );
  return record;
}

function capstanTool(
  b: Bench,
  cli: ReturnType<typeof prepareCapstanCli>,
  extraArgs: readonly string[],
): Tool {
  const appDir = join(b.work, `app-${b.apps}`);
  const events = (tag: string) => join(b.work, `capstan-${tag}.jsonl`);
  return {
    key: 'capstan',
    before: (deploy, _tag, ns) => {
      if (deploy === 'first') writeCapstanConfig(appDir, ns);
    },
    run: (deploy, tag) => {
      const args = [cli.script, '--kubeconfig', b.kubeconfig, '--cwd', appDir, 'deploy', BENCH_ENV];
      args.push('--image', IMAGE[deploy], '-o', 'json', ...extraArgs);
      // sh only redirects stdout to the events file, then becomes node (exec): GNU time measures node.
      return timeCommand(
        '/bin/sh',
        ['-c', 'out="$1"; shift; exec "$@" > "$out"', 'sh', events(tag), process.execPath, ...args],
        { env: cli.env, measureMemory: b.measureMemory },
      );
    },
    after: (_deploy, tag, record) => {
      record.phases = capstanBreakdown(readEvents(events(tag)), record);
    },
  };
}

function floorTool(b: Bench, floorScript: string): Tool {
  const dir = (tag: string) => join(b.work, `plain-floor-${tag}`);
  return {
    key: 'floor',
    before: (deploy, tag, ns) => writePlainManifests(dir(tag), b.apps, IMAGE[deploy], ns),
    run: async (_deploy, tag) => {
      const report = join(b.work, `floor-${tag}.json`);
      const spawnAt = Date.now();
      const args = [floorScript, '--kubeconfig', b.kubeconfig, '--report', report, dir(tag)];
      const m = await timeCommand(process.execPath, args, { measureMemory: b.measureMemory });
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
          'applied -> all Deployments rolled out': r.availableAt - r.appliedAt,
          'all rolled out -> process exit': exitAt - r.availableAt,
        },
      };
    },
  };
}

function kubectlTool(b: Bench): Tool {
  const dir = (tag: string) => join(b.work, `plain-kubectl-${tag}`);
  const kubectl = (args: string[]) =>
    timeCommand(b.kubectlBin, ['--kubeconfig', b.kubeconfig, ...args], { measureMemory: b.measureMemory });
  return {
    key: 'kubectl',
    before: (deploy, tag, ns) => writePlainManifests(dir(tag), b.apps, IMAGE[deploy], ns),
    run: async (_deploy, tag, ns) => {
      const t = performance.now();
      const apply = await kubectl(['apply', '-f', dir(tag)]);
      const applied = performance.now();
      const wait = await kubectl([
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
        cpuMs: apply.cpuMs === undefined || wait.cpuMs === undefined ? undefined : apply.cpuMs + wait.cpuMs,
        phases: {
          'kubectl apply -f DIR': applied - t,
          'kubectl wait --for=condition=Available deployment --all': ms - (applied - t),
        },
      };
    },
  };
}

function helmTool(
  b: Bench,
  key: CaseKey,
  bin: string | undefined,
  qps: boolean,
  helmEnv: NodeJS.ProcessEnv,
): Tool {
  return {
    key,
    run: (deploy, _tag, ns) =>
      timeCommand(
        bin ?? 'helm',
        [
          ...(deploy === 'first'
            ? ['install', 'bench', chartOf(b, deploy), '--create-namespace']
            : ['upgrade', 'bench', chartOf(b, deploy)]),
          '--kubeconfig',
          b.kubeconfig,
          '-n',
          ns,
          '--wait',
          '--timeout',
          '15m',
          ...(qps ? ['--qps', '100'] : []),
        ],
        { env: helmEnv, measureMemory: b.measureMemory },
      ),
  };
}

/** The chart of a deploy's image (charts hold their image: the same objects as the plain manifests). */
const chartOf = (b: Bench, deploy: Deploy) => join(b.work, `chart-${b.apps}-${IMAGE[deploy].split(':')[1]}`);

/** Every picked tool, each repetition: its deploys one after the other into a fresh namespace, then the namespace deleted. */
async function runSize(b: Bench, tools: readonly Tool[]): Promise<Records> {
  const records: Records = { first: {}, image: {}, unchanged: {} };
  for (let i = 0; i < RUNS; i++) {
    for (const tool of tools) {
      const ns = `b${b.apps}-${tool.key}-${b.rtt}ms-${i}`;
      try {
        for (const deploy of PICKED_DEPLOYS) {
          const tag = `${b.apps}-${b.rtt}ms-${i}-${deploy}`;
          const record = await timedDeploy(b, tool, deploy, tag, ns);
          (records[deploy][tool.key] ??= []).push(record);
        }
      } finally {
        // Waited for, off the clock: the next case starts on a quiet cluster.
        await deleteNamespaceAndWait(b.kube, ns);
      }
    }
  }
  // The requests each run sent, from the audit log (its watches are logged when they end).
  await sleep(2000);
  for (const byCase of Object.values(records))
    for (const list of Object.values(byCase))
      for (const r of list) r.requests = countRequests(auditLogOf(b), r.spawnAt, r.exitAt).total;
  return records;
}

const auditLogOf = (b: Bench) => join(b.work, 'audit.log');

function toolsFor(
  b: Bench,
  made: {
    cli: ReturnType<typeof prepareCapstanCli>;
    floorScript: string;
    peers: ReturnType<typeof preparePeers>;
    helmEnv: NodeJS.ProcessEnv;
    extraArgs: readonly string[];
  },
): Tool[] {
  const wanted = (key: CaseKey) =>
    (PICKED.length === 0 || PICKED.includes(key) || key === 'capstan') &&
    ((key !== 'helm4' && key !== 'helm3') || b.apps <= HELM_DEFAULTS_UP_TO);
  const all: Tool[] = [
    capstanTool(b, made.cli, made.extraArgs),
    floorTool(b, made.floorScript),
    kubectlTool(b),
    helmTool(b, 'helm4qps', made.peers.helm4, true, made.helmEnv),
    helmTool(b, 'helm3qps', made.peers.helm3, true, made.helmEnv),
    helmTool(b, 'helm4', made.peers.helm4, false, made.helmEnv),
    helmTool(b, 'helm3', made.peers.helm3, false, made.helmEnv),
  ];
  return all.filter((t) => wanted(t.key));
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
    `deploy benchmark: ${SIZES.map((a) => `${a * 3} objects`).join(' and ')} at ${RTTS.map((r) => `${r} ms`).join(' and ')} round trip; ${PICKED_DEPLOYS.map((d) => DEPLOY_LABEL[d]).join(', ')}; ${RUNS} runs per case`,
  );
  console.log(`capstan runs as: ${cli.description}, ${revision}`);
  console.log(`floor runs as: node ${floorScript} (tsc output, no tsx)`);
  for (const [name, bin] of Object.entries(peers) as [string, string][])
    console.log(`${name}: ${helmVersion(bin)} (${bin})`);
  const measureMemory = process.platform === 'linux' && existsSync('/usr/bin/time');
  if (!measureMemory)
    console.log('note: /usr/bin/time (GNU time) is missing, so peak memory is not measured');
  const extraArgs = (process.env.CAPSTAN_EXTRA_ARGS ?? '').split(/\s+/).filter(Boolean);
  if (extraArgs.length) console.log(`capstan extra arguments: ${extraArgs.join(' ')}`);

  const work = mkdtempSync(join(tmpdir(), 'capstan-bench-deploy-'));
  const clusterName = process.env.BENCH_CLUSTER ?? 'bench-deploy';
  let cluster: ClusterInfo | undefined;
  let client: KubeClient | undefined;
  let latency: Latency | undefined;
  const results: SizeResult[] = [];
  try {
    const started = performance.now();
    cluster = await startCluster({ name: clusterName, log, auditLog: join(work, 'audit.log') });
    console.log(
      `local control plane "${clusterName}" ready in ${((performance.now() - started) / 1000).toFixed(1)} s, audit log ${join(work, 'audit.log')}`,
    );
    const info = cluster;
    latency = await startLatency([info], work);
    // The observer's requests are told apart from the tools' by its user agent.
    const kube = await KubeClient.connect({ kubeconfig: info.kubeconfig, userAgent: 'bench-observer' });
    client = kube;
    // Helm keeps its caches and settings here, not in the home folder.
    const helmEnv = {
      ...process.env,
      HELM_CACHE_HOME: join(work, 'helm', 'cache'),
      HELM_CONFIG_HOME: join(work, 'helm', 'config'),
      HELM_DATA_HOME: join(work, 'helm', 'data'),
    };
    for (const apps of SIZES) {
      // Every pod fits, with room to spare (a rolling update runs two pods of an app for a moment).
      const nodes = Math.max(6, Math.ceil((apps * 3) / 100));
      await addFakeNodes(info, nodes);
      writeCapstanApp(join(work, `app-${apps}`), apps);
      for (const image of new Set(Object.values(IMAGE)))
        writeChart(join(work, `chart-${apps}-${image.split(':')[1]}`), apps, image);
      for (const rtt of RTTS) {
        await latency.setRoundTrip(rtt);
        const { directMs, proxiedMs } = await measuredRoundTrip(latency.paths[0]);
        console.log(
          `\n=== ${apps} apps: ${apps * 3} objects, ${nodes} fake nodes of 110 pods; round trip ${rtt} ms: GET /version ${directMs.toFixed(1)} ms directly, ${proxiedMs.toFixed(1)} ms through the proxy (+${(proxiedMs - directMs).toFixed(1)} ms; medians of 15) ===`,
        );
        const b: Bench = {
          work,
          apps,
          rtt,
          info,
          kubeconfig: latency.paths[0].kubeconfig,
          kubectlBin: join(info.binDir, 'kubectl'),
          kube,
          names: appNames(apps),
          measureMemory,
        };
        const tools = toolsFor(b, { cli, floorScript, peers, helmEnv, extraArgs });
        const records = await runSize(b, tools);
        results.push({ apps, rtt, records });
        printResult(
          { apps, rtt, records },
          tools.map((t) => t.key),
        );
      }
    }
    for (const rtt of RTTS) printGrowth(results.filter((r) => r.rtt === rtt));
    printTargets(results);
    console.log(
      `\nload average (1 min) at start ${loadAtStart.toFixed(1)}, at end ${loadavg()[0].toFixed(1)}, on ${availableParallelism()} CPUs`,
    );
    console.log(`capstan ran as: ${cli.description}, ${revision}`);
  } finally {
    client?.close();
    await latency?.stop();
    if (cluster) await stopCluster(clusterName);
    if (process.env.KEEP) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function printResult(result: SizeResult, keys: readonly CaseKey[]): void {
  const { apps, rtt, records } = result;
  for (const deploy of PICKED_DEPLOYS) {
    printTable(`${DEPLOY_LABEL[deploy]}, ${apps * 3} objects, ${rtt} ms round trip`, keys, records[deploy]);
    printBreakdown(
      `capstan, ${DEPLOY_LABEL[deploy]}, ${apps * 3} objects, ${rtt} ms: where the time goes`,
      records[deploy].capstan ?? [],
    );
    printBreakdown(
      `floor, ${DEPLOY_LABEL[deploy]}, ${apps * 3} objects, ${rtt} ms`,
      records[deploy].floor ?? [],
    );
  }
  printBreakdown(`kubectl, first deploy, ${apps * 3} objects, ${rtt} ms`, records.first.kubectl ?? []);
}

/** One line per case: median time, capstan's ratio to it (median of per-iteration ratios too), memory, exit gap, requests. */
function printTable(
  title: string,
  keys: readonly CaseKey[],
  records: Partial<Record<CaseKey, RunRecord[]>>,
): void {
  const capstan = records.capstan ?? [];
  console.log(
    `\n${title} (medians of ${RUNS}; capstan/x: ratio of medians [median of per-iteration ratios])`,
  );
  console.log(
    `  ${'case'.padEnd(40)} ${'time'.padStart(9)} ${'capstan/x'.padStart(12)} ${'peak RSS'.padStart(9)} ${'exit gap'.padStart(9)} ${'tool CPU'.padStart(9)} ${'cluster CPU'.padStart(11)} ${'requests'.padStart(8)}  by verb (/metrics)`,
  );
  for (const key of keys) {
    const list = records[key] ?? [];
    if (list.length === 0) continue;
    const ms = median(list.map((r) => r.ms));
    const ratio = median(capstan.map((r) => r.ms)) / ms;
    const paired = median(capstan.map((r, i) => r.ms / (list[i]?.ms ?? NaN)).filter(Number.isFinite));
    const rss = Math.max(...finite(list.map((r) => r.maxRssKib)));
    const gap = medianOr(list.map(exitGap));
    const requests = medianOr(list.map((r) => r.requests));
    const seconds = (v: number | undefined) => (v === undefined ? '-' : `${(v / 1000).toFixed(1)} s`);
    console.log(
      `  ${CASE[key].padEnd(40)} ${`${(ms / 1000).toFixed(2)} s`.padStart(9)} ${(key === 'capstan' ? '' : `${ratio.toFixed(2)} [${paired.toFixed(2)}]`).padStart(12)} ${(Number.isFinite(rss) ? `${(rss / 1024).toFixed(0)} MiB` : '-').padStart(9)} ${(gap === undefined ? '-' : `${gap.toFixed(0)} ms`).padStart(9)} ${seconds(medianOr(list.map((r) => r.toolCpuMs))).padStart(9)} ${seconds(medianOr(list.map((r) => r.clusterCpuMs))).padStart(11)} ${(requests === undefined ? '-' : requests.toFixed(0)).padStart(8)}  ${formatCounts(medianCounts(list))}`,
    );
  }
}

/** The median of each count over the runs (a verb missing from a run counts 0 there). */
function medianCounts(list: readonly RunRecord[]): RequestCounts {
  const keys = new Set(list.flatMap((r) => Object.keys(r.counts ?? {})));
  return Object.fromEntries([...keys].map((k) => [k, median(list.map((r) => r.counts?.[k] ?? 0))]));
}

function printGrowth(results: readonly SizeResult[]): void {
  if (results.length < 2) return;
  console.log(`\nhow capstan grows (first deploys at ${results[0].rtt} ms, medians)`);
  const at = (r: SizeResult) => ({
    ms: median((r.records.first.capstan ?? []).map((x) => x.ms)),
    rss: Math.max(...finite((r.records.first.capstan ?? []).map((x) => x.maxRssKib))) / 1024,
    floor: medianOr((r.records.first.floor ?? []).map((x) => x.ms)),
  });
  const b = at(results[0]);
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

/** Capstan against a case in one deploy: the ratio of medians [median of per-iteration ratios], against a target. */
function ratioLine(r: SizeResult, deploy: Deploy, key: CaseKey, target: number): void {
  const capstan = r.records[deploy].capstan ?? [];
  const list = r.records[deploy][key];
  if (!list?.length || !capstan.length) return;
  const value = median(capstan.map((x) => x.ms)) / median(list.map((x) => x.ms));
  const paired = median(capstan.map((x, i) => x.ms / (list[i]?.ms ?? NaN)).filter(Number.isFinite));
  console.log(
    `  ${r.apps * 3} objects, ${r.rtt} ms, ${DEPLOY_LABEL[deploy]}: capstan / ${CASE[key]}: ${value.toFixed(2)} [${paired.toFixed(2)}] (target <= ${target}): ${verdict(value <= target)}`,
  );
}

function printTargets(results: readonly SizeResult[]): void {
  console.log(`\ntargets (ratio of medians [median of per-iteration ratios])`);
  const largest = Math.max(...results.map((r) => r.apps));
  for (const r of results) {
    const far = r.rtt > 0;
    ratioLine(r, 'first', 'floor', far ? TARGETS.floor.far : TARGETS.floor.near);
    ratioLine(
      r,
      'first',
      'helm4qps',
      far ? TARGETS.helm4qps.far : r.apps >= 500 ? TARGETS.helm4qps.large : TARGETS.helm4qps.small,
    );
    if (far) {
      ratioLine(r, 'image', 'floor', TARGETS.imageVsFloor);
      ratioLine(r, 'unchanged', 'floor', TARGETS.unchangedVsFloor);
    }
    printRequestTargets(r);
    const capstan = r.records.first.capstan ?? [];
    const gaps = finite(capstan.map((x) => x.phases['exit gap: last object-ready event -> exit']));
    const watched = finite(capstan.map(exitGap));
    if (gaps.length)
      console.log(
        `  ${r.apps * 3} objects, ${r.rtt} ms: capstan exit after its last object-ready event: ${median(gaps).toFixed(0)} ms (bench's watch: ${watched.length ? median(watched).toFixed(0) : '-'} ms) (target <= ${TARGETS.exitGapMs}): ${verdict(median(gaps) <= TARGETS.exitGapMs)}`,
      );
    if (r.apps === largest) {
      const rss = Math.max(...finite(capstan.map((x) => x.maxRssKib))) / 1024;
      if (Number.isFinite(rss))
        console.log(
          `  ${r.apps * 3} objects, ${r.rtt} ms: capstan peak RSS ${rss.toFixed(0)} MiB (target <= ${TARGETS.rssMib}): ${verdict(rss <= TARGETS.rssMib)}`,
        );
    }
  }
}

/** Redeploys: how many of the app's objects Capstan applied and dry-ran (/metrics, medians). */
function printRequestTargets(r: SizeResult): void {
  const of = (deploy: Deploy, verb: string) => {
    const list = r.records[deploy].capstan ?? [];
    return list.length ? median(list.map((x) => countOf(x.counts ?? {}, verb, APP_RESOURCES))) : undefined;
  };
  const image = [of('image', 'APPLY'), of('image', 'APPLY dry-run')];
  if (image[0] !== undefined && image[1] !== undefined) {
    const limit = Math.floor(r.apps * TARGETS.imageRequestSlack);
    console.log(
      `  ${r.apps * 3} objects, ${r.rtt} ms, image-only redeploy: capstan applied ${image[0]} and dry-ran ${image[1]} of the app's objects (${r.apps} Deployments; target <= ${limit} each): ${verdict(Math.max(image[0], image[1]) <= limit)}`,
    );
  }
  const unchanged = [of('unchanged', 'APPLY'), of('unchanged', 'APPLY dry-run')];
  if (unchanged[0] !== undefined && unchanged[1] !== undefined)
    console.log(
      `  ${r.apps * 3} objects, ${r.rtt} ms, unchanged redeploy: capstan applied ${unchanged[0]} and dry-ran ${unchanged[1]} of the app's objects (target: none applied): ${verdict(unchanged[0] === 0)}`,
    );
}

await main();
