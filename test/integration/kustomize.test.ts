// A Kustomize folder as phase content: the Online Boutique's kubernetes-manifests/ as published,
// built by the kubectl on PATH (the local control plane's), deployed, pruned; and the error when no
// kustomize or kubectl can be found.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson, testCluster } from './helpers.js';

const MANIFESTS = fileURLToPath(new URL('../fixtures/online-boutique/kubernetes-manifests', import.meta.url));

/** The Deployments the kustomization lists; loadgenerator.yaml is left out by a comment. */
const WORKLOADS = [
  'adservice',
  'cartservice',
  'checkoutservice',
  'currencyservice',
  'emailservice',
  'frontend',
  'paymentservice',
  'productcatalogservice',
  'recommendationservice',
  'redis-cart',
  'shippingservice',
];

/** The Online Boutique's folder dropped into a phase, as a new user would. */
function boutiqueApp(namespace: string) {
  const app = writeApp({ '.deploy/capstan.yaml': capstanYaml('boutique', namespace) });
  cpSync(MANIFESTS, join(app.dir, '.deploy/test/30-deployment'), { recursive: true });
  return app;
}

async function deploymentsOf(
  namespace: string,
): Promise<Array<{ name: string; labels: Record<string, string> }>> {
  const list = await getJson<{ items: any[] }>(['get', 'deployments', '-n', namespace]);
  return list.items
    .map((d) => ({ name: d.metadata.name as string, labels: d.metadata.labels as Record<string, string> }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

describe('kustomize folders as phase content', () => {
  it('the local kubectl has `kubectl kustomize`', () => {
    const out = execFileSync(join(testCluster().binDir, 'kubectl'), ['version', '--client'], {
      encoding: 'utf8',
    });
    assert.match(out, /Kustomize Version: v5\./);
  });

  it("deploys the Online Boutique's 11 workloads, not the loadgenerator it leaves out, and prunes one taken out", async () => {
    const ns = await freshNamespace('kustomize-boutique');
    const app = boutiqueApp(ns.name);
    // Only the local control plane's bin folder: the CLI finds kubectl on PATH as a user's shell would.
    const env = { PATH: testCluster().binDir };
    try {
      const run = await capstan(
        ['deploy', 'test', '--image', 'example.com/boutique:1.0', '-o', 'json', '--timeout', '3m'],
        {
          cwd: app.dir,
          env,
        },
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const deployments = await deploymentsOf(ns.name);
      assert.deepEqual(
        deployments.map((d) => d.name),
        WORKLOADS,
      );
      for (const d of deployments) {
        assert.equal(d.labels['app.kubernetes.io/managed-by'], 'capstan');
        assert.equal(d.labels['capstan.dev/app'], 'boutique');
        // kustomize's origin annotations were Capstan's question, not the user's: not applied.
        const live = await getJson<any>(['get', 'deployment', d.name, '-n', ns.name]);
        assert.equal(live.metadata.annotations?.['config.kubernetes.io/origin'], undefined);
      }
      // The audit names the file and line a field came from, inside the folder kustomize built.
      const audit = await capstan(['audit', 'test', '--offline', '-o', 'json'], { cwd: app.dir, env });
      const finding = audit.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, any>)
        .find((f) => f.check === 'image-tag-mutable' && f.object?.name === 'adservice');
      const imageLine =
        readFileSync(join(MANIFESTS, 'adservice.yaml'), 'utf8')
          .split('\n')
          .findIndex((l) => l.trim() === 'image: adservice') + 1;
      assert.deepEqual(
        { file: finding?.file, line: finding?.line },
        { file: '.deploy/test/30-deployment/adservice.yaml', line: imageLine },
      );
      assert.ok(!audit.stdout.includes('loadgenerator'), audit.stdout);

      const kustomization = join(app.dir, '.deploy/test/30-deployment/kustomization.yaml');
      // Taken out of the kustomization, shippingservice is pruned by the next deploy.
      const text = readFileSync(kustomization, 'utf8');
      app.write(
        '.deploy/test/30-deployment/kustomization.yaml',
        text.replace(' - shippingservice.yaml\n', ''),
      );
      const again = await capstan(
        ['deploy', 'test', '--image', 'example.com/boutique:1.0', '--timeout', '3m'],
        {
          cwd: app.dir,
          env,
        },
      );
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.deepEqual(
        (await deploymentsOf(ns.name)).map((d) => d.name),
        WORKLOADS.filter((w) => w !== 'shippingservice'),
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('without kustomize or kubectl on PATH: exit 2 naming the kustomization, nothing applied', async () => {
    const ns = await freshNamespace('kustomize-no-tool');
    const app = boutiqueApp(ns.name);
    const emptyBin = mkdtempSync(join(tmpdir(), 'capstan-empty-bin-'));
    try {
      const run = await capstan(['deploy', 'test', '--image', 'example.com/boutique:1.0'], {
        cwd: app.dir,
        env: { PATH: emptyBin },
      });
      assert.equal(run.code, 2, run.stdout + run.stderr);
      const file = join(app.dir, '.deploy/test/30-deployment/kustomization.yaml');
      assert.ok(
        run.stderr.includes(
          `${file}: this folder is built by kustomize, but neither kustomize nor kubectl is on PATH`,
        ),
        run.stderr,
      );
      assert.deepEqual(await deploymentsOf(ns.name), []);
    } finally {
      app.cleanup();
      rmSync(emptyBin, { recursive: true, force: true });
      await ns.remove();
    }
  });
});
