import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig, resolveEnvironment } from '../../../src/config/index.js';
import { CHECKSUM_ANNOTATION, renderEnvironment, toYaml } from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { field } from '../../fixtures/deploy-tree.js';

const APP_DIR = fileURLToPath(new URL('../../../examples/demo-app', import.meta.url));

async function renderExample(
  envName: string,
  image?: string,
): Promise<{ phases: Awaited<ReturnType<typeof renderEnvironment>> }> {
  const env = resolveEnvironment(await loadConfig({ cwd: APP_DIR }), envName);
  return { phases: await renderEnvironment({ env, deployId: 'abc123', ...(image ? { image } : {}) }) };
}

describe('examples/demo-app', () => {
  for (const [envName, namespace] of [
    ['staging', 'demo-staging'],
    ['production', 'demo-production'],
  ] as const) {
    it(`renders ${envName}`, async () => {
      const { phases } = await renderExample(envName, 'registry.example/demo:1.2.3');
      assert.deepEqual(
        phases.map((p) => [p.name, p.objects.map((o) => `${o.object.kind}/${o.object.metadata.name ?? ''}`)]),
        [
          ['10-configuration', ['ConfigMap/demo-config']],
          ['20-predeployment', ['Job/db-migrate-abc123']],
          [
            '30-deployment',
            [
              'Deployment/web',
              'Ingress/web',
              'PodDisruptionBudget/web',
              'Service/web',
              'Deployment/worker',
              'PodDisruptionBudget/worker',
            ],
          ],
          ['40-postdeployment', ['Job/seeds-abc123']],
        ],
      );
      const objects: KubeObject[] = phases.flatMap((p) => p.objects.map((o) => o.object));
      for (const object of objects) {
        assert.equal(object.metadata.namespace, namespace);
        assert.equal(object.metadata.labels?.['capstan.dev/env'], envName);
      }
      const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'web');
      assert.equal(field(web, 'spec.replicas'), 2);
      const container = field(web, 'spec.template.spec.containers.0');
      assert.equal(field(container, 'image'), 'registry.example/demo:1.2.3');
      assert.ok(field(container, 'readinessProbe') && field(container, 'livenessProbe'));
      assert.deepEqual(field(container, 'resources.requests'), { cpu: '50m', memory: '64Mi' });
      const migrate = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'db-migrate-abc123');
      assert.equal(field(migrate, 'spec.backoffLimit'), 1);
      assert.ok(Number(field(migrate, 'spec.ttlSecondsAfterFinished')) > 0);
      assert.equal(
        field(migrate, 'spec.template.spec.containers.0.envFrom.0.configMapRef.name'),
        'demo-config',
      );
      // Every workload uses the ConfigMap, so all carry the same checksum.
      const sums = objects
        .filter((o) => ['Deployment', 'Job'].includes(o.kind))
        .map(
          (o) =>
            (field(o, 'spec.template.metadata.annotations') as Record<string, string>)[CHECKSUM_ANNOTATION],
        );
      assert.equal(sums.length, 4);
      assert.equal(new Set(sums).size, 1);
      assert.ok(toYaml(objects).length > 0);
    });
  }

  it('needs an image', async () => {
    await assert.rejects(renderExample('staging'), /no image: pass --image/);
  });
});
