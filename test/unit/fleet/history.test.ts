// A multi-cluster environment's history (pure): records merged by the shared release number, the
// table and its JSON, and the one release a rollback of several clusters restores.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseFleetTarget,
  formatFleetHistory,
  mergeHistories,
  type ClusterHistory,
} from '../../../src/fleet/history.js';
import type { ReleaseRecord } from '../../../src/release/index.js';
import { CapstanError } from '../../../src/shared/index.js';

function record(
  cluster: string,
  release: number,
  outcome: ReleaseRecord['outcome'],
  extra: Partial<ReleaseRecord> = {},
): ReleaseRecord {
  return {
    app: 'shop',
    env: 'production',
    namespace: 'shop-production',
    release,
    deployId: `20240501100${release}00-ab1${release}`,
    images: [`registry.example.com/shop:1.${release}.0`],
    gitCommit: `c0ffee${release}000000000000`,
    gitBranch: 'main',
    user: 'alice',
    host: 'ci-7',
    startedAt: `2024-05-0${release}T10:00:0${cluster === 'eu' ? 0 : 3}.000Z`,
    finishedAt: `2024-05-0${release}T10:01:05.000Z`,
    phases: [],
    outcome,
    inventory: [],
    manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'shop' } }],
    hookJobs: [],
    cluster,
    ...extra,
  };
}

/** eu has 1-4; us missed 3 (skipped) and failed 4; both succeeded 1 and 2. */
const eu: ClusterHistory = {
  cluster: 'eu',
  records: [
    record('eu', 4, 'succeeded'),
    record('eu', 3, 'succeeded', { skippedClusters: ['us'] }),
    record('eu', 2, 'succeeded'),
    record('eu', 1, 'succeeded'),
  ],
};
const us: ClusterHistory = {
  cluster: 'us',
  records: [record('us', 4, 'failed'), record('us', 2, 'succeeded'), record('us', 1, 'succeeded')],
};

describe('mergeHistories', () => {
  it('gives one row per release, newest first, with a cell per cluster and null where it has no record', () => {
    const merged = mergeHistories([eu, us]);
    assert.deepEqual(
      merged.releases.map((r) => r.release),
      [4, 3, 2, 1],
    );
    assert.deepEqual(merged.clusters, [{ name: 'eu' }, { name: 'us' }]);
    const [four, three] = merged.releases;
    assert.equal(four.clusters.eu?.outcome, 'succeeded');
    assert.equal(four.clusters.us?.outcome, 'failed');
    assert.equal(three.clusters.us, null);
    assert.deepEqual(three.skippedClusters, ['us']);
    // The earliest start of the clusters' records; who and which commit, once.
    assert.equal(four.startedAt, '2024-05-04T10:00:00.000Z');
    assert.equal(four.user, 'alice');
    assert.equal(four.gitCommit, 'c0ffee4000000000000');
    // Cells are history entries: no manifests, their count instead.
    assert.equal(four.clusters.eu?.manifestCount, 1);
    assert.equal('manifests' in (four.clusters.eu ?? {}), false);
    assert.equal(four.clusters.eu?.durationMs, 65_000);
  });

  it('keeps a cluster that could not be read out of the cells, with its error', () => {
    const merged = mergeHistories([eu, { cluster: 'us', error: 'cannot reach the Kubernetes API' }]);
    assert.deepEqual(merged.clusters, [
      { name: 'eu' },
      { name: 'us', error: 'cannot reach the Kubernetes API' },
    ]);
    assert.deepEqual(Object.keys(merged.releases[0].clusters), ['eu']);
  });

  it('merges a release only one cluster recorded, and none', () => {
    const merged = mergeHistories([
      { cluster: 'eu', records: [] },
      { cluster: 'us', records: [record('us', 1, 'succeeded')] },
    ]);
    assert.equal(merged.releases.length, 1);
    assert.equal(merged.releases[0].clusters.eu, null);
    assert.equal(mergeHistories([{ cluster: 'eu', records: [] }]).releases.length, 0);
  });
});

describe('formatFleetHistory', () => {
  it('prints a column per cluster: outcome, duration and image; - without a record, skipped when left out', () => {
    const text = formatFleetHistory(
      mergeHistories([
        eu,
        { ...us, records: [record('us', 5, 'rolled-back', { rolledBackTo: 2 }), ...us.records!] },
      ]),
    );
    const lines = text.trimEnd().split('\n');
    assert.match(lines[0], /^RELEASE\s+STARTED\s+BY\s+EU\s+US\s+NOTES$/);
    assert.match(
      lines[1],
      /^5\s+2024-05-05T10:00:03Z\s+alice@ci-7\s+-\s+rolled-back \(1m 2s\) registry\.example\.com\/shop:1\.5\.0\s+rollback to 2; commit c0ffee500000 \(main\)$/,
    );
    assert.match(
      lines[2],
      /^4 .* succeeded \(1m 5s\) registry\.example\.com\/shop:1\.4\.0\s+failed \(1m 2s\) registry\.example\.com\/shop:1\.4\.0\s+commit/,
    );
    assert.match(
      lines[3],
      /^3 .* succeeded \(1m 5s\) registry\.example\.com\/shop:1\.3\.0\s+skipped\s+commit/,
    );
    assert.equal(lines.length, 6);
  });

  it('says when the clusters of one release number were not one deploy', () => {
    const alone = {
      cluster: 'us',
      records: [record('us', 2, 'succeeded', { deployId: '20240502100000-ffff' })],
    };
    const text = formatFleetHistory(mergeHistories([eu, alone]));
    assert.match(text, /\n2 .*not one deploy: eu 20240501100200-ab12, us 20240502100000-ffff; commit/);
    assert.doesNotMatch(formatFleetHistory(mergeHistories([eu, us])), /not one deploy/);
  });

  it('marks an unreadable cluster unreachable, its cells ?', () => {
    const text = formatFleetHistory(mergeHistories([{ cluster: 'eu', error: 'refused' }, us]));
    assert.match(text, /^RELEASE\s+STARTED\s+BY\s+EU \(UNREACHABLE\)\s+US\s+NOTES\n/);
    assert.match(text, /\n4 .*alice@ci-7\s+\?\s+failed/);
  });

  it('says so when nothing is recorded', () => {
    assert.equal(
      formatFleetHistory(mergeHistories([{ cluster: 'eu', records: [] }])),
      'no releases recorded\n',
    );
  });
});

describe('chooseFleetTarget', () => {
  const refusal = (pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof CapstanError);
    assert.equal(error.code, 'ERR_CAPSTAN_NO_SUCH_RELEASE');
    assert.match(error.message, pattern);
    return true;
  };

  it('defaults to the newest release before the current one that succeeded in every cluster', () => {
    // 3 is eu's only (us was skipped), so both go back to 2.
    assert.equal(chooseFleetTarget([eu, us]), 2);
    // eu alone: what a single-cluster rollback picks.
    assert.equal(chooseFleetTarget([eu]), 3);
    // us alone: 4 failed there, and is its current one.
    assert.equal(chooseFleetTarget([us]), 2);
  });

  it("measures 'before the current' from the environment's newest release, not each cluster's", () => {
    // 5 reached eu only (us was not deployed): undoing it puts both on 4, which succeeded in both.
    const five = { cluster: 'eu', records: [record('eu', 5, 'failed'), ...eu.records!] };
    const usOk = { cluster: 'us', records: [record('us', 4, 'succeeded'), ...us.records!.slice(1)] };
    assert.equal(chooseFleetTarget([five, usOk]), 4);
  });

  it('takes --to when every cluster recorded it', () => {
    assert.equal(chooseFleetTarget([eu, us], 1), 1);
    assert.equal(chooseFleetTarget([eu], 3), 3);
  });

  it('refuses --to naming the cluster that has no record of it', () => {
    assert.throws(
      () => chooseFleetTarget([eu, us], 3),
      refusal(/^cannot roll back to release 3: it is not recorded in cluster us$/),
    );
    assert.throws(() => chooseFleetTarget([eu, us], 9), refusal(/not recorded in clusters eu, us$/));
  });

  it('refuses a record without manifests', () => {
    const bare = { cluster: 'us', records: [record('us', 2, 'succeeded', { manifests: [] })] };
    assert.throws(
      () => chooseFleetTarget([eu, bare], 2),
      refusal(/its record in cluster us holds no manifests/),
    );
  });

  it('refuses a cluster with no release at all, and a history with no common succeeded release', () => {
    assert.throws(
      () => chooseFleetTarget([eu, { cluster: 'us', records: [] }]),
      refusal(/no release is recorded in cluster us$/),
    );
    const onlyFailed = { cluster: 'us', records: [record('us', 2, 'failed'), record('us', 1, 'failed')] };
    assert.throws(
      () => chooseFleetTarget([eu, onlyFailed]),
      (error: unknown) =>
        refusal(/no release before 4 succeeded in every one of clusters eu, us$/)(error) &&
        /us: 2 \(failed\), 1 \(failed\)/.test((error as CapstanError).hint ?? ''),
    );
  });
});
