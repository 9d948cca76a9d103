// Commands that act on one cluster: a multi-cluster environment needs --cluster; errors met in one
// cluster of several name it and keep their code, hint and issues.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { inCluster, loadConfig, resolveOneCluster, type LoadedConfig } from '../../../src/config/index.js';
import { CapstanError, ConfigError, isInputError } from '../../../src/shared/index.js';
import { lines, writeDeployTree } from '../../fixtures/deploy-tree.js';

describe('resolveOneCluster', () => {
  let loaded: LoadedConfig;
  before(async () => {
    const cwd = await writeDeployTree({
      'capstan.yaml': lines(
        'app: shop',
        'environments:',
        '  staging: { namespace: shop-staging }',
        '  production:',
        '    namespace: shop',
        '    clusters:',
        '      eu-central-1: { context: eu }',
        '      us-east-2: { context: us }',
      ),
      'staging/10-a/x.yaml': '',
      'production/10-a/x.yaml': '',
    });
    loaded = await loadConfig({ cwd });
  });

  it('refuses a multi-cluster environment without a cluster, naming its clusters (exit 2)', () => {
    assert.throws(
      () => resolveOneCluster(loaded, 'production', { command: 'run' }),
      (error: unknown) => {
        assert.ok(isInputError(error));
        assert.equal(
          error.message,
          'production runs in 2 clusters (eu-central-1, us-east-2): run acts on one of them',
        );
        assert.equal(error.hint, 'name it with --cluster, e.g. --cluster eu-central-1');
        return true;
      },
    );
  });

  it('gives the cluster named, and a single-cluster environment as it is', () => {
    const us = resolveOneCluster(loaded, 'production', { cluster: 'us-east-2', command: 'unlock' });
    assert.equal(us.cluster, 'us-east-2');
    assert.equal(us.context, 'us');
    const staging = resolveOneCluster(loaded, 'staging', { command: 'unlock' });
    assert.equal(staging.cluster, undefined);
    assert.equal(staging.namespace, 'shop-staging');
  });
});

describe('inCluster', () => {
  it("names the cluster in a ConfigError's issues, keeping file, line and hint", () => {
    const error = new ConfigError(
      [{ file: '/app/.deploy/x.yaml', line: 3, message: 'values.port is missing' }],
      {
        hint: 'set it',
      },
    );
    const named = inCluster('us', error);
    assert.ok(named instanceof ConfigError);
    assert.deepEqual(named.issues, [
      { file: '/app/.deploy/x.yaml', line: 3, message: 'cluster us: values.port is missing' },
    ]);
    assert.equal(named.hint, 'set it');
    assert.equal(named.cause, error);
  });

  it("names the cluster in a CapstanError's message, keeping its code (and so its exit code)", () => {
    const error = new CapstanError('ERR_CAPSTAN_LOCKED', 'the lock is held', { hint: 'wait' });
    const named = inCluster('eu', error);
    assert.ok(named instanceof CapstanError);
    assert.equal(named.code, 'ERR_CAPSTAN_LOCKED');
    assert.equal(named.message, 'cluster eu: the lock is held');
    assert.equal(named.hint, 'wait');
  });

  it('leaves errors that are not Capstan’s alone (they are bugs, shown with their stack)', () => {
    const bug = new TypeError('x is undefined');
    assert.equal(inCluster('eu', bug), bug);
  });
});
