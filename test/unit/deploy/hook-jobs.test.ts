import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  awaitRunningJob,
  planHookJob,
  planHookJobs,
  SPEC_HASH_ANNOTATION,
  specHashOf,
} from '../../../src/deploy/hook-jobs.js';
import type { KubeClient } from '../../../src/kube/index.js';
import { markHookJob } from '../../../src/deploy/validate.js';
import { planHookCleanup } from '../../../src/tasks/index.js';
import { objectKey, type KubeObject } from '../../../src/shared/index.js';

const labels = {
  'app.kubernetes.io/managed-by': 'capstan',
  'capstan.dev/app': 'shop',
  'capstan.dev/env': 'staging',
};
const now = Date.parse('2026-12-01T08:00:00Z');

function rendered(image: string, name = 'db-migrate'): KubeObject {
  const object: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'shop-staging', labels },
    spec: {
      backoffLimit: 0,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image }] } },
    },
  };
  return markHookJob({ object, source: { file: 'db-migrate.job.yaml.ejs', line: 1 } }, 'r1').object;
}

function live(
  from: KubeObject,
  status: Record<string, unknown>,
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject {
  return {
    ...from,
    metadata: { ...from.metadata, uid: 'u-1', creationTimestamp: '2026-12-01T07:50:00Z', ...extra },
    status,
  };
}

const complete = {
  startTime: '2026-12-01T07:50:00Z',
  completionTime: '2026-12-01T07:51:00Z',
  conditions: [{ type: 'Complete', status: 'True' }],
};
const failedStatus = {
  startTime: '2026-12-01T07:50:00Z',
  conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }],
};
const running = { startTime: '2026-12-01T07:55:48Z', active: 1 };

describe('the spec hash of a hook Job', () => {
  it('is on every rendered Job, ignores key order, and follows the image and the configuration checksum', () => {
    const a = rendered('shop:v1');
    assert.equal(a.metadata.annotations?.[SPEC_HASH_ANNOTATION], specHashOf(a));
    const reordered = { ...a, spec: Object.fromEntries(Object.entries(a.spec as object).reverse()) };
    assert.equal(specHashOf(reordered), specHashOf(a));
    assert.notEqual(specHashOf(rendered('shop:v2')), specHashOf(a));
    const withChecksum = {
      ...a,
      spec: {
        ...(a.spec as object),
        template: { metadata: { annotations: { 'capstan.dev/config-checksum': 'abc' } }, spec: {} },
      },
    };
    assert.notEqual(specHashOf(withChecksum), specHashOf(a));
  });

  it('keeps the hook label of names that embed the deploy id', () => {
    const object: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate-20261201-ab12' },
      spec: {},
    };
    const marked = markHookJob({ object, source: { file: 'f' } }, '20261201-ab12').object;
    assert.equal(marked.metadata.labels?.['capstan.dev/hook'], 'migrate');
    assert.ok(marked.metadata.annotations?.[SPEC_HASH_ANNOTATION]);
  });
});

describe('planHookJob', () => {
  it('creates a Job whose name is free', () => {
    assert.deepEqual(planHookJob(rendered('shop:v1'), undefined, { labels, now }), { action: 'create' });
  });

  it('counts a completed Job with the same spec as done', () => {
    const job = rendered('shop:v1');
    assert.equal(planHookJob(job, live(job, complete), { labels, now }).action, 'done');
  });

  it('replaces a completed Job whose spec changed, or that carries no hash', () => {
    const old = live(rendered('shop:v1'), complete);
    const plan = planHookJob(rendered('shop:v2'), old, { labels, now });
    assert.equal(plan.action, 'replace');
    assert.equal(plan.action === 'replace' && plan.reason, 'its spec changed');
    const { [SPEC_HASH_ANNOTATION]: _, ...annotations } = old.metadata.annotations ?? {};
    const unhashed = { ...old, metadata: { ...old.metadata, annotations } };
    assert.equal(planHookJob(rendered('shop:v1'), unhashed, { labels, now }).action, 'replace');
  });

  it('runs a failed Job again even when nothing changed', () => {
    const job = rendered('shop:v1');
    const plan = planHookJob(job, live(job, failedStatus), { labels, now });
    assert.equal(plan.action === 'replace' && plan.reason, 'it failed');
    // The outcome is decided while the last pods terminate.
    const failing = { ...running, conditions: [{ type: 'FailureTarget', status: 'True' }] };
    assert.equal(planHookJob(job, live(job, failing), { labels, now }).action, 'replace');
  });

  it('waits out a Job that is being deleted', () => {
    const job = rendered('shop:v1');
    assert.equal(
      planHookJob(job, live(job, running, { deletionTimestamp: '2026-12-01T07:59:00Z' }), { labels, now })
        .action,
      'replace',
    );
  });

  it('adopts a Job that still runs with the very same spec: the deploy waits for it as its own', () => {
    const job = rendered('shop:v1');
    const old = live(job, running);
    const plan = planHookJob(job, old, { labels, now });
    assert.equal(plan.action, 'adopt');
    assert.equal(plan.action === 'adopt' && plan.live.metadata.uid, 'u-1');
    // Adopted whatever --replace-running-jobs says: it is the step this deploy runs.
    assert.equal(planHookJob(job, old, { labels, now, replaceRunning: true }).action, 'adopt');
  });

  it('waits for a Job that still runs with another spec, and says how far it is; never deletes it unless asked', () => {
    const job = rendered('shop:v1');
    for (const old of [
      live(rendered('shop:v0'), running),
      live({ ...job, metadata: { ...job.metadata, annotations: {} } }, running),
    ]) {
      const plan = planHookJob(job, old, { labels, now });
      assert.equal(plan.action, 'await');
      assert.match(
        plan.action === 'await' ? plan.reason : '',
        /^it is still running \(started 4m 12s ago, 1 active pod\) with (another spec|no spec hash)$/,
      );
      const replace = planHookJob(job, old, { labels, now, replaceRunning: true });
      assert.equal(replace.action, 'replace');
      assert.match(replace.action === 'replace' ? replace.reason : '', /--replace-running-jobs was given$/);
    }
  });

  it('refuses a Job of that name that Capstan did not create for this app and environment', () => {
    const job = rendered('shop:v1');
    const foreign = live(
      { ...job, metadata: { ...job.metadata, labels: { 'capstan.dev/app': 'other' } } },
      complete,
    );
    const plan = planHookJob(job, foreign, { labels, now });
    assert.equal(plan.action, 'refuse');
    assert.match(
      plan.action === 'refuse' ? plan.message : '',
      /not created by Capstan for this app and environment/,
    );
  });
});

describe('keeping recent hook Jobs', () => {
  it('never removes the single Job of a plain-named hook, and keeps 3 runs of deploy-id-named ones', () => {
    const at = (name: string, hook: string, minute: number): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        labels: { 'capstan.dev/hook': hook },
        creationTimestamp: `2026-12-01T07:0${minute}:00Z`,
      },
      status: complete,
    });
    const jobs = [
      at('db-migrate', 'db-migrate', 5),
      ...[1, 2, 3, 4].map((m) => at(`migrate-r${m}`, 'migrate', m)),
    ];
    assert.deepEqual(
      planHookCleanup(jobs, 3).map((j) => j.metadata.name),
      ['migrate-r1'],
    );
  });
});

describe('waiting for a running Job of an earlier deploy', () => {
  /** A client whose Job reads answer `states` in turn (the last one repeats); it never deletes. */
  function reads(states: ReadonlyArray<KubeObject | undefined>) {
    let i = 0;
    const client = {
      get: () => Promise.resolve(states[Math.min(i++, states.length - 1)]),
      delete: () => Promise.reject(new Error('a running Job must not be deleted')),
    } as unknown as KubeClient;
    return { client, count: () => i };
  }
  const old = live(rendered('shop:v0'), running);

  it('returns the Job once it finished, having said how far it was', async () => {
    const done = live(rendered('shop:v0'), complete);
    const { client } = reads([old, done]);
    const said: string[] = [];
    const result = await awaitRunningJob(client, old, {
      signal: new AbortController().signal,
      deadline: Date.now() + 10_000,
      onWaiting: (_live, message) => said.push(message),
    });
    assert.equal(result, done);
    assert.match(
      said[0],
      /^waiting for the run of an earlier deploy to finish before replacing it \(started .* ago, 1 active pod\)/,
    );
  });

  it('says the name is free when the Job went away, and refuses one replaced meanwhile', async () => {
    assert.equal(
      await awaitRunningJob(reads([undefined]).client, old, {
        signal: new AbortController().signal,
        deadline: Date.now() + 10_000,
      }),
      undefined,
    );
    const other = { ...old, metadata: { ...old.metadata, uid: 'u-2' } };
    const replaced = await awaitRunningJob(reads([other]).client, old, {
      signal: new AbortController().signal,
      deadline: Date.now() + 10_000,
    });
    assert.equal(replaced && 'outcome' in replaced && replaced.outcome, 'failed');
  });

  it('ends at the deadline with exit 3, and at once when interrupted, leaving the Job alone', async () => {
    const late = await awaitRunningJob(reads([old]).client, old, {
      signal: new AbortController().signal,
      deadline: Date.now() + 1_500,
    });
    assert.ok(late && 'exitCode' in late && typeof late.message === 'string');
    assert.equal(late.exitCode, 3);
    assert.match(late.message, /still running at the deadline .*--replace-running-jobs/);
    const stop = new AbortController();
    stop.abort();
    const interrupted = await awaitRunningJob(reads([old]).client, old, {
      signal: stop.signal,
      deadline: Date.now() + 10_000,
    });
    assert.ok(interrupted && 'exitCode' in interrupted);
    assert.equal(interrupted.exitCode, 130);
  });
});

describe("judging a phase's Jobs again under the lock", () => {
  const job = rendered('shop:v1');
  const seeds = rendered('shop:v1', 'db-seeds');
  const source = { file: 'db-migrate.job.yaml.ejs', line: 1 };
  const objects = [
    { object: job, source },
    { object: seeds, source },
  ];

  it('sees what became of a Job since validation: a run adopted then failed is replaced, one gone is created', async () => {
    const client = {
      get: (id: { name: string }) =>
        Promise.resolve(id.name === 'db-migrate' ? live(job, failedStatus) : undefined),
    } as unknown as KubeClient;
    const { plans, issues } = await planHookJobs(client, objects, {
      labels,
      concurrency: 2,
      signal: new AbortController().signal,
    });
    assert.deepEqual(issues, []);
    assert.equal(plans.get(objectKey(job))?.action, 'replace');
    assert.equal(plans.has(objectKey(seeds)), false, 'gone: created as usual');
  });

  it('refuses a Job of that name that Capstan did not create, found under the lock', async () => {
    const foreign = { ...live(job, running), metadata: { ...live(job, running).metadata, labels: {} } };
    const client = { get: () => Promise.resolve(foreign) } as unknown as KubeClient;
    const { issues } = await planHookJobs(client, objects, {
      labels,
      concurrency: 2,
      signal: new AbortController().signal,
    });
    assert.match(issues[0]?.message ?? '', /was not created by Capstan for this app and environment/);
  });
});
