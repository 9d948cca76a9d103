import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsWatch, relatedKinds } from '../../../src/rollout/readiness.js';

describe('needsWatch', () => {
  for (const kind of [
    'Deployment',
    'StatefulSet',
    'DaemonSet',
    'Job',
    'Pod',
    'Service',
    'PersistentVolumeClaim',
    'CustomResourceDefinition',
    'Certificate',
  ]) {
    it(`watches ${kind}`, () => assert.equal(needsWatch(kind), true));
  }
  for (const kind of [
    'ConfigMap',
    'Secret',
    'ServiceAccount',
    'Role',
    'RoleBinding',
    'ClusterRole',
    'ResourceQuota',
    'Ingress',
    'CronJob',
    'Namespace',
  ]) {
    it(`does not watch ${kind}`, () => assert.equal(needsWatch(kind), false));
  }
});

describe('relatedKinds', () => {
  const cases: Array<[string, string[]]> = [
    ['Deployment', ['ReplicaSet', 'Pod', 'Event']],
    ['StatefulSet', ['Pod', 'Event']],
    ['DaemonSet', ['Pod', 'Event']],
    ['Job', ['Pod', 'Event']],
    ['Pod', ['Event']],
    ['Service', ['EndpointSlice']],
    ['PersistentVolumeClaim', ['StorageClass', 'Event']],
    ['CustomResourceDefinition', []],
    ['ConfigMap', []],
    ['Certificate', ['Event']],
  ];
  for (const [kind, expected] of cases) {
    it(kind, () => assert.deepEqual(relatedKinds(kind), expected));
  }
  it('returns a fresh array each time', () => {
    relatedKinds('Deployment').push('Secret');
    assert.deepEqual(relatedKinds('Deployment'), ['ReplicaSet', 'Pod', 'Event']);
  });
});
