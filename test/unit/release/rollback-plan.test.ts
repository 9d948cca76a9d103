// Rollback's pure parts: which release to re-apply, what to prune; and the history table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseRollbackTarget,
  formatHistory,
  historyJson,
  planRollbackPrune,
  rollbackWaitEnd,
  type ReleaseRecord,
} from '../../../src/release/index.js';
import { CapstanError } from '../../../src/shared/index.js';

const obj = (kind: string, name: string) => ({
  apiVersion: kind === 'Deployment' ? 'apps/v1' : kind === 'Job' ? 'batch/v1' : 'v1',
  kind,
  namespace: 'shop',
  name,
});

function release(
  release: number,
  outcome: ReleaseRecord['outcome'],
  names: string[],
  extra: Partial<ReleaseRecord> = {},
): ReleaseRecord {
  const inventory = names.map((n) => {
    const [kind, name] = n.split('/') as [string, string];
    return obj(kind, name);
  });
  return {
    app: 'shop',
    env: 'prod',
    namespace: 'shop',
    release,
    deployId: `d${release}`,
    images: [`shop:${release}`],
    user: 'alice',
    host: 'laptop',
    startedAt: `2024-05-0${release}T10:00:00.000Z`,
    finishedAt: `2024-05-0${release}T10:01:05.000Z`,
    phases: [],
    outcome,
    inventory,
    manifests: inventory.map((i) => ({
      apiVersion: i.apiVersion,
      kind: i.kind,
      metadata: { name: i.name, namespace: i.namespace },
    })),
    hookJobs: [],
    ...extra,
  };
}

const releases = [
  release(4, 'failed', [
    'Deployment/web',
    'Service/web',
    'ConfigMap/new-flags',
    'Job/migrate-4',
    'PersistentVolumeClaim/data',
  ]),
  release(3, 'succeeded', ['Deployment/web', 'Service/web', 'ConfigMap/feature']),
  release(2, 'succeeded', ['Deployment/web', 'Service/web']),
  release(1, 'failed', ['Deployment/web']),
];

describe('chooseRollbackTarget', () => {
  it('defaults to the newest succeeded release before the current one', () => {
    assert.equal(chooseRollbackTarget(releases).release, 3);
    assert.equal(chooseRollbackTarget(releases.slice(1)).release, 2);
  });

  it('takes the release asked for', () => {
    assert.equal(chooseRollbackTarget(releases, 2).release, 2);
  });

  it('refuses a release that does not exist, listing those that do', () => {
    assert.throws(
      () => chooseRollbackTarget(releases, 9),
      (error: unknown) => {
        assert.ok(error instanceof CapstanError);
        assert.equal(error.code, 'ERR_CAPSTAN_NO_SUCH_RELEASE');
        assert.match(error.message, /there is no release 9/);
        assert.match(error.hint ?? '', /4 \(failed\), 3 \(succeeded\), 2 \(succeeded\), 1 \(failed\)/);
        return true;
      },
    );
  });

  it('refuses when nothing succeeded before the current release', () => {
    assert.throws(() => chooseRollbackTarget([releases[0], releases[3]]), /no succeeded release before 4/);
  });

  it('refuses a release without manifests', () => {
    assert.throws(
      () => chooseRollbackTarget([releases[0], { ...releases[1], manifests: [] }]),
      /recorded no manifests/,
    );
  });
});

describe('planRollbackPrune', () => {
  it("deletes what later releases added, never Jobs, PVCs or the target's objects", () => {
    const names = (target: number) =>
      planRollbackPrune(
        releases,
        releases.find((r) => r.release === target)!,
      )
        .map((e) => `${e.kind}/${e.name}`)
        .sort();
    assert.deepEqual(names(3), ['ConfigMap/new-flags']);
    assert.deepEqual(names(2), ['ConfigMap/feature', 'ConfigMap/new-flags']);
  });
});

describe('history', () => {
  it('prints a table, newest first, with rollbacks and hooks noted', () => {
    const rows = [
      release(5, 'rolled-back', [], { rolledBackTo: 3 }),
      release(4, 'failed', [], { hookJobs: ['migrate-4'], gitCommit: '0123456789abcdef' }),
    ];
    const table = formatHistory(rows);
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0], /^REVISION\s+OUTCOME\s+STARTED\s+DURATION\s+BY\s+IMAGES\s+NOTES$/);
    assert.match(
      lines[1],
      /^5\s+rolled-back\s+2024-05-05T10:00:00Z\s+1m 5s\s+alice@laptop\s+shop:5\s+rollback to 3$/,
    );
    assert.match(lines[2], /^4\s+failed .* hooks: migrate-4; commit 0123456789ab$/);
    assert.equal(formatHistory([]), 'no releases recorded\n');
  });

  it('leaves manifests (and so Secret values) out of the JSON', () => {
    const withSecret = release(2, 'succeeded', []);
    withSecret.manifests = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { P: 'aHVudGVyMjI=' } },
    ];
    const [entry] = historyJson([withSecret]);
    assert.equal(entry.manifestCount, 1);
    assert.equal(entry.durationMs, 65_000);
    assert.ok(!JSON.stringify(entry).includes('aHVudGVyMjI='));
  });
});

describe('rollbackWaitEnd', () => {
  const since = new Date('2026-12-01T10:00:00.000Z');
  it('reports an unreachable API server as a deploy does: timed out (exit 3), since when', () => {
    for (const outcome of ['timed-out', 'no-progress'] as const) {
      const end = rollbackWaitEnd(
        { outcome, failed: [], unreachable: { since, retries: 7, lastError: 'connect ECONNREFUSED' } },
        2,
      );
      assert.equal(end.outcome, 'timed-out');
      assert.equal(
        end.message,
        'API server unreachable since 2026-12-01T10:00:00.000Z (7 retries, last: connect ECONNREFUSED); stopped waiting for the rollback to release 2',
      );
    }
  });

  it('says timed out, failed or interrupted otherwise', () => {
    assert.deepEqual(rollbackWaitEnd({ outcome: 'timed-out', failed: [] }, 2), {
      outcome: 'timed-out',
      message: 'rollback to release 2 timed-out: timed-out',
    });
    assert.equal(rollbackWaitEnd({ outcome: 'interrupted', failed: [] }, 2).outcome, 'interrupted');
    assert.equal(
      rollbackWaitEnd({ outcome: 'interrupted', failed: [], unreachable: { since, retries: 1 } }, 2).outcome,
      'interrupted',
    );
  });
});
