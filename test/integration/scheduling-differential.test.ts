// The preflight against the real kube-scheduler: random small clusters (kwok nodes with random
// capacities, zones, labels, taints; random running pods) and a random set of identical pods; the
// preflight's verdict for each pod (fits, or the scheduler's message) is compared with what the
// control plane's scheduler does when the pods are created. Cases run one after another: each
// case's pods select its own nodes by a label, which leaves the other nodes failing NodeAffinity
// in both verdicts and changes nothing else (spread domains honour node affinity by default).
//   CAPSTAN_DIFFERENTIAL_CASES=500 CAPSTAN_DIFFERENTIAL_SEED=1 ... this file
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planPreflight, readSnapshot } from '../../src/audit/scheduling/index.js';
import { KubeClient } from '../../src/kube/index.js';
import type { KubeObject } from '../../src/shared/index.js';
import { testCluster } from './helpers.js';

const CASES = Number(process.env.CAPSTAN_DIFFERENTIAL_CASES ?? 40);
const SEED = Number(process.env.CAPSTAN_DIFFERENTIAL_SEED ?? 20261201);
const CASE_LABEL = 'capstan.test/case';
const ZONE = 'topology.kubernetes.io/zone';

const taintArb = fc.record({
  key: fc.constantFrom('dedicated', 'gpu'),
  value: fc.constantFrom('x', 'y'),
  effect: fc.constantFrom('NoSchedule', 'NoExecute', 'PreferNoSchedule'),
});

export const caseArb = fc.record({
  nodes: fc.array(
    fc.record({
      cpu: fc.constantFrom('1', '2', '4', '1500m'),
      memory: fc.constantFrom('1Gi', '2Gi', '4Gi'),
      pods: fc.constantFrom('2', '4', '110', '110'),
      zone: fc.constantFrom('dz-a', 'dz-b', 'dz-c', undefined),
      disk: fc.constantFrom('ssd', 'hdd'),
      taint: fc.option(taintArb, { freq: 3, nil: undefined }),
      cordon: fc.integer({ min: 0, max: 9 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  running: fc.array(
    fc.record({
      node: fc.nat(),
      cpu: fc.constantFrom(undefined, '250m', '500m', '1'),
      memory: fc.constantFrom(undefined, '256Mi', '1Gi'),
      app: fc.constantFrom('db', 'cache'),
      hostPort: fc.option(fc.constant(8080), { freq: 4, nil: undefined }),
      antiAffinity: fc.option(fc.constantFrom('kubernetes.io/hostname', ZONE), { freq: 4, nil: undefined }),
    }),
    { maxLength: 6 },
  ),
  workload: fc.record({
    replicas: fc.integer({ min: 1, max: 6 }),
    cpu: fc.constantFrom(undefined, '100m', '500m', '1', '1500m', '3'),
    memory: fc.constantFrom(undefined, '128Mi', '512Mi', '1536Mi', '3Gi'),
    initCpu: fc.option(fc.constantFrom('2', '4'), { freq: 5, nil: undefined }),
    nodeSelector: fc.option(fc.constantFrom('ssd', 'hdd'), { freq: 3, nil: undefined }),
    tolerate: fc.option(fc.constantFrom('dedicated', 'gpu', '*'), { freq: 3, nil: undefined }),
    spread: fc.option(
      fc.record({
        key: fc.constantFrom('kubernetes.io/hostname', ZONE),
        maxSkew: fc.constantFrom(1, 2),
        when: fc.constantFrom('DoNotSchedule', 'DoNotSchedule', 'ScheduleAnyway'),
        minDomains: fc.option(fc.constantFrom(2, 3, 4), { freq: 3, nil: undefined }),
      }),
      { freq: 2, nil: undefined },
    ),
    antiSelf: fc.option(fc.constantFrom('kubernetes.io/hostname', ZONE), { freq: 4, nil: undefined }),
    affinityTo: fc.option(fc.constantFrom('db', 'cache'), { freq: 5, nil: undefined }),
    hostPort: fc.option(fc.constant(8080), { freq: 5, nil: undefined }),
  }),
});

export type DifferentialCase = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const resources = (cpu?: string, memory?: string) => ({
  requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) },
});

/** The case's objects: nodes, running pods (bound by nodeName) and the pods to schedule, in order. */
export function caseObjects(c: DifferentialCase, id: string, namespace: string) {
  const nodes: KubeObject[] = c.nodes.map((n, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `${id}-${i}`,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': `${id}-${i}`,
        type: 'kwok',
        disk: n.disk,
        [CASE_LABEL]: id,
        ...(n.zone ? { [ZONE]: n.zone } : {}),
      },
    },
    spec: {
      ...(n.taint ? { taints: [n.taint] } : {}),
      ...(n.cordon === 0 ? { unschedulable: true } : {}),
    },
    status: {
      allocatable: { cpu: n.cpu, memory: n.memory, pods: n.pods, 'ephemeral-storage': '10Gi' },
      capacity: { cpu: n.cpu, memory: n.memory, pods: n.pods, 'ephemeral-storage': '10Gi' },
    },
  }));
  const running: KubeObject[] = c.running.map((r, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `running-${i}`, namespace, labels: { app: r.app } },
    spec: {
      nodeName: `${id}-${r.node % c.nodes.length}`,
      tolerations: [{ operator: 'Exists' }],
      ...(r.antiAffinity
        ? {
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  { topologyKey: r.antiAffinity, labelSelector: { matchLabels: { app: 'web' } } },
                ],
              },
            },
          }
        : {}),
      containers: [
        {
          name: 'c',
          image: 'x',
          resources: resources(r.cpu, r.memory),
          ...(r.hostPort ? { ports: [{ containerPort: 80, hostPort: r.hostPort }] } : {}),
        },
      ],
    },
  }));
  const w = c.workload;
  const affinity: Record<string, unknown> = {};
  if (w.antiSelf)
    affinity.podAntiAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { topologyKey: w.antiSelf, labelSelector: { matchLabels: { app: 'web' } } },
      ],
    };
  if (w.affinityTo)
    affinity.podAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { topologyKey: ZONE, labelSelector: { matchLabels: { app: w.affinityTo } } },
      ],
    };
  const pods: KubeObject[] = Array.from({ length: w.replicas }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${i}`, namespace, labels: { app: 'web' } },
    spec: {
      nodeSelector: { [CASE_LABEL]: id, ...(w.nodeSelector ? { disk: w.nodeSelector } : {}) },
      ...(w.tolerate
        ? {
            tolerations: [
              w.tolerate === '*' ? { operator: 'Exists' } : { key: w.tolerate, operator: 'Exists' },
            ],
          }
        : {}),
      ...(Object.keys(affinity).length ? { affinity } : {}),
      ...(w.spread
        ? {
            topologySpreadConstraints: [
              {
                topologyKey: w.spread.key,
                maxSkew: w.spread.maxSkew,
                whenUnsatisfiable: w.spread.when,
                labelSelector: { matchLabels: { app: 'web' } },
                ...(w.spread.minDomains && w.spread.when === 'DoNotSchedule'
                  ? { minDomains: w.spread.minDomains }
                  : {}),
              },
            ],
          }
        : {}),
      ...(w.initCpu
        ? { initContainers: [{ name: 'init', image: 'x', resources: resources(w.initCpu) }] }
        : {}),
      containers: [
        {
          name: 'c',
          image: 'x',
          resources: resources(w.cpu, w.memory),
          ...(w.hostPort ? { ports: [{ containerPort: 80, hostPort: w.hostPort }] } : {}),
        },
      ],
    },
  }));
  return { nodes, running, pods };
}

/** Per pod: undefined when it fits, else the message. */
type Verdicts = (string | undefined)[];

async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function runCase(client: KubeClient, c: DifferentialCase, id: string) {
  const namespace = id;
  const { nodes, running, pods } = caseObjects(c, id, namespace);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  try {
    await Promise.all(nodes.map((n) => client.create(n)));
    // Ready, and without the taints the node controller puts on nodes that are not ready yet.
    await until('nodes ready', 30_000, async () => {
      const live = (await client.list('v1', 'Node', { labelSelector: `${CASE_LABEL}=${id}` })).items;
      const ready = live.filter((n) => {
        const s = n as {
          status?: { conditions?: { type: string; status: string }[] };
          spec?: { taints?: { key: string }[] };
        };
        return (
          s.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') &&
          !(s.spec?.taints ?? []).some(
            (t) => t.key.startsWith('node.kubernetes.io/') && t.key !== 'node.kubernetes.io/unschedulable',
          )
        );
      });
      return ready.length === nodes.length ? true : undefined;
    });
    // The ServiceAccount admission wants the namespace's default ServiceAccount.
    await until('default ServiceAccount', 30_000, async () =>
      (await client.get({ apiVersion: 'v1', kind: 'ServiceAccount', name: 'default', namespace }))
        ? true
        : undefined,
    );
    await Promise.all(running.map((p) => client.create(p)));
    await until('running pods seen', 30_000, async () => {
      const live = (await client.list('v1', 'Pod', { namespace })).items;
      return live.length === running.length ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    const read = await readSnapshot(client, { namespace });
    assert.ok('snapshot' in read);
    const expected: Verdicts = planPreflight(pods, read.snapshot).map((v) => (v.fits ? undefined : v.reason));
    for (const p of pods) await client.create(p);
    const real = await until('scheduling decisions', 60_000, async () => {
      const live = (await client.list('v1', 'Pod', { namespace, labelSelector: 'app=web' })).items as {
        metadata: { name?: string };
        spec?: { nodeName?: string };
        status?: { conditions?: { type: string; status: string; message?: string }[] };
      }[];
      const decided = live.map((p) => {
        if (p.spec?.nodeName) return { name: p.metadata.name, fits: true as const };
        const cond = p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
        return cond?.message
          ? { name: p.metadata.name, fits: false as const, message: cond.message }
          : undefined;
      });
      if (live.length < pods.length || decided.some((d) => d === undefined)) return undefined;
      return pods.map((p) => {
        const d = decided.find((x) => x!.name === p.metadata.name)!;
        return d.fits ? undefined : d.message;
      });
    });
    return { expected, real };
  } finally {
    await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace }).catch(() => false);
    await Promise.all(
      nodes.map((n) =>
        client.delete({ apiVersion: 'v1', kind: 'Node', name: n.metadata.name ?? '' }).catch(() => false),
      ),
    );
  }
}

/** Identical pods: the same number fail, with the same messages. */
function agree(expected: Verdicts, real: Verdicts): boolean {
  const norm = (v: Verdicts) => v.map((m) => m ?? '').sort();
  return JSON.stringify(norm(expected)) === JSON.stringify(norm(real));
}

describe('scheduling preflight against the real kube-scheduler', () => {
  it(`agrees on ${CASES} random cases (seed ${SEED})`, { timeout: 3_600_000 }, async () => {
    const info = testCluster();
    const client = await KubeClient.connect({ kubeconfig: info.kubeconfig });
    const cases = fc.sample(caseArb, { seed: SEED, numRuns: CASES });
    const disagreements: unknown[] = [];
    try {
      for (let i = 0; i < cases.length; i++) {
        const id = `dc-${SEED % 100000}-${i}`;
        const { expected, real } = await runCase(client, cases[i], id);
        if (!agree(expected, real)) disagreements.push({ index: i, case: cases[i], expected, real });
      }
    } finally {
      client.close();
    }
    const rate = (cases.length - disagreements.length) / cases.length;
    const report = `differential: ${cases.length - disagreements.length}/${cases.length} cases agree (${(rate * 100).toFixed(1)}%), seed ${SEED}`;
    console.log(report);
    if (disagreements.length) {
      const file = `/tmp/capstan-differential-${SEED}.json`;
      writeFileSync(file, JSON.stringify(disagreements, null, 2));
      console.log(`disagreements written to ${file}`);
    }
    assert.ok(rate >= 0.95, report);
  });
});
