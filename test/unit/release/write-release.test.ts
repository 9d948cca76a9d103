import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { KubeClient } from '../../../src/kube/index.js';
import { writeRelease, type ReleaseRecord } from '../../../src/release/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

function record(release: number, outcome: ReleaseRecord['outcome'], filler = ''): ReleaseRecord {
  return {
    app: 'shop.web',
    env: 'prod-eu',
    namespace: 'shop-prod',
    release,
    deployId: `d-${release}`,
    images: ['example.com/web:1'],
    user: 'ci',
    host: 'runner-1',
    startedAt: '2026-12-07T10:00:00Z',
    phases: [],
    outcome,
    inventory: [],
    manifests: filler
      ? [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { filler } }]
      : [],
    hookJobs: [],
  };
}

/**
 * An API server of Secrets in memory whose lists answer with what was stored before the writes in
 * flight (the worst case for a list sent beside them), recording deletions.
 */
function secretsServer(initial: readonly KubeObject[]) {
  const stored = new Map(initial.map((s) => [s.metadata.name ?? '', s]));
  const deleted: string[] = [];
  const client = {
    list: () => {
      const snapshot = [...stored.values()];
      return new Promise((resolve) => setImmediate(() => resolve({ items: snapshot, resourceVersion: '1' })));
    },
    apply: (object: KubeObject) => {
      stored.set(object.metadata.name ?? '', object);
      return Promise.resolve(object);
    },
    delete: (id: { name: string }) => {
      deleted.push(id.name);
      stored.delete(id.name);
      return Promise.resolve(true);
    },
  } as unknown as KubeClient;
  return { client, stored, deleted };
}

/** The Secrets a record is written as, read back from a server that starts empty. */
async function secretsOf(r: ReleaseRecord, chunkBytes?: number): Promise<KubeObject[]> {
  const { client, stored } = secretsServer([]);
  await writeRelease(client, r, { keep: 100, chunkBytes });
  return [...stored.values()];
}

/** Text gzip cannot shrink much: a record long enough for several small chunks. */
const noise = Array.from({ length: 40 }, (_, i) => createHash('sha256').update(String(i)).digest('hex')).join(
  '',
);

describe('writeRelease with its history listed beside the writes', () => {
  it('trims records beyond keep counting the one just written, and never it nor the newest succeeded', async () => {
    const before = [
      ...(await secretsOf(record(1, 'succeeded'))),
      ...(await secretsOf(record(2, 'failed'))),
      ...(await secretsOf(record(3, 'failed'))),
    ];
    const { client, stored, deleted } = secretsServer(before);
    await writeRelease(client, record(4, 'running'), { keep: 2 });
    // Kept: 4 (written) and 3 (the two newest), and 1 (the newest succeeded); 2 goes.
    assert.deepEqual(deleted, ['capstan-release-shop-web-prod-eu-v2']);
    assert.ok(stored.has('capstan-release-shop-web-prod-eu-v4'));
  });

  it('takes the outcome just written, not the listed one: a record now succeeded makes an older one trimmable', async () => {
    const before = [
      ...(await secretsOf(record(1, 'succeeded'))),
      ...(await secretsOf(record(2, 'failed'))),
      ...(await secretsOf(record(3, 'running'))),
    ];
    const { client, deleted } = secretsServer(before);
    await writeRelease(client, record(3, 'succeeded'), { keep: 1 });
    assert.deepEqual(deleted.sort(), [
      'capstan-release-shop-web-prod-eu-v1',
      'capstan-release-shop-web-prod-eu-v2',
    ]);
  });

  it('deletes the chunks left from a longer earlier write of the same release', async () => {
    const long = await secretsOf(record(5, 'running', noise), 64);
    assert.ok(long.length > 2);
    const { client, stored, deleted } = secretsServer(long);
    await writeRelease(client, record(5, 'succeeded'), { keep: 10, chunkBytes: 64 });
    const left = [...stored.values()].filter((s) => s.metadata.name?.includes('-v5'));
    assert.equal(deleted.length, long.length - left.length);
    assert.ok(left.every((s) => s.metadata.labels?.['capstan.dev/release-outcome'] === 'succeeded'));
  });
});
