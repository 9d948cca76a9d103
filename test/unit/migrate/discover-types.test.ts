import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError, type KubeClient } from '../../../src/kube/index.js';
import { discoverTypes } from '../../../src/migrate/index.js';

/** /apis answers from `groups` (re-read each call); a group version's document from `resources`. */
function clientOf(groups: () => string[], resources: (gv: string) => unknown): KubeClient {
  return {
    getPath: (path: string) => {
      if (path === '/apis')
        return Promise.resolve({
          groups: groups().map((gv) => ({
            name: gv.split('/')[0],
            versions: [{ groupVersion: gv, version: gv.split('/')[1] }],
          })),
        });
      const gv = path === '/api/v1' ? 'v1' : path.slice('/apis/'.length);
      return new Promise((resolve) => resolve(resources(gv)));
    },
  } as unknown as KubeClient;
}

const notFound = () => new KubeApiError(404, 'NotFound', '404 page not found');
const served = (_gv: string) => ({
  resources: [{ name: 'things', kind: 'Thing', namespaced: true, verbs: ['list'] }],
});

describe('discoverTypes', () => {
  it('passes over a group version deleted between the two reads (its CRD went away)', async () => {
    let listed = ['deploy-crd-2a3ce0.capstan.test/v1', 'apps/v1'];
    const client = clientOf(
      () => listed,
      (gv) => {
        if (gv !== 'deploy-crd-2a3ce0.capstan.test/v1') return served(gv);
        listed = ['apps/v1'];
        throw notFound();
      },
    );
    const found = await discoverTypes(client);
    assert.deepEqual(found.errors, []);
    assert.deepEqual(
      found.types.map((t) => t.apiVersion),
      ['v1', 'apps/v1'],
    );
  });

  it('reports a group version that is still listed but cannot be read: the inventory would be incomplete', async () => {
    const client = clientOf(
      () => ['metrics.example.com/v1beta1'],
      (gv) => {
        if (gv === 'v1') return served(gv);
        throw notFound();
      },
    );
    const found = await discoverTypes(client);
    assert.deepEqual(found.errors, ['cannot discover metrics.example.com/v1beta1: 404 page not found']);
  });
});
