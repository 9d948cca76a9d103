// What people read after a migration: what was verified, apart from what was not copied and so
// cannot be; `verified: B matches A` only when nothing was left out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeRunningJobs,
  describeVolumes,
  formatPlan,
  formatVerification,
  withOwnerUids,
  type LeftOut,
  type PlannedObject,
  type Verification,
} from '../../../src/migrate/index.js';

const claim = (name: string, size?: string) => ({
  ref: { kind: 'PersistentVolumeClaim', group: '', namespace: 'shop', name },
  ...(size ? { size } : {}),
  reason: 'copied claim: B provisions an empty volume',
});
const volumes = [claim('pg-data-0', '50Gi'), claim('pg-data-1', '50Gi'), claim('uploads')];
const running = [{ kind: 'Job', group: 'batch', namespace: 'shop', name: 'import-123' }];
const nothing: LeftOut = { volumes: [], runningJobs: [] };

function verification(leftOut: LeftOut, ok = true): Verification {
  const complete = ok && leftOut.volumes.length === 0 && leftOut.runningJobs.length === 0;
  return {
    ok,
    complete,
    leftOut,
    missing: ok ? [] : [{ kind: 'ConfigMap', group: '', namespace: 'shop', name: 'web' }],
    extra: [],
    unsupported: [],
    different: [],
    unhealthy: [],
    kinds: [
      {
        kind: 'ConfigMap',
        source: 12,
        target: ok ? 12 : 11,
        missing: ok ? 0 : 1,
        extra: 0,
        different: 0,
        unhealthy: 0,
      },
    ],
  };
}

describe('describeVolumes and describeRunningJobs', () => {
  it('names each claim with its size', () => {
    assert.equal(
      describeVolumes(volumes),
      'data NOT copied: 3 PersistentVolumeClaims (shop/pg-data-0 50Gi, shop/pg-data-1 50Gi, shop/uploads), B has empty volumes',
    );
    assert.equal(
      describeVolumes([volumes[0]]),
      'data NOT copied: 1 PersistentVolumeClaim (shop/pg-data-0 50Gi), B has empty volumes',
    );
  });

  it('counts claims and volumes apart and shortens long lists', () => {
    const many = [
      ...Array.from({ length: 7 }, (_, i) => claim(`c-${i}`)),
      { ref: { kind: 'PersistentVolume', group: '', name: 'pvc-9' }, reason: 'x' },
    ];
    assert.equal(
      describeVolumes(many),
      'data NOT copied: 7 PersistentVolumeClaims and 1 PersistentVolume (shop/c-0, shop/c-1, shop/c-2, shop/c-3, shop/c-4, … 3 more), B has empty volumes',
    );
  });

  it('names running Jobs', () => {
    assert.equal(
      describeRunningJobs(running),
      'not copied: 1 running Job shop/import-123: it would run again in B',
    );
  });
});

describe('formatVerification', () => {
  it('says B matches A only when nothing was left out', () => {
    const text = formatVerification(verification(nothing));
    assert.match(text, /^verified: B matches A$/m);
    assert.doesNotMatch(text, /NOT copied/);
  });

  it('without --allow-empty-volumes, lists the empty volumes and verifies nothing', () => {
    const text = formatVerification(verification({ volumes, runningJobs: [] }));
    assert.match(text, /^data NOT copied: 3 PersistentVolumeClaims \(shop\/pg-data-0 50Gi/m);
    assert.doesNotMatch(text, /verified/);
    assert.match(text, /B is not a copy of A: the 12 copied objects match.*--allow-empty-volumes/);
  });

  it('with --allow-empty-volumes, verifies the copied objects only, and still lists the volumes', () => {
    const text = formatVerification(verification({ volumes, runningJobs: running }), {
      allowEmptyVolumes: true,
    });
    assert.match(text, /^data NOT copied: 3 PersistentVolumeClaims/m);
    assert.match(text, /^not copied: 1 running Job shop\/import-123: it would run again in B$/m);
    assert.match(
      text,
      /^verified: the 12 copied objects in B match A; what is listed as not copied is not verified$/m,
    );
    assert.doesNotMatch(text, /B matches A$/m);
  });

  it('running Jobs alone do not make B a copy of A', () => {
    const text = formatVerification(verification({ volumes: [], runningJobs: running }));
    assert.match(text, /^verified: the 12 copied objects in B match A/m);
    assert.doesNotMatch(text, /^verified: B matches A$/m);
  });

  it('differences fail verification, whatever was left out', () => {
    const text = formatVerification(verification({ volumes, runningJobs: [] }, false), {
      allowEmptyVolumes: true,
    });
    assert.match(text, /^verification failed: 1 difference$/m);
    assert.doesNotMatch(text, /^verified/m);
  });
});

describe('formatPlan', () => {
  it('lists what will not be copied', () => {
    const text = formatPlan(
      {
        counts: [],
        skipped: [],
        skippedKinds: [],
        unsupported: [],
        leftOut: { volumes, runningJobs: running },
        total: 0,
      },
      { listSkipped: false },
    );
    assert.match(text, /^data NOT copied: 3 PersistentVolumeClaims/m);
    assert.match(text, /^not copied: 1 running Job shop\/import-123/m);
  });
});

describe('withOwnerUids', () => {
  const planned: PlannedObject = {
    key: 'ConfigMap/shop/owned',
    ref: { kind: 'ConfigMap', group: '', namespace: 'shop', name: 'owned' },
    wave: 6,
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: 'shop' } },
    owners: [
      { key: 'ConfigMap/shop/a', apiVersion: 'v1', kind: 'ConfigMap', name: 'a' },
      {
        key: 'Widget.example.com/shop/b',
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        name: 'b',
        blockOwnerDeletion: true,
      },
    ],
  };

  it("points at the owners' UIDs in B once they exist", () => {
    const { planned: withUids, complete } = withOwnerUids(
      planned,
      new Map([
        ['ConfigMap/shop/a', 'b-uid-a'],
        ['Widget.example.com/shop/b', 'b-uid-b'],
      ]),
    );
    assert.equal(complete, true);
    assert.deepEqual(withUids.object.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', uid: 'b-uid-a' },
      { apiVersion: 'example.com/v1', kind: 'Widget', name: 'b', blockOwnerDeletion: true, uid: 'b-uid-b' },
    ]);
    assert.equal(planned.object.metadata.ownerReferences, undefined, 'the plan is not changed');
  });

  it('leaves out owners not yet in B and says so', () => {
    const { planned: partial, complete } = withOwnerUids(planned, new Map([['ConfigMap/shop/a', 'b-uid-a']]));
    assert.equal(complete, false);
    assert.deepEqual(partial.object.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', uid: 'b-uid-a' },
    ]);
    assert.equal(withOwnerUids(planned, new Map()).planned.object.metadata.ownerReferences, undefined);
  });
});
