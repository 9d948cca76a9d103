// Verification's pure half: normalisation for comparison, Secret digests, inventories, health,
// whether an apply changed anything, and the printed reports (which never hold a Secret value).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionOf,
  compareClusters,
  diffPaths,
  formatPlan,
  formatVerification,
  healthProblems,
  normalizeForCompare,
  parseQuantity,
  secretDigests,
  summarizePlan,
  type MigrationPlan,
  type PlannedObject,
} from '../../../src/migrate/index.js';
import { objectKey, type KubeObject } from '../../../src/shared/index.js';

const SECRET_VALUE = 'correct-horse-battery-staple';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('parseQuantity', () => {
  const table: Array<[unknown, number | undefined]> = [
    ['1', 1],
    ['1000m', 1],
    ['500m', 0.5],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    ['64Mi', 64 * 2 ** 20],
    [2, 2],
    ['abc', undefined],
    ['1 Gi', undefined],
  ];
  for (const [input, expected] of table)
    it(`${String(input)} → ${String(expected)}`, () => assert.equal(parseQuantity(input), expected));
});

describe('normalizeForCompare', () => {
  const base = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', ...meta },
    spec,
  });

  it('ignores server-set metadata, status, the apiVersion and empty values', () => {
    const a = base({
      replicas: 2,
      template: { metadata: { labels: { app: 'web' } } },
      paused: null,
      strategy: {},
    });
    const b = {
      ...base(
        { replicas: 2, template: { metadata: { creationTimestamp: null, labels: { app: 'web' } } } },
        { uid: 'x', resourceVersion: '9', generation: 3, managedFields: [] },
      ),
      apiVersion: 'apps/v1beta2',
      status: { replicas: 2 },
    };
    assert.deepEqual(diffPaths(normalizeForCompare(a), normalizeForCompare(b)), []);
  });

  it('compares quantities by value and set-like lists in any order', () => {
    const a = base(
      { resources: { limits: { cpu: '1', memory: '1Gi' } } },
      { finalizers: ['b.example/x', 'a.example/y'] },
    );
    const b = base(
      { resources: { limits: { cpu: '1000m', memory: '1073741824' } } },
      { finalizers: ['a.example/y', 'b.example/x'] },
    );
    assert.deepEqual(diffPaths(normalizeForCompare(a), normalizeForCompare(b)), []);
  });

  it('keeps order where it means something and names the differing paths', () => {
    const a = base({ template: { spec: { containers: [{ name: 'a', image: 'x:1' }, { name: 'b' }] } } });
    const b = base({ template: { spec: { containers: [{ name: 'a', image: 'x:2' }, { name: 'b' }] } } });
    assert.deepEqual(diffPaths(normalizeForCompare(a), normalizeForCompare(b)), [
      'spec.template.spec.containers[0].image',
    ]);
  });

  it('replaces Secret values, and the last-applied annotation holding them, by digests', () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'db',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"password":"${b64(SECRET_VALUE)}"}}`,
        },
      },
      data: { password: b64(SECRET_VALUE) },
    };
    const text = JSON.stringify(normalizeForCompare(secret));
    assert.ok(!text.includes(SECRET_VALUE) && !text.includes(b64(SECRET_VALUE)), text);
    const changed = { ...secret, data: { password: b64('other') } };
    assert.deepEqual(diffPaths(normalizeForCompare(secret), normalizeForCompare(changed)), ['data.password']);
  });
});

describe('secretDigests', () => {
  it('hashes decoded values per key, stringData like data, and leaves out service-account token keys', () => {
    const plain = secretDigests({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'a' },
      data: { k: b64('v') },
    });
    const fromString = secretDigests({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'a' },
      stringData: { k: 'v' },
    });
    assert.deepEqual(plain, fromString);
    assert.match(plain.k, /^[0-9a-f]{64}$/);
    const token = secretDigests({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 't' },
      data: { token: 'x', 'ca.crt': 'y', namespace: 'z', extra: 'e' },
    });
    assert.deepEqual(Object.keys(token), ['extra']);
  });
});

const cm = (name: string, data: Record<string, string>, namespace = 'shop'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});
const planned = (object: KubeObject): PlannedObject => ({
  key: objectKey(object),
  ref: {
    kind: object.kind,
    group: '',
    namespace: object.metadata.namespace,
    name: object.metadata.name ?? '',
  },
  wave: 5,
  object,
});
const planOf = (objects: KubeObject[], extra: Partial<MigrationPlan> = {}): MigrationPlan => ({
  objects: objects.map(planned),
  skipped: [],
  skippedKinds: [],
  unsupported: [],
  counts: [{ kind: 'ConfigMap', planned: objects.length, inTarget: 0, skipped: 0 }],
  leftOut: { volumes: [], runningJobs: [] },
  ...extra,
});

describe('compareClusters', () => {
  const a = cm('a', { x: '1' });
  const b = cm('b', { x: '1' });
  const everything = () => true;

  it('passes when B holds what A says, as B would have it', () => {
    const v = compareClusters({
      plan: planOf([a, b]),
      target: [a, b],
      inScope: everything,
      expected: new Map([
        [objectKey(a), a],
        [objectKey(b), b],
      ]),
    });
    assert.equal(v.ok, true);
    assert.deepEqual(v.kinds, [
      { kind: 'ConfigMap', source: 2, target: 2, missing: 0, extra: 0, different: 0, unhealthy: 0 },
    ]);
  });

  it('reports missing, extra and different objects', () => {
    const extra = cm('only-in-b', {});
    const changed = cm('a', { x: '2' });
    const v = compareClusters({
      plan: planOf([a, b]),
      target: [changed, extra, cm('kube-root-ca.crt', {})],
      inScope: everything,
      expected: new Map([[objectKey(a), a]]),
    });
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.missing.map((r) => r.name),
      ['b'],
    );
    assert.deepEqual(
      v.extra.map((r) => r.name),
      ['only-in-b'],
      'what B generates itself is not extra',
    );
    assert.deepEqual(v.different, [{ ref: planned(a).ref, paths: ['data.x'] }]);
  });

  it('counts objects out of scope, or skipped in A, as neither extra nor missing', () => {
    const skippedInA = cm('skipped', {});
    const v = compareClusters({
      plan: planOf([a], {
        skipped: [{ ref: { kind: 'ConfigMap', group: '', namespace: 'shop', name: 'skipped' }, reason: 'r' }],
      }),
      target: [a, skippedInA, cm('elsewhere', {}, 'blog')],
      inScope: (o) => o.metadata.namespace === 'shop',
      expected: new Map([[objectKey(a), a]]),
    });
    assert.equal(v.ok, true, JSON.stringify(v));
  });

  it("reports B's refusal of A's object, unsupported kinds and unhealthy objects", () => {
    const v = compareClusters({
      plan: planOf([a], {
        unsupported: [{ kind: 'Gizmo', group: 'example.com', reason: 'B does not serve it', objects: 2 }],
      }),
      target: [a],
      inScope: everything,
      expected: new Map([[objectKey(a), new Error('field not declared in schema')]]),
      unhealthy: [{ ref: planned(a).ref, message: 'waiting' }],
    });
    assert.equal(v.ok, false);
    assert.match(v.different[0].paths[0], /B refuses A's object: field not declared/);
    assert.equal(v.unsupported.length, 1);
    assert.equal(v.kinds[0].unhealthy, 1);
  });
});

describe('actionOf', () => {
  const live = (rv: string, data: Record<string, string>, status?: unknown): KubeObject => ({
    ...cm('a', data),
    metadata: { name: 'a', namespace: 'shop', resourceVersion: rv },
    ...(status ? { status } : {}),
  });
  it('created without a previous object, unchanged with the same version', () => {
    assert.equal(actionOf(undefined, live('2', {})), 'created');
    assert.equal(actionOf(live('2', {}), live('2', {})), 'unchanged');
  });
  it('unchanged when only status moved (a controller wrote between list and apply)', () => {
    assert.equal(actionOf(live('2', { x: '1' }, { n: 1 }), live('3', { x: '1' }, { n: 2 })), 'unchanged');
  });
  it('changed when the content moved', () => {
    assert.equal(actionOf(live('2', { x: '1' }), live('3', { x: '2' })), 'changed');
  });
});

describe('healthProblems', () => {
  const deployment = (available: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', generation: 1 },
    spec: { replicas: 2 },
    status: {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: available,
      availableReplicas: available,
      conditions: [{ type: 'Available', status: available === 2 ? 'True' : 'False' }],
    },
  });
  it('counts pending objects and reports them only once final', () => {
    assert.deepEqual(healthProblems([deployment(1)], { final: false }), { problems: [], pending: 1 });
    const final = healthProblems([deployment(1)], { final: true });
    assert.equal(final.problems.length, 1);
    assert.equal(final.problems[0].ref.name, 'web');
  });
  it('accepts available workloads and claims waiting for their first consumer', () => {
    const claim: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'shop' },
      spec: { storageClassName: 'lazy' },
      status: { phase: 'Pending' },
    };
    assert.deepEqual(
      healthProblems([deployment(2), claim], {
        final: true,
        bindingModes: new Map([['lazy', 'WaitForFirstConsumer']]),
      }),
      { problems: [], pending: 0 },
    );
  });
});

describe('reports', () => {
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'shop' },
    data: { password: b64(SECRET_VALUE) },
  };
  it('the dry-run plan lists every skipped object with its reason and the kinds skipped', () => {
    const plan = planOf([secret], {
      skipped: [
        {
          ref: { kind: 'ConfigMap', group: '', namespace: 'shop', name: 'kube-root-ca.crt' },
          reason: 'published by B',
        },
      ],
      skippedKinds: [{ kind: 'Event', group: '', reason: 'events are generated' }],
      counts: [{ kind: 'Secret', planned: 1, inTarget: 0, skipped: 0 }],
    });
    const text = formatPlan(summarizePlan(plan), { listSkipped: true });
    assert.match(text, /Secret\s+1\s+0\s+0/);
    assert.match(text, /ConfigMap\/shop\/kube-root-ca.crt: published by B/);
    assert.match(text, /Event: events are generated/);
    assert.ok(!text.includes(SECRET_VALUE) && !text.includes(b64(SECRET_VALUE)));
  });
  it('a failed verification names each difference, never a Secret value', () => {
    const changed = { ...secret, data: { password: b64('tampered') } };
    const v = compareClusters({
      plan: planOf([secret]),
      target: [changed],
      inScope: () => true,
      expected: new Map([[objectKey(secret), secret]]),
    });
    const text = formatVerification(v);
    assert.match(text, /different: Secret\/shop\/db: data.password/);
    assert.match(text, /verification failed: 1 difference$/);
    assert.ok(
      !text.includes(SECRET_VALUE) && !text.includes(b64(SECRET_VALUE)) && !text.includes('tampered'),
    );
    assert.ok(!JSON.stringify(v).includes(b64('tampered')));
  });
});
