// More of capstan deploy on the local control plane: field conflicts, --dry-run, timeouts with a
// diagnosis, interruption, and a CRD with its custom resources in one deploy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, waitFor } from './helpers.js';

const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { MODE: "${value}" }\n`;

function deployment(name: string, labels: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
      },
    },
  });
}

describe('capstan deploy, continued', () => {
  it('reports a field owned by another manager, and takes it over with --force-conflicts', async () => {
    const ns = await freshNamespace('deploy-conflict');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('conflicts', ns.name),
      '.deploy/test/10-configuration/cm.yaml': configMap('capstan'),
    });
    try {
      await kubectl(
        ['apply', '--server-side', '--field-manager=someone-else', '-n', ns.name, '-f', '-'],
        configMap('theirs'),
      );
      const refused = await capstan(['deploy', 'test'], { cwd: app.dir });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        refused.stderr,
        /ConfigMap\/settings: fields owned by another manager: .*data\.MODE.*someone-else.*--force-conflicts/s,
      );
      assert.equal(
        (await getJson(['get', 'configmap', 'settings', '-n', ns.name])).data.MODE,
        'theirs',
        'nothing changed',
      );
      const forced = await capstan(['deploy', 'test', '--force-conflicts'], { cwd: app.dir });
      assert.equal(forced.code, 0, forced.stdout + forced.stderr);
      assert.equal((await getJson(['get', 'configmap', 'settings', '-n', ns.name])).data.MODE, 'capstan');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('--dry-run shows what would be created, changed and pruned, and changes nothing', async () => {
    const ns = await freshNamespace('deploy-dry');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('dry', ns.name),
      '.deploy/test/10-configuration/cm.yaml': configMap('one'),
      '.deploy/test/10-configuration/old.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: old }\ndata: { a: b }\n',
      '.deploy/test/30-deployment/web.yaml': deployment('web'),
    });
    try {
      assert.equal((await capstan(['deploy', 'test'], { cwd: app.dir })).code, 0);
      app.write('.deploy/test/10-configuration/cm.yaml', configMap('two'));
      app.remove('.deploy/test/10-configuration/old.yaml');
      app.write('.deploy/test/30-deployment/api.yaml', deployment('api'));
      const run = await capstan(['deploy', 'test', '--dry-run', '-o', 'json'], { cwd: app.dir });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const plan = run.events.find((e) => e.type === 'plan')!;
      const names = (list: Array<{ kind: string; name: string }>) =>
        list.map((o) => `${o.kind}/${o.name}`).sort();
      assert.deepEqual(names(plan.create), ['Deployment/api']);
      assert.deepEqual(names(plan.change), ['ConfigMap/settings']);
      assert.deepEqual(names(plan.unchanged), ['Deployment/web']);
      assert.deepEqual(names(plan.prune), ['ConfigMap/old']);
      assert.equal((await getJson(['get', 'configmap', 'settings', '-n', ns.name])).data.MODE, 'one');
      await getJson(['get', 'configmap', 'old', '-n', ns.name]);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('times out with exit code 3 and says what the pods are doing', async () => {
    const ns = await freshNamespace('deploy-timeout');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('slowpoke', ns.name),
      '.deploy/test/30-deployment/web.yaml': deployment('web', { 'capstan.test/scenario': 'not-ready' }),
    });
    try {
      const run = await capstan(['deploy', 'test', '--timeout', '8s'], { cwd: app.dir });
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.match(run.stdout, /timed out after 8s/);
      assert.match(run.stdout, /Most likely cause: .*(probe|never became Ready)/i);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('stops on interruption with exit code 130, saying what was applied and what was not', async () => {
    const ns = await freshNamespace('deploy-int');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('interrupted', ns.name),
      '.deploy/test/30-deployment/web.yaml': deployment('web', { 'capstan.test/scenario': 'not-ready' }),
      '.deploy/test/40-postdeployment/cm.yaml': configMap('later'),
    });
    try {
      const controller = new AbortController();
      const running = capstan(['deploy', 'test', '-o', 'json'], { cwd: app.dir, signal: controller.signal });
      await waitFor(
        'web applied',
        20_000,
        async () =>
          (await getJson<{ items: any[] }>(['get', 'deployments', '-n', ns.name])).items.length === 1,
      );
      controller.abort();
      const run = await running;
      assert.equal(run.code, 130, run.stdout + run.stderr);
      const finished = run.events.at(-1)!;
      assert.equal(finished.outcome, 'interrupted');
      assert.deepEqual(
        finished.applied.map((o: any) => `${o.kind}/${o.name}`),
        ['Deployment/web'],
      );
      assert.ok(finished.notApplied.some((o: any) => o.name === 'settings'));
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('applies a CRD and its custom resources in one deploy', async () => {
    const ns = await freshNamespace('deploy-crd');
    const group = `${ns.name}.capstan.test`;
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('crds', ns.name),
      '.deploy/test/10-configuration/crd.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.${group} }
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { size: { type: integer } } }
---
apiVersion: ${group}/v1
kind: Widget
metadata: { name: first }
spec: { size: 3 }
`,
    });
    try {
      const run = await capstan(['deploy', 'test'], { cwd: app.dir });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const widget = await getJson(['get', `widgets.${group}`, 'first', '-n', ns.name]);
      assert.equal(widget.spec.size, 3);
    } finally {
      app.cleanup();
      await ns.remove();
      await kubectl(['delete', 'crd', `widgets.${group}`, '--wait=false', '--ignore-not-found']);
    }
  });
});
