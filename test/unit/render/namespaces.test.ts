// One environment, its namespaces: an object naming any other namespace is refused with its line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkNamespace } from '../../../src/render/objects.js';
import { ConfigError } from '../../../src/shared/index.js';
import { lines, renderTree, renderTreeIssues } from '../../fixtures/deploy-tree.js';

/** What `helm template podinfo` writes without `-n`: every namespaced object says `namespace: default`. */
const HELM_OUTPUT = lines(
  '---',
  '# Source: podinfo/templates/service.yaml',
  'apiVersion: v1',
  'kind: Service',
  'metadata:',
  '  name: podinfo',
  '  namespace: default',
  'spec:',
  '  ports: [{ port: 9898 }]',
  '---',
  '# Source: podinfo/templates/deployment.yaml',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: podinfo',
  '  namespace: default',
  '  labels: { app: podinfo }',
  'spec:',
  '  selector: { matchLabels: { app: podinfo } }',
  '  template:',
  '    metadata: { labels: { app: podinfo } }',
  '    spec: { containers: [{ name: podinfo, image: ghcr.io/stefanprodan/podinfo:6.5.0 }] }',
  '---',
  '# Source: podinfo/templates/redis/deployment.yaml',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: podinfo-redis',
);

const config = (extra = '') =>
  lines('app: podinfo', 'environments:', `  staging: { namespace: podinfo-other${extra} }`);

describe('objects in other namespaces', () => {
  it('refuses each object naming another namespace, at the line of its namespace field, with one hint', async () => {
    try {
      await renderTree({ 'capstan.yaml': config(), 'staging/30-deployment/podinfo.yaml': HELM_OUTPUT });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(
        error.issues.map((i) => ({
          file: i.file.replace(/^.*\/\.deploy\//, ''),
          line: i.line,
          path: i.path,
          message: i.message,
        })),
        [
          {
            file: 'staging/30-deployment/podinfo.yaml',
            line: 7,
            path: 'metadata.namespace',
            message:
              'Service/podinfo names namespace "default", but environment "staging" deploys to "podinfo-other"',
          },
          {
            file: 'staging/30-deployment/podinfo.yaml',
            line: 16,
            path: 'metadata.namespace',
            message:
              'Deployment/podinfo names namespace "default", but environment "staging" deploys to "podinfo-other"',
          },
        ],
      );
      assert.match(
        error.hint ?? '',
        /drop the `namespace:` line .*`helm template -n podinfo-other`.*environments\.staging\.extraNamespaces/,
      );
    }
  });

  it('accepts the environment namespace written out, and the extra namespaces capstan.yaml lists', async () => {
    const { phases } = await renderTree({
      'capstan.yaml': config(', extraNamespaces: [monitoring]'),
      'staging/30-deployment/a.yaml': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: a, namespace: podinfo-other }',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: b, namespace: monitoring }',
      ),
    });
    assert.deepEqual(
      phases[0]?.objects.map((o) => o.object.metadata.namespace),
      ['podinfo-other', 'monitoring'],
    );
  });

  it('names the listed namespaces too, and the rendered document of a template', async () => {
    const issues = await renderTreeIssues({
      'capstan.yaml': config(', extraNamespaces: [monitoring]'),
      'staging/30-deployment/a.yaml.ejs': lines(
        '{ apiVersion: v1, kind: Secret, metadata: { name: a } }',
        '---',
        "{ apiVersion: v1, kind: ConfigMap, metadata: { name: b, namespace: <%= 'kube-system' %> } }",
      ),
    });
    assert.deepEqual(issues, [
      {
        file: 'staging/30-deployment/a.yaml.ejs',
        line: 3,
        path: 'metadata.namespace',
        message:
          'rendered document 2: ConfigMap/b names namespace "kube-system", but environment "staging" deploys to "podinfo-other" (or monitoring)',
      },
    ]);
  });

  it('leaves objects without a namespace and cluster-scoped ones alone (pure check)', () => {
    const env = { name: 'staging', namespace: 'shop', extraNamespaces: [] };
    const site = { file: 'f.yaml', line: 1 };
    assert.equal(
      checkNamespace({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }, site, env),
      undefined,
    );
    assert.equal(
      checkNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } }, site, env),
      undefined,
    );
    assert.equal(
      checkNamespace(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'x' } },
        site,
        env,
      )?.line,
      1,
    );
  });
});
