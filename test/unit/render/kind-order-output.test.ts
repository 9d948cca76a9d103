import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  groupByKindOrder,
  kindOrder,
  maskSecrets,
  toYaml,
  type RenderedObject,
} from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const object = (kind: string, name = kind.toLowerCase()): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name },
});

describe('kindOrder and groupByKindOrder', () => {
  it('orders the apply groups', () => {
    const sequence = [
      ['Namespace'],
      ['CustomResourceDefinition'],
      ['ResourceQuota', 'LimitRange'],
      ['ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'],
      ['ConfigMap', 'Secret'],
      ['PersistentVolumeClaim', 'PersistentVolume', 'StorageClass'],
      ['Service'],
      ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'],
      ['Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'Certificate'],
    ];
    sequence.forEach((kinds, rank) => {
      for (const kind of kinds) assert.equal(kindOrder(kind), rank, kind);
    });
  });

  it('groups objects, keeping their order within a group and dropping empty groups', () => {
    const rendered = (kind: string, name: string): RenderedObject => ({
      object: object(kind, name),
      source: { file: 'f' },
    });
    const groups = groupByKindOrder([
      rendered('Ingress', 'i'),
      rendered('Deployment', 'b'),
      rendered('ConfigMap', 'c'),
      rendered('Deployment', 'a'),
      rendered('Namespace', 'n'),
    ]);
    assert.deepEqual(
      groups.map((g) => g.map((r) => r.object.metadata.name)),
      [['n'], ['c'], ['b', 'a'], ['i']],
    );
  });
});

describe('maskSecrets', () => {
  it('replaces every Secret value and leaves the input and other kinds alone', () => {
    const secret = {
      ...object('Secret'),
      data: { a: 'c2VjcmV0' },
      stringData: { b: 'plain' },
      type: 'Opaque',
    };
    const config = { ...object('ConfigMap'), data: { a: 'visible' } };
    const masked = maskSecrets([secret, config]);
    assert.deepEqual(masked[0], {
      ...object('Secret'),
      data: { a: '[redacted]' },
      stringData: { b: '[redacted]' },
      type: 'Opaque',
    });
    assert.deepEqual(masked[1], config);
    assert.notEqual(masked[1], config);
    assert.equal(secret.data.a, 'c2VjcmV0');
  });
});

describe('toYaml', () => {
  it('writes one document per object, without anchors or folded lines', () => {
    const shared = { long: 'x'.repeat(200) };
    const text = toYaml([
      { ...object('ConfigMap', 'a'), data: shared },
      { ...object('ConfigMap', 'b'), data: shared },
    ]);
    assert.ok(!text.includes('&') && !text.includes('*a'));
    const docs = parseAllDocuments(text);
    assert.ok(Array.isArray(docs));
    assert.deepEqual(
      docs.map((d) => d.toJS() as unknown),
      [
        { ...object('ConfigMap', 'a'), data: shared },
        { ...object('ConfigMap', 'b'), data: shared },
      ],
    );
    assert.equal(toYaml([]), '');
  });
});
