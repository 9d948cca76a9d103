// Phase Jobs with plain names (`db-migrate`, `db-seeds`) across deploys, against the real
// control plane: re-run when their spec changes, done when it does not, waited for (never killed)
// while one an earlier deploy left runs, adopted after a deploy was SIGKILLed during its
// migration, and API refusals trimmed to the field and the reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeClient } from '../../src/kube/index.js';
import { readReleases } from '../../src/release/index.js';
import { capstan, capstanYaml, spawnCapstan, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, grantRestricted, kubectl, testCluster, waitFor } from './helpers.js';

const MIGRATE = `apiVersion: batch/v1
kind: Job
metadata: { name: db-migrate }
spec:
  backoffLimit: 0
  template:
<% if (values.migrateFor) { -%>
    metadata: { annotations: { capstan.test/run-for: "<%= values.migrateFor %>" } }
<% } -%>
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: <%= image %>, envFrom: [{ configMapRef: { name: shop-config } }] }]
`;

const SEEDS = `apiVersion: batch/v1
kind: Job
metadata: { name: db-seeds }
spec:
  template:
<% if (values.seedsFor) { -%>
    metadata: { annotations: { capstan.test/run-for: "<%= values.seedsFor %>" } }
<% } -%>
    spec:
      restartPolicy: Never
      containers: [{ name: seeds, image: <%= image %> }]
`;

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: <%= image %> }] }
`;

function shopApp(ns: string, greeting = 'hello', runFor: { migrate?: string; seeds?: string } = {}) {
  const values = [
    runFor.migrate ? `      migrateFor: ${runFor.migrate}\n` : '',
    runFor.seeds ? `      seedsFor: ${runFor.seeds}\n` : '',
  ].join('');
  return writeApp({
    '.deploy/capstan.yaml': capstanYaml('shop', ns, values ? `    values:\n${values}` : ''),
    '.deploy/test/10-configuration/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shop-config }\ndata: { GREETING: ${greeting} }\n`,
    '.deploy/test/20-predeployment/db-migrate.job.yaml.ejs': MIGRATE,
    '.deploy/test/30-deployment/web.yaml.ejs': WEB,
    '.deploy/test/40-postdeployment/db-seeds.job.yaml.ejs': SEEDS,
  });
}

async function job(ns: string, name: string): Promise<any> {
  return getJson(['get', 'job', name, '-n', ns]);
}

function imageOf(j: any): string {
  return j.spec.template.spec.containers[0].image;
}

/** The longest line a person would read. */
function longestLine(text: string): number {
  return Math.max(0, ...text.split('\n').map((l) => l.length));
}

/** What the API server prints of an object when it refuses a change of a Job's template. */
const DUMP = /Invalid value: \{|PodTemplateSpec|"Containers":|field is immutable/;

describe('phase Jobs with plain names', () => {
  it('re-runs db-migrate and db-seeds with the new image on the next deploy, and not when nothing changed', async () => {
    const ns = await freshNamespace('jobs-rerun');
    const app = shopApp(ns.name);
    try {
      const first = await capstan(['deploy', 'test', '--image', 'shop:v1', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const migrate1 = await job(ns.name, 'db-migrate');
      const seeds1 = await job(ns.name, 'db-seeds');
      assert.equal(imageOf(migrate1), 'shop:v1');

      const dry = await capstan(['deploy', 'test', '--image', 'shop:v2', '--dry-run', '-o', 'json'], {
        cwd: app.dir,
      });
      assert.equal(dry.code, 0, dry.stdout + dry.stderr);
      assert.doesNotMatch(dry.stdout + dry.stderr, DUMP);
      const plan = dry.events.find((e) => e.type === 'plan')!;
      assert.ok(
        plan.change.some((o: any) => o.name === 'db-migrate'),
        'the dry run says the Job changes',
      );
      const diff = await capstan(['diff', 'test', '--image', 'shop:v2'], { cwd: app.dir });
      assert.match(diff.stdout, /\+\s+- image: shop:v2/, diff.stdout + diff.stderr);
      assert.doesNotMatch(
        diff.stdout,
        /db-migrate-[a-z0-9]{5}\b/,
        'the scratch name of the validation does not show',
      );
      assert.equal(
        (await job(ns.name, 'db-migrate')).metadata.uid,
        migrate1.metadata.uid,
        'the dry run changed nothing',
      );

      const second = await capstan(
        ['deploy', 'test', '--image', 'shop:v2', '--timeout', '2m', '-o', 'json'],
        { cwd: app.dir },
      );
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.doesNotMatch(second.stdout + second.stderr, DUMP);
      const migrate2 = await job(ns.name, 'db-migrate');
      const seeds2 = await job(ns.name, 'db-seeds');
      assert.notEqual(migrate2.metadata.uid, migrate1.metadata.uid, 'db-migrate ran again');
      assert.notEqual(seeds2.metadata.uid, seeds1.metadata.uid, 'db-seeds ran again');
      assert.equal(imageOf(migrate2), 'shop:v2');
      assert.equal(imageOf(seeds2), 'shop:v2');
      assert.ok(migrate2.status.conditions.some((c: any) => c.type === 'Complete' && c.status === 'True'));
      const oldPods = await getJson<{ items: any[] }>([
        'get',
        'pods',
        '-n',
        ns.name,
        '-l',
        `controller-uid=${migrate1.metadata.uid}`,
      ]);
      assert.equal(
        oldPods.items.filter((p) => !p.metadata.deletionTimestamp).length,
        0,
        "the old run's pods went with it",
      );
      const order = second.events
        .filter((e) => e.type === 'object-applied')
        .map((e) => `${e.object.kind}/${e.object.name}:${e.action}`);
      assert.ok(
        order.indexOf('Job/db-migrate:replaced') >= 0 &&
          order.indexOf('Job/db-migrate:replaced') < order.indexOf('Deployment/web:configured'),
        order.join(', '),
      );
      assert.ok(order.includes('Job/db-seeds:replaced'), order.join(', '));

      // The old run's log is kept in the release record of the deploy that replaced it.
      const client = await KubeClient.connect({ kubeconfig: testCluster().kubeconfig });
      try {
        const releases = await readReleases(client, { namespace: ns.name, app: 'shop', env: 'test' });
        const latest = releases.sort((a, b) => b.release - a.release)[0];
        const replaced = latest.replacedJobs ?? [];
        assert.deepEqual(replaced.map((r) => r.name).sort(), ['db-migrate', 'db-seeds']);
        const migrateRecord = replaced.find((r) => r.name === 'db-migrate')!;
        assert.equal(migrateRecord.uid, migrate1.metadata.uid);
        assert.equal(migrateRecord.outcome, 'Complete');
        assert.match(migrateRecord.logs.join('\n'), /capstan fake container: log line/);
      } finally {
        client.close();
      }

      // Same image, same configuration: the Jobs are done, not run again.
      const third = await capstan(['deploy', 'test', '--image', 'shop:v2', '--timeout', '2m', '-o', 'json'], {
        cwd: app.dir,
      });
      assert.equal(third.code, 0, third.stdout + third.stderr);
      assert.equal(
        (await job(ns.name, 'db-migrate')).metadata.uid,
        migrate2.metadata.uid,
        'an identical finished Job is not re-run',
      );
      assert.equal(third.events.filter((e) => e.type === 'log').length, 0, 'no old log printed again');

      // New configuration, same image: the ConfigMap's checksum changes the Job, which runs again.
      app.write(
        '.deploy/test/10-configuration/config.yaml',
        `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shop-config }\ndata: { GREETING: bonjour }\n`,
      );
      const fourth = await capstan(['deploy', 'test', '--image', 'shop:v2', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(fourth.code, 0, fourth.stdout + fourth.stderr);
      const migrate4 = await job(ns.name, 'db-migrate');
      assert.notEqual(
        migrate4.metadata.uid,
        migrate2.metadata.uid,
        'a configuration change re-runs the migration',
      );
      assert.equal(
        (await job(ns.name, 'db-seeds')).metadata.uid,
        seeds2.metadata.uid,
        'db-seeds does not read the ConfigMap: done',
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('replaces a finished Job as the restricted deploy identity', async () => {
    const ns = await freshNamespace('jobs-restricted');
    const app = shopApp(ns.name);
    try {
      await grantRestricted(ns.name);
      const kubeconfig = testCluster().restrictedKubeconfig;
      for (const image of ['shop:v1', 'shop:v2']) {
        const run = await capstan(['deploy', 'test', '--image', image, '--timeout', '2m'], {
          cwd: app.dir,
          kubeconfig,
        });
        assert.equal(run.code, 0, run.stdout + run.stderr);
      }
      assert.equal(imageOf(await job(ns.name, 'db-migrate')), 'shop:v2');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('refuses the next Job spec in the dry run, trimmed to the field and the reason', async () => {
    const ns = await freshNamespace('jobs-strict');
    const app = shopApp(ns.name);
    try {
      const first = await capstan(['deploy', 'test', '--image', 'shop:v1', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const uid = (await job(ns.name, 'db-migrate')).metadata.uid;
      // Strict field validation of the new spec, not the live Job's immutable template.
      app.write(
        '.deploy/test/20-predeployment/db-migrate.job.yaml.ejs',
        MIGRATE.replace('backoffLimit: 0', 'backoffLimit: 0\n  completionz: 1'),
      );
      const unknown = await capstan(['deploy', 'test', '--image', 'shop:v2', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
      assert.match(
        unknown.stderr,
        /db-migrate\.job\.yaml\.ejs:6: Job\/db-migrate: unknown field "spec\.completionz"\n/,
      );
      // Validation of the new values.
      app.write(
        '.deploy/test/20-predeployment/db-migrate.job.yaml.ejs',
        MIGRATE.replace('backoffLimit: 0', 'backoffLimit: -1'),
      );
      const invalid = await capstan(['deploy', 'test', '--image', 'shop:v2', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(invalid.code, 2, invalid.stdout + invalid.stderr);
      assert.match(
        invalid.stderr,
        /Job\/db-migrate: spec\.backoffLimit: Invalid value: -1: must be greater than or equal to 0\n/,
      );
      for (const out of [unknown.stdout + unknown.stderr, invalid.stdout + invalid.stderr]) {
        assert.doesNotMatch(out, DUMP);
        assert.ok(longestLine(out) < 300, 'no dump of an object');
      }
      assert.equal((await job(ns.name, 'db-migrate')).metadata.uid, uid, 'nothing was applied');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('waits for a Job an earlier deploy left running with another spec, then replaces it; --replace-running-jobs deletes it at once', async () => {
    const ns = await freshNamespace('jobs-running');
    const app = shopApp(ns.name);
    /** A migration of another image, left running by a deploy that died. */
    const oldMigration = (annotations: Record<string, string>, labels: Record<string, string> = {}) =>
      kubectl(
        ['apply', '-n', ns.name, '-f', '-'],
        JSON.stringify({
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: {
            name: 'db-migrate',
            labels: {
              'app.kubernetes.io/managed-by': 'capstan',
              'capstan.dev/app': 'shop',
              'capstan.dev/env': 'test',
              'capstan.dev/hook': 'db-migrate',
            },
          },
          spec: {
            template: {
              metadata: { labels, annotations },
              spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'shop:v0' }] },
            },
          },
        }),
      );
    const running = () =>
      waitFor(
        'the old migration running',
        20_000,
        async () => ((await job(ns.name, 'db-migrate')).status?.active ?? 0) > 0,
      );
    try {
      await oldMigration({ 'capstan.test/run-for': '8s' });
      await running();
      const oldUid = (await job(ns.name, 'db-migrate')).metadata.uid;
      const run = await capstan(['deploy', 'test', '--image', 'shop:v1', '--timeout', '2m', '-o', 'json'], {
        cwd: app.dir,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const waited = run.events.find(
        (e) => e.type === 'object-waiting' && e.object.kind === 'Job' && e.object.name === 'db-migrate',
      );
      assert.match(
        waited?.message ?? '',
        /^waiting for the run of an earlier deploy to finish before replacing it \(started \d+s ago, 1 active pod\)/,
        run.stdout,
      );
      assert.equal(imageOf(await job(ns.name, 'db-migrate')), 'shop:v1');
      // The old run was let finish: its record says Complete, not deleted half-way.
      const client = await KubeClient.connect({ kubeconfig: testCluster().kubeconfig });
      try {
        const releases = await readReleases(client, { namespace: ns.name, app: 'shop', env: 'test' });
        releases.sort((a, b) => b.release - a.release);
        const kept = releases[0].replacedJobs?.find((r) => r.uid === oldUid);
        assert.equal(kept?.outcome, 'Complete', JSON.stringify(releases[0].replacedJobs));
      } finally {
        client.close();
      }

      // A migration that never ends: only the user's word deletes it while it runs.
      await kubectl(['delete', 'job', 'db-migrate', '-n', ns.name, '--cascade=foreground']);
      await oldMigration({}, { 'capstan.test/scenario': 'not-ready' });
      await running();
      const stuckUid = (await job(ns.name, 'db-migrate')).metadata.uid;
      const replaced = await capstan(
        ['deploy', 'test', '--image', 'shop:v1', '--timeout', '2m', '--replace-running-jobs'],
        { cwd: app.dir },
      );
      assert.equal(replaced.code, 0, replaced.stdout + replaced.stderr);
      const now = await job(ns.name, 'db-migrate');
      assert.notEqual(now.metadata.uid, stuckUid);
      assert.equal(imageOf(now), 'shop:v1');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('after a SIGKILL during a 90-second migration: exit 4 while the lock holds, then adopts the running Job and completes', async () => {
    const ns = await freshNamespace('jobs-killed');
    const app = shopApp(ns.name, 'hello', { migrate: '90s' });
    const killed = spawnCapstan(['deploy', 'test', '--image', 'shop:v1', '--timeout', '5m', '-o', 'json'], {
      cwd: app.dir,
      env: { CAPSTAN_USER: 'killed-user' },
    });
    try {
      await waitFor(
        'the migration started',
        60_000,
        async () => ((await job(ns.name, 'db-migrate').catch(() => undefined))?.status?.active ?? 0) > 0,
      );
      const migration = await job(ns.name, 'db-migrate');
      killed.child.kill('SIGKILL');
      assert.equal(await killed.exited, 'SIGKILL');

      const locked = await capstan(['deploy', 'test', '--image', 'shop:v1', '--lock-wait', '0s'], {
        cwd: app.dir,
      });
      assert.equal(locked.code, 4, locked.stdout + locked.stderr);
      assert.match(locked.stdout + locked.stderr, /locked by killed-user@/);
      assert.match(locked.stdout + locked.stderr, /expires in \d+s; or run capstan unlock test/);
      assert.doesNotMatch(locked.stdout + locked.stderr, /kubectl delete job/);

      const retry = await capstan(['deploy', 'test', '--image', 'shop:v1', '--timeout', '5m', '-o', 'json'], {
        cwd: app.dir,
      });
      assert.equal(retry.code, 0, retry.stdout + retry.stderr);
      assert.match(retry.stdout, /took over the lock of shop\/test from killed-user/);
      assert.match(retry.stdout, /Job\/db-migrate was still running with this deploy's spec/);
      const after = await job(ns.name, 'db-migrate');
      assert.equal(
        after.metadata.uid,
        migration.metadata.uid,
        'the running migration was adopted, not replaced',
      );
      assert.ok(after.status.conditions.some((c: any) => c.type === 'Complete' && c.status === 'True'));
      assert.ok(
        retry.events.some((e) => e.type === 'object-ready' && e.object.name === 'db-migrate'),
        'the retry waited for the adopted Job',
      );
      const history = await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir });
      assert.deepEqual(
        (JSON.parse(history.stdout) as any[]).map((r) => [r.release, r.outcome]),
        [
          [2, 'succeeded'],
          [1, 'interrupted'],
        ],
      );
    } finally {
      if (killed.child.exitCode === null && killed.child.signalCode === null) killed.child.kill('SIGKILL');
      app.cleanup();
      await ns.remove();
    }
  });

  it('deploys cleanly after deploys SIGKILLed at random moments, each followed by capstan unlock', async () => {
    const ns = await freshNamespace('jobs-chaos');
    const app = shopApp(ns.name, 'hello', { migrate: '2s', seeds: '3s' });
    const seed = Number(process.env.CAPSTAN_TEST_SEED ?? Date.now() % 100_000);
    let state = seed;
    /** A small seeded generator: the moments are printed, so a failure can be replayed. */
    const random = () => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const moments: number[] = [];
    try {
      for (let i = 1; i <= 6; i++) {
        const at = Math.round(300 + random() * 7_000);
        moments.push(at);
        const run = spawnCapstan(['deploy', 'test', '--image', `shop:k${i}`, '--timeout', '2m'], {
          cwd: app.dir,
        });
        const ended = await Promise.race([
          run.exited,
          new Promise<'kill'>((resolve) => setTimeout(() => resolve('kill'), at)),
        ]);
        if (ended === 'kill') {
          run.child.kill('SIGKILL');
          await run.exited;
        }
        const unlock = await capstan(['unlock', 'test'], { cwd: app.dir });
        assert.equal(unlock.code, 0, unlock.stdout + unlock.stderr);
      }
      const clean = await capstan(['deploy', 'test', '--image', 'shop:k6', '--timeout', '3m'], {
        cwd: app.dir,
      });
      const context = `seed ${seed} (CAPSTAN_TEST_SEED), kills at ${moments.join(', ')} ms:\n${clean.stdout}${clean.stderr}`;
      assert.equal(clean.code, 0, context);
      for (const name of ['db-migrate', 'db-seeds']) {
        const j = await job(ns.name, name);
        assert.equal(imageOf(j), 'shop:k6', context);
        assert.ok(
          j.status.conditions.some((c: any) => c.type === 'Complete' && c.status === 'True'),
          context,
        );
      }
      const history = await capstan(['history', 'test', '-o', 'json'], { cwd: app.dir });
      const outcomes = (JSON.parse(history.stdout) as any[]).map((r) => r.outcome);
      assert.equal(outcomes[0], 'succeeded', context);
      assert.ok(
        !outcomes.includes('running'),
        `no record is left running: ${outcomes.join(', ')}; ${context}`,
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
