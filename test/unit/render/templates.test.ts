import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/shared/index.js';
import { lines, renderTree, renderTreeIssues } from '../../fixtures/deploy-tree.js';

async function objects(
  files: Record<string, string>,
  options: Parameters<typeof renderTree>[1] = {},
): Promise<KubeObject[]> {
  const { phases } = await renderTree(files, options);
  return phases.flatMap((p) => p.objects.map((o) => o.object));
}

const CONFIGMAP = lines(
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: <%= name %>',
  'data:',
  '  app: <%= app %>',
  '  env: <%= env %>',
  '  namespace: <%= namespace %>',
  '  deployId: <%= deployId %>',
  '  revision: <%= revision %>',
  '  replicas: "<%= values.replicas %>"',
  '  image: <%= image %>',
  '  size: <%= locals.size ?? "default" %>',
);

describe('*.yaml.ejs templates', () => {
  it('see app, env, namespace, image, deployId (and its deprecated alias revision) and values; include partials with vars', async () => {
    const [direct, viaInclude, full] = await objects(
      {
        'templates/config.yaml.ejs': CONFIGMAP,
        'templates/nested/inner.yaml.ejs': '<%- include("config", { name: "inner-" + name }) %>',
        'staging/10-a/direct.yaml.ejs': CONFIGMAP.replace('<%= name %>', 'direct'),
        'staging/10-a/included.yaml.ejs': lines(
          '<%- include("config", { name: "partial", size: "large" }) %>',
          '---',
          '<%- include("nested/inner.yaml.ejs", { name: "x" }) %>',
        ),
      },
      { image: 'registry.example/shop:2', deployId: 'rev7', set: ['replicas=4'] },
    );
    assert.deepEqual(direct?.['data'], {
      app: 'shop',
      env: 'staging',
      namespace: 'shop-staging',
      deployId: 'rev7',
      revision: 'rev7',
      replicas: '4',
      image: 'registry.example/shop:2',
      size: 'default',
    });
    assert.equal(viaInclude?.metadata.name, 'partial');
    assert.equal((viaInclude?.['data'] as Record<string, string>)['size'], 'large');
    assert.equal(full?.metadata.name, 'inner-x');
  });

  it('print as YAML: no HTML escaping, objects as JSON', async () => {
    const [cm] = await objects({
      'staging/10-a/x.yaml.ejs': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: x }',
        'data:',
        '  html: "<%= "<a & b>" %>"',
        '  list: <%= JSON.stringify(["a", "b"]) %>',
        'binaryData: <%= { k: "dg==" } %>',
      ),
    });
    assert.deepEqual(cm?.['data'], { html: '<a & b>', list: ['a', 'b'] });
    assert.deepEqual(cm?.['binaryData'], { k: 'dg==' });
  });

  it('report exceptions with the template line', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/x.yaml.ejs': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: <%= values.missing.name %>',
      ),
    });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.file, 'staging/10-a/x.yaml.ejs');
    assert.equal(issues[0]?.line, 4);
    assert.match(issues[0]?.message ?? '', /Cannot read properties of undefined \(reading 'name'\)/);
  });

  it('report a printed undefined and a missing image as errors with their line', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/x.yaml.ejs': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: <%= values.nme %>',
      ),
      'staging/10-a/y.yaml.ejs': lines(
        'apiVersion: v1',
        'kind: Pod',
        'metadata: { name: p }',
        '# <%= image %>',
      ),
    });
    assert.deepEqual(issues, [
      { file: 'staging/10-a/x.yaml.ejs', line: 4, message: 'a tag printed undefined (a missing value?)' },
      {
        file: 'staging/10-a/y.yaml.ejs',
        line: 4,
        message: 'no image: pass --image (or set image in capstan.yaml)',
      },
    ]);
  });

  it('report EJS syntax errors with the template line', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/js.yaml.ejs': lines(
        'a: 1',
        '<% if (values.replicas) { %>',
        'b: 2',
        'c: <%= values.replicas + %>',
        '<% } %>',
      ),
      'staging/10-a/tag.yaml.ejs': lines('a: 1', 'b: <%= 2 %>', 'c: <%= 3'),
      'staging/10-a/unclosed.yaml.ejs': lines('a: 1', '<% if (values.replicas) { %>', 'b: 2'),
    });
    assert.equal(issues[2]?.file, 'staging/10-a/unclosed.yaml.ejs');
    assert.equal(issues[2]?.line, 3);
    assert.match(issues[2]?.message ?? '', /at the end of the template \(an unclosed \{ block\?\)/);
    assert.equal(issues[0]?.file, 'staging/10-a/js.yaml.ejs');
    assert.equal(issues[0]?.line, 4);
    assert.match(issues[0]?.message ?? '', /Unexpected token/);
    assert.equal(issues[1]?.file, 'staging/10-a/tag.yaml.ejs');
    assert.equal(issues[1]?.line, 3);
    assert.match(issues[1]?.message ?? '', /close tag/);
  });

  it('name the partial and its line when the error is inside it, and the including file', async () => {
    const issues = await renderTreeIssues({
      'templates/broken.yaml.ejs': lines('a: 1', 'b: <%= port.number %>'),
      'templates/bad-syntax.yaml.ejs': lines('x:', '<% for (;;; { %>'),
      'staging/10-a/one.yaml.ejs': lines('# first', '<%- include("broken") %>'),
      'staging/10-a/two.yaml.ejs': lines('<%- include("bad-syntax", { port: 1 }) %>'),
      'staging/10-a/three.yaml.ejs': lines('', '', '<%- include("missing") %>'),
    });
    assert.equal(issues.length, 3);
    assert.equal(issues[0]?.file, 'templates/broken.yaml.ejs');
    assert.equal(issues[0]?.line, 2);
    assert.match(
      issues[0]?.message ?? '',
      /port is not defined \(included from .*staging\/10-a\/one\.yaml\.ejs:2\)$/,
    );
    // files in name order: one, three, two
    assert.equal(issues[1]?.file, 'staging/10-a/three.yaml.ejs');
    assert.equal(issues[1]?.line, 3);
    assert.match(issues[1]?.message ?? '', /no partial "missing"/);
    assert.equal(issues[2]?.file, 'templates/bad-syntax.yaml.ejs');
    assert.equal(issues[2]?.line, 2);
    assert.match(issues[2]?.message ?? '', /included from .*two\.yaml\.ejs:1/);
  });

  it('refuse partials outside the templates folder', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/x.yaml.ejs': '<%- include("../capstan.yaml.ejs") %>',
    });
    assert.match(issues[0]?.message ?? '', /outside/);
  });
});

describe('YAML syntax errors', () => {
  it('in plain files: file, line and column from the parser', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/x.yaml': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: [x',
        'data: {}',
      ),
    });
    assert.equal(issues.length, 1);
    assert.deepEqual([issues[0]?.file, issues[0]?.line, issues[0]?.column], ['staging/10-a/x.yaml', 5, 1]);
    assert.match(issues[0]?.message ?? '', /^YAML syntax error: /);
  });

  it('in rendered templates: the line of the output, quoted', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/x.yaml.ejs': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: <%= "a: b" %>',
      ),
    });
    assert.equal(issues[0]?.line, undefined);
    assert.match(
      issues[0]?.message ?? '',
      /^YAML syntax error in the rendered output, line 4 \("name: a: b"\): /,
    );
  });
});

describe('*.ts and *.js modules', () => {
  const module = (body: string): string =>
    lines('interface Context { app: string; namespace: string; values: { replicas: number } }', body);

  it('return one object or a list, sync or async, from the template context', async () => {
    const found = await objects({
      'staging/10-a/one.ts': module(
        "export default (ctx: Context) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ctx.app }, data: { n: String(ctx.values.replicas) } });",
      ),
      'staging/10-a/two.js': lines(
        'export default async function ({ namespace, include }) {',
        "  const cm = (name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { ns: namespace, partial: include('p', { v: name }) } });",
        "  return [cm('a'), null, [cm('b')]];",
        '}',
      ),
      'templates/p.yaml.ejs': 'v=<%= v %>',
    });
    assert.deepEqual(
      found.map((o) => [o.metadata.name, o['data']]),
      [
        ['shop', { n: '1' }],
        ['a', { ns: 'shop-staging', partial: 'v=a' }],
        ['b', { ns: 'shop-staging', partial: 'v=b' }],
      ],
    );
  });

  it('report exceptions with the module line, and load errors', async () => {
    const issues = await renderTreeIssues({
      'staging/10-a/throws.ts': module(
        ['export default (ctx: Context) => {', '  if (ctx) throw new Error("boom");', '};'].join('\n'),
      ),
      'staging/10-a/syntax.ts': lines('export default () => {', '  return { a: 1 ;', '};'),
      'staging/10-a/nothing.ts': 'export const x = 1;',
      'staging/10-a/image.ts': 'export default ({ image }: { image: string }) => ({ image });',
    });
    assert.deepEqual(
      issues.map(({ file, line, message }) => ({ file, line, message })),
      [
        {
          file: 'staging/10-a/image.ts',
          line: 1,
          message: 'no image: pass --image (or set image in capstan.yaml)',
        },
        {
          file: 'staging/10-a/nothing.ts',
          line: undefined,
          message:
            'the default export must be a function of the template context returning an object or a list',
        },
        {
          file: 'staging/10-a/syntax.ts',
          line: 2,
          message: 'cannot load the module: Expected "}" but found ";"',
        },
        { file: 'staging/10-a/throws.ts', line: 3, message: 'boom' },
      ],
    );
  });

  it('work when the module is read as CommonJS', async () => {
    const found = await objects({
      'staging/10-a/package.json': '{ "type": "commonjs" }',
      'staging/10-a/cjs.ts':
        "export default () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cjs' } });",
    });
    assert.deepEqual(
      found.map((o) => o.metadata.name),
      ['cjs'],
    );
  });

  it("import defineTemplate from 'capstan', which resolves to the Capstan that renders them, outside any checkout", async () => {
    const found = await objects(
      {
        'staging/10-a/typed.ts': lines(
          "import { defineTemplate, type ConfigMap } from 'capstan';",
          'export default defineTemplate<{ replicas: number }>(({ app, values }): ConfigMap => ({',
          "  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: app }, data: { n: String(values.replicas) },",
          '}));',
        ),
      },
      { set: ['replicas=3'] },
    );
    assert.deepEqual(
      found.map((o) => [o.metadata.name, (o as { data?: unknown }).data]),
      [['shop', { n: '3' }]],
    );
  });
});
