// Hook Jobs in deploys and `capstan run` one-off tasks against the local control plane:
// exit codes, live logs, stuck pods reported with their reason, cleanup.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, waitFor } from './helpers.js';

function webDeployment(
  options: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    nodeSelector?: Record<string, string>;
  } = {},
): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', ...options.labels }, annotations: options.annotations ?? {} },
        spec: {
          ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
          containers: [{ name: 'web', image: 'example.com/web:1', env: [{ name: 'MODE', value: 'web' }] }],
        },
      },
    },
  });
}

function taskApp(ns: string, deployment: string) {
  return writeApp({
    '.deploy/capstan.yaml': capstanYaml('tasky', ns),
    '.deploy/test/30-deployment/web.yaml': deployment,
  });
}

async function jobsIn(ns: string): Promise<any[]> {
  return (await getJson<{ items: any[] }>(['get', 'jobs', '-n', ns])).items;
}

describe('capstan run', () => {
  it("runs a task with the app's pod spec, streams its log and exits 0", async () => {
    const ns = await freshNamespace('task-ok');
    const app = taskApp(ns.name, webDeployment());
    try {
      const run = await capstan(
        ['run', 'test', '--image', 'example.com/web:2', '-e', 'EXTRA=1', '--keep', '--', 'rake', 'db:status'],
        { cwd: app.dir },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /capstan fake container: log line 1\n/);
      assert.match(run.stdout, /log line 30\n/);
      assert.equal(
        run.stdout.split('\n').filter((l) => l.endsWith('log line 7')).length,
        1,
        'no line repeated',
      );
      const [job] = await jobsIn(ns.name);
      const container = job.spec.template.spec.containers[0];
      assert.deepEqual(container.command, ['rake', 'db:status']);
      assert.equal(container.image, 'example.com/web:2');
      assert.deepEqual(container.env, [
        { name: 'MODE', value: 'web' },
        { name: 'EXTRA', value: '1' },
      ]);
      assert.equal(job.spec.backoffLimit, 0);
      assert.equal(job.spec.template.spec.restartPolicy, 'Never');
      assert.equal(
        job.spec.template.metadata.labels.app,
        undefined,
        "the task pod does not join the Deployment's Services",
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it("exits with the task's exit code", async () => {
    const ns = await freshNamespace('task-exit');
    const app = taskApp(
      ns.name,
      webDeployment({
        labels: { 'capstan.test/scenario': 'fail' },
        annotations: { 'capstan.test/exit-code': '3' },
      }),
    );
    try {
      const run = await capstan(['run', 'test', '--image', 'x:1', '--', 'false'], { cwd: app.dir });
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /exited with code 3/);
      const jobs = await jobsIn(ns.name);
      assert.equal(jobs.length, 1, "a finished task's Job stays for debugging until its TTL or jobs clean");
      assert.ok(jobs[0].spec.ttlSecondsAfterFinished > 0);
      const cleaned = await capstan(['jobs', 'clean', 'test'], { cwd: app.dir });
      assert.match(cleaned.stdout, /deleted Job\/tasky-task-false-/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('reports an image that cannot be pulled, without hanging', async () => {
    const ns = await freshNamespace('task-pull');
    const app = taskApp(ns.name, webDeployment({ labels: { 'capstan.test/scenario': 'image-pull' } }));
    try {
      const run = await capstan(
        ['run', 'test', '--image', 'example.com/missing:1', '--timeout', '2m', '--', 'true'],
        { cwd: app.dir },
      );
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /example\.com\/missing:1 cannot be pulled: (ErrImagePull|ImagePullBackOff) \(.*code = NotFound/,
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it("reports a pod that cannot be scheduled with the scheduler's message", async () => {
    const ns = await freshNamespace('task-sched');
    const app = taskApp(ns.name, webDeployment({ nodeSelector: { disk: 'ssd-that-no-node-has' } }));
    try {
      const run = await capstan(['run', 'test', '--image', 'x:1', '--', 'true'], { cwd: app.dir });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /cannot be scheduled: .*node\(s\) didn't match/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('refuses bad input clearly', async () => {
    const ns = await freshNamespace('task-bad');
    const app = taskApp(ns.name, webDeployment());
    try {
      const noCommand = await capstan(['run', 'test', '--image', 'x:1'], { cwd: app.dir });
      assert.equal(noCommand.code, 2);
      assert.match(noCommand.stderr, /no command given/);
      const unknown = await capstan(
        ['run', 'test', '--image', 'x:1', '--from', 'deployment/nope', '--', 'true'],
        { cwd: app.dir },
      );
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no Deployment\/nope.*\n.*rendered Deployments: web/);
      const container = await capstan(['run', 'test', '--image', 'x:1', '-c', 'sidecar', '--', 'true'], {
        cwd: app.dir,
      });
      assert.match(container.stderr, /no container "sidecar"/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('detaches, forbids a second run of a running task, and cleans finished Jobs', async () => {
    const ns = await freshNamespace('task-detach');
    const app = taskApp(ns.name, webDeployment({ labels: { 'capstan.test/scenario': 'not-ready' } }));
    try {
      const first = await capstan(['run', 'test', '--image', 'x:1', '--detach', '--', 'sleep', '1000'], {
        cwd: app.dir,
      });
      assert.equal(first.code, 0);
      assert.match(first.stdout.trim(), /^tasky-task-sleep-[0-9a-f]{6}$/);
      const second = await capstan(
        ['run', 'test', '--image', 'x:1', '--concurrency', 'forbid', '--', 'sleep', '1000'],
        { cwd: app.dir },
      );
      assert.equal(second.code, 4);
      assert.match(second.stderr, /still running as Job\/tasky-task-sleep/);
      const cleaned = await capstan(['jobs', 'clean', 'test'], { cwd: app.dir });
      assert.match(cleaned.stdout, /no finished Jobs/, 'a running Job is not cleaned');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it("runs the image of the last successful release without --image, then the live Deployment's", async () => {
    const ns = await freshNamespace('task-image');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('tasky', ns.name),
      '.deploy/test/30-deployment/web.yaml.ejs': webDeployment().replace(
        '"example.com/web:1"',
        '"<%= image %>"',
      ),
    });
    try {
      const deployed = await capstan(['deploy', 'test', '--image', 'example.com/web:7'], { cwd: app.dir });
      assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
      const run = await capstan(['run', 'test', '--', 'echo', 'hi'], { cwd: app.dir });
      assert.equal(run.code, 0, run.stderr);
      const [job] = await jobsIn(ns.name);
      assert.equal(job.spec.template.spec.containers[0].image, 'example.com/web:7');

      // No release record: the live Deployment's image.
      await kubectl(['delete', 'secrets', '-n', ns.name, '-l', 'capstan.dev/release']);
      await kubectl(['set', 'image', '-n', ns.name, 'deployment/web', 'web=example.com/web:8']);
      const live = await capstan(['run', 'test', '--task', 'echo-live', '--', 'echo', 'hi'], {
        cwd: app.dir,
      });
      assert.equal(live.code, 0, live.stderr);
      const jobs = await jobsIn(ns.name);
      assert.equal(
        jobs.find((j) => j.metadata.labels['capstan.dev/task'] === 'echo-live')?.spec.template.spec
          .containers[0].image,
        'example.com/web:8',
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('lets only one of two runs started together with --concurrency forbid run; the other exits 4 naming the holder', async () => {
    const ns = await freshNamespace('task-forbid');
    const app = taskApp(ns.name, webDeployment({ labels: { 'capstan.test/scenario': 'not-ready' } }));
    const controllers = [new AbortController(), new AbortController()];
    try {
      const runs = ['first', 'second'].map((user, i) =>
        capstan(['run', 'test', '--image', 'x:1', '--concurrency', 'forbid', '--', 'sleep', '1000'], {
          cwd: app.dir,
          env: { CAPSTAN_USER: user },
          signal: controllers[i].signal,
        }).then((run) => ({ user, run })),
      );
      const loser = await Promise.race(runs);
      assert.equal(loser.run.code, 4, loser.run.stderr);
      const winner = loser.user === 'first' ? 'second' : 'first';
      assert.match(
        loser.run.stderr,
        new RegExp(
          `task "sleep" of tasky/test is already running: Lease/capstan-task-tasky-test-sleep is held by ${winner}@`,
        ),
      );
      const jobs = await jobsIn(ns.name);
      assert.equal(jobs.length, 1, 'exactly one run started a Job');
      const lease = await getJson(['get', 'lease', '-n', ns.name, 'capstan-task-tasky-test-sleep']);
      assert.match(
        lease.spec.holderIdentity,
        new RegExp(`^${winner}@`),
        'the Lease is held while the task runs',
      );
      for (const c of controllers) c.abort();
      const results = await Promise.all(runs);
      assert.equal(results.find((r) => r.user === winner)?.run.code, 130);
      const released = await getJson(['get', 'lease', '-n', ns.name, 'capstan-task-tasky-test-sleep']);
      assert.equal(released.spec.holderIdentity, undefined, 'released at the end');
    } finally {
      for (const c of controllers) c.abort();
      app.cleanup();
      await ns.remove();
    }
  });

  it('takes the concurrency of a task from capstan.yaml', async () => {
    const ns = await freshNamespace('task-config');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('tasky', ns.name, 'tasks:\n  seed: { concurrency: forbid }\n'),
      '.deploy/test/30-deployment/web.yaml': webDeployment({
        labels: { 'capstan.test/scenario': 'not-ready' },
      }),
    });
    try {
      const first = await capstan(
        ['run', 'test', '--image', 'x:1', '--task', 'seed', '--detach', '--', 'sleep', '1000'],
        { cwd: app.dir },
      );
      assert.equal(first.code, 0, first.stderr);
      const second = await capstan(
        ['run', 'test', '--image', 'x:1', '--task', 'seed', '--', 'sleep', '1000'],
        { cwd: app.dir },
      );
      assert.equal(second.code, 4, second.stderr);
      assert.match(second.stderr, /task "seed" is still running as Job\/tasky-task-seed-/);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('deletes the Job when interrupted', async () => {
    const ns = await freshNamespace('task-int');
    const app = taskApp(ns.name, webDeployment({ labels: { 'capstan.test/scenario': 'not-ready' } }));
    try {
      const controller = new AbortController();
      const running = capstan(['run', 'test', '--image', 'x:1', '--', 'sleep', '1000'], {
        cwd: app.dir,
        signal: controller.signal,
      });
      await waitFor('task Job', 20_000, async () => (await jobsIn(ns.name)).length === 1);
      controller.abort();
      const run = await running;
      assert.equal(run.code, 130);
      await waitFor('Job deleted', 20_000, async () => (await jobsIn(ns.name)).length === 0);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});

describe('hook Jobs in a deploy', () => {
  it('stops the deploy when a predeployment Job fails, with its logs; later phases never run', async () => {
    const ns = await freshNamespace('hook-fail');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('hooks', ns.name),
      '.deploy/test/20-predeployment/migrate.yaml.ejs': `apiVersion: batch/v1
kind: Job
metadata: { name: migrate-<%= deployId %> }
spec:
  backoffLimit: 0
  template:
    metadata: { labels: { capstan.test/scenario: fail } }
    spec: { restartPolicy: Never, containers: [{ name: migrate, image: <%= image %> }] }
`,
      '.deploy/test/30-deployment/web.yaml': webDeployment(),
    });
    try {
      const run = await capstan(['deploy', 'test', '--image', 'x:1', '--timeout', '2m'], { cwd: app.dir });
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /Job\/migrate-.*BackoffLimitExceeded/);
      assert.match(
        run.stdout,
        /\[migrate-[^\]]+\] capstan fake container: log line/,
        "the hook's log streamed with its name",
      );
      const deployments = await getJson<{ items: any[] }>(['get', 'deployments', '-n', ns.name]);
      assert.equal(deployments.items.length, 0, 'the deployment phase never ran');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('keeps the last 3 runs of each hook', async () => {
    const ns = await freshNamespace('hook-keep');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('keeper', ns.name),
      '.deploy/test/20-predeployment/migrate.yaml.ejs': `apiVersion: batch/v1
kind: Job
metadata: { name: migrate-<%= deployId %> }
spec:
  template:
    spec: { restartPolicy: Never, containers: [{ name: migrate, image: <%= image %> }] }
`,
    });
    try {
      for (let i = 0; i < 4; i++) {
        const run = await capstan(['deploy', 'test', '--image', `x:${i}`], { cwd: app.dir });
        assert.equal(run.code, 0, run.stdout);
      }
      await waitFor(
        '3 hook Jobs left',
        20_000,
        async () => (await jobsIn(ns.name)).filter((j) => !j.metadata.deletionTimestamp).length === 3,
      );
      const jobs = await jobsIn(ns.name);
      assert.ok(jobs.every((j) => j.metadata.labels['capstan.dev/hook'] === 'migrate'));
      assert.ok(jobs.every((j) => j.spec.ttlSecondsAfterFinished > 0));
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
