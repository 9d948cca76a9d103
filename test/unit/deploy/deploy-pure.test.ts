import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldPathSegments, issuesFromApplyError } from '../../../src/apply/apply.js';
import { sameContent } from '../../../src/deploy/steps.js';
import { KubeApiError } from '../../../src/kube/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { template: { spec: { containers: [{ name: 'sidecar' }, { name: 'web' }] } } },
};

describe('fieldPathSegments', () => {
  it('follows dotted paths, indices and name selectors', () => {
    assert.deepEqual(fieldPathSegments('.spec.template.spec.containers[name="web"].imagee', deployment), [
      'spec',
      'template',
      'spec',
      'containers',
      '1',
      'imagee',
    ]);
    assert.deepEqual(fieldPathSegments('spec.template.spec.containers[0].image', deployment), [
      'spec',
      'template',
      'spec',
      'containers',
      '0',
      'image',
    ]);
    assert.deepEqual(fieldPathSegments('.datta', deployment), ['datta']);
    assert.deepEqual(fieldPathSegments('.spec.template.spec.containers[name="nope"].x', deployment), [
      'spec',
      'template',
      'spec',
      'containers',
    ]);
  });
});

describe('issuesFromApplyError', () => {
  const source = {
    object: deployment as KubeObject,
    source: { file: 'web.yaml', line: 1 },
    lineOf: (path: readonly string[]) => path.length + 100,
  };

  it('places a schema error on the line of the field it names', () => {
    const error = new KubeApiError(
      500,
      'InternalError',
      'failed to create typed patch object (ns/web; apps/v1, Kind=Deployment): .spec.template.spec.containers[name="web"].imagee: field not declared in schema',
    );
    const [issue] = issuesFromApplyError(source, error);
    assert.equal(issue.file, 'web.yaml');
    assert.equal(issue.line, 106);
    assert.match(issue.message, /^Deployment\/web: .*imagee/);
  });

  it('reports field conflicts with their managers and the way out', () => {
    const error = new KubeApiError(409, 'Conflict', 'Apply failed with 1 conflict', [
      { field: '.data.MODE', message: 'conflict with "kubectl"' },
    ]);
    const [issue] = issuesFromApplyError(source, error);
    assert.match(
      issue.message,
      /fields owned by another manager: \.data\.MODE \(conflict with "kubectl"\)\. Pass --force-conflicts/,
    );
  });
});

describe('sameContent', () => {
  it('ignores what the server rewrites on every write', () => {
    const live = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', resourceVersion: '1', managedFields: [{ time: '1' }] },
      data: { x: '1' },
    } as KubeObject;
    assert.ok(
      sameContent(live, {
        ...live,
        metadata: { ...live.metadata, resourceVersion: '1', managedFields: [{ time: '2' }] },
      }),
    );
    assert.ok(!sameContent(live, { ...live, data: { x: '2' } }));
  });
});
