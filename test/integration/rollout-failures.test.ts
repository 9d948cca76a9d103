// Failures a deploy reports as soon as they are certain, not at its deadline: an image the
// registry does not have, and pods refused by a ResourceQuota that is still full; and one it
// must wait out: a registry that throttles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, kubectl } from './helpers.js';

const web = (labels: string, cpu = '') => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  progressDeadlineSeconds: 600
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: ${labels} }
    spec: { containers: [{ name: web, image: example.com/web:1${cpu} }] }
`;

describe('failures reported when certain', () => {
  it("an image that does not exist: fails early with the registry's answer", async () => {
    const ns = await freshNamespace('fail-pull');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('pully', ns.name),
      '.deploy/test/30-deployment/web.yaml': web('{ app: web, capstan.test/scenario: image-pull }'),
    });
    try {
      // A deadline far away: the failure must come from the pull error, not from waiting it out.
      const run = await capstan(['deploy', 'test', '--timeout', '5m', '-o', 'json'], { cwd: app.dir });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const finished = run.events.at(-1);
      assert.equal(finished?.outcome, 'failed');
      assert.match(
        String(finished?.message),
        /(ErrImagePull|ImagePullBackOff): .*(not found|manifest unknown)/,
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('a registry that throttles: waits until the deadline, then says the kubelet keeps retrying', async () => {
    const ns = await freshNamespace('fail-throttle');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('throttled', ns.name),
      '.deploy/test/30-deployment/web.yaml': web('{ app: web, capstan.test/scenario: image-pull-throttled }'),
    });
    try {
      const run = await capstan(['deploy', 'test', '--timeout', '8s'], { cwd: app.dir });
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /Most likely cause: the image cannot be pulled: example\.com\/web:1 \(.*429 Too Many Requests.*\) - a registry or network error the kubelet keeps retrying/,
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('pods refused by a full ResourceQuota: fails once the quota confirms it, with the quota named', async () => {
    const ns = await freshNamespace('fail-quota');
    await kubectl(['create', 'quota', 'compute', '--hard=pods=1', '-n', ns.name]);
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('crowded', ns.name),
      '.deploy/test/30-deployment/web.yaml': web('{ app: web }'),
    });
    try {
      // The scheduling preflight sees the full quota first and applies nothing...
      const refused = await capstan(['deploy', 'test', '--timeout', '5m', '-o', 'json'], { cwd: app.dir });
      assert.equal(refused.code, 2, refused.stdout + refused.stderr);
      assert.match(String(refused.events.at(-1)?.message), /exceeded quota: compute, requested: pods=1/);
      // ...and past it, the rollout names the quota that refused the pods.
      const run = await capstan(['deploy', 'test', '--timeout', '5m', '--skip-preflight', '-o', 'json'], {
        cwd: app.dir,
      });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const finished = run.events.at(-1);
      assert.equal(finished?.outcome, 'failed', 'failed, not timed out');
      assert.match(
        String(finished?.message),
        /a ResourceQuota refused the pods and ResourceQuota\/compute is still full \(pods: 1 used of 1, 1 more requested\)/,
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
