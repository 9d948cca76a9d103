import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markAppends } from '../../../src/render/ejs-template.js';
import { lines, renderTree } from '../../fixtures/deploy-tree.js';

describe('EJS templates: rendered fields map back to template lines', () => {
  it('literal lines, tags, loops, trimmed newlines, comments and includes', async () => {
    const { phases, root } = await renderTree(
      {
        'templates/container.yaml.ejs': lines(
          '- name: <%= name %>', // 1
          '  image: <%= image %>', // 2
          '  ports:', // 3
          '    - containerPort: 8080', // 4
        ),
        'staging/30-deployment/web.yaml.ejs': lines(
          '<%# A comment', // 1
          '    over two lines -%>', // 2
          'apiVersion: apps/v1', // 3
          'kind: Deployment', // 4
          'metadata:', // 5
          '  name: web', // 6
          '  labels:', // 7
          "<% for (const k of ['a', 'b']) { -%>", // 8
          '    <%= k %>: x', // 9
          '<% } -%>', // 10
          'spec:', // 11
          '  replicas: <%= values.replicas %>', // 12
          '  selector: { matchLabels: { app: web } }', // 13
          '  template:', // 14
          '    metadata: { labels: { app: web } }', // 15
          '    spec:', // 16
          '      containers:', // 17
          "<%- include('container', { name: 'web' }).replace(/^/gm, '        ') %>", // 18
          '      hostNetwork: true', // 19
        ),
      },
      { image: 'registry.example/web:1' },
    );
    const web = phases[0].objects[0];
    const file = `${root}/.deploy/staging/30-deployment/web.yaml.ejs`;
    const at = (...path: string[]) => web.locate?.(path);
    assert.deepEqual(at('apiVersion'), { file, line: 3 });
    assert.deepEqual(at('metadata', 'name'), { file, line: 6 });
    assert.deepEqual(at('metadata', 'labels', 'b'), { file, line: 9 });
    assert.deepEqual(at('spec', 'replicas'), { file, line: 12 });
    assert.deepEqual(at('spec', 'template', 'spec', 'hostNetwork'), { file, line: 19 });
    // The include's output is transformed (indented), so it maps to the include's line.
    assert.deepEqual(at('spec', 'template', 'spec', 'containers', '0', 'image'), { file, line: 18 });
    assert.equal(web.lineOf?.(['spec', 'template', 'spec', 'hostNetwork']), 19);
  });

  it('an include printed as it is maps into the partial; lineOf stays in the file at the include', async () => {
    const { phases, root } = await renderTree({
      'templates/cm.yaml.ejs': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: <%= name %>',
        'data:',
        '  A: "1"',
      ),
      'staging/10-configuration/cm.yaml.ejs': lines('# one include', "<%- include('cm', { name: 'c' }) %>"),
    });
    const cm = phases[0].objects[0];
    assert.deepEqual(cm.locate?.(['data', 'A']), { file: `${root}/.deploy/templates/cm.yaml.ejs`, line: 6 });
    assert.deepEqual(cm.locate?.(['metadata', 'name']), {
      file: `${root}/.deploy/templates/cm.yaml.ejs`,
      line: 4,
    });
    assert.equal(cm.lineOf?.(['data', 'A']), 2);
  });

  it('a module locates at its default export', async () => {
    const { phases, root } = await renderTree({
      'staging/10-configuration/cm.ts': lines(
        '// a module',
        'const name = "c";',
        'export default () => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });',
      ),
    });
    assert.deepEqual(phases[0].objects[0].locate?.(['metadata', 'name']), {
      file: `${root}/.deploy/staging/10-configuration/cm.ts`,
      line: 3,
    });
  });

  it('marks every append of the generated source with the line its text starts on', () => {
    const source = [
      '    ; __append("a: 1\\nb: ")',
      '    ; __line = 2',
      '    ; __append(escapeFn( x ))',
      '    ; __append("\\n")',
      '    ; __line = 3',
    ].join('\n');
    assert.deepEqual(
      markAppends(source)
        .split('\n')
        .filter((l) => l.includes('escapeFn.at')),
      [
        '    ; escapeFn.at && escapeFn.at(__output.length, 1, 1)',
        '    ; escapeFn.at && escapeFn.at(__output.length, 2, 0)',
        '    ; escapeFn.at && escapeFn.at(__output.length, 2, 1)',
      ],
    );
  });
});
