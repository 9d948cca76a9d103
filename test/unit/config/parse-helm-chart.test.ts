import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHelmChart } from '../../../src/config/index.js';
import { lines } from '../../fixtures/deploy-tree.js';

const FILE = '/repo/.deploy/production/30-web/podinfo.helm.yaml';

function problems(text: string): { line?: number; path?: string; message: string }[] {
  const parsed = parseHelmChart(text, FILE);
  assert.equal(parsed.config, undefined, 'expected issues');
  for (const issue of parsed.issues) assert.equal(issue.file, FILE);
  return parsed.issues.map(({ line, path, message }) => ({ line, path, message }));
}

describe('parseHelmChart', () => {
  it('accepts a local chart with values and values files', () => {
    const parsed = parseHelmChart(
      lines(
        'chart: ../../charts/podinfo',
        'valuesFiles: [values-prod.yaml]',
        'values:',
        '  replicaCount: 2',
        '  redis: { enabled: false }',
        '  service: { httpPort: 5432 }',
      ),
      FILE,
    );
    assert.deepEqual(parsed.issues, []);
    assert.deepEqual(parsed.config, {
      chart: '../../charts/podinfo',
      valuesFiles: ['values-prod.yaml'],
      values: { replicaCount: 2, redis: { enabled: false }, service: { httpPort: 5432 } },
    });
  });

  it('accepts a chart from a repository or an OCI registry', () => {
    for (const repo of ['https://stefanprodan.github.io/podinfo', 'oci://ghcr.io/stefanprodan/charts']) {
      const parsed = parseHelmChart(lines(`repo: ${repo}`, 'name: podinfo', 'version: "6.14.1"'), FILE);
      assert.deepEqual(parsed.issues, []);
      assert.equal(parsed.config?.repo, repo);
    }
  });

  it('names the line and field of an unknown field, a wrong type and a bad list item', () => {
    assert.deepEqual(problems(lines('chart: ./chart', 'valus:', '  a: 1', 'valuesFiles: [a.yaml, 5432]')), [
      { line: 2, path: 'valus', message: 'unknown field "valus"; did you mean "values"?' },
      { line: 4, path: 'valuesFiles.1', message: 'must be a string, not a number (5432)' },
    ]);
    assert.deepEqual(problems(lines('chart: ./chart', 'values: false')), [
      { line: 2, path: 'values', message: 'must be an object, not a boolean (false)' },
    ]);
  });

  it('wants a chart: a local one, or repo, name and version, not both', () => {
    assert.deepEqual(problems('values: {}\n'), [
      {
        line: 1,
        path: undefined,
        message: 'no chart: give "chart" (a path relative to this file), or "repo", "name" and "version"',
      },
    ]);
    assert.deepEqual(problems(lines('repo: https://charts.example', 'name: podinfo')), [
      {
        line: 1,
        path: 'version',
        message: 'missing "version": a chart from a repository needs repo, name and version',
      },
    ]);
    assert.deepEqual(problems(lines('chart: ./chart', 'version: 1.2.3')), [
      {
        line: 2,
        path: 'version',
        message: '"version" is for a chart from a repository; this file names a local chart',
      },
    ]);
  });

  it('reports YAML errors with their line', () => {
    const found = problems(lines('chart: ./chart', 'chart: ./other'));
    assert.equal(found[0]?.line, 2);
    assert.match(found[0]?.message ?? '', /^YAML syntax error: Map keys must be unique/);
  });
});
