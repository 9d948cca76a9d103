// capstan watch against the real control plane: the fake kubelet's crash loop after a deploy,
// reported once per workload with the cause and the live release.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { capstan, capstanYaml, spawnCapstan, writeApp } from './cli-helpers.js';
import { freshNamespace, kubectl, testCluster, waitFor, webhookReceiver } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const PASSWORD = 'correct-horse-battery-staple';
const secret = `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData: { PASSWORD: "${PASSWORD}" }\n`;

const web = JSON.stringify({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    replicas: 2,
    strategy: { type: 'Recreate' },
    selector: { matchLabels: { app: 'web' } },
    template: {
      // The fake kubelet prints PASSWORD=<value> in the container's logs: no message may show it.
      metadata: { labels: { app: 'web' }, annotations: { 'capstan.test/log-env': 'PASSWORD' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: '<%= image %>',
            env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } }],
          },
        ],
      },
    },
  },
});

/** Sets (or removes, with null) the fake kubelet's scenario of web's pods, as an outside change would. */
async function scenario(namespace: string, value: string | null): Promise<void> {
  const patch = { spec: { template: { metadata: { labels: { 'capstan.test/scenario': value } } } } };
  await kubectl(['patch', 'deployment', 'web', '-n', namespace, '--type=merge', '-p', JSON.stringify(patch)]);
}

describe('capstan watch', () => {
  let ns: { name: string; remove: () => Promise<void> };
  let app: ReturnType<typeof writeApp>;
  before(async () => {
    ns = await freshNamespace('watch');
    app = writeApp({
      '.deploy/capstan.yaml': capstanYaml(
        'shop',
        ns.name,
        'notifications:\n  - type: webhook\n    urlEnv: HOOK_URL\n',
      ),
      '.deploy/test/10-configuration/secret.yaml': secret,
      '.deploy/test/30-deployment/web.yaml.ejs': web,
    });
    const deploy = await capstan(
      ['deploy', 'test', '--image', 'registry.example/shop:1.4.2', '--timeout', '1m'],
      {
        cwd: app.dir,
        env: { CAPSTAN_USER: 'alice' },
      },
    );
    assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
  });
  after(async () => {
    app.cleanup();
    await ns.remove();
  });

  it('--once: exit 0 when healthy; exit 1 with one crash-loop incident of the Deployment naming the cause and the live release; 0 again after recovery', async () => {
    const healthy = await capstan(['watch', 'test', '--once'], { cwd: app.dir });
    assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
    assert.match(
      healthy.stdout,
      /^no open incidents in shop\/test .*; live: release 1 \(image registry\.example\/shop:1\.4\.2/,
    );

    await scenario(ns.name, 'crashloop');
    const broken = await waitFor('a crash loop in both pods', 20_000, async () => {
      const run = await capstan(['watch', 'test', '--once', '-o', 'json'], { cwd: app.dir });
      const doc = JSON.parse(run.stdout) as { incidents: Array<{ pods: string[] }> };
      return run.code === 1 && doc.incidents[0]?.pods.length === 2 ? { run, doc } : undefined;
    });
    const doc = broken.doc as any;
    assert.deepEqual(
      doc.incidents.map((i: any) => [i.workload, i.cause, i.summary]),
      [['Deployment/web', 'crash-loop', 'container app keeps crashing (exit code 1); see its previous logs']],
    );
    assert.equal(doc.live.release, 1);
    assert.deepEqual(doc.live.images, ['registry.example/shop:1.4.2']);
    assert.match(
      doc.incidents[0].diagnosis,
      /^Most likely cause: container app keeps crashing \(exit code 1\)/,
    );

    const text = await capstan(['watch', 'test', '--once'], { cwd: app.dir });
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^1 open incident in shop\/test in namespace /);
    assert.match(text.stdout, /^Deployment\/web: crash loop \(since .*; pods web-/m);
    assert.match(text.stdout, /Live: release 1 \(image registry\.example\/shop:1\.4\.2, deployed by \S+ at /);
    assert.match(
      text.stdout,
      /What to do: `capstan rollback test` puts the release before it back; `capstan history test` lists the releases/,
    );
    assert.match(text.stdout, /BackOff/, 'the back-off event of the diagnosis');
    assert.match(text.stdout, /PASSWORD=\[redacted\]/, 'the log line, redacted');
    assert.ok(!text.stdout.includes(PASSWORD) && !broken.run.stdout.includes(PASSWORD));

    // Silenced: shown, but no failure; then the silence ends.
    const silenced = await capstan(
      [
        'watch',
        'silence',
        'test',
        'deployment/web',
        '--for',
        '2s',
        '--reason',
        'known: the database is migrated',
      ],
      { cwd: app.dir },
    );
    assert.equal(silenced.code, 0, silenced.stdout + silenced.stderr);
    assert.match(
      silenced.stdout,
      /^silenced Deployment\/web of shop\/test until \S+: known: the database is migrated$/m,
    );
    const quiet = await capstan(['watch', 'test', '--once'], { cwd: app.dir });
    assert.equal(quiet.code, 0, quiet.stdout);
    assert.match(quiet.stdout, /^ {2}Silenced until \S+ by \S+: known: the database is migrated$/m);
    await sleep(2000);
    assert.equal((await capstan(['watch', 'test', '--once'], { cwd: app.dir })).code, 1);
    const usage = await capstan(['watch', 'silence', 'test', 'service/web', '--for', '1h', '--reason', 'x'], {
      cwd: app.dir,
    });
    assert.equal(usage.code, 2, usage.stdout + usage.stderr);

    await scenario(ns.name, null);
    await waitFor('recovery', 20_000, async () => {
      const run = await capstan(['watch', 'test', '--once'], { cwd: app.dir });
      return run.code === 0 ? run : undefined;
    });
  });

  it('--once refuses an unknown output format (exit 2)', async () => {
    const bad = await capstan(['watch', 'test', '--once', '-o', 'yaml'], { cwd: app.dir });
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  });

  it('the watcher: one message for a crash loop of two pods, naming the Deployment, the cause and the live release; a restarted watcher repeats nothing; one resolved message', async () => {
    const hook = await webhookReceiver([200]);
    const env = { HOOK_URL: hook.url };
    const args = ['watch', 'test', '--grace', '3s', '--tick', '300ms'];
    const first = new AbortController();
    const second = new AbortController();
    const watching = capstan(args, { cwd: app.dir, env, signal: first.signal });
    let restarted: ReturnType<typeof capstan> | undefined;
    try {
      // A deploy holds the lock: the watcher stays quiet while the pods crash.
      const now = new Date().toISOString().replace('Z', '000Z');
      const lock = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'capstan-lock-shop-test', namespace: ns.name },
        spec: {
          holderIdentity: 'bob@ci (pid 7)',
          leaseDurationSeconds: 60,
          acquireTime: now,
          renewTime: now,
        },
      };
      await kubectl(['apply', '-f', '-'], JSON.stringify(lock));
      await sleep(1000);
      await scenario(ns.name, 'crashloop');
      await sleep(3500);
      assert.equal(hook.bodies.length, 0, 'quiet while the lock is held');
      await kubectl(['delete', 'lease', 'capstan-lock-shop-test', '-n', ns.name]);
      await waitFor('the incident message', 20_000, () => Promise.resolve(hook.bodies.length > 0));
      const [message] = hook.bodies;
      assert.equal(message.event, 'incident');
      assert.equal(message.workload, 'Deployment/web');
      assert.equal(message.cause, 'crash loop');
      assert.equal(message.release, 1);
      assert.equal(message.image, 'registry.example/shop:1.4.2');
      assert.equal(message.user, 'alice');
      assert.match(
        message.text,
        /^Incident in shop\/test: Deployment\/web: crash loop \(live release 1, image registry\.example\/shop:1\.4\.2, by alice at \S+\): Most likely cause: container app keeps crashing \(exit code 1\)/,
      );
      assert.match(
        message.text,
        /What to do: `capstan rollback test` puts the release before it back; `capstan history test` lists the releases$/,
      );
      assert.match(message.summary, /last \d+ lines? of web-\S+\/app \(previous container\):/);
      assert.match(message.summary, /PASSWORD=\[redacted\]/);
      assert.ok(!hook.texts.some((t) => t.includes(PASSWORD)), 'no secret value in any message');
      const record = await kubectl([
        'get',
        'configmap',
        'capstan-watch-shop-test',
        '-n',
        ns.name,
        '-o',
        'json',
      ]);
      assert.ok(!record.includes(PASSWORD), "no secret value in the watcher's record");

      // Stopped and started again in the middle of the incident: nothing is repeated.
      first.abort();
      const stopped = await watching;
      assert.equal(stopped.code, 0, stopped.stdout + stopped.stderr);
      assert.match(
        stopped.stdout,
        /quiet: a deploy holds the lock[^]*resumed: [^]*opened: Deployment\/web: crash loop/,
      );
      restarted = capstan(args, { cwd: app.dir, env, signal: second.signal });
      await sleep(4000);
      assert.equal(hook.bodies.length, 1, JSON.stringify(hook.bodies.map((b) => b.text)));

      await scenario(ns.name, null);
      await waitFor('the resolved message', 30_000, () => Promise.resolve(hook.bodies.length > 1));
      await sleep(1500);
      assert.deepEqual(
        hook.bodies.map((b) => [b.event, b.workload]),
        [
          ['incident', 'Deployment/web'],
          ['resolved', 'Deployment/web'],
        ],
      );
      assert.match(
        hook.bodies[1].text,
        /^Resolved in shop\/test: Deployment\/web: crash loop \(live release 1, /,
      );
    } finally {
      first.abort();
      second.abort();
      await watching;
      await restarted;
      await hook.close();
    }
  });

  it('two watchers: one leads and sends the OOMKilled message once; SIGKILLed, the standby takes over and sends the next incident once, without repeating the first', async () => {
    const hook = await webhookReceiver([200]);
    const env = { HOOK_URL: hook.url };
    const args = ['watch', 'test', '--grace', '3s', '--tick', '300ms', '--lease', '3s'];
    // The leader runs as its own process, to be SIGKILLed; the standby in this one.
    const leader = spawnCapstan(args, { cwd: app.dir, env });
    const stop = new AbortController();
    let standby: ReturnType<typeof capstan> | undefined;
    try {
      await waitFor('a leader', 40_000, () => Promise.resolve(/leading: /.test(leader.output())));
      standby = capstan(args, { cwd: app.dir, env, signal: stop.signal });

      await scenario(ns.name, 'oom-killed');
      await waitFor('the OOMKilled message', 20_000, () => Promise.resolve(hook.bodies.length > 0));
      await sleep(1500);
      assert.deepEqual(
        hook.bodies.map((m) => [m.event, m.workload, m.cause]),
        [['incident', 'Deployment/web', 'out of memory (OOMKilled)']],
      );
      assert.match(
        hook.bodies[0].text,
        /Most likely cause: container app ran out of memory \(no memory limit set\)/,
      );

      leader.child.kill('SIGKILL');
      await leader.exited;
      await scenario(ns.name, 'crashloop');
      await waitFor('the crash loop message', 30_000, () =>
        Promise.resolve(hook.bodies.some((m) => m.event === 'incident' && m.cause === 'crash loop')),
      );
      await waitFor('the OOMKilled incident resolved', 20_000, () =>
        Promise.resolve(hook.bodies.some((m) => m.event === 'resolved')),
      );
      await sleep(1500);
      assert.deepEqual(hook.bodies.map((m) => `${m.event} ${m.cause}`).sort(), [
        'incident crash loop',
        'incident out of memory (OOMKilled)',
        'resolved out of memory (OOMKilled)',
      ]);
      stop.abort();
      const run = await standby;
      assert.match(run.stdout, /standby: another watcher leads[^]*leading: [^]*1 incident\(s\) remembered/);
    } finally {
      leader.child.kill('SIGKILL');
      stop.abort();
      await leader.exited;
      await standby;
      await hook.close();
    }
  });

  it('the Role of `capstan rbac --watch` is all a watcher needs: --once and a leading watcher run with it alone', async () => {
    const rbac = await capstan(['rbac', 'test', '--watch', '--subject', 'group:capstan:deployers'], {
      cwd: app.dir,
    });
    assert.equal(rbac.code, 0, rbac.stderr);
    assert.match(rbac.stdout, /^kind: Role$/m);
    assert.doesNotMatch(rbac.stdout, /delete|ClusterRole/);
    await kubectl(['apply', '-f', '-'], rbac.stdout);
    const kubeconfig = testCluster().restrictedKubeconfig;
    // The pods crash-loop since the test before; a pod between two crashes may look healthy for a
    // moment, so --once is asked until it sees the loop (a refusal of the Role fails every time).
    let last = '';
    const once = await waitFor('--once to see the crash loop with the Role alone', 30_000, async () => {
      const run = await capstan(['watch', 'test', '--once', '-o', 'json'], { cwd: app.dir, kubeconfig });
      last = run.stdout + run.stderr;
      assert.doesNotMatch(run.stderr, /forbidden/i);
      return run.code === 1 ? run : undefined;
    }).catch((error: Error) => assert.fail(`${error.message}\n${last}`));
    assert.equal(JSON.parse(once.stdout).incidents[0].cause, 'crash-loop');
    const stop = new AbortController();
    const watching = capstan(['watch', 'test', '--tick', '300ms', '--lease', '3s'], {
      cwd: app.dir,
      kubeconfig,
      env: {},
      signal: stop.signal,
    });
    await sleep(3000);
    stop.abort();
    const run = await watching;
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, / leading: /);
    assert.doesNotMatch(run.stderr, /forbidden/i);
  });

  it("--once: a CronJob's failed Job is an incident of the CronJob", async () => {
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: ns.name },
      spec: {
        schedule: '0 0 1 1 *',
        suspend: true,
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            template: {
              metadata: {
                labels: { 'capstan.test/scenario': 'fail' },
                annotations: { 'capstan.test/exit-code': '3' },
              },
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'report', image: 'registry.example/shop:1.4.2' }],
              },
            },
          },
        },
      },
    };
    await kubectl(['apply', '-f', '-'], JSON.stringify(cronJob));
    await kubectl(['create', 'job', 'report-manual', '--from=cronjob/report', '-n', ns.name]);
    const doc = await waitFor("the CronJob's failure", 20_000, async () => {
      const run = await capstan(['watch', 'test', '--once', '-o', 'json'], { cwd: app.dir });
      const parsed = JSON.parse(run.stdout) as { incidents: Array<Record<string, string>> };
      return parsed.incidents.find((i) => i.workload === 'CronJob/report');
    });
    assert.equal(doc.cause, 'job-failed');
    assert.match(doc.summary, /^the Job failed: BackoffLimitExceeded: .*exited with code 3/);
  });
});
