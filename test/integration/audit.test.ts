// capstan audit against the real control plane: the zones its nodes carry, what exists in the
// namespace, a deploy refused by the audit with nothing applied, and the skipped paths.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, grantRestricted, kubectl, testCluster } from './helpers.js';

const POOL = `audit-${randomBytes(3).toString('hex')}`;
const NODES = [`${POOL}-a`, `${POOL}-b`];

function node(name: string, zone: string): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations: { kwok.x-k8s.io/node: fake }
  labels: { kubernetes.io/hostname: ${name}, capstan.test/pool: ${POOL}, topology.kubernetes.io/zone: ${zone} }
spec:
  taints: [{ key: capstan.test/audit, effect: NoSchedule }]
`;
}

/** Four replicas on the pool's nodes, asking for 3 zones (minDomains) where the pool has 2. */
const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 4
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      nodeSelector: { capstan.test/pool: ${POOL} }
      topologySpreadConstraints:
        - { maxSkew: 1, minDomains: 3, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: web } } }
      containers:
        - name: web
          image: registry.example/web:1.0
          envFrom: [{ configMapRef: { name: made-by-hand } }, { secretRef: { name: absent } }]
`;

describe('capstan audit against a cluster', () => {
  let ns: Awaited<ReturnType<typeof freshNamespace>>;
  let app: ReturnType<typeof writeApp>;
  before(async () => {
    await kubectl(['apply', '-f', '-'], NODES.map((n, i) => node(n, `${POOL}-zone-${i}`)).join('---\n'));
    ns = await freshNamespace('audit');
    await kubectl(['create', 'configmap', 'made-by-hand', '--from-literal=A=1', '-n', ns.name]);
    app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('audited', ns.name),
      '.deploy/test/30-deployment/web.yaml': WEB,
    });
  });
  after(async () => {
    app.cleanup();
    await ns.remove();
    await kubectl(['delete', 'node', ...NODES, '--ignore-not-found']);
  });

  it('reads the zones of the nodes and what the namespace holds', async () => {
    const run = await capstan(['audit', 'test', '-o', 'json'], { cwd: app.dir });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const findings = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const zone = findings.find((f) => f.check === 'zone-spread');
    assert.equal(zone?.severity, 'error');
    assert.equal(zone?.line, 12);
    assert.match(
      zone?.message,
      /\(2: audit-\w+-zone-0, audit-\w+-zone-1\).* 2 of 4 pods can never be placed/,
    );
    const refs = findings.filter((f) => f.check === 'reference-missing');
    assert.deepEqual(
      refs.map((f) => [f.line, f.message.includes('Secret absent')]),
      [[16, true]],
      'the ConfigMap made by hand exists; the Secret does not',
    );
    assert.equal(run.stderr, '', 'nothing skipped');
  });

  it('refuses the deploy with exit 2 and applies nothing', async () => {
    const run = await capstan(['deploy', 'test', '--image', 'registry.example/web:1.0'], { cwd: app.dir });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /web\.yaml:12: Deployment\/web: minDomains: 3 .*\[zone-spread\]/);
    assert.match(
      run.stderr,
      /web\.yaml:16: Deployment\/web: container web's envFrom uses Secret absent.*\[reference-missing\]/,
    );
    assert.equal(await kubectl(['get', 'deployments', '-n', ns.name, '-o', 'name']), '');
  });

  it('an identity that may not list nodes: the zone check says it was skipped', async () => {
    await grantRestricted(ns.name);
    const run = await capstan(['audit', 'test'], {
      cwd: app.dir,
      kubeconfig: testCluster().restrictedKubeconfig,
    });
    assert.match(run.stdout, /skipped: zone-spread: not allowed to list nodes/);
    assert.doesNotMatch(run.stdout, /error +zone-spread/);
    assert.match(run.stdout, /error +reference-missing/, 'the namespace could still be read');
  });

  it('no cluster at all: every cluster-aware check is skipped, nothing fails for it', async () => {
    const kubeconfig = join(tmpdir(), `capstan-audit-nowhere-${POOL}.yaml`);
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n',
    );
    const run = await capstan(['audit', 'test'], { cwd: app.dir, kubeconfig });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /skipped: zone-spread: cannot list nodes/);
    assert.match(run.stdout, /skipped: reference-missing: cannot list objects in namespace/);
  });
});
