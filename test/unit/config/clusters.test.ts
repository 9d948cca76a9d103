// Multi-cluster environments in capstan.yaml: what the validator refuses (with file and line), one
// cluster's view of an environment (values, namespace, kubeconfig, context), the fleet's defaults.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  connectionOf,
  loadConfig,
  parseConfig,
  resolveClusters,
  resolveEnvironment,
  type CapstanConfig,
  type LoadedConfig,
} from '../../../src/config/index.js';
import { ConfigError } from '../../../src/shared/index.js';
import { lines, writeDeployTree } from '../../fixtures/deploy-tree.js';

const FILE = '/repo/.deploy/capstan.yaml';

function problems(text: string): { line?: number; path?: string; message: string }[] {
  const parsed = parseConfig(text, FILE);
  assert.equal(parsed.config, undefined, 'expected issues');
  for (const issue of parsed.issues) assert.equal(issue.file, FILE);
  return parsed.issues.map(({ line, path, message }) => ({ line, path, message }));
}

/** capstan.yaml with one environment, `production`, whose lines follow its name. */
const production = (...envLines: string[]) =>
  lines('app: shop', 'environments:', '  production:', '    namespace: shop', ...envLines);

describe('capstan.yaml clusters: the validator', () => {
  it('accepts clusters, waves, soak and maxParallel', () => {
    const parsed = parseConfig(
      production(
        '    clusters:',
        '      eu-central-1: { context: eu, values: { region: eu } }',
        '      us-east-2: { kubeconfig: ../kube/us.yaml, namespace: shop-us }',
        '    waves: [[eu-central-1], [us-east-2]]',
        '    soak: 5m',
        '    maxParallel: 1',
        '    onFailure: rollback',
      ),
      FILE,
    );
    assert.deepEqual(parsed.issues, []);
    assert.deepEqual(parsed.config?.environments['production']?.waves, [['eu-central-1'], ['us-east-2']]);
  });

  const table: { name: string; text: string; expected: ReturnType<typeof problems> }[] = [
    {
      name: 'a wave naming an unknown cluster',
      text: production(
        '    clusters: { eu: { context: eu }, us: { context: us } }',
        '    waves: [[eu], [us, ap]]',
      ),
      expected: [
        {
          line: 6,
          path: 'environments.production.waves.1.1',
          message: '"ap" is not one of the clusters (eu, us)',
        },
      ],
    },
    {
      name: 'a cluster in two waves',
      text: production(
        '    clusters:',
        '      eu: { context: eu }',
        '      us: { context: us }',
        '    waves:',
        '      - [eu]',
        '      - [us, eu]',
      ),
      expected: [
        {
          line: 10,
          path: 'environments.production.waves.1.1',
          message: '"eu" is already in wave 1: a cluster deploys once',
        },
      ],
    },
    {
      name: 'a cluster in no wave',
      text: production(
        '    clusters:',
        '      eu: { context: eu }',
        '      us: { context: us }',
        '      ap: { context: ap }',
        '    waves: [[eu], [us]]',
      ),
      expected: [
        {
          line: 9,
          path: 'environments.production.waves',
          message: 'cluster "ap" is in no wave: add it to one, or remove it from clusters',
        },
      ],
    },
    {
      name: 'waves, soak and maxParallel without clusters',
      text: production('    waves: [[eu]]', '    soak: 5m', '    maxParallel: 2'),
      expected: [
        {
          line: 5,
          path: 'environments.production.waves',
          message: 'waves needs clusters: this environment has one cluster',
        },
        {
          line: 6,
          path: 'environments.production.soak',
          message: 'soak needs clusters: this environment has one cluster',
        },
        {
          line: 7,
          path: 'environments.production.maxParallel',
          message: 'maxParallel needs clusters: this environment has one cluster',
        },
      ],
    },
    {
      name: 'a context at the environment together with clusters',
      text: production('    context: prod', '    clusters: { eu: { context: eu } }'),
      expected: [
        {
          line: 5,
          path: 'environments.production.context',
          message: 'with clusters, each cluster names its context: move context under clusters.<name>',
        },
      ],
    },
    {
      name: 'a cluster with neither context nor kubeconfig',
      text: production(
        '    clusters:',
        '      eu: { context: eu }',
        '      us:',
        '        namespace: shop-us',
      ),
      expected: [
        {
          line: 8,
          path: 'environments.production.clusters.us',
          message:
            'cluster "us" needs a context or a kubeconfig (else every cluster would be the current context)',
        },
      ],
    },
    {
      name: 'a cluster name that is not a DNS label',
      text: production('    clusters:', '      eu: { context: eu }', '      US_East: { context: us }'),
      expected: [
        {
          line: 7,
          path: 'environments.production.clusters.US_East',
          message:
            'invalid name "US_East": cluster names must be DNS labels: lowercase letters, digits and \'-\', starting and ending with a letter or digit',
        },
      ],
    },
  ];
  for (const row of table) {
    it(`refuses ${row.name}, at its line`, () => {
      assert.deepEqual(problems(row.text), row.expected);
    });
  }
});

const CONFIG = lines(
  'app: shop',
  'values:',
  '  replicas: 1',
  '  db: { host: db.internal, port: 5432, ssl: false }',
  'environments:',
  '  staging:',
  '    namespace: shop-staging',
  '  production:',
  '    namespace: shop-production',
  '    values: { replicas: 3, db: { host: db.production } }',
  '    clusters:',
  '      eu:',
  '        context: eu-central-1',
  '        values: { db: { host: db.eu, port: 6432 }, region: eu }',
  '      us:',
  '        kubeconfig: ../kube/us.kubeconfig',
  '        namespace: shop-us',
  '      ap:',
  '        kubeconfig: /etc/kube/ap.yaml',
  '        context: ap-south',
  '    waves: [[eu], [us, ap]]',
  '    soak: 90s',
  '  canary:',
  '    namespace: shop-canary',
  '    clusters:',
  '      eu: { context: eu-central-1 }',
  '      us: { context: us-east-2 }',
  '      production: { context: production }',
);

describe('resolveEnvironment with a cluster', () => {
  let loaded: LoadedConfig;
  before(async () => {
    const cwd = await writeDeployTree({
      'capstan.yaml': CONFIG,
      'staging/10-a/x.yaml': '',
      'production/10-a/x.yaml': '',
      'canary/10-a/x.yaml': '',
    });
    loaded = await loadConfig({ cwd });
  });

  it('merges values top-level < environment < cluster < --set', () => {
    const eu = resolveEnvironment(loaded, 'production', { cluster: 'eu', set: ['db.ssl=true'] });
    assert.deepEqual(eu.values, {
      replicas: 3,
      db: { host: 'db.eu', port: 6432, ssl: true },
      region: 'eu',
    });
    assert.equal(eu.cluster, 'eu');
    assert.equal(eu.context, 'eu-central-1');
    assert.equal(eu.namespace, 'shop-production');
    assert.equal(eu.kubeconfig, undefined);
  });

  it("gives the cluster's namespace, and its kubeconfig relative to capstan.yaml's folder", () => {
    const us = resolveEnvironment(loaded, 'production', { cluster: 'us' });
    assert.equal(us.namespace, 'shop-us');
    assert.equal(us.kubeconfig, join(loaded.deployDir, '..', 'kube', 'us.kubeconfig'));
    assert.equal(us.context, undefined);
    assert.deepEqual(us.values, { replicas: 3, db: { host: 'db.production', port: 5432, ssl: false } });
    const ap = resolveEnvironment(loaded, 'production', { cluster: 'ap' });
    assert.equal(ap.kubeconfig, '/etc/kube/ap.yaml');
    assert.equal(ap.context, 'ap-south');
  });

  it('a cluster may share the name of an environment', () => {
    const view = resolveEnvironment(loaded, 'canary', { cluster: 'production' });
    assert.equal(view.name, 'canary');
    assert.equal(view.cluster, 'production');
    assert.equal(view.context, 'production');
  });

  it('refuses an unknown cluster, naming the known ones', () => {
    assert.throws(
      () => resolveEnvironment(loaded, 'production', { cluster: 'eu-west' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.issues[0]?.path, 'environments.production.clusters');
        assert.match(error.message, /unknown cluster "eu-west"/);
        assert.equal(error.hint, 'the clusters of production: eu, us, ap');
        return true;
      },
    );
  });

  it('refuses --cluster for a single-cluster environment', () => {
    assert.throws(
      () => resolveEnvironment(loaded, 'staging', { cluster: 'eu' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /environment "staging" has one cluster/);
        assert.match(error.hint ?? '', /leave out --cluster/);
        return true;
      },
    );
  });

  it('leaves a single-cluster environment without cluster or fleet', () => {
    const staging = resolveEnvironment(loaded, 'staging');
    assert.equal(staging.cluster, undefined);
    assert.equal(staging.fleet, undefined);
    assert.equal(staging.kubeconfig, undefined);
  });

  it('describes the fleet: the waves given, the soak, maxParallel the largest wave', () => {
    const { fleet } = resolveEnvironment(loaded, 'production', { cluster: 'us' });
    assert.deepEqual(fleet?.waves, [['eu'], ['us', 'ap']]);
    assert.equal(fleet?.soakMs, 90_000);
    assert.equal(fleet?.maxParallel, 2);
    assert.deepEqual(
      fleet?.clusters.map((c) => [c.name, c.namespace]),
      [
        ['eu', 'shop-production'],
        ['us', 'shop-us'],
        ['ap', 'shop-production'],
      ],
    );
  });

  it('defaults the fleet to one wave of every cluster, no soak, all at once', () => {
    const { fleet } = resolveEnvironment(loaded, 'canary');
    assert.deepEqual(fleet?.waves, [['eu', 'us', 'production']]);
    assert.equal(fleet?.soakMs, 0);
    assert.equal(fleet?.maxParallel, 3);
  });
});

describe('resolveClusters', () => {
  let loaded: LoadedConfig;
  before(async () => {
    const cwd = await writeDeployTree({
      'capstan.yaml': CONFIG,
      'staging/10-a/x.yaml': '',
      'production/10-a/x.yaml': '',
    });
    loaded = await loadConfig({ cwd });
  });

  it("gives one view per cluster, in capstan.yaml's order, each with its values and --set", () => {
    const views = resolveClusters(loaded, 'production', { set: ['replicas=5'] });
    assert.deepEqual(
      views.map((v) => [v.cluster, v.namespace, v.values['replicas'], v.values['region']]),
      [
        ['eu', 'shop-production', 5, 'eu'],
        ['us', 'shop-us', 5, undefined],
        ['ap', 'shop-production', 5, undefined],
      ],
    );
  });

  it('gives only the cluster named', () => {
    const views = resolveClusters(loaded, 'production', { cluster: 'ap' });
    assert.deepEqual(
      views.map((v) => v.cluster),
      ['ap'],
    );
  });

  it('gives a single-cluster environment itself', () => {
    const views = resolveClusters(loaded, 'staging');
    assert.equal(views.length, 1);
    assert.equal(views[0]?.cluster, undefined);
    assert.equal(views[0]?.namespace, 'shop-staging');
  });
});

describe('connectionOf', () => {
  it("prefers the cluster's kubeconfig to the one given, and --context to the configured one", () => {
    assert.deepEqual(
      connectionOf({ kubeconfig: '/k/eu.yaml', context: 'eu' }, { kubeconfig: '/k/given', context: 'ctx' }),
      { kubeconfig: '/k/eu.yaml', context: 'ctx' },
    );
    assert.deepEqual(connectionOf({ kubeconfig: '/k/eu.yaml', context: 'eu' }, { kubeconfig: '/k/given' }), {
      kubeconfig: '/k/eu.yaml',
      context: 'eu',
    });
    assert.deepEqual(connectionOf({ context: 'eu' }, { kubeconfig: '/k/given' }), {
      kubeconfig: '/k/given',
      context: 'eu',
    });
  });

  it('leaves out what neither gives (KUBECONFIG and the current context apply)', () => {
    assert.deepEqual(connectionOf({}, {}), {});
    assert.deepEqual(connectionOf({}), {});
    assert.deepEqual(connectionOf({ kubeconfig: '/k/us.yaml' }), { kubeconfig: '/k/us.yaml' });
  });
});

describe('values merge order, as a property', () => {
  // Leaf paths that are never a prefix of one another; one has a dot in its key (`\.` in --set).
  const PATHS = [['replicas'], ['db', 'host'], ['db', 'port'], ['flags', 'dark.mode']] as const;
  const LEVELS = ['top', 'environment', 'cluster', 'set'] as const;
  // Values that read back the same from a --set entry (YAML scalars): numbers, booleans, plain words.
  const scalar = fc.oneof(
    fc.integer({ min: 0, max: 65_535 }),
    fc.boolean(),
    fc.stringMatching(/^[a-z]{1,6}-[a-z0-9]{1,6}$/),
  );
  // For each level, the paths it sets and to what.
  const level = fc.array(fc.option(scalar, { nil: undefined }), {
    minLength: PATHS.length,
    maxLength: PATHS.length,
  });

  function nested(values: readonly unknown[]): Record<string, unknown> {
    const out: Record<string, any> = {};
    PATHS.forEach((path, i) => {
      if (values[i] === undefined) return;
      let at = out;
      for (const key of path.slice(0, -1)) at = at[key] ??= {};
      at[path[path.length - 1] as string] = values[i];
    });
    return out;
  }

  let loaded: LoadedConfig;
  before(async () => {
    const cwd = await writeDeployTree({ 'production/10-a/x.yaml': '' });
    loaded = await loadConfig({ cwd });
  });

  it('each value comes from the last level that sets it: top < environment < cluster < --set', () => {
    fc.assert(
      fc.property(level, level, level, level, (top, environment, cluster, set) => {
        const config: CapstanConfig = {
          app: 'shop',
          values: nested(top),
          environments: {
            production: {
              namespace: 'shop',
              values: nested(environment),
              clusters: { eu: { context: 'eu', values: nested(cluster) }, us: { context: 'us' } },
            },
          },
        };
        const entries = PATHS.flatMap((path, i) =>
          set[i] === undefined
            ? []
            : [`${path.map((k) => k.replace(/\./g, '\\.')).join('.')}=${String(set[i])}`],
        );
        const view = resolveEnvironment({ ...loaded, config }, 'production', { cluster: 'eu', set: entries });
        const byLevel = { top, environment, cluster, set };
        PATHS.forEach((path, i) => {
          const winner = [...LEVELS].reverse().find((l) => byLevel[l][i] !== undefined);
          let actual: any = view.values;
          for (const key of path) actual = actual?.[key];
          assert.deepEqual(actual, winner === undefined ? undefined : byLevel[winner][i], path.join('.'));
        });
        // The other cluster sees none of eu's values.
        const us = resolveEnvironment({ ...loaded, config }, 'production', { cluster: 'us' });
        assert.deepEqual(us.values, nestedMerge(top, environment));
      }),
      { numRuns: 300 },
    );
  });

  function nestedMerge(...levels: (readonly unknown[])[]): Record<string, unknown> {
    return nested(PATHS.map((_, i) => levels.map((l) => l[i]).findLast((v) => v !== undefined)));
  }
});
