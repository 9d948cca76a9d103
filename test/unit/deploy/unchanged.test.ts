// What a redeploy leaves unsent (pure): the digest of what was sent, and the per-kind rule that
// tells nobody changed the object since. Anything uncertain is sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { judgeUnchanged, planUnchanged, unchangedRule } from '../../../src/deploy/unchanged.js';
import { appliedDigest, appliedEntry } from '../../../src/release/index.js';
import { sortKeys, type KubeObject } from '../../../src/shared/index.js';
import { releaseRecord } from '../../fixtures/release-record.js';

const deployment = (image = 'example.com/app:1'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web.api', namespace: 'shop', labels: { tier: 'a-b.c' }, annotations: { x: 'false' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image, env: [{ name: 'PORT', value: '5432' }] }] },
    },
  },
});

const configMap = (data: Record<string, string> = { MODE: 'false', EMPTY: '' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'shop', labels: { tier: 'a' } },
  data,
});

/** The object as the API server answers its apply: with uid, resourceVersion, generation, status. */
function applied(sent: KubeObject, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  const generation = sent.kind === 'ConfigMap' ? {} : { generation: 3 };
  return {
    ...sent,
    metadata: { ...sent.metadata, uid: 'u-1', resourceVersion: '100', ...generation, ...extra },
    ...(sent.kind === 'ConfigMap' ? {} : { status: { observedGeneration: 3 } }),
  };
}

/** Keys in reverse order, at every level. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversed(v)]),
    );
  return value;
}

describe('appliedDigest', () => {
  it('is the same whatever the order of keys', () => {
    assert.equal(appliedDigest(reversed(deployment()) as KubeObject), appliedDigest(deployment()));
  });

  it('differs on any value change, the type of a value included', () => {
    const base = configMap({ MODE: 'false' });
    assert.notEqual(appliedDigest(configMap({ MODE: 'true' })), appliedDigest(base));
    assert.notEqual(appliedDigest({ ...base, data: { MODE: false } }), appliedDigest(base));
    assert.notEqual(appliedDigest(configMap({ MODE: 'false', '': '' })), appliedDigest(base));
  });

  it('is never taken of a Secret', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'YQ==' } };
    assert.equal(appliedDigest(secret as KubeObject), undefined);
    const entry = appliedEntry(applied(secret), secret);
    assert.equal(entry.digest, undefined);
    assert.ok(!JSON.stringify(entry).includes('YQ=='));
  });
});

describe('judgeUnchanged', () => {
  const cases: Array<[string, KubeObject, (live: KubeObject) => KubeObject]> = [
    ['a Deployment whose status moved on', deployment(), (l) => ({ ...l, status: { readyReplicas: 2 } })],
    [
      'a Deployment with a label someone else added',
      deployment(),
      (l) => ({ ...l, metadata: { ...l.metadata, labels: { ...l.metadata.labels, extra: '1' } } }),
    ],
    [
      'a Deployment whose controller wrote its revision annotation (a status update: same generation)',
      deployment(),
      (l) => ({
        ...l,
        metadata: {
          ...l.metadata,
          resourceVersion: '180',
          annotations: { ...l.metadata.annotations, 'deployment.kubernetes.io/revision': '1' },
        },
      }),
    ],
    ['an untouched ConfigMap', configMap(), (l) => l],
  ];
  for (const [what, sent, change] of cases) {
    it(`leaves unsent ${what}`, () => {
      const live = applied(sent);
      const entry = appliedEntry(live, sent);
      assert.deepEqual(judgeUnchanged(sent, change(live), entry), { unchanged: true });
    });
  }

  const sends: Array<[string, KubeObject, (live: KubeObject) => KubeObject | undefined, string]> = [
    ['a Deployment scaled by hand', deployment(), (l) => bump(l), 'changed since (generation)'],
    [
      'a Deployment whose label Capstan sets was changed',
      deployment(),
      (l) => ({ ...l, metadata: { ...l.metadata, labels: { tier: 'other' } } }),
      'labels or annotations changed since',
    ],
    [
      'a Deployment whose annotation Capstan sets was removed',
      deployment(),
      (l) => ({ ...l, metadata: { ...l.metadata, annotations: {} } }),
      'labels or annotations changed since',
    ],
    [
      'a ConfigMap written since (resourceVersion)',
      configMap(),
      (l) => ({ ...l, metadata: { ...l.metadata, resourceVersion: '101' } }),
      'changed since (resourceVersion)',
    ],
    [
      'an object deleted and created again (same generation, another uid)',
      deployment(),
      (l) => ({ ...l, metadata: { ...l.metadata, uid: 'u-2' } }),
      'deleted and created again since',
    ],
    ['an object that is gone', configMap(), () => undefined, 'not in the cluster'],
    [
      'an object being deleted',
      configMap(),
      (l) => ({ ...l, metadata: { ...l.metadata, deletionTimestamp: '2024-05-01T10:00:00Z' } }),
      'being deleted',
    ],
  ];
  for (const [what, sent, change, why] of sends) {
    it(`sends ${what}`, () => {
      const live = applied(sent);
      assert.deepEqual(judgeUnchanged(sent, change(live), appliedEntry(live, sent)), {
        unchanged: false,
        why,
      });
    });
  }

  it('sends what it cannot judge: Secrets, Jobs, custom resources, no record, an old record', () => {
    for (const kind of ['Secret', 'Job', 'Pod']) {
      const sent = {
        apiVersion: kind === 'Job' ? 'batch/v1' : 'v1',
        kind,
        metadata: { name: 'a' },
      } as KubeObject;
      assert.equal(judgeUnchanged(sent, applied(sent), appliedEntry(applied(sent), sent)).unchanged, false);
    }
    const cr = { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'a' } } as KubeObject;
    assert.equal(unchangedRule(cr), undefined);
    const sent = configMap();
    assert.equal(judgeUnchanged(sent, applied(sent), undefined).unchanged, false);
    const old = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' };
    assert.equal(judgeUnchanged(sent, applied(sent), old).unchanged, false);
  });

  it('sends a workload rendering fields that generation does not cover', () => {
    const sent = { ...deployment(), metadata: { ...deployment().metadata, finalizers: ['x'] } } as KubeObject;
    const live = applied(sent);
    assert.equal(judgeUnchanged(sent, live, appliedEntry(live, sent)).unchanged, false);
  });
});

function bump(live: KubeObject): KubeObject {
  return { ...live, metadata: { ...live.metadata, generation: (live.metadata.generation ?? 0) + 1 } };
}

/** Any JSON value a template may render: strings with dots and dashes, empty and long ones, numbers, booleans. */
const value = fc.oneof(
  fc.constantFrom('', 'false', '5432', 'a.b-c', 'x'.repeat(300)),
  fc.string(),
  fc.integer(),
  fc.boolean(),
);

describe('any change is sent (property)', () => {
  it('any change to the rendered object changes the decision to send', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), value, { minKeys: 1 }),
        fc.nat(),
        value,
        (data, pick, next) => {
          const sent = { ...configMap(), data } as KubeObject;
          const live = applied(sent);
          const entry = appliedEntry(live, sent);
          assert.equal(judgeUnchanged(sent, live, entry).unchanged, true);
          const key = Object.keys(data)[pick % Object.keys(data).length];
          fc.pre(JSON.stringify(next) !== JSON.stringify(data[key]));
          const changed = { ...sent, data: { ...data, [key]: next } } as KubeObject;
          assert.deepEqual(judgeUnchanged(changed, live, entry), {
            unchanged: false,
            why: 'rendered differently',
          });
          // A workload too: any value of its pod template.
          const web = deployment(String(next));
          const webLive = applied(deployment());
          assert.equal(judgeUnchanged(web, webLive, appliedEntry(webLive, deployment())).unchanged, false);
        },
      ),
    );
  });

  it('any two specs that differ other than by the order of keys are told apart', () => {
    const canonical = (v: unknown) => JSON.stringify(sortKeys(v));
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (before, now) => {
        fc.pre(canonical(before) !== canonical(now));
        const was = { ...deployment(), spec: before } as KubeObject;
        const live = applied(was);
        const entry = appliedEntry(live, was);
        assert.equal(judgeUnchanged(reversed(was) as KubeObject, live, entry).unchanged, true);
        assert.equal(judgeUnchanged({ ...was, spec: now }, live, entry).unchanged, false);
      }),
    );
  });

  it('any live change in the field exact for the kind forces a send', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (before, now) => {
          fc.pre(before !== now);
          const cm = configMap();
          const cmLive = applied(cm, { resourceVersion: String(before) });
          const cmNow = { ...cmLive, metadata: { ...cmLive.metadata, resourceVersion: String(now) } };
          assert.equal(judgeUnchanged(cm, cmNow, appliedEntry(cmLive, cm)).unchanged, false);
          const web = deployment();
          const webLive = applied(web, { generation: before });
          const webNow = { ...webLive, metadata: { ...webLive.metadata, generation: now } };
          assert.equal(judgeUnchanged(web, webNow, appliedEntry(webLive, web)).unchanged, false);
        },
      ),
    );
  });
});

describe('planUnchanged', () => {
  const sent = configMap();
  const live = applied(sent);
  const entry = appliedEntry(live, sent);

  it('judges each object by the newest record holding it', () => {
    const older = appliedEntry({ ...live, metadata: { ...live.metadata, resourceVersion: '50' } }, sent);
    const records = [releaseRecord(2, [entry]), releaseRecord(1, [older]), releaseRecord(3, [])];
    assert.deepEqual([...planUnchanged([sent], [live], records).keys()], ['ConfigMap/shop/settings']);
    assert.equal(
      planUnchanged([sent], [live], [releaseRecord(1, [entry]), releaseRecord(2, [older])]).size,
      0,
    );
  });

  it('leaves nothing unsent without a record, or while the newest release is running', () => {
    assert.equal(planUnchanged([sent], [live], []).size, 0);
    assert.equal(
      planUnchanged([sent], [live], [releaseRecord(1, [entry]), releaseRecord(2, [], 'running')]).size,
      0,
    );
  });
});
