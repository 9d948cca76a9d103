// The deploy lock's rules with an injected clock, and its Lease handling against an in-memory store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeClient, ObjectId } from '../../../src/kube/index.js';
import { KubeApiError } from '../../../src/kube/index.js';
import {
  acquireLock,
  decideLock,
  holderProcessNote,
  interruptedRecord,
  parseHolderProcess,
  type ReleaseRecord,
  LockLostError,
  observeLease,
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

describe('decideLock and observeLease', () => {
  // The holder's clock runs 10 minutes behind ours: its renewTime looks long expired from here.
  const skewed = new Date(Date.now() - 10 * 60_000);
  const held = (renewTime: Date, rv = '1') => ({
    ...lease({
      holderIdentity: 'alice@laptop',
      leaseDurationSeconds: 60,
      acquireTime: microTime(renewTime),
      renewTime: microTime(renewTime),
    }),
    metadata: { name: 'l', resourceVersion: rv, annotations: { 'capstan.dev/lock-id': 'other' } },
  });

  it('creates a missing Lease and takes a free one', () => {
    assert.deepEqual(decideLock(undefined, undefined, 0), { action: 'create' });
    const free = lease({ leaseDurationSeconds: 60 });
    assert.deepEqual(decideLock(free, observeLease(undefined, free, 0), 0), { action: 'acquire' });
  });

  it('watches a Lease first seen now for its whole duration, however old its renewTime looks', () => {
    const l = held(skewed);
    const seen = observeLease(undefined, l, 5_000);
    const decision = decideLock(l, seen, 5_000);
    assert.equal(decision.action, 'watch');
    assert.equal(decision.action === 'watch' && decision.remainingMs, 60_000);
    // Unchanged 59.9 s later on our monotonic clock: still not takeable.
    assert.equal(observeLease(seen, l, 64_900), seen, 'an unchanged Lease keeps its first observation');
    assert.equal(decideLock(l, seen, 64_900).action, 'watch');
  });

  it('takes over a Lease seen unchanged for its duration, whatever its renewTime says', () => {
    // The holder's clock runs ahead: its renewTime is in our future, and still does not delay a takeover.
    const l = held(new Date(Date.now() + 3_600_000));
    const seen = observeLease(undefined, l, 1_000);
    const decision = decideLock(l, seen, 61_000);
    assert.equal(decision.action, 'acquire');
    assert.equal(decision.action === 'acquire' && decision.takeover?.holder, 'alice@laptop');
  });

  it('refuses a Lease renewed while watched, and counts from that renewal', () => {
    const first = held(skewed, '1');
    const seen = observeLease(undefined, first, 0);
    const renewed = held(new Date(skewed.getTime() + 5_000), '2');
    const again = observeLease(seen, renewed, 5_000);
    assert.deepEqual(again && { observedAt: again.observedAt, changed: again.changed }, {
      observedAt: 5_000,
      changed: true,
    });
    const decision = decideLock(renewed, again, 7_000);
    assert.equal(decision.action, 'held');
    assert.equal(decision.action === 'held' && decision.remainingMs, 58_000);
    assert.equal(decision.action === 'held' && decision.state.holder, 'alice@laptop');
  });

  it('sees a change in the resourceVersion alone', () => {
    const seen = observeLease(undefined, held(skewed, '1'), 0);
    assert.equal(observeLease(seen, held(skewed, '2'), 1)?.changed, true);
  });

  it('takes back its own Lease (a write whose answer was lost)', () => {
    const mine = lease({ ...(held(skewed) as { spec?: object }).spec }, 'mine');
    assert.deepEqual(decideLock(mine, observeLease(undefined, mine, 0), 0, 'mine'), { action: 'acquire' });
  });

  it('watches a holder without any time like any other', () => {
    const l = lease({ holderIdentity: 'x' });
    assert.equal(decideLock(l, observeLease(undefined, l, 0), 0).action, 'watch');
    assert.equal(decideLock(l, observeLease(undefined, l, 0), 60_000).action, 'acquire');
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
  /** While set, writes fail as if the API server were unreachable. */
  unreachable = false;
  private rv = 1;
  store(o: KubeObject): KubeObject {
    const copy = structuredClone(o);
    copy.metadata.resourceVersion = String(++this.rv);
    this.objects.set(copy.metadata.name!, copy);
    return structuredClone(copy);
  }
  /** What another process does to the Lease: a renewal, a takeover. */
  edit(name: string, change: (spec: Record<string, unknown>) => void, lockId?: string): void {
    const current = structuredClone(this.objects.get(name)!);
    change(current.spec as Record<string, unknown>);
    if (lockId) current.metadata.annotations = { 'capstan.dev/lock-id': lockId };
    this.store(current);
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
        if (this.unreachable)
          return Promise.reject(new KubeApiError(503, 'ServiceUnavailable', 'the server is unavailable'));
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

/** A monotonic clock that only moves when told to, or when the lock sleeps (then `onSleep` runs). */
function testClock(onSleep: (elapsedMs: number) => void = () => {}) {
  let ms = 0;
  return {
    monotonic: () => ms,
    advance: (by: number) => void (ms += by),
    elapsed: () => ms,
    sleep: (by: number) => {
      ms += by;
      onSleep(ms);
      return Promise.resolve();
    },
  };
}

const NAME = 'capstan-lock-shop-prod';
const specIn = (fake: FakeLeases) => fake.objects.get(NAME)!.spec as Record<string, unknown>;

describe('acquireLock', () => {
  const scope = { namespace: 'shop', app: 'shop', env: 'prod' };

  it('refuses a holder that renews while watched, naming it and saying when the lock becomes takeable', async () => {
    const fake = new FakeLeases();
    const first = await acquireLock(fake.client(), {
      ...scope,
      holder: 'alice@laptop (pid 1)',
      now: () => t0,
    });
    assert.equal(specIn(fake).holderIdentity, 'alice@laptop (pid 1)');
    assert.equal(specIn(fake).leaseDurationSeconds, 60);
    // Alice renews 6 s after Bob first looked (by Bob's monotonic clock).
    const clock = testClock((ms) => {
      if (ms === 6_000) fake.edit(NAME, (spec) => (spec.renewTime = microTime(at(6))));
    });
    const warnings: string[] = [];
    await assert.rejects(
      acquireLock(fake.client(), {
        ...scope,
        holder: 'bob@ci',
        now: () => at(20),
        ...clock,
        onWarning: (m) => warnings.push(m),
      }),
      (error: unknown) => {
        assert.ok(error instanceof LockHeldError);
        assert.equal(error.code, 'ERR_CAPSTAN_LOCKED');
        assert.equal(error.holder, 'alice@laptop (pid 1)');
        assert.match(error.message, /locked by alice@laptop \(pid 1\) since 2024-05-01T10:00:00\.000000Z/);
        assert.equal(
          error.takeableAt,
          at(80).toISOString(),
          'a full lease duration after the renewal seen here',
        );
        assert.match(error.hint ?? '', /taken over from 2024-05-01T10:01:20\.000Z .*capstan unlock prod/);
        assert.match(error.message, /; the lock expires in 60s; or run capstan unlock prod$/);
        return true;
      },
    );
    assert.equal(clock.elapsed(), 6_000, 'gave up as soon as it saw the renewal');
    assert.match(warnings.join('\n'), /watching the lock for up to 60s/);
    await first.release();
    assert.equal(specIn(fake).holderIdentity, undefined);
    const released: string[] = [];
    const second = await acquireLock(fake.client(), {
      ...scope,
      holder: 'bob@ci',
      ...testClock(),
      onWarning: (m) => released.push(m),
    });
    assert.deepEqual(released, [], 'a released lock is taken at once, without a warning');
    await second.release();
  });

  for (const [skew, offsetMs] of [
    ['behind', -600_000],
    ['ahead', 3_600_000],
  ] as const) {
    it(`takes over a Lease nobody renews only after watching it for its whole duration (holder's clock ${skew})`, async () => {
      const fake = new FakeLeases();
      const renewed = microTime(new Date(Date.now() + offsetMs));
      fake.store({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: NAME, namespace: 'shop', annotations: { 'capstan.dev/lock-id': 'crashed' } },
        spec: {
          holderIdentity: 'alice',
          leaseDurationSeconds: 30,
          acquireTime: renewed,
          renewTime: renewed,
          leaseTransitions: 0,
        },
      });
      const clock = testClock();
      const warnings: string[] = [];
      const lock = await acquireLock(fake.client(), {
        ...scope,
        holder: 'bob',
        ...clock,
        onWarning: (m) => warnings.push(m),
      });
      assert.equal(clock.elapsed(), 30_000, 'watched for exactly the lease duration on its own clock');
      assert.equal(warnings.length, 2);
      assert.match(warnings[1], /took over the lock of shop\/prod from alice .*nobody renewed it for 30s/);
      assert.equal(specIn(fake).holderIdentity, 'bob');
      assert.equal(specIn(fake).leaseTransitions, 1);
      assert.equal(lock.lost, false);
      await lock.release();
    });
  }

  it('says that the holder died when its process no longer runs on this machine, and hands its deploy id to the taker', async () => {
    const fake = new FakeLeases();
    const alice = { host: 'laptop', pid: 4242, alive: () => true };
    const dead = await acquireLock(fake.client(), {
      ...scope,
      holder: 'alice@laptop (pid 4242)',
      deployId: 'd-alice',
      process: alice,
      now: () => t0,
      ...testClock(),
    });
    assert.equal(fake.objects.get(NAME)!.metadata.annotations?.['capstan.dev/holder-process'], 'laptop/4242');
    assert.equal(dead.takenOver, undefined);
    (dead as unknown as { stop(): void }).stop(); // SIGKILLed: it never renews nor releases again
    const clock = testClock();
    const warnings: string[] = [];
    const bob = { host: 'laptop', pid: 77, alive: (pid: number) => pid !== 4242 };
    const lock = await acquireLock(fake.client(), {
      ...scope,
      holder: 'bob@laptop (pid 77)',
      process: bob,
      ...clock,
      onWarning: (m) => warnings.push(m),
    });
    assert.match(
      warnings[0],
      /locked by alice@laptop \(pid 4242\); process 4242 no longer runs on this machine \(laptop\), so that deploy died; watching the lock for up to 60s: .*\(expires in 60s; or run capstan unlock prod\)/,
    );
    assert.equal(lock.takenOver?.deployId, 'd-alice');
    assert.equal(lock.takenOver?.renewedAt, microTime(t0));
    assert.equal(
      fake.objects.get(NAME)!.metadata.annotations?.['capstan.dev/deploy-id'],
      undefined,
      'the new holder named no deploy',
    );
    await lock.release();
  });

  it('refuses at once a Lease longer than it would wait, saying when it becomes takeable', async () => {
    const fake = new FakeLeases();
    const renewed = microTime(t0);
    fake.store({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: NAME, namespace: 'shop', annotations: { 'capstan.dev/lock-id': 'other-tool' } },
      spec: {
        holderIdentity: 'other-tool',
        leaseDurationSeconds: 3600,
        acquireTime: renewed,
        renewTime: renewed,
      },
    });
    const clock = testClock();
    await assert.rejects(
      acquireLock(fake.client(), { ...scope, holder: 'bob', now: () => t0, ...clock }),
      (error: unknown) => {
        assert.ok(error instanceof LockHeldError);
        assert.match(
          error.message,
          /locked by other-tool since .*; its lease of 3600s may not expire within the 2m Capstan waits for a lock/,
        );
        assert.equal(error.takeableAt, at(3600).toISOString());
        return true;
      },
    );
    assert.equal(clock.elapsed(), 0, 'no wait without a deadline');
  });

  it('takes a lock released while it watched', async () => {
    const fake = new FakeLeases();
    const first = await acquireLock(fake.client(), { ...scope, holder: 'alice', ...testClock() });
    let release: Promise<void> | undefined;
    const clock = testClock((ms) => {
      if (ms === 4_000) release = first.release();
    });
    const lock = await acquireLock(fake.client(), { ...scope, holder: 'bob', ...clock });
    await release;
    assert.equal(specIn(fake).holderIdentity, 'bob');
    assert.ok(clock.elapsed() < 10_000);
    await lock.release();
  });

  it('records the namespaces it covers on the Lease', async () => {
    const fake = new FakeLeases();
    const lock = await acquireLock(fake.client(), {
      ...scope,
      holder: 'alice',
      namespaces: ['monitoring'],
      ...testClock(),
    });
    assert.equal(fake.objects.get(NAME)!.metadata.annotations?.['capstan.dev/namespaces'], 'shop,monitoring');
    assert.deepEqual(lockStateOf(fake.objects.get(NAME))?.namespaces, ['shop', 'monitoring']);
    await lock.release();
  });

  it('is lost when someone else takes the Lease over, and then never frees it', async () => {
    const fake = new FakeLeases();
    const lock = await acquireLock(fake.client(), { ...scope, holder: 'alice', ...testClock() });
    await lock.ensureHeld();
    fake.edit(NAME, (spec) => (spec.holderIdentity = 'mallory'), 'mallory-lock');
    await assert.rejects(lock.ensureHeld(), (error: unknown) => {
      assert.ok(error instanceof LockLostError);
      assert.equal(error.code, 'ERR_CAPSTAN_LOCK_LOST');
      assert.match(
        error.message,
        /lost the lock capstan-lock-shop-prod of shop\/prod: it was removed or taken over by someone else/,
      );
      return true;
    });
    assert.equal(lock.lost, true);
    await lock.release();
    assert.equal(specIn(fake).holderIdentity, 'mallory', 'the successor keeps its lock');
  });

  it('is lost when its holder changes even with its lock id kept', async () => {
    const fake = new FakeLeases();
    const lock = await acquireLock(fake.client(), { ...scope, holder: 'alice', ...testClock() });
    const lockId = fake.objects.get(NAME)!.metadata.annotations!['capstan.dev/lock-id'];
    fake.edit(NAME, (spec) => (spec.holderIdentity = 'bob'), lockId);
    await assert.rejects(lock.ensureHeld(), LockLostError);
  });

  it('is lost once it could not be renewed for two thirds of the lease, on its own clock', async () => {
    const fake = new FakeLeases();
    const clock = testClock();
    const warnings: string[] = [];
    const lock = await acquireLock(fake.client(), {
      ...scope,
      holder: 'alice',
      ...clock,
      onWarning: (m) => warnings.push(m),
    });
    fake.unreachable = true;
    clock.advance(39_000);
    await lock.ensureHeld();
    assert.match(warnings.join('\n'), /could not renew the lock capstan-lock-shop-prod for 39s/);
    clock.advance(2_000);
    await assert.rejects(lock.ensureHeld(), (error: unknown) => {
      assert.ok(error instanceof LockLostError);
      assert.match(
        error.message,
        /could not be renewed for 41s \(the server is unavailable\), and another deploy may take it over 60s after its last renewal/,
      );
      return true;
    });
    fake.unreachable = false;
    await lock.release();
    assert.equal(specIn(fake).holderIdentity, 'alice', 'a lost lock is not written any more');
  });

  it('renews on its own timer and notices when the Lease is removed', async () => {
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
    assert.equal(specIn(fake).renewTime, microTime(at(5)));
    assert.equal(await forceUnlock(fake.client(), scope), true);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(lock.lost, true);
    assert.match(warnings.join('\n'), /lost the lock capstan-lock-shop-prod/);
    await lock.release();
    assert.equal(fake.objects.size, 0, 'release does not recreate a removed Lease');
  });
});

describe('holderProcessNote and parseHolderProcess', () => {
  const state = (process?: { host: string; pid: number }) => ({
    holder: 'alice',
    leaseSeconds: 60,
    namespaces: [],
    ...(process ? { process } : {}),
  });
  const here = (alive: boolean) => ({ host: 'laptop', pid: 1, alive: () => alive });

  it('speaks only of a process of this machine that no longer runs', () => {
    assert.match(
      holderProcessNote(state({ host: 'laptop', pid: 42 }), here(false)) ?? '',
      /^process 42 no longer runs on this machine \(laptop\)/,
    );
    assert.equal(
      holderProcessNote(state({ host: 'laptop', pid: 42 }), here(true)),
      undefined,
      'still running',
    );
    assert.equal(
      holderProcessNote(state({ host: 'ci-runner', pid: 42 }), here(false)),
      undefined,
      'another machine',
    );
    assert.equal(holderProcessNote(state(), here(false)), undefined, 'no process recorded');
    assert.equal(holderProcessNote(state({ host: 'laptop', pid: 42 }), undefined), undefined, 'no probe');
  });

  it('reads HOST/PID and nothing else', () => {
    assert.deepEqual(parseHolderProcess('my/host/42'), { host: 'my/host', pid: 42 });
    assert.equal(parseHolderProcess('laptop/0'), undefined);
    assert.equal(parseHolderProcess('laptop'), undefined);
    assert.equal(parseHolderProcess(undefined), undefined);
  });
});

describe('interruptedRecord', () => {
  const record: ReleaseRecord = {
    app: 'shop',
    env: 'prod',
    namespace: 'shop',
    release: 3,
    deployId: 'd-alice',
    images: [],
    user: 'alice',
    host: 'laptop',
    startedAt: '2024-05-01T10:00:00.000Z',
    outcome: 'running',
    inventory: [],
    manifests: [],
    hookJobs: [],
    phases: [
      {
        name: '10-config',
        startedAt: '2024-05-01T10:00:01.000Z',
        finishedAt: '2024-05-01T10:00:02.000Z',
        outcome: 'succeeded',
      },
      { name: '30-deploy', startedAt: '2024-05-01T10:00:02.000Z', outcome: 'running' },
    ],
  };
  const takeover = { deployId: 'd-alice', renewedAt: '2024-05-01T10:00:30.000000Z', by: 'bob', at: at(120) };

  it("completes the dead deploy's running record as interrupted, saying when its lock was last renewed", () => {
    const marked = interruptedRecord(record, takeover)!;
    assert.equal(marked.outcome, 'interrupted');
    assert.equal(marked.finishedAt, at(120).toISOString());
    assert.equal(marked.lockRenewedAt, '2024-05-01T10:00:30.000000Z');
    assert.equal(marked.interruptedBy, 'bob');
    assert.deepEqual(
      marked.phases.map((p) => [p.name, p.outcome, p.finishedAt]),
      [
        ['10-config', 'succeeded', '2024-05-01T10:00:02.000Z'],
        ['30-deploy', 'interrupted', at(120).toISOString()],
      ],
    );
  });

  it('leaves other deploys and finished records alone', () => {
    assert.equal(interruptedRecord({ ...record, deployId: 'd-other' }, takeover), undefined);
    assert.equal(interruptedRecord({ ...record, outcome: 'failed' }, takeover), undefined);
  });
});
