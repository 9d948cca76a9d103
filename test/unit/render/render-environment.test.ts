import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { managedLabels, type RenderedPhase } from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { lines, renderTree, renderTreeIssues } from '../../fixtures/deploy-tree.js';

const cm = (name: string, extra = ''): string =>
  lines('apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}`, extra);

function summary(phases: readonly RenderedPhase[]): [string, number, string[]][] {
  return phases.map((p) => [
    p.name,
    p.order,
    p.objects.map((o) => `${o.object.kind}/${o.object.metadata.name ?? ''}`),
  ]);
}

function objectsOf(phases: readonly RenderedPhase[]): KubeObject[] {
  return phases.flatMap((p) => p.objects.map((o) => o.object));
}

describe('renderEnvironment: phases and files', () => {
  it('orders phases by number and files by name; ignores other folders and files', async () => {
    const { phases, root } = await renderTree({
      'staging/30-deployment/b.yaml': cm('b'),
      'staging/30-deployment/a.yml': cm('a'),
      'staging/30-deployment/README.md': '# not a manifest',
      'staging/05-early/x.yaml': cm('x'),
      'staging/notes/y.yaml': cm('y'),
      'staging/10-empty/.gitkeep': '',
    });
    assert.deepEqual(summary(phases), [
      ['05-early', 5, ['ConfigMap/x']],
      ['10-empty', 10, []],
      ['30-deployment', 30, ['ConfigMap/a', 'ConfigMap/b']],
    ]);
    assert.equal(phases[0]?.dir, `${root}/.deploy/staging/05-early`);
  });

  it('reads several documents per YAML file, skipping empty ones, and unwraps Lists', async () => {
    const { phases } = await renderTree({
      'staging/10-a/many.yaml': lines(
        '---',
        '# only a comment',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: one }',
        '---',
        '---',
        'apiVersion: v1',
        'kind: List',
        'items:',
        '  - { apiVersion: v1, kind: ConfigMap, metadata: { name: two } }',
        '  - { apiVersion: v1, kind: ConfigMap, metadata: { name: three } }',
      ),
    });
    assert.deepEqual(summary(phases)[0]?.[2], ['ConfigMap/one', 'ConfigMap/two', 'ConfigMap/three']);
    assert.deepEqual(phases[0]?.objects[0]?.source, { file: phases[0]?.dir + '/many.yaml', line: 4 });
  });

  it('reports malformed phase folders, stray manifests and nested folders', async () => {
    const issues = await renderTreeIssues({
      'staging/2-x/a.yaml': cm('a'),
      'staging/stray.yaml': cm('s'),
      'staging/10-a/nested/b.yaml': cm('b'),
      'staging/10-a/c.ejs': 'x',
      'staging/10-b/d.yaml': cm('d'),
    });
    assert.deepEqual(
      issues.map((i) => i.file),
      ['staging/2-x', 'staging/stray.yaml', 'staging/10-b', 'staging/10-a/c.ejs', 'staging/10-a/nested'],
    );
    assert.match(issues[2]?.message ?? '', /phase number 10 is also used by 10-a/);
  });

  it('refuses an environment with no phase at all', async () => {
    const issues = await renderTreeIssues({ 'staging/readme.md': 'x' });
    assert.deepEqual(issues, [
      { file: 'staging', message: 'no phase folders (NN-name, e.g. 10-configuration) in this environment' },
    ]);
  });

  it('collects ejson files and appends what renderSecrets makes of them', async () => {
    const calls: [string, string][] = [];
    const { phases } = await renderTree(
      { 'staging/10-config/secrets.ejson': '{}', 'staging/10-config/app.yaml': cm('app') },
      {
        renderSecrets: (file, namespace) => {
          calls.push([file.replace(/^.*\.deploy\//, ''), namespace]);
          return Promise.resolve([
            { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secrets' }, data: { K: 'dg==' } },
          ]);
        },
      },
    );
    assert.deepEqual(calls, [['staging/10-config/secrets.ejson', 'shop-staging']]);
    assert.deepEqual(summary(phases)[0]?.[2], ['ConfigMap/app', 'Secret/app-secrets']);
    assert.deepEqual(
      phases[0]?.secretFiles.map((f) => f.replace(/^.*\.deploy\//, '')),
      ['staging/10-config/secrets.ejson'],
    );
    assert.equal(phases[0]?.objects[1]?.object.metadata.namespace, 'shop-staging');
  });
});

describe('renderEnvironment: objects', () => {
  it('defaults namespaces of namespaced kinds only, and keeps explicit ones it may deploy to', async () => {
    const { phases } = await renderTree({
      'capstan.yaml': lines(
        'app: shop',
        'environments:',
        '  staging: { namespace: shop-staging, extraNamespaces: [shared] }',
      ),
      'staging/10-a/objects.yaml': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: a }',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: b, namespace: shared }',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata: { name: reader }',
        '---',
        'apiVersion: example.com/v1',
        'kind: Widget',
        'metadata: { name: w }',
      ),
    });
    assert.deepEqual(
      objectsOf(phases).map((o) => o.metadata.namespace),
      ['shop-staging', 'shared', undefined, 'shop-staging'],
    );
  });

  it('adds the managed labels to metadata only, keeping user labels', async () => {
    const { phases } = await renderTree({
      'staging/10-a/web.yaml': lines(
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: web',
        '  labels: { team: shop, capstan.dev/env: wrong }',
        'spec:',
        '  selector: { matchLabels: { app: web } }',
        '  template:',
        '    metadata: { labels: { app: web } }',
        '    spec: { containers: [{ name: web, image: x }] }',
      ),
    });
    const web = objectsOf(phases)[0] as KubeObject & { spec: { template: { metadata: { labels: object } } } };
    assert.deepEqual(web.metadata.labels, { team: 'shop', ...managedLabels('shop', 'staging') });
    assert.deepEqual(managedLabels('shop', 'staging'), {
      'app.kubernetes.io/managed-by': 'capstan',
      'capstan.dev/app': 'shop',
      'capstan.dev/env': 'staging',
    });
    assert.deepEqual(web.spec.template.metadata.labels, { app: 'web' });
  });

  it('reports objects without apiVersion, kind or name at the right line', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/bad.yaml': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  labels: { a: b }',
        '---',
        'kind: ConfigMap',
        'metadata: { name: x, labels: { version: 2 } }',
        '---',
        '- just a list',
        '---',
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: { name: ns, namespace: other }',
      ),
    });
    assert.deepEqual(issues, [
      { file: 'staging/10-a/bad.yaml', line: 4, path: 'metadata.name', message: 'missing metadata.name' },
      { file: 'staging/10-a/bad.yaml', line: 6, path: 'apiVersion', message: 'missing apiVersion' },
      {
        file: 'staging/10-a/bad.yaml',
        line: 7,
        path: 'metadata.labels.version',
        message: 'labels values must be strings; quote 2',
      },
      { file: 'staging/10-a/bad.yaml', line: 9, message: 'expected a Kubernetes object, got a list' },
      {
        file: 'staging/10-a/bad.yaml',
        line: 13,
        path: 'metadata.namespace',
        message: 'Namespace is cluster-scoped: remove metadata.namespace',
      },
    ]);
  });

  it('reports the same kind/namespace/name twice, across phases, naming both files', async () => {
    const issues = await renderTreeIssues({
      'capstan.yaml': lines(
        'app: shop',
        'environments:',
        '  staging: { namespace: shop-staging, extraNamespaces: [elsewhere] }',
      ),
      'staging/10-a/one.yaml': cm('app'),
      'staging/20-b/two.yaml.ejs': cm('<%= "app" %>'),
      'staging/20-b/three.yaml': cm('app', 'data: {}').replace('app\n', 'app\n  namespace: elsewhere\n'),
    });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.file, 'staging/20-b/two.yaml.ejs');
    assert.match(
      issues[0]?.message ?? '',
      /^ConfigMap\/app in namespace shop-staging is defined twice: also in \/.*\/staging\/10-a\/one\.yaml:1$/,
    );
  });

  it('gathers every issue of every file before failing', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/one.yaml': 'a: [',
      'staging/10-a/two.yaml.ejs': '<%= nope %>',
      'staging/20-b/three.yaml': lines('kind: ConfigMap', 'metadata: { name: x }'),
    });
    assert.deepEqual(
      issues.map((i) => i.file),
      ['staging/10-a/one.yaml', 'staging/10-a/two.yaml.ejs', 'staging/20-b/three.yaml'],
    );
  });
});
