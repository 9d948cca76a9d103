import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Discovery } from '../../../src/kube/discovery.js';
import type { HttpTransport } from '../../../src/kube/http.js';

/** A transport answering resource lists, counting GETs per path; `failing` paths reject once. */
function transport(failing: readonly string[] = []) {
  const asked: string[] = [];
  const failed = new Set<string>();
  const http = {
    json: ({ path }: { path: string }) => {
      asked.push(path);
      if (failing.includes(path) && !failed.has(path)) {
        failed.add(path);
        return Promise.reject(new Error('connection reset'));
      }
      const kind = path.endsWith('coordination.k8s.io/v1') ? 'Lease' : 'ConfigMap';
      return Promise.resolve({
        groupVersion: path,
        resources: [{ name: `${kind.toLowerCase()}s`, kind, namespaced: true, verbs: ['get'] }],
      });
    },
  } as unknown as HttpTransport;
  return { http, asked };
}

describe('Discovery.prefetch', () => {
  it('asks for each group-version once, and a later find takes that answer', async () => {
    const { http, asked } = transport();
    const discovery = new Discovery(http);
    discovery.prefetch(['v1', 'coordination.k8s.io/v1', 'v1']);
    assert.deepEqual(asked, ['/api/v1', '/apis/coordination.k8s.io/v1']);
    const lease = await discovery.find('coordination.k8s.io/v1', 'Lease');
    assert.equal(lease?.resource, 'leases');
    assert.equal((await discovery.find('v1', 'ConfigMap'))?.resource, 'configmaps');
    assert.equal(asked.length, 2);
  });

  it('never fails, and a group-version whose prefetch failed is asked again on use', async () => {
    const { http, asked } = transport(['/apis/batch/v1']);
    const discovery = new Discovery(http);
    discovery.prefetch(['batch/v1']);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await discovery.find('batch/v1', 'ConfigMap'))?.resource, 'configmaps');
    assert.deepEqual(asked, ['/apis/batch/v1', '/apis/batch/v1']);
  });
});
