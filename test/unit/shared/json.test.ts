// sortKeys: sorted keys for hashing, and chosen keys first for people reading YAML.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sortKeys } from '../../../src/shared/index.js';

const keys = (value: unknown): string[] => Object.keys(value as object);

describe('sortKeys', () => {
  it('sorts the keys of every object, in arrays too', () => {
    const sorted = sortKeys({ b: 1, a: { d: 1, c: [{ f: 1, e: 2 }] } }) as any;
    assert.deepEqual(keys(sorted), ['a', 'b']);
    assert.deepEqual(keys(sorted.a), ['c', 'd']);
    assert.deepEqual(keys(sorted.a.c[0]), ['e', 'f']);
    assert.equal(JSON.stringify(sortKeys({ z: 1, y: 2 })), '{"y":2,"z":1}');
  });

  it('puts chosen keys first at the top and under a named key at any depth', () => {
    const object = {
      spec: { template: { metadata: { labels: {}, name: 't' }, spec: {} } },
      metadata: { uid: 'u', namespace: 'ns', annotations: {}, name: 'web' },
      kind: 'Deployment',
      apiVersion: 'apps/v1',
    };
    const sorted = sortKeys(object, {
      first: ['apiVersion', 'kind', 'metadata'],
      firstUnder: { metadata: ['name', 'namespace'] },
    }) as any;
    assert.deepEqual(keys(sorted), ['apiVersion', 'kind', 'metadata', 'spec']);
    assert.deepEqual(keys(sorted.metadata), ['name', 'namespace', 'annotations', 'uid']);
    assert.deepEqual(keys(sorted.spec.template.metadata), ['name', 'labels']);
    // `first` is for the outermost object only.
    assert.deepEqual(keys(sorted.spec.template), ['metadata', 'spec']);
  });
});
