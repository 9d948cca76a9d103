// A deploy whose release record cannot be completed leaves its lock to expire instead of freeing
// it, so that the deploy which takes the lock over marks the record interrupted (issue 31: freed,
// the lock let the next deploy in without a takeover and the record said `running` for good).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedEnvironment } from '../../../src/config/index.js';
import { DeployRecorder } from '../../../src/deploy/recorder.js';
import { KubeApiError, type KubeClient, type ObjectId } from '../../../src/kube/index.js';
import { lockName, readReleases } from '../../../src/release/index.js';
import { OUTCOME_LABEL } from '../../../src/release/record.js';
import type { KubeObject } from '../../../src/shared/index.js';

const NS = 'shop-staging';

/** Leases and Secrets of one namespace; `refuseFinal` refuses to write a record that is no longer running. */
class FakeCluster {
  readonly objects = new Map<string, KubeObject>();
  refuseFinal = false;
  private rv = 1;
  private key = (kind: string, name: string) => `${kind}/${name}`;
  store(o: KubeObject): KubeObject {
    const copy = structuredClone({ ...o, metadata: { ...o.metadata, namespace: NS } });
    copy.metadata.resourceVersion = String(++this.rv);
    this.objects.set(this.key(o.kind, o.metadata.name!), copy);
    return structuredClone(copy);
  }
  lease(): KubeObject & { spec: Record<string, unknown> } {
    return this.objects.get(this.key('Lease', lockName('shop', 'staging'))) as KubeObject & {
      spec: Record<string, unknown>;
    };
  }
  client(): KubeClient {
    const matches = (o: KubeObject, selector = '') =>
      selector
        .split(',')
        .filter(Boolean)
        .every((pair) => o.metadata.labels?.[pair.split('=')[0]] === pair.split('=')[1]);
    return {
      get: (id: ObjectId) => Promise.resolve(structuredClone(this.objects.get(this.key(id.kind, id.name)))),
      create: (o: KubeObject) => Promise.resolve(this.store(o)),
      replace: (o: KubeObject) => {
        const current = this.objects.get(this.key(o.kind, o.metadata.name!));
        if (current?.metadata.resourceVersion !== o.metadata.resourceVersion)
          return Promise.reject(new KubeApiError(409, 'Conflict', 'modified'));
        return Promise.resolve(this.store(o));
      },
      apply: (o: KubeObject) => {
        const outcome = o.metadata.labels?.[OUTCOME_LABEL];
        if (this.refuseFinal && outcome !== undefined && outcome !== 'running')
          return Promise.reject(new KubeApiError(403, 'Forbidden', 'secrets "x" is forbidden'));
        return Promise.resolve(this.store(o));
      },
      list: (_v: string, kind: string, options: { labelSelector?: string }) =>
        Promise.resolve({
          items: [...this.objects.values()]
            .filter((o) => o.kind === kind && matches(o, options.labelSelector))
            .map((o) => structuredClone(o)),
        }),
      delete: (id: ObjectId) => Promise.resolve(this.objects.delete(this.key(id.kind, id.name))),
      explainRefusal: (error: unknown) => Promise.resolve(error),
    } as unknown as KubeClient;
  }
}

const env = {
  app: 'shop',
  name: 'staging',
  namespace: NS,
  extraNamespaces: [],
  notifications: [],
  releasesKeep: 10,
} as unknown as ResolvedEnvironment;

function recorder(cluster: FakeCluster, deployId: string, warnings: string[]): DeployRecorder {
  return new DeployRecorder({
    client: cluster.client(),
    env,
    deployId,
    actor: { user: deployId, host: 'ci', holder: `${deployId}@ci` },
    manifests: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { PORT: '5432' } },
    ],
    envVars: {},
    redact: (text) => text,
    warn: (message) => warnings.push(message),
    signal: new AbortController().signal,
  });
}

describe('a release record that cannot be completed', () => {
  it('keeps the lock held, so the deploy that takes it over marks the record interrupted', async () => {
    const cluster = new FakeCluster();
    const warnings: string[] = [];
    const first = recorder(cluster, 'deploy-a', warnings);
    await first.start();
    cluster.refuseFinal = true;
    await first.finish('succeeded', [], { durationMs: 1 });
    const lease = cluster.lease();
    assert.equal(lease.spec.holderIdentity, 'deploy-a@ci', 'the lock was not freed');
    assert.match(warnings.join('\n'), /could not write the release record: .*the lock is left to expire/);
    let records = await readReleases(cluster.client(), { namespace: NS, app: 'shop', env: 'staging' });
    assert.deepEqual(
      records.map((r) => [r.release, r.outcome]),
      [[1, 'running']],
    );

    // The lease expires (a duration of 0 s instead of waiting 60): the next deploy takes it over.
    cluster.refuseFinal = false;
    cluster.store({ ...lease, spec: { ...lease.spec, leaseDurationSeconds: 0 } });
    const second = recorder(cluster, 'deploy-b', warnings);
    await second.start();
    await second.finish('succeeded', [], { durationMs: 1 });
    records = await readReleases(cluster.client(), { namespace: NS, app: 'shop', env: 'staging' });
    assert.deepEqual(
      records.map((r) => [r.release, r.outcome, r.interruptedBy]),
      [
        [2, 'succeeded', undefined],
        [1, 'interrupted', 'deploy-b@ci'],
      ],
    );
    assert.equal(cluster.lease().spec.holderIdentity, undefined, 'the second deploy freed the lock');
  });

  it('marks a record left running under a free lock interrupted (a takeover that could not write it)', async () => {
    const cluster = new FakeCluster();
    const first = recorder(cluster, 'deploy-a', []);
    await first.start();
    // The lock freed by hand (or by a takeover whose write failed): the record stays running.
    const lease = cluster.lease();
    cluster.store({ ...lease, spec: { leaseDurationSeconds: 60 } });
    const warnings: string[] = [];
    const second = recorder(cluster, 'deploy-b', warnings);
    await second.start();
    const records = await readReleases(cluster.client(), { namespace: NS, app: 'shop', env: 'staging' });
    assert.deepEqual(
      records.map((r) => [r.release, r.outcome]),
      [
        [2, 'running'],
        [1, 'interrupted'],
      ],
    );
    assert.match(
      warnings.join('\n'),
      /release 1 of shop\/staging \(deploy-a@ci\) was still recorded running/,
    );
  });

  it('frees the lock when the record is written', async () => {
    const cluster = new FakeCluster();
    const first = recorder(cluster, 'deploy-a', []);
    await first.start();
    await first.finish('failed', [], { durationMs: 1 });
    assert.equal(cluster.lease().spec.holderIdentity, undefined);
  });
});
