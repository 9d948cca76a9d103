// Phase Jobs with plain names (`db-migrate`, `db-seeds`) across deploys, against the real
// control plane: re-run when their spec changes, done when it does not, refused while one runs,
// and API refusals trimmed to the field and the reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeClient } from '../../src/kube/index.js';
import { readReleases } from '../../src/release/index.js';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, grantRestricted, kubectl, testCluster, waitFor } from './helpers.js';

const MIGRATE = `apiVersion: batch/v1
kind: Job
metadata: { name: db-migrate }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: <%= image %>, envFrom: [{ configMapRef: { name: shop-config } }] }]
`;

const SEEDS = `apiVersion: batch/v1
kind: Job
metadata: { name: db-seeds }
spec:
  template:
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

function shopApp(ns: string, greeting = 'hello') {
  return writeApp({
    '.deploy/capstan.yaml': capstanYaml('shop', ns),
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

  it('refuses to deploy while a Job of the same name still runs, with its age and the command to remove it', async () => {
    const ns = await freshNamespace('jobs-running');
    const app = shopApp(ns.name);
    try {
      // A migration left running by a deploy that died: its pod never finishes.
      await kubectl(
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
              metadata: { labels: { 'capstan.test/scenario': 'not-ready' } },
              spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'shop:v0' }] },
            },
          },
        }),
      );
      await waitFor(
        'the old migration running',
        20_000,
        async () => ((await job(ns.name, 'db-migrate')).status?.active ?? 0) > 0,
      );
      const run = await capstan(['deploy', 'test', '--image', 'shop:v1', '--timeout', '2m'], {
        cwd: app.dir,
      });
      assert.equal(run.code, 2, run.stdout + run.stderr);
      const out = run.stdout + run.stderr;
      assert.match(out, /Job\/db-migrate is still running \(started \d+s ago, 1 active pod\)/);
      assert.match(out, new RegExp(`kubectl delete job db-migrate -n ${ns.name}`));
      const configMaps = await getJson<{ items: any[] }>([
        'get',
        'configmaps',
        '-n',
        ns.name,
        '-l',
        'capstan.dev/app=shop',
      ]);
      assert.equal(configMaps.items.length, 0, 'nothing was applied');
      assert.equal(imageOf(await job(ns.name, 'db-migrate')), 'shop:v0', 'the running Job was left alone');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
