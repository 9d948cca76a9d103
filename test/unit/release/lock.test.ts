// The deploy lock's rules with an injected clock, and its Lease handling against an in-memory store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeClient, ObjectId } from '../../../src/kube/index.js';
import { KubeApiError } from '../../../src/kube/index.js';
import {
  acquireLock,
  decideLock,
  forceUnlock,
  LockHeldError,
  lockName,
  lockStateOf,
  microTime,
} from '../../../src/release/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

function lease(spec: Record<string, unknown>, lockId = 'other'): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'l', resourceVersion: '1', annotations: { 'capstan.dev/lock-id': lockId } },
    spec,
  };
}

const t0 = new Date('2024-05-01T10:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('decideLock', () => {
  const held = lease({
    holderIdentity: 'alice@laptop',
    leaseDurationSeconds: 60,
    acquireTime: microTime(t0),
    renewTime: microTime(at(30)),
  });

  it('creates a missing Lease and takes a free one', () => {
    assert.deepEqual(decideLock(undefined, t0), { action: 'create' });
    assert.deepEqual(decideLock(lease({ leaseDurationSeconds: 60 }), t0), { action: 'acquire' });
  });

  it('refuses a Lease renewed less than its duration ago', () => {
    const decision = decideLock(held, at(89));
    assert.equal(decision.action, 'held');
    assert.equal(decision.action === 'held' && decision.state.holder, 'alice@laptop');
    assert.equal(decision.action === 'held' && decision.state.expiresAt, '2024-05-01T10:01:30.000Z');
  });

  it('takes over once the last renewal is older than the duration', () => {
    const decision = decideLock(held, at(90));
    assert.equal(decision.action, 'acquire');
    assert.equal(decision.action === 'acquire' && decision.takeover?.holder, 'alice@laptop');
  });

  it('takes back its own Lease (a write whose answer was lost)', () => {
    assert.deepEqual(decideLock(lease({ ...(held.spec as object) }, 'mine'), at(10), 'mine'), {
      action: 'acquire',
    });
  });

  it('treats a holder without any time as expired', () => {
    assert.equal(decideLock(lease({ holderIdentity: 'x' }), t0).action, 'acquire');
  });

  it('formats MicroTime with six fractional digits', () => {
    assert.equal(microTime(new Date('2024-05-01T10:00:00.123Z')), '2024-05-01T10:00:00.123000Z');
  });

  it('names the Lease after app and environment', () => {
    assert.equal(lockName('shop', 'production'), 'capstan-lock-shop-production');
    assert.equal(lockStateOf(undefined), undefined);
  });
});

/** Enough of the Lease API for the lock: resourceVersion checks, AlreadyExists, NotFound. */
class FakeLeases {
  objects = new Map<string, KubeObject>();
  private rv = 1;
  private store(o: KubeObject): KubeObject {
    const copy = structuredClone(o);
    copy.metadata.resourceVersion = String(++this.rv);
    this.objects.set(copy.metadata.name!, copy);
    return structuredClone(copy);
  }
  client(): KubeClient {
    return {
      get: (id: ObjectId) => Promise.resolve(structuredClone(this.objects.get(id.name))),
      create: (o: KubeObject) => {
        if (this.objects.has(o.metadata.name!))
          return Promise.reject(new KubeApiError(409, 'AlreadyExists', 'exists'));
        return Promise.resolve(this.store(o));
      },
      replace: (o: KubeObject) => {
        const current = this.objects.get(o.metadata.name!);
        if (!current) return Promise.reject(new KubeApiError(404, 'NotFound', 'not found'));
        if (current.metadata.resourceVersion !== o.metadata.resourceVersion)
          return Promise.reject(new KubeApiError(409, 'Conflict', 'modified'));
        return Promise.resolve(this.store(o));
      },
      delete: (id: ObjectId) => Promise.resolve(this.objects.delete(id.name)),
    } as unknown as KubeClient;
  }
}

describe('acquireLock', () => {
  const scope = { namespace: 'shop', app: 'shop', env: 'prod' };

  it('refuses a second holder, naming the first and since when', async () => {
    const fake = new FakeLeases();
    const first = await acquireLock(fake.client(), {
      ...scope,
      holder: 'alice@laptop (pid 1)',
      now: () => t0,
    });
    const spec = fake.objects.get('capstan-lock-shop-prod')!.spec as Record<string, unknown>;
    assert.equal(spec.holderIdentity, 'alice@laptop (pid 1)');
    assert.equal(spec.leaseDurationSeconds, 60);
    await assert.rejects(
      acquireLock(fake.client(), { ...scope, holder: 'bob@ci', now: () => at(20) }),
      (error: unknown) => {
        assert.ok(error instanceof LockHeldError);
        assert.equal(error.code, 'ERR_CAPSTAN_LOCKED');
        assert.equal(error.holder, 'alice@laptop (pid 1)');
        assert.match(
          error.message,
          /locked by alice@laptop \(pid 1\) since 2024-05-01T10:00:00\.000000Z \(20s ago/,
        );
        assert.match(error.hint ?? '', /capstan unlock prod/);
        return true;
      },
    );
    await first.release();
    assert.equal(
      (fake.objects.get('capstan-lock-shop-prod')!.spec as Record<string, unknown>).holderIdentity,
      undefined,
    );
    const warnings: string[] = [];
    const second = await acquireLock(fake.client(), {
      ...scope,
      holder: 'bob@ci',
      now: () => at(21),
      onWarning: (m) => warnings.push(m),
    });
    assert.deepEqual(warnings, [], 'a released lock is taken without a warning');
    await second.release();
  });

  it('takes over an expired lock with a warning', async () => {
    const fake = new FakeLeases();
    const crashed = await acquireLock(fake.client(), {
      ...scope,
      holder: 'alice',
      leaseSeconds: 30,
      now: () => t0,
    });
    const warnings: string[] = [];
    const lock = await acquireLock(fake.client(), {
      ...scope,
      holder: 'bob',
      now: () => at(31),
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /took over the expired lock of shop\/prod from alice/);
    assert.equal(
      (fake.objects.get('capstan-lock-shop-prod')!.spec as Record<string, unknown>).leaseTransitions,
      1,
    );
    await crashed.release(); // taken over: must not free its successor's lock
    assert.equal(
      (fake.objects.get('capstan-lock-shop-prod')!.spec as Record<string, unknown>).holderIdentity,
      'bob',
    );
    assert.equal(lock.lost, false);
    await lock.release();
  });

  it('renews while held and notices when someone else takes the Lease', async () => {
    const fake = new FakeLeases();
    let now = t0;
    const warnings: string[] = [];
    const lock = await acquireLock(fake.client(), {
      ...scope,
      holder: 'alice',
      leaseSeconds: 0.3,
      now: () => now,
      onWarning: (m) => warnings.push(m),
    });
    now = at(5);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(
      (fake.objects.get('capstan-lock-shop-prod')!.spec as Record<string, unknown>).renewTime,
      microTime(at(5)),
    );
    assert.equal(await forceUnlock(fake.client(), scope), true);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(lock.lost, true);
    assert.match(warnings.join('\n'), /lost the lock capstan-lock-shop-prod/);
    await lock.release();
    assert.equal(fake.objects.size, 0, 'release does not recreate a removed Lease');
  });
});
