// Release records: encoding into Secrets, splitting, reading back, and refusing damaged ones.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DamagedReleaseError,
  decodeRelease,
  encodeRelease,
  releaseSelector,
  releasesBeyondKeep,
  type ReleaseRecord,
} from '../../../src/release/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const scope = { app: 'shop', env: 'staging', namespace: 'shop-staging' };

function sampleRecord(overrides: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    ...scope,
    release: 3,
    deployId: '20240501101010-abcd',
    images: ['example.com/shop:3'],
    gitCommit: 'deadbeef',
    user: 'alice',
    host: 'laptop',
    startedAt: '2024-05-01T10:10:10.000Z',
    finishedAt: '2024-05-01T10:11:00.000Z',
    phases: [
      {
        name: '30-deployment',
        startedAt: '2024-05-01T10:10:11.000Z',
        finishedAt: '2024-05-01T10:11:00.000Z',
        outcome: 'succeeded',
      },
    ],
    outcome: 'succeeded',
    inventory: [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop-staging', name: 'web' }],
    manifests: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'shop-staging' },
        data: { PASSWORD: Buffer.from('hunter22').toString('base64') },
      },
    ],
    hookJobs: ['db-migrate-20240501101010-abcd'],
    ...overrides,
  };
}

const sha256 = (payload: Buffer) => createHash('sha256').update(payload).digest('hex');
const dataOf = (s: KubeObject) => (s as unknown as { data: { release: string } }).data.release;
const setData = (s: KubeObject, release: string) =>
  ((s as unknown as { data: { release: string } }).data.release = release);

describe('encodeRelease / decodeRelease', () => {
  it('round-trips a record through one gzip-compressed Secret with release labels', () => {
    const record = sampleRecord();
    const secrets = encodeRelease(record);
    assert.equal(secrets.length, 1);
    const [secret] = secrets;
    assert.equal(secret.metadata.name, 'capstan-release-shop-staging-v3');
    assert.equal(secret.metadata.namespace, 'shop-staging');
    assert.equal((secret as { type?: string }).type, 'capstan.dev/release.v1');
    assert.deepEqual(secret.metadata.labels, {
      'capstan.dev/release': 'true',
      'capstan.dev/app': 'shop',
      'capstan.dev/env': 'staging',
      'capstan.dev/revision': '3',
      'capstan.dev/release-chunk': '0',
      'capstan.dev/release-outcome': 'succeeded',
    });
    // Not the deploy's ownership labels: prune must never select release records.
    assert.equal(
      (secret.metadata.labels as Record<string, string>)['app.kubernetes.io/managed-by'],
      undefined,
    );
    assert.ok(
      !dataOf(secret).includes(Buffer.from(JSON.stringify(record)).toString('base64').slice(0, 40)),
      'stored compressed',
    );
    assert.deepEqual(decodeRelease(secrets, scope), record);
  });

  it('splits a large record across Secrets and reassembles it in any order', () => {
    const big = randomBytes(1_500_000).toString('base64'); // incompressible: > 1 MiB after gzip
    const record = sampleRecord({
      manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { blob: big } }],
    });
    const secrets = encodeRelease(record);
    const sizes = secrets.map((s) => Buffer.from(dataOf(s), 'base64').length);
    assert.ok(sizes.reduce((a, b) => a + b) > 1024 * 1024, 'over 1 MiB compressed');
    assert.equal(secrets.length, 2);
    assert.deepEqual(
      secrets.map((s) => s.metadata.name),
      ['capstan-release-shop-staging-v3', 'capstan-release-shop-staging-v3-1'],
    );
    assert.ok(sizes.every((n) => n <= 900 * 1024));
    assert.deepEqual(decodeRelease([...secrets].reverse(), scope), record);
  });

  it('honours a custom chunk size', () => {
    const record = sampleRecord();
    const secrets = encodeRelease(record, { chunkBytes: 64 });
    assert.ok(secrets.length > 3);
    assert.ok(
      secrets.every((s) => s.metadata.annotations?.['capstan.dev/release-chunks'] === String(secrets.length)),
    );
    assert.deepEqual(decodeRelease(secrets, scope), record);
  });

  it('selects its Secrets by app and environment', () => {
    assert.equal(
      releaseSelector(scope),
      'capstan.dev/release=true,capstan.dev/app=shop,capstan.dev/env=staging',
    );
  });
});

describe('damaged records', () => {
  const split = () => encodeRelease(sampleRecord(), { chunkBytes: 100 });
  const damaged = (secrets: KubeObject[], pattern: RegExp) => {
    assert.throws(
      () => decodeRelease(secrets, scope),
      (error: unknown) => {
        assert.ok(error instanceof DamagedReleaseError);
        assert.equal(error.code, 'ERR_CAPSTAN_RELEASE_DAMAGED');
        assert.equal(error.release, 3);
        assert.match(
          error.message,
          /release record 3 of shop\/staging \(Secret capstan-release-shop-staging-v\d/,
        );
        assert.match(error.message, pattern);
        assert.match(error.hint ?? '', /kubectl delete secret -n shop-staging -l .*capstan.dev\/revision=3/);
        return true;
      },
    );
  };

  it('a missing chunk', () =>
    damaged(
      split().filter((_, i) => i !== 1),
      /chunk 1 of \d+ is missing/,
    ));

  it('a chunk whose bytes changed', () => {
    const secrets = split();
    const bytes = Buffer.from(dataOf(secrets[1]), 'base64');
    bytes[0] = bytes[0] ^ 0xff;
    setData(secrets[1], bytes.toString('base64'));
    damaged(secrets, /checksum does not match/);
  });

  it('a chunk from another write of the same release', () => {
    const mixed = [
      ...split().slice(0, 1),
      ...encodeRelease(sampleRecord({ user: 'bob' }), { chunkBytes: 100 }).slice(1),
    ];
    damaged(mixed, /belongs to another write/);
  });

  it('missing annotations', () => {
    const [secret] = encodeRelease(sampleRecord());
    delete secret.metadata.annotations;
    damaged([secret], /chunk count or checksum/);
  });

  it('content that is not gzip', () => {
    const [secret] = encodeRelease(sampleRecord());
    const payload = Buffer.from('{"not":"gzip"}');
    setData(secret, payload.toString('base64'));
    secret.metadata.annotations!['capstan.dev/release-sha256'] = sha256(payload);
    damaged([secret], /not gzip-compressed JSON/);
  });

  it('JSON without the fields of a record', () => {
    const [secret] = encodeRelease(sampleRecord());
    const payload = gzipSync(JSON.stringify({ app: 'shop', release: 3 }));
    setData(secret, payload.toString('base64'));
    secret.metadata.annotations!['capstan.dev/release-sha256'] = sha256(payload);
    damaged([secret], /field env is missing/);
  });

  it('reads a record written before the rename, which names its release number `revision`', () => {
    const [secret] = encodeRelease(sampleRecord());
    const { release, ...old } = sampleRecord();
    const payload = gzipSync(JSON.stringify({ ...old, revision: release }));
    setData(secret, payload.toString('base64'));
    secret.metadata.annotations!['capstan.dev/release-sha256'] = sha256(payload);
    const read = decodeRelease([secret], scope);
    assert.deepEqual(read, sampleRecord());
    assert.ok(!('revision' in read));
  });

  it('writes the release number under both names, so that versions before the rename read it too', () => {
    const [secret] = encodeRelease(sampleRecord());
    const stored = JSON.parse(gunzipSync(Buffer.from(dataOf(secret), 'base64')).toString('utf8'));
    assert.equal(stored.release, 3);
    assert.equal(stored.revision, 3);
    assert.equal(secret.metadata.labels!['capstan.dev/revision'], '3');
  });

  it('a record whose release disagrees with its labels', () => {
    const secrets = encodeRelease(sampleRecord({ release: 4 }));
    secrets[0].metadata.labels!['capstan.dev/revision'] = '3';
    damaged(secrets, /holds release 4, its labels say 3/);
  });
});

describe('releasesBeyondKeep', () => {
  const chunk = (release: number, outcome: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `r${release}`,
      labels: {
        'capstan.dev/revision': String(release),
        'capstan.dev/release-chunk': '0',
        'capstan.dev/release-outcome': outcome,
      },
    },
  });

  it('deletes the oldest beyond keep', () => {
    const secrets = [1, 2, 3, 4, 5].map((r) => chunk(r, 'succeeded'));
    assert.deepEqual(releasesBeyondKeep(secrets, 3, 5), [2, 1]);
  });

  it('keeps the newest succeeded record even when older than keep', () => {
    const secrets = [
      chunk(1, 'succeeded'),
      chunk(2, 'succeeded'),
      chunk(3, 'failed'),
      chunk(4, 'failed'),
      chunk(5, 'failed'),
    ];
    assert.deepEqual(releasesBeyondKeep(secrets, 2, 5), [3, 1]);
  });

  it('never deletes the record just written', () => {
    assert.deepEqual(
      releasesBeyondKeep([chunk(7, 'running'), chunk(9, 'failed'), chunk(8, 'failed')], 1, 7),
      [8],
    );
  });
});
