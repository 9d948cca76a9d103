// The preflight against the real kube-scheduler: random small clusters (kwok nodes with random
// capacities, zones, labels, taints; random running pods) and a random set of identical pods; the
// preflight's verdict for each pod (fits, or the scheduler's message) is compared with what the
// control plane's scheduler does when the pods are created. Cases run one after another: each
// case's pods select its own nodes by a label, which leaves the other nodes failing NodeAffinity
// in both verdicts and changes nothing else (spread domains honour node affinity by default).
//   CAPSTAN_DIFFERENTIAL_CASES=500 CAPSTAN_DIFFERENTIAL_SEED=1 ... this file
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planPreflight, readSnapshot } from '../../src/audit/scheduling/index.js';
import { KubeClient } from '../../src/kube/index.js';
import { testCluster } from './helpers.js';
import { CASE_LABEL, caseArb, caseObjects, type DifferentialCase } from './scheduling-cases.js';

const CASES = Number(process.env.CAPSTAN_DIFFERENTIAL_CASES ?? 40);
const SEED = Number(process.env.CAPSTAN_DIFFERENTIAL_SEED ?? 20261201);

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
    const progress = `/tmp/capstan-differential-${SEED}.jsonl`;
    writeFileSync(progress, '');
    try {
      for (let i = 0; i < cases.length; i++) {
        const id = `dc-${SEED % 100000}-${i}`;
        const { expected, real } = await runCase(client, cases[i], id);
        const same = agree(expected, real);
        if (!same) disagreements.push({ index: i, case: cases[i], expected, real });
        // One line per case, so a long run can be read while it goes.
        appendFileSync(
          progress,
          JSON.stringify({ index: i, agree: same, ...(same ? {} : { expected, real }) }) + '\n',
        );
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
