// Failure latency: one of 50 Deployments crashloops (the fake kubelet's capstan.test/scenario:
// crashloop). Measures the time from its pod's first CrashLoopBackOff (the bench's own watch on the
// pods) to each tool's exit, and prints what each tool said:
//   capstan deploy (compiled), helm 4 install --wait --timeout T, kubectl apply + kubectl rollout
//   status deployment/<the crashing one> --timeout T (both peers wait for their timeout).
// Every tool talks to the API server through a toxiproxy adding the round trip (bench/latency.ts);
// the bench's own watch goes directly.
// Run: node --import tsx bench/failure-latency.bench.ts [--rtt 0,50]   (round trips in ms, default
// 0,50; RUNS=3, APPS=50, PEER_TIMEOUT=60s, BENCH_CLUSTER=name of the cluster it starts and stops,
// default bench-failure)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeClient } from '../src/kube/index.js';
import { at, list, type KubeObject } from '../src/shared/index.js';
import { startCluster, stopCluster, type ClusterInfo } from '../test/cluster/cluster.js';
import { prepareCapstanCli, type CapstanCli } from './capstan-cli.js';
import {
  appName,
  BENCH_ENV,
  writeCapstanApp,
  writeCapstanConfig,
  writeChart,
  writePlainManifests,
} from './deploy-fixture.js';
import { deleteNamespaceAndWait, median } from './harness.js';
import { measuredRoundTrip, roundTrips, startLatency, type Latency } from './latency.js';
import { preparePeers } from './peers.js';

const RUNS = Number(process.env.RUNS ?? 3);
const APPS = Number(process.env.APPS ?? 50);
const PEER_TIMEOUT = process.env.PEER_TIMEOUT ?? '60s';
const IMAGE = 'example.com/app:1';
const RTTS = roundTrips([0, 50]);
const TARGET_MS = 1000;
const CRASHING = appName(Math.floor(APPS / 2));
const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(`  ${line}`);

/** Marks the crashing app's pod template in every file that holds it (Capstan app, manifests, chart). */
function makeCrash(file: string): void {
  const text = readFileSync(file, 'utf8');
  const marked = text.replace(
    `      labels: { app: ${CRASHING} }`,
    `      labels: { app: ${CRASHING}, capstan.test/scenario: crashloop }`,
  );
  if (marked === text) throw new Error(`no pod template of ${CRASHING} in ${file}`);
  writeFileSync(file, marked);
}

/** Resolves with the instant a pod of the namespace first shows CrashLoopBackOff. */
function firstCrashLoop(client: KubeClient, namespace: string, signal: AbortSignal): Promise<number> {
  const crashing = (pod: KubeObject) =>
    list(at(pod, 'status', 'containerStatuses')).some(
      (s) => at(s, 'state', 'waiting', 'reason') === 'CrashLoopBackOff',
    );
  return (async () => {
    for (;;) {
      const listed = await client.list('v1', 'Pod', { namespace, signal });
      if (listed.items.some(crashing)) return Date.now();
      for await (const event of client.watch('v1', 'Pod', {
        namespace,
        resourceVersion: listed.resourceVersion,
        signal,
      })) {
        if (event.type === 'ERROR') break;
        if ((event.type === 'ADDED' || event.type === 'MODIFIED') && crashing(event.object))
          return Date.now();
      }
    }
  })();
}

interface Exit {
  code: number | null;
  exitAt: number;
  output: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, exitAt: Date.now(), output }));
  });
}

/** The app, the chart and the manifests with one crashing app, and how each tool deploys them into a namespace. */
function failureTools(
  work: string,
  info: ClusterInfo,
  kubeconfig: string,
  cli: CapstanCli,
  helm4: string | undefined,
): Record<string, (ns: string, i: number) => Promise<Exit>> {
  const appDir = join(work, 'app');
  writeCapstanApp(appDir, APPS);
  makeCrash(join(appDir, '.deploy', BENCH_ENV, '30-deployment', `${CRASHING}.yaml.ejs`));
  const chartDir = join(work, 'chart');
  writeChart(chartDir, APPS, IMAGE);
  makeCrash(join(chartDir, 'templates', `${CRASHING}.yaml`));
  const kubectlBin = join(info.binDir, 'kubectl');
  const helmEnv = {
    ...process.env,
    HELM_CACHE_HOME: join(work, 'helm'),
    HELM_CONFIG_HOME: join(work, 'helm'),
  };

  return {
    'capstan deploy': (ns) => {
      writeCapstanConfig(appDir, ns);
      return run(
        process.execPath,
        [
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
          'plain',
        ],
        cli.env,
      );
    },
    [`helm 4 install --wait --timeout ${PEER_TIMEOUT}`]: (ns) =>
      run(
        helm4 ?? 'helm',
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
          PEER_TIMEOUT,
        ],
        helmEnv,
      ),
    [`kubectl apply + rollout status --timeout ${PEER_TIMEOUT}`]: async (ns, i) => {
      const dir = join(work, `plain-${i}`);
      writePlainManifests(dir, APPS, IMAGE, ns);
      makeCrash(join(dir, `${CRASHING}.yaml`));
      const applied = await run(kubectlBin, ['--kubeconfig', kubeconfig, 'apply', '-f', dir]);
      if (applied.code !== 0) return applied;
      return run(kubectlBin, [
        '--kubeconfig',
        kubeconfig,
        'rollout',
        'status',
        `deployment/${CRASHING}`,
        '-n',
        ns,
        `--timeout=${PEER_TIMEOUT}`,
      ]);
    },
  };
}

/** Every tool RUNS times at one round trip, interleaved; each run in a namespace of its own, deleted after. */
async function runAll(
  rtt: number,
  kube: KubeClient,
  tools: Record<string, (ns: string, i: number) => Promise<Exit>>,
  latencies: Record<string, number[]>,
  said: Record<string, string>,
): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    for (const [t, [tool, deployWith]] of Object.entries(tools).entries()) {
      const name = `${tool}, ${rtt} ms`;
      const ns = `fail-${t}-${rtt}ms-${i}`;
      const watch = new AbortController();
      const crash = firstCrashLoop(kube, ns, watch.signal).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exit = await deployWith(ns, i);
      // The tool may exit before the bench's watch saw the pod: give it a moment.
      const crashAt = await Promise.race([
        crash,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000)),
      ]);
      watch.abort();
      const latency = crashAt === undefined ? NaN : exit.exitAt - crashAt;
      (latencies[name] ??= []).push(latency);
      said[name] = `exit ${exit.code}: ${exit.output.trim().split('\n').slice(-8).join('\n    ')}`;
      console.log(
        `  run ${i + 1}/${RUNS} ${name}: exit ${exit.code}, ${Number.isNaN(latency) ? 'no CrashLoopBackOff seen' : `${latency} ms after the first CrashLoopBackOff`}`,
      );
      // Off the clock: the next tool starts on a quiet cluster.
      await deleteNamespaceAndWait(kube, ns);
    }
  }
}

function printLatencies(latencies: Record<string, number[]>, said: Record<string, string>): void {
  console.log(`\nfirst CrashLoopBackOff -> exit (median of ${RUNS}; per run)`);
  for (const [name, values] of Object.entries(latencies)) {
    const m = median(values.filter(Number.isFinite));
    const target = name.startsWith('capstan')
      ? ` (target <= ${TARGET_MS} ms): ${m <= TARGET_MS ? 'meets target' : 'MISSES target'}`
      : '';
    console.log(
      `  ${name.padEnd(56)} ${m.toFixed(0).padStart(7)} ms  [${values.map((v) => v.toFixed(0)).join(', ')}]${target}`,
    );
  }
  console.log(`\nwhat each printed last (last run)`);
  for (const [name, text] of Object.entries(said)) console.log(`  ${name}: ${text}`);
}

async function main(): Promise<void> {
  const cli = prepareCapstanCli(root, log);
  const peers = preparePeers(root, log, ['helm4']);
  const work = mkdtempSync(join(tmpdir(), 'capstan-bench-failure-'));
  const clusterName = process.env.BENCH_CLUSTER ?? 'bench-failure';
  console.log(
    `failure latency: ${APPS} Deployments, ${CRASHING} crashloops; peers time out after ${PEER_TIMEOUT}; ${RUNS} runs each, interleaved`,
  );
  let cluster: ClusterInfo | undefined;
  let client: KubeClient | undefined;
  let latency: Latency | undefined;
  const latencies: Record<string, number[]> = {};
  const said: Record<string, string> = {};
  try {
    cluster = await startCluster({ name: clusterName, log });
    const info = cluster;
    const kube = await KubeClient.connect({ kubeconfig: info.kubeconfig, userAgent: 'bench-observer' });
    client = kube;
    latency = await startLatency([info], work);
    const { kubeconfig } = latency.paths[0];
    const tools = failureTools(work, info, kubeconfig, cli, peers.helm4);

    for (const rtt of RTTS) {
      await latency.setRoundTrip(rtt);
      const { directMs, proxiedMs } = await measuredRoundTrip(latency.paths[0]);
      console.log(
        `\n=== round trip ${rtt} ms: GET /version ${directMs.toFixed(1)} ms directly, ${proxiedMs.toFixed(1)} ms through the proxy (medians of 15) ===`,
      );
      await runAll(rtt, kube, tools, latencies, said);
    }
    printLatencies(latencies, said);
    console.log(`\nload average (1 min) at the end ${loadavg()[0].toFixed(1)}`);
  } finally {
    client?.close();
    await latency?.stop();
    if (cluster) await stopCluster(clusterName);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
