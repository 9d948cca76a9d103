// Object diffs: only the fields Capstan sets, no server noise, Secrets per key without values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeObjectDiff,
  computePruneDiff,
  diffLines,
  formatDiff,
  unifiedDiff,
} from '../../../src/release/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

/** A Deployment as the API server returns it: defaults, status, and capstan's field set. */
function deployment(
  image: string,
  replicas: number,
  extra: { resourceVersion?: string; managed?: Record<string, unknown> } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u-1',
      resourceVersion: extra.resourceVersion ?? '100',
      generation: 4,
      creationTimestamp: '2024-05-01T10:00:00Z',
      labels: { app: 'web', 'app.kubernetes.io/managed-by': 'capstan' },
      annotations: { 'deployment.kubernetes.io/revision': '4' },
      managedFields: [
        {
          manager: 'capstan',
          operation: 'Apply',
          apiVersion: 'apps/v1',
          fieldsType: 'FieldsV1',
          fieldsV1: extra.managed ?? {
            'f:metadata': { 'f:labels': { 'f:app': {}, 'f:app.kubernetes.io/managed-by': {} } },
            'f:spec': {
              'f:replicas': {},
              'f:selector': {},
              'f:template': {
                'f:metadata': { 'f:labels': { 'f:app': {} } },
                'f:spec': {
                  'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
                },
              },
            },
          },
        },
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          subresource: 'status',
          fieldsV1: { 'f:status': {} },
        },
      ],
    },
    spec: {
      replicas,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          containers: [
            {
              name: 'web',
              image,
              imagePullPolicy: 'IfNotPresent',
              terminationMessagePath: '/dev/termination-log',
            },
          ],
        },
      },
    },
    status: { replicas, readyReplicas: replicas, observedGeneration: 4 },
  };
}

function secret(data: Record<string, string>, withManaged = true): KubeObject {
  const encoded = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: 'db',
      namespace: 'shop',
      resourceVersion: '7',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: encoded }) },
      ...(withManaged
        ? {
            managedFields: [
              {
                manager: 'capstan',
                operation: 'Apply',
                fieldsV1: {
                  'f:data': Object.fromEntries(Object.keys(data).map((k) => [`f:${k}`, {}])),
                  'f:type': {},
                },
              },
            ],
          }
        : {}),
    },
    data: encoded,
  };
}

describe('computeObjectDiff', () => {
  it('reports unchanged when only server noise differs', () => {
    const live = deployment('shop:1', 2);
    const desired = deployment('shop:1', 2, { resourceVersion: '101' });
    (desired.status as Record<string, unknown>).readyReplicas = 0;
    (desired.spec as { revisionHistoryLimit: number }).revisionHistoryLimit = 5; // not capstan's field
    const diff = computeObjectDiff(live, desired);
    assert.equal(diff.action, 'unchanged');
    assert.equal(diff.text, '');
    assert.deepEqual(diff.object, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      namespace: 'shop',
    });
  });

  it('shows a changed image as a unified diff without managedFields, status, uid or defaults', () => {
    const diff = computeObjectDiff(
      deployment('shop:1', 2),
      deployment('shop:2', 2, { resourceVersion: '101' }),
    );
    assert.equal(diff.action, 'change');
    assert.match(diff.text, /^--- Deployment\/web \(live\)\n\+\+\+ Deployment\/web \(after deploy\)\n@@ /);
    assert.match(diff.text, /^-\s+- image: shop:1$/m);
    assert.match(diff.text, /^\+\s+- image: shop:2$/m);
    for (const noise of [
      'managedFields',
      'resourceVersion',
      'uid',
      'generation',
      'creationTimestamp',
      'status',
      'readyReplicas',
      'imagePullPolicy',
      'terminationMessagePath',
      'dnsPolicy',
      'revisionHistoryLimit',
      'deployment.kubernetes.io/revision',
    ]) {
      assert.ok(!diff.text.includes(noise), `no ${noise} in:\n${diff.text}`);
    }
    assert.equal(
      diff.text.split('\n').filter((l) => /^[-+][^-+]/.test(l)).length,
      2,
      'exactly one line out, one line in',
    );
  });

  it('shows a field capstan stopped setting, returning to its default', () => {
    const noReplicas = deployment('shop:1', 1);
    const fields = (
      noReplicas.metadata.managedFields as Array<{ fieldsV1: { 'f:spec': Record<string, unknown> } }>
    )[0].fieldsV1['f:spec'];
    delete fields['f:replicas'];
    const diff = computeObjectDiff(deployment('shop:1', 3), noReplicas);
    assert.equal(diff.action, 'change');
    assert.match(diff.text, /^-\s+replicas: 3$/m);
    assert.match(diff.text, /^\+\s+replicas: 1$/m);
  });

  it('shows an object to create with only what was rendered', () => {
    const diff = computeObjectDiff(undefined, deployment('shop:1', 2));
    assert.equal(diff.action, 'create');
    assert.match(diff.text, /^--- \/dev\/null$/m);
    assert.ok(
      diff.text
        .split('\n')
        .slice(3)
        .filter(Boolean)
        .every((l) => l.startsWith('+')),
    );
    assert.match(
      diff.text,
      /^\+apiVersion: apps\/v1\n\+kind: Deployment\n\+metadata:\n\+  name: web\n\+  namespace: shop\n/m,
    );
    assert.ok(!diff.text.includes('dnsPolicy'));
  });

  it('without managedFields, still drops noise and status', () => {
    const rendered: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', uid: 'x', resourceVersion: '3' },
      data: { a: '1' },
      status: {},
    };
    const diff = computeObjectDiff(undefined, rendered);
    assert.equal(
      diff.text,
      '--- /dev/null\n+++ ConfigMap/c (after deploy)\n@@ -0,0 +1,6 @@\n+apiVersion: v1\n+kind: ConfigMap\n+metadata:\n+  name: c\n+data:\n+  a: "1"\n',
    );
  });

  it('shows Secret keys as added, removed, changed or unchanged, never a value', () => {
    const live = secret({ USER: 'admin-user', PASSWORD: 'old-password', LEGACY: 'legacy-value' });
    const desired = secret({ USER: 'admin-user', PASSWORD: 'new-password', TOKEN: 'fresh-token' });
    const diff = computeObjectDiff(live, desired);
    assert.equal(diff.action, 'change');
    assert.deepEqual(diff.secretKeys, [
      { key: 'LEGACY', change: 'removed' },
      { key: 'PASSWORD', change: 'changed' },
      { key: 'TOKEN', change: 'added' },
      { key: 'USER', change: 'unchanged' },
    ]);
    assert.match(diff.text, /^-\s+LEGACY: \(hidden\)$/m);
    assert.match(diff.text, /^\+\s+PASSWORD: \(hidden, changed\)$/m);
    assert.match(diff.text, /^\+\s+TOKEN: \(hidden\)$/m);
    const shown = formatDiff([diff], { color: false });
    for (const value of ['admin-user', 'old-password', 'new-password', 'fresh-token', 'legacy-value']) {
      for (const form of [value, Buffer.from(value).toString('base64')])
        assert.ok(!shown.includes(form), `${form} leaked:\n${shown}`);
    }
    assert.match(shown, /Secret keys: LEGACY removed, PASSWORD changed, TOKEN added, USER unchanged/);
  });

  it('compares keys applied as stringData in the data the server keeps', () => {
    const applied = (password: string): KubeObject => ({
      ...secret({ PASSWORD: password }, false),
      metadata: {
        name: 'db',
        namespace: 'shop',
        managedFields: [
          { manager: 'capstan', operation: 'Apply', fieldsV1: { 'f:stringData': { 'f:PASSWORD': {} } } },
        ],
      },
    });
    assert.equal(computeObjectDiff(applied('first-pass'), applied('first-pass')).action, 'unchanged');
    const diff = computeObjectDiff(applied('first-pass'), applied('second-pass'));
    assert.equal(diff.action, 'change');
    assert.deepEqual(diff.secretKeys, [{ key: 'PASSWORD', change: 'changed' }]);
  });

  it('an identical Secret is unchanged; stringData counts as data', () => {
    assert.equal(computeObjectDiff(secret({ A: 'value-a' }), secret({ A: 'value-a' })).action, 'unchanged');
    const rendered: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'shop' },
      stringData: { A: 'value-a' },
    };
    const diff = computeObjectDiff(undefined, rendered);
    assert.deepEqual(diff.secretKeys, [{ key: 'A', change: 'added' }]);
    assert.ok(!diff.text.includes('value-a') && !diff.text.includes('stringData'));
  });
});

describe('formatDiff', () => {
  const diffs = [
    computeObjectDiff(deployment('shop:1', 2), deployment('shop:2', 2)),
    computeObjectDiff(undefined, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'new', namespace: 'shop' },
      data: { a: 'b' },
    }),
    computeObjectDiff(deployment('shop:1', 2), deployment('shop:1', 2)),
    computePruneDiff({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'old', namespace: 'shop' } }),
  ];

  it('lists changes, creations and prunes with a summary', () => {
    const text = formatDiff(diffs, { color: false });
    assert.match(text, /^~ change Deployment\/web \(namespace shop\)$/m);
    assert.match(text, /^\+ create ConfigMap\/new \(namespace shop\)$/m);
    assert.match(text, /^- prune Service\/old \(namespace shop\)$/m);
    assert.match(text, /1 to create, 1 to change, 1 to prune, 1 unchanged\n$/);
    assert.ok(!text.includes('\u001b['));
  });

  it('colours additions green and removals red when asked', () => {
    const text = formatDiff(diffs, { color: true });
    assert.match(text, /\u001b\[32m\+\s+- image: shop:2\u001b\[0m/);
    assert.match(text, /\u001b\[31m-\s+- image: shop:1\u001b\[0m/);
  });

  it('says so when nothing changes', () => {
    assert.equal(formatDiff([diffs[2]], { color: false }), 'no changes (1 objects unchanged)\n');
  });
});

describe('diffLines / unifiedDiff', () => {
  const apply = (edits: ReturnType<typeof diffLines>) => ({
    a: edits.filter((e) => e.op !== '+').map((e) => e.line),
    b: edits.filter((e) => e.op !== '-').map((e) => e.line),
  });

  it('produces an edit script that rebuilds both sides, minimal on small cases', () => {
    const cases: Array<[string, string, number]> = [
      ['abcabba', 'cbabac', 5],
      ['', 'abc', 3],
      ['abc', '', 3],
      ['abc', 'abc', 0],
      ['a', 'b', 2],
      ['xaxbx', 'abxx', 3],
    ];
    for (const [x, y, changes] of cases) {
      const edits = diffLines([...x], [...y]);
      assert.deepEqual(apply(edits), { a: [...x], b: [...y] }, `${x} -> ${y}`);
      assert.equal(edits.filter((e) => e.op !== ' ').length, changes, `${x} -> ${y}`);
    }
  });

  it('rebuilds both sides of random texts', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200; i++) {
      const a = Array.from({ length: Math.floor(rand() * 30) }, () => 'abcd'[Math.floor(rand() * 4)]);
      const b = Array.from({ length: Math.floor(rand() * 30) }, () => 'abcd'[Math.floor(rand() * 4)]);
      assert.deepEqual(apply(diffLines(a, b)), { a, b });
    }
  });

  it('groups changes into hunks with three lines of context', () => {
    const a = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const b = [...a];
    b[1] = 'changed 2';
    b[17] = 'changed 18';
    const text = unifiedDiff(a.join('\n') + '\n', b.join('\n') + '\n', { fromLabel: 'a', toLabel: 'b' });
    const hunks = text.split('\n').filter((l) => l.startsWith('@@'));
    assert.deepEqual(hunks, ['@@ -1,5 +1,5 @@', '@@ -15,6 +15,6 @@']);
    assert.equal(unifiedDiff('same\n', 'same\n', { fromLabel: 'a', toLabel: 'b' }), '');
  });
});
