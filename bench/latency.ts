// Network distance for the benchmarks: a real toxiproxy (test/fixtures/toxiproxy.ts) between every
// tool and each API server, with a latency toxic of half the round trip on each direction
// (upstream: client to server, downstream: server to client). At 0 ms the tools still go through
// the proxy, without a toxic, so the two figures differ only by the delay. The bench's own
// observers, its namespace cleanup and /metrics use the admin kubeconfig directly.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeClient } from '../src/kube/index.js';
import type { ClusterInfo } from '../test/cluster/cluster.js';
import { kubeconfigThrough, startToxiproxy, type Proxy, type Toxiproxy } from '../test/fixtures/toxiproxy.js';
import { median } from './harness.js';

const run = promisify(execFile);

/**
 * The round trips to measure at, in ms: `--rtt 0,50` (or `--rtt=0,50`) on the command line, else
 * RTT=0,50 in the environment, else `fallback`.
 */
export function roundTrips(
  fallback: readonly number[],
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): number[] {
  const at = argv.findIndex((a) => a === '--rtt' || a.startsWith('--rtt='));
  const text = at === -1 ? env.RTT : argv[at].includes('=') ? argv[at].slice(6) : argv[at + 1];
  if (text === undefined) return [...fallback];
  const values = text.split(',').map((v) => Number(v.trim().replace(/ms$/, '')));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0))
    throw new Error(`--rtt wants round trips in ms separated by commas, such as 0,50; got "${text}"`);
  return values;
}

/** One API server behind a proxy, and a kubeconfig that reaches it through the proxy. */
export interface LatencyPath {
  readonly proxy: Proxy;
  /** The admin kubeconfig pointed at the proxy: what every tool is given. */
  readonly kubeconfig: string;
  /** The admin kubeconfig as the cluster wrote it: the bench's own observers and /metrics. */
  readonly direct: string;
}

export interface Latency {
  readonly paths: readonly LatencyPath[];
  /** Sets the round trip of every path: `ms / 2` of latency on each direction (none at 0). */
  setRoundTrip(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts one toxiproxy and a proxy per cluster; kubeconfigs through them are written to `dir`. */
export async function startLatency(clusters: readonly ClusterInfo[], dir: string): Promise<Latency> {
  const toxiproxy: Toxiproxy = await startToxiproxy();
  try {
    const paths: LatencyPath[] = [];
    for (const info of clusters) {
      const proxy = await toxiproxy.createProxy(`api-${info.name}`, info.server);
      const kubeconfig = kubeconfigThrough(
        info.kubeconfig,
        proxy.url,
        join(dir, `${info.name}-proxied.kubeconfig`),
      );
      paths.push({ proxy, kubeconfig, direct: info.kubeconfig });
    }
    return {
      paths,
      async setRoundTrip(ms) {
        await toxiproxy.reset();
        if (ms <= 0) return;
        for (const { proxy } of paths) {
          await proxy.addToxic({ type: 'latency', attributes: { latency: ms / 2 } }, { stream: 'upstream' });
          await proxy.addToxic(
            { type: 'latency', attributes: { latency: ms / 2 } },
            { stream: 'downstream' },
          );
        }
      },
      stop: () => toxiproxy.stop(),
    };
  } catch (error) {
    await toxiproxy.stop();
    throw error;
  }
}

/** Median ms of `count` sequential GETs of /version on one kept-alive connection (after one to connect). */
async function timeGets(kubeconfig: string, count: number): Promise<number> {
  const client = await KubeClient.connect({ kubeconfig, userAgent: 'bench-observer', maxSockets: 1 });
  try {
    await client.getPath('/version');
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await client.getPath('/version');
      times.push(performance.now() - t);
    }
    return median(times);
  } finally {
    client.close();
  }
}

/**
 * Checks that the proxy adds the round trip it is meant to: the median of 15 GETs of /version
 * through it, minus the median of 15 sent directly, on connections already open.
 */
export async function measuredRoundTrip(path: LatencyPath): Promise<{ directMs: number; proxiedMs: number }> {
  const directMs = await timeGets(path.direct, 15);
  const proxiedMs = await timeGets(path.kubeconfig, 15);
  return { directMs, proxiedMs };
}

/**
 * Requests read from the API server's apiserver_request_total, keyed `VERB resource` (`APPLY
 * dry-run deployments`): cluster-wide, so they include the control plane's own reads, but not its
 * writes to what it manages itself (below).
 */
export type RequestCounts = Record<string, number>;

/**
 * Resources the control plane writes on its own while Deployments roll out (the controllers, the
 * scheduler, kwok's kubelets, the Service IP allocator, leader election and node heartbeats): their
 * writes are not any tool's. Capstan's lock is a Lease too: its writes are not counted here.
 */
const CONTROL_PLANE_WRITES = new Set([
  'pods',
  'replicasets',
  'endpointslices',
  'endpoints',
  'events',
  'nodes',
  'ipaddresses',
  'leases',
  'controllerrevisions',
]);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);

/** Parses the text exposition of /metrics into counts by verb and resource, filtered as above. */
export function parseRequestCounts(metrics: string): RequestCounts {
  const out: RequestCounts = {};
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels: Record<string, string> = Object.fromEntries(
      [...line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    const value = Number(line.slice(close + 1).trim());
    if (labels.subresource || !Number.isFinite(value)) continue;
    if (WRITES.has(labels.verb) && CONTROL_PLANE_WRITES.has(labels.resource)) continue;
    const key = `${labels.verb}${labels.dry_run ? ' dry-run' : ''} ${labels.resource || '(non-resource)'}`;
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

/** GET /metrics with the admin kubeconfig, directly (kubectl get --raw), as request counts. */
export async function readRequestCounts(kubectl: string, kubeconfig: string): Promise<RequestCounts> {
  const { stdout } = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], {
    maxBuffer: 256 << 20,
  });
  return parseRequestCounts(stdout);
}

export function countsSince(before: RequestCounts, after: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [key, n] of Object.entries(after)) {
    const d = n - (before[key] ?? 0);
    if (d > 0) out[key] = d;
  }
  return out;
}

/** The sum over resources of one verb (`APPLY`, `APPLY dry-run`), or only over `resources`. */
export function countOf(counts: RequestCounts, verb: string, resources?: readonly string[]): number {
  let sum = 0;
  for (const [key, n] of Object.entries(counts)) {
    const space = key.lastIndexOf(' ');
    if (key.slice(0, space) === verb && (!resources || resources.includes(key.slice(space + 1)))) sum += n;
  }
  return sum;
}

/** The verbs the tables print, in this order. */
export const VERBS = [
  'APPLY',
  'APPLY dry-run',
  'PATCH',
  'POST',
  'PUT',
  'DELETE',
  'GET',
  'LIST',
  'WATCH',
] as const;

/** `APPLY 306, APPLY dry-run 306, GET 3`: the verbs with a count, in table order, then any other. */
export function formatCounts(counts: RequestCounts): string {
  const verbs = new Set(Object.keys(counts).map((k) => k.slice(0, k.lastIndexOf(' '))));
  const order = [
    ...VERBS.filter((v) => verbs.has(v)),
    ...[...verbs].filter((v) => !(VERBS as readonly string[]).includes(v)),
  ];
  return order.map((v) => `${v} ${countOf(counts, v)}`).join(', ') || 'none';
}
