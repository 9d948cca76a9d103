// Capstan's requests in time order at a distance: where a deploy waits for round trips one after
// another. Starts a local control plane with an audit log (stopped at the end), puts a toxiproxy
// with the round trip between Capstan and it, deploys N apps three times into one namespace (first
// deploy, image-only redeploy, unchanged redeploy) and prints, per deploy, Capstan's events (except
// per-object ones) and every request it sent, as the audit log has them: when the API server
// received it (ms after the spawn), how long the server took, verb and path (runs of the same
// request to the app's objects folded into one line, `... xN`).
// Run: node --import tsx bench/request-timeline.ts   (APPS=30, RTT=50 ms, BENCH_CLUSTER=bench-timeline)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, stopCluster } from '../test/cluster/cluster.js';
import { prepareCapstanCli } from './capstan-cli.js';
import { BENCH_ENV, writeCapstanApp, writeCapstanConfig } from './deploy-fixture.js';
import { startLatency, type Latency } from './latency.js';

const APPS = Number(process.env.APPS ?? 30);
const RTT = Number(process.env.RTT ?? 50);
const CLUSTER = process.env.BENCH_CLUSTER ?? 'bench-timeline';
const DEPLOYS = [
  ['first deploy', 'example.com/app:1'],
  ['image-only redeploy', 'example.com/app:2'],
  ['unchanged redeploy', 'example.com/app:2'],
] as const;
const PER_OBJECT_EVENTS = new Set([
  'object-applied',
  'object-ready',
  'object-progress',
  'object-waiting',
  'log',
]);

interface AuditLine {
  userAgent?: string;
  verb: string;
  requestURI: string;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** Capstan's requests received within [from, to], in order, as lines; repeats to the app's objects folded. */
function timeline(auditLog: string, from: number, to: number): string[] {
  const mine = readFileSync(auditLog, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as AuditLine)
    .filter((l) => (l.userAgent ?? '').startsWith('capstan'))
    .map((l) => ({ ...l, at: Date.parse(l.requestReceivedTimestamp) }))
    .filter((l) => l.at >= from && l.at <= to)
    .sort((a, b) => a.at - b.at);
  const out: string[] = [];
  let last = '';
  let repeats = 0;
  const flush = () => {
    if (repeats) out.push(`      ... x${repeats + 1}`);
    repeats = 0;
  };
  for (const l of mine) {
    const what = `${l.verb} ${l.requestURI.replace(/\/app-\d+/, '/app-N').replace(/resourceVersion=\d+/, 'rv')}`;
    if (what === last) {
      repeats++;
      continue;
    }
    flush();
    last = what;
    const server = Date.parse(l.stageTimestamp) - l.at;
    out.push(`  +${String(l.at - from).padStart(6)} ${String(server).padStart(5)} ms  ${what.slice(0, 140)}`);
  }
  flush();
  return out;
}

async function main(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cli = prepareCapstanCli(root, (line) => console.log(`  ${line}`));
  const work = mkdtempSync(join(tmpdir(), 'capstan-bench-timeline-'));
  const auditLog = join(work, 'audit.log');
  let latency: Latency | undefined;
  try {
    const info = await startCluster({ name: CLUSTER, log: () => {}, auditLog });
    latency = await startLatency([info], work);
    await latency.setRoundTrip(RTT);
    const app = join(work, 'app');
    writeCapstanApp(app, APPS);
    writeCapstanConfig(app, 'timeline');
    console.log(`${APPS * 3} objects, ${RTT} ms round trip; +ms after the spawn, server time, request`);
    for (const [label, image] of DEPLOYS) {
      const from = Date.now();
      const args = ['--kubeconfig', latency.paths[0].kubeconfig, '--cwd', app, 'deploy', BENCH_ENV];
      const out = execFileSync(process.execPath, [cli.script, ...args, '--image', image, '-o', 'json'], {
        env: cli.env,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      const to = Date.now();
      // The audit log is written as requests complete: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      console.log(`\n### ${label}: ${to - from} ms`);
      for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
        const event = JSON.parse(line) as { type: string; time: string };
        if (!PER_OBJECT_EVENTS.has(event.type))
          console.log(`  +${String(Date.parse(event.time) - from).padStart(6)} event ${event.type}`);
      }
      for (const line of timeline(auditLog, from, to)) console.log(line);
    }
  } finally {
    await latency?.stop();
    await stopCluster(CLUSTER);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
