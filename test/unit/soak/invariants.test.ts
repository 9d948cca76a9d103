// The soak's invariant checks (test/soak/invariants.ts) find what they claim to find: a soak whose
// checks never fire would report 0 violations whatever Capstan did.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReleaseRecord } from '../../../src/release/index.js';
import type { KubeObject } from '../../../src/shared/index.js';
import {
  checkNoOverlap,
  checkOutcomes,
  checkPrune,
  checkExpectation,
  checkRecorded,
  type ClusterState,
} from '../../soak/invariants.js';

const NS = 'soak-7-abc123';
const configMap = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS, labels },
  data: { PORT: '5432' },
});
const DECOYS = [configMap('decoy-other-app'), configMap('decoy-unlabelled')];

function record(release: number, fields: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    app: 'soak',
    env: 'test',
    namespace: NS,
    release,
    deployId: `deploy-${release}`,
    images: [],
    user: 'soak-1-0',
    host: 'ci',
    startedAt: `2026-12-07T23:0${release}:00.000Z`,
    finishedAt: `2026-12-07T23:0${release}:30.000Z`,
    phases: [],
    outcome: 'succeeded',
    inventory: [],
    manifests: [],
    hookJobs: [],
    ...fields,
  };
}

function state(records: ReleaseRecord[], live: KubeObject[] = [], lease?: KubeObject): ClusterState {
  return { records, lease, live, all: new Map([['ConfigMap', [...DECOYS, ...live]]]) };
}

describe('soak invariants', () => {
  it('a running record under a free lock is a violation; terminal ones are not', () => {
    assert.deepEqual(checkOutcomes(state([record(1), record(2, { outcome: 'interrupted' })])), []);
    const found = checkOutcomes(state([record(1, { outcome: 'running' })]));
    assert.equal(found.length, 1);
    assert.match(found[0], /release 1 is recorded running .* the lock is free/);
  });

  it('two releases whose times overlap are a violation', () => {
    const overlapping = record(2, { startedAt: '2026-12-07T23:01:10.000Z' });
    assert.deepEqual(checkNoOverlap(state([record(1), record(3)])), []);
    assert.match(checkNoOverlap(state([record(1), overlapping])).join(), /releases 1 and 2 overlap/);
  });

  it('a labelled object that no record lists is a violation; one in the manifests is not', () => {
    const extra = configMap('extra-0');
    const listed = record(1, {
      outcome: 'interrupted',
      manifests: [{ ...extra, metadata: { name: 'extra-0' } }],
    });
    assert.deepEqual(checkRecorded(state([listed], [extra]), NS), []);
    assert.match(checkRecorded(state([record(1)], [extra]), NS).join(), /extra-0 carries the app's labels/);
  });

  it("a decoy deleted, or the newest success's object gone with only failures after it, is a violation", () => {
    const entry = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'settings' };
    const good = record(1, { inventory: [entry] });
    assert.match(checkPrune(state([record(2, { outcome: 'failed' }), good])).join(), /settings of release 1/);
    assert.deepEqual(
      checkPrune(state([record(2, { outcome: 'failed' }), good], [configMap('settings')])),
      [],
    );
    // After an interrupted deploy the newest success's objects may have been replaced: not checked.
    assert.deepEqual(checkPrune(state([record(2, { outcome: 'interrupted' }), good])), []);
    const noDecoy: ClusterState = { ...state([]), all: new Map([['ConfigMap', [DECOYS[1]]]]) };
    assert.match(checkPrune(noDecoy).join(), /decoy-other-app .* was deleted/);
  });

  it('a rollback is judged by its own record when it trimmed its target (the oldest kept)', () => {
    const web = (image: string): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: NS },
      spec: { template: { spec: { containers: [{ name: 'web', image }] } } },
    });
    const rolledBack = record(12, {
      outcome: 'rolled-back',
      rolledBackTo: 2,
      manifests: [web('example.com/soak/web:2')],
    });
    const live = (image: string): ClusterState => ({
      ...state([rolledBack]),
      all: new Map([['Deployment', [web(image)]]]),
    });
    assert.deepEqual(checkExpectation(live('example.com/soak/web:2'), { kind: 'rolled-back', to: 2 }), []);
    assert.match(
      checkExpectation(live('example.com/soak/web:11'), { kind: 'rolled-back', to: 2 }).join(),
      /rollback to 2 exited 0 but web runs example.com\/soak\/web:11/,
    );
  });
});
