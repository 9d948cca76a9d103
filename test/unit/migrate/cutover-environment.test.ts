// `capstan cutover ENV --to NAME`: the clusters, their connections and the scope from capstan.yaml.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadConfig, type LoadedConfig } from '../../../src/config/index.js';
import { resolveCutoverEnvironment } from '../../../src/migrate/index.js';
import { hookEnv } from '../../../src/cli/cutover-hook.js';
import { lines, writeDeployTree } from '../../fixtures/deploy-tree.js';

describe('resolveCutoverEnvironment', () => {
  let loaded: LoadedConfig;
  before(async () => {
    const cwd = await writeDeployTree({
      'capstan.yaml': lines(
        'app: shop',
        'environments:',
        '  production:',
        '    namespace: shop-production',
        '    extraNamespaces: [shop-jobs]',
        '    clusters:',
        '      blue-eu-1: { context: blue }',
        '      green-eu-1: { context: green, kubeconfig: ../kube/green.yaml }',
        '  three:',
        '    namespace: shop',
        '    clusters: { a: { context: a }, b: { context: b }, c: { context: c } }',
        '  split:',
        '    namespace: shop',
        '    clusters: { a: { context: a }, b: { context: b, namespace: shop-b } }',
        '  staging:',
        '    namespace: shop-staging',
      ),
      'production/30-deployment/web.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\n',
      'three/30-deployment/web.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\n',
      'split/30-deployment/web.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\n',
      'staging/30-deployment/web.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\n',
    });
    loaded = await loadConfig({ cwd });
  });

  it('takes the other cluster as A when there are two, the contexts and kubeconfigs from capstan.yaml', () => {
    const resolved = resolveCutoverEnvironment(loaded, 'production', {
      to: 'green-eu-1',
      kubeconfig: '/home/ci/.kube/config',
    });
    assert.deepEqual(resolved.from, { kubeconfig: '/home/ci/.kube/config', context: 'blue' });
    assert.equal(resolved.to.context, 'green');
    assert.match(resolved.to.kubeconfig ?? '', /\/kube\/green\.yaml$/);
    assert.deepEqual(resolved.scope, { namespaces: ['shop-production', 'shop-jobs'] });
    assert.deepEqual(resolved.environment, { name: 'production', from: 'blue-eu-1', to: 'green-eu-1' });
  });

  it('passes a selector and kinds through, and --from names A explicitly', () => {
    const resolved = resolveCutoverEnvironment(loaded, 'production', {
      from: 'green-eu-1',
      to: 'blue-eu-1',
      selector: 'tier=web',
      includeKinds: ['CronJob'],
    });
    assert.deepEqual(resolved.scope, {
      namespaces: ['shop-production', 'shop-jobs'],
      selector: 'tier=web',
      includeKinds: ['CronJob'],
    });
    assert.deepEqual(resolved.environment, { name: 'production', from: 'green-eu-1', to: 'blue-eu-1' });
  });

  it('refuses what it cannot resolve, saying what to pass', () => {
    const refused: Array<[string, Parameters<typeof resolveCutoverEnvironment>[2], RegExp]> = [
      ['three', { to: 'b' }, /runs in 3 clusters \(a, b, c\): say which one to cut over from/],
      ['production', { to: 'blue-eu-1', from: 'blue-eu-1' }, /--from and --to both name cluster blue-eu-1/],
      ['production', { to: 'red-eu-1' }, /unknown cluster "red-eu-1"/],
      ['split', { to: 'b' }, /namespace shop in cluster a and shop-b in cluster b/],
      ['staging', { to: 'b' }, /staging runs in one cluster/],
    ];
    for (const [env, input, message] of refused)
      assert.throws(
        () => resolveCutoverEnvironment(loaded, env, input),
        { message },
        `${env} ${JSON.stringify(input)}`,
      );
    assert.equal(resolveCutoverEnvironment(loaded, 'three', { from: 'c', to: 'b' }).from.context, 'c');
  });
});

describe('the hook environment of a cutover by environment', () => {
  it('names the environment and both clusters', () => {
    const env = hookEnv({
      direction: 'back',
      from: { context: 'blue', server: 'https://a' },
      to: { context: 'green', server: 'https://b' },
      environment: { name: 'production', from: 'blue-eu-1', to: 'green-eu-1' },
    });
    assert.equal(env.CAPSTAN_CUTOVER_ENVIRONMENT, 'production');
    assert.equal(env.CAPSTAN_CUTOVER_FROM_CLUSTER, 'blue-eu-1');
    assert.equal(env.CAPSTAN_CUTOVER_TO_CLUSTER, 'green-eu-1');
    assert.equal(env.CAPSTAN_CUTOVER_LIVE, 'from');
  });
});
