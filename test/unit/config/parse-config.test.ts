import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import { lines } from '../../fixtures/deploy-tree.js';

const FILE = '/repo/.deploy/capstan.yaml';

function problems(text: string): { line?: number; column?: number; path?: string; message: string }[] {
  const parsed = parseConfig(text, FILE);
  assert.equal(parsed.config, undefined, 'expected issues');
  for (const issue of parsed.issues) assert.equal(issue.file, FILE);
  return parsed.issues.map(({ line, column, path, message }) => ({ line, column, path, message }));
}

describe('parseConfig', () => {
  it('accepts a complete configuration', () => {
    const parsed = parseConfig(
      lines(
        'app: shop',
        'image: registry.example/shop:1',
        'values: { replicas: 2 }',
        'environments:',
        '  staging: { namespace: shop-staging, context: kind-a, values: { replicas: 1 }, extraNamespaces: [monitoring] }',
        'notifications:',
        '  - { type: slack, urlEnv: SLACK_URL, events: [deploy.failed] }',
        'releases: { keep: 5 }',
        'deploy: { timeout: 1h30m, concurrency: 4 }',
        'tasks: { seed: { concurrency: forbid }, migrate: {} }',
      ),
      FILE,
    );
    assert.deepEqual(parsed.issues, []);
    assert.equal(parsed.config?.environments['staging']?.namespace, 'shop-staging');
    assert.equal(parsed.config?.deploy?.timeout, '1h30m');
    assert.deepEqual(parsed.config?.environments['staging']?.extraNamespaces, ['monitoring']);
    assert.equal(parsed.config?.tasks?.['seed']?.concurrency, 'forbid');
  });

  const table: { name: string; text: string; expected: ReturnType<typeof problems> }[] = [
    {
      name: 'unknown field, with a typo hint',
      text: lines('app: shop', 'environments:', '  staging:', '    namespace: a', '    namspace: b'),
      expected: [
        {
          line: 5,
          column: 5,
          path: 'environments.staging.namspace',
          message: 'unknown field "namspace"; did you mean "namespace"?',
        },
      ],
    },
    {
      name: 'unknown top-level field lists the known ones',
      text: lines('app: shop', 'environments: { staging: { namespace: a } }', 'colour: blue'),
      expected: [
        {
          line: 3,
          column: 1,
          path: 'colour',
          message:
            'unknown field "colour" (known: app, image, values, environments, notifications, releases, deploy, tasks, audit, vault, previews)',
        },
      ],
    },
    {
      name: 'wrong type',
      text: lines('app: shop', 'environments:', '  staging:', '    namespace: 42'),
      expected: [
        {
          line: 4,
          column: 16,
          path: 'environments.staging.namespace',
          message: 'must be a string, not a number (42)',
        },
      ],
    },
    {
      name: 'missing app',
      text: lines('environments:', '  staging:', '    namespace: a'),
      expected: [{ line: 1, column: 1, path: 'app', message: 'missing required field "app"' }],
    },
    {
      name: 'bad environment name',
      text: lines('app: shop', 'environments:', '  Staging_1:', '    namespace: a'),
      expected: [
        {
          line: 3,
          column: 3,
          path: 'environments.Staging_1',
          message:
            'invalid name "Staging_1": environment names must be DNS labels: lowercase letters, digits and \'-\', starting and ending with a letter or digit',
        },
      ],
    },
    {
      name: 'missing namespace points at the environment',
      text: lines('app: shop', 'environments:', '  staging:', '    context: x'),
      expected: [
        {
          line: 4,
          column: 5,
          path: 'environments.staging.namespace',
          message: 'missing required field "namespace"',
        },
      ],
    },
    {
      name: 'enum, pattern and minimum inside lists and objects',
      text: lines(
        'app: shop',
        'environments: { staging: { namespace: a } }',
        'notifications:',
        '  - type: email',
        '    urlEnv: https://hooks.example/x',
        'releases:',
        '  keep: 0',
        'deploy:',
        '  timeout: 10 minutes',
      ),
      expected: [
        {
          line: 4,
          column: 11,
          path: 'notifications.0.type',
          message: 'must be one of "slack", "webhook", not "email"',
        },
        {
          line: 5,
          column: 13,
          path: 'notifications.0.urlEnv',
          message: 'must be the NAME of an environment variable, e.g. SLACK_WEBHOOK_URL',
        },
        { line: 7, column: 9, path: 'releases.keep', message: 'must be >= 1' },
        {
          line: 9,
          column: 12,
          path: 'deploy.timeout',
          message: 'must be a duration such as 10m, 90s, 1h30m or 500ms',
        },
      ],
    },
    {
      name: 'extra namespaces that are not DNS labels or repeated',
      text: lines(
        'app: shop',
        'environments:',
        '  staging:',
        '    namespace: shop',
        '    extraNamespaces:',
        '      - monitoring',
        '      - Kube_System',
        '      - monitoring',
      ),
      expected: [
        {
          line: 7,
          column: 9,
          path: 'environments.staging.extraNamespaces.1',
          message:
            "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit",
        },
        {
          line: 8,
          column: 9,
          path: 'environments.staging.extraNamespaces.2',
          message: '"monitoring" is listed twice',
        },
      ],
    },
    {
      name: "an extra namespace equal to the environment's own",
      text: lines(
        'app: shop',
        'environments:',
        '  production:',
        '    namespace: shop-prod',
        '    extraNamespaces: [monitoring, shop-prod]',
      ),
      expected: [
        {
          line: 5,
          column: 35,
          path: 'environments.production.extraNamespaces.1',
          message: '"shop-prod" is the environment\'s own namespace: remove it from extraNamespaces',
        },
      ],
    },
    {
      name: 'a task concurrency that is neither allow nor forbid',
      text: lines(
        'app: shop',
        'environments: { staging: { namespace: a } }',
        'tasks:',
        '  seed: { concurrency: once }',
      ),
      expected: [
        {
          line: 4,
          column: 24,
          path: 'tasks.seed.concurrency',
          message: 'must be one of "allow", "forbid", not "once"',
        },
      ],
    },
    {
      name: 'an unknown task setting and a task name that is not a name',
      text: lines(
        'app: shop',
        'environments: { staging: { namespace: a } }',
        'tasks:',
        '  seed: { concurency: forbid }',
        '  Bad_Name: {}',
      ),
      expected: [
        {
          line: 4,
          column: 11,
          path: 'tasks.seed.concurency',
          message: 'unknown field "concurency"; did you mean "concurrency"?',
        },
        {
          line: 5,
          column: 3,
          path: 'tasks.Bad_Name',
          message:
            'invalid name "Bad_Name": task names are lowercase letters, digits and \'-\', starting and ending with a letter or digit (at most 30)',
        },
      ],
    },
    {
      name: 'no environments',
      text: lines('app: shop', 'environments: {}'),
      expected: [{ line: 2, column: 15, path: 'environments', message: 'must have at least 1 entry' }],
    },
    {
      name: 'empty file',
      text: '# nothing yet\n',
      expected: [
        {
          line: 1,
          column: 1,
          path: undefined,
          message: 'the file is empty: it needs at least app and environments',
        },
      ],
    },
  ];
  for (const { name, text, expected } of table) {
    it(`reports ${name}`, () => {
      assert.deepEqual(problems(text), expected);
    });
  }

  it('reports every problem at once, in file order', () => {
    const found = problems(
      lines('app: Shop', 'environments:', '  a: { namespace: 1 }', '  b: { }', 'extra: 1'),
    );
    assert.deepEqual(
      found.map((p) => [p.line, p.path]),
      [
        [1, 'app'],
        [3, 'environments.a.namespace'],
        [4, 'environments.b.namespace'],
        [5, 'extra'],
      ],
    );
  });

  it('reports YAML syntax errors and duplicate keys with line and column', () => {
    assert.deepEqual(
      problems(lines('app: shop', 'environments:', '  staging: { namespace: a', 'values: {}')).map((p) => [
        p.line,
        p.column,
      ]),
      [[4, 1]],
    );
    const duplicate = problems(lines('app: shop', 'app: other', 'environments: { s: { namespace: a } }'));
    assert.equal(duplicate.length, 1);
    assert.equal(duplicate[0]?.line, 2);
    assert.match(duplicate[0]?.message ?? '', /unique/);
  });
});

describe('parseConfig: vault', () => {
  it('accepts vault at the top level and per environment, and locates its mistakes', () => {
    const parsed = parseConfig(
      lines(
        'app: shop',
        'vault: { address: "https://vault.example:8200", namespace: admin/team, timeout: 5s, auth: { method: jwt, role: deploy, mount: jwt-ci, audience: vault } }',
        'environments:',
        '  staging: { namespace: shop-staging, vault: { auth: { method: kubernetes, role: staging } } }',
      ),
      FILE,
    );
    assert.deepEqual(parsed.issues, []);
    assert.equal(parsed.config?.vault?.auth?.mount, 'jwt-ci');
    assert.deepEqual(
      problems(
        lines(
          'app: shop',
          'vault:',
          '  address: vault:8200',
          '  auth: { method: ldap, secretId: x }',
          'environments: { staging: { namespace: a } }',
        ),
      ).map((p) => `${p.line} ${p.path}: ${p.message.split(';')[0]}`),
      [
        '3 vault.address: must be an http(s) URL such as https://vault.example.com:8200',
        '4 vault.auth.method: must be one of "token", "jwt", "kubernetes", "approle", not "ldap"',
        '4 vault.auth.secretId: unknown field "secretId" (known: method, role, mount, roleId, audience, tokenPath)',
      ],
    );
  });
});
