// A phase's wait when the API server goes away during the apply (its watches, started with the
// apply, lose it): says it waits for the API server, retries, then exits 3 with "API server
// unreachable since <time>" at the deadline, never a hang.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartProcess } from '../cluster/processes.js';
import { deploy } from '../../src/deploy/index.js';
import type { DeployEvent } from '../../src/deploy/index.js';
import { capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, kubectl, testCluster, waitFor } from './helpers.js';

const web = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    # Ready only long after the deadline: whatever the load, the wait cannot end ready before the
    # API server is gone (a watch may still deliver what it saw just before).
    metadata: { labels: { app: web, capstan.test/scenario: slow }, annotations: { capstan.test/ready-after: '300' } }
    spec: { containers: [{ name: web, image: example.com/web:1 }] }
`;

describe('a phase waiting on an API server that went away', () => {
  it('retries, then ends at the deadline with exit 3 and since when the API server is unreachable', async () => {
    const ns = await freshNamespace('unreachable');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('lonely', ns.name),
      '.deploy/test/30-deployment/web.yaml': web,
    });
    const cluster = testCluster();
    let restarting: Promise<number> | undefined;
    const waiting: DeployEvent[] = [];
    try {
      const result = await deploy({
        cwd: app.dir,
        env: 'test',
        kubeconfig: cluster.kubeconfig,
        envVars: {},
        timeoutMs: 15_000,
        // No lock or release record: their own retries are not what this test is about.
        record: false,
        onEvent: (event) => {
          // Synchronously, as the Deployment is applied: its watches lose the API server.
          if (event.type === 'object-applied' && event.object.kind === 'Deployment' && !restarting) {
            restarting = restartProcess(cluster.runDir, 'kube-apiserver', 25_000);
          }
          if (event.type === 'object-waiting') waiting.push(event);
        },
      });
      assert.ok(restarting, 'the API server was stopped');
      assert.equal(result.outcome, 'timed-out', result.message);
      assert.equal(result.exitCode, 3);
      assert.match(
        result.message ?? '',
        /^API server unreachable since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(\d+ retries, last: cannot reach the Kubernetes API .*\); stopped waiting in phase 30-deployment$/,
      );
      assert.ok(
        waiting.some(
          (e) =>
            e.type === 'object-waiting' && /^waiting for the API server \(no answer since /.test(e.message),
        ),
        'the wait said what it waited for',
      );
    } finally {
      await restarting;
      await waitFor('the API server back', 90_000, async () =>
        (await kubectl(['get', '--raw', '/readyz'])).includes('ok'),
      );
      app.cleanup();
      await ns.remove();
    }
  });
});
