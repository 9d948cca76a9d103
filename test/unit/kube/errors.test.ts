// API refusals as people read them: the field and the reason, never a dump of the object.
// The bodies in test/fixtures/api-errors were answered by the local control plane's
// kube-apiserver (see the README there for how they were captured).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { issuesFromApplyError } from '../../../src/apply/apply.js';
import { KubeApiError, trimApiMessage } from '../../../src/kube/errors.js';
import { statusError } from '../../../src/kube/http.js';
import type { KubeObject } from '../../../src/shared/index.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/api-errors');

function recorded(name: string): { status: number; body: string } {
  const text = readFileSync(join(FIXTURES, `${name}.json`), 'utf8');
  const parsed = JSON.parse(text) as { code: number };
  return { status: parsed.code, body: text };
}

const job: KubeObject = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'db-migrate', namespace: 'shop' },
  spec: {
    backoffLimit: 0,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'shop:v2' }] } },
  },
};
const source = {
  object: job,
  source: { file: '.deploy/test/20-predeployment/db-migrate.job.yaml.ejs', line: 1 },
  lineOf: (path: readonly string[]) => path.length + 1,
};

function messagesOf(name: string): string[] {
  const { status, body } = recorded(name);
  return issuesFromApplyError(
    source,
    statusError(status, body, { method: 'PATCH', path: '/apis/batch/v1/namespaces/shop/jobs/db-migrate' }),
  ).map((i) => i.message);
}

describe('API refusals recorded from kube-apiserver', () => {
  it('has its recordings', () => {
    assert.ok(readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).length >= 4);
  });

  it('an immutable template: the field and the reason', () => {
    assert.ok(recorded('job-template-immutable').body.length > 2000, 'the recording holds the dump');
    assert.deepEqual(messagesOf('job-template-immutable'), [
      'Job/db-migrate: spec.template: field is immutable',
    ]);
  });

  it('an invalid value: short values stay, they say what was wrong', () => {
    assert.deepEqual(messagesOf('job-invalid-value'), [
      'Job/db-migrate: spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0',
    ]);
  });

  it('an unknown field under strict validation', () => {
    assert.deepEqual(messagesOf('job-unknown-field'), [
      'Job/db-migrate: spec.completionz: field not declared in schema',
    ]);
  });

  it('an unknown field in a dry-run create (how a replaced Job is validated), on the line of the field', () => {
    assert.deepEqual(messagesOf('job-create-unknown-field'), [
      'Job/db-migrate: unknown field "spec.completionz"',
    ]);
    const { status, body } = recorded('job-create-unknown-field');
    const [issue] = issuesFromApplyError(source, statusError(status, body, { method: 'POST', path: '/x' }));
    assert.equal(issue.line, 3, 'lineOf(["spec", "completionz"])');
  });

  it('the error message itself is trimmed too (what `could not …: ${error.message}` prints)', () => {
    const { status, body } = recorded('job-template-immutable');
    const error = statusError(status, body, { method: 'PATCH', path: '/x' });
    assert.equal(error.message, 'Job.batch "db-migrate" is invalid: spec.template: field is immutable');
  });
});

describe('trimApiMessage', () => {
  it('drops composite and long Go values, keeps short scalar ones', () => {
    assert.equal(
      trimApiMessage(
        'spec.template: Invalid value: core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"a: b", Labels:map[string]string{"x":"}"}}, Spec:core.PodSpec{}}: field is immutable',
      ),
      'spec.template: field is immutable',
    );
    assert.equal(
      trimApiMessage('spec.replicas: Invalid value: -1: must be greater than or equal to 0'),
      'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
    assert.equal(
      trimApiMessage(
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never"',
      ),
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never"',
    );
    assert.equal(trimApiMessage(`data: Invalid value: "${'x'.repeat(200)}": too long`), 'data: too long');
    assert.equal(
      trimApiMessage(
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}}',
      ),
      'spec.selector: Invalid value',
    );
  });

  it('trims every error of an aggregate', () => {
    const text =
      'Job.batch "x" is invalid: [spec.template: Invalid value: core.PodTemplateSpec{Spec:core.PodSpec{Containers:[]core.Container{core.Container{Name:"a"}}}}: field is immutable, spec.selector: Invalid value: v1.LabelSelector{}, spec.completions: Invalid value: 2: field is immutable]';
    assert.equal(
      trimApiMessage(text),
      'Job.batch "x" is invalid: [spec.template: field is immutable, spec.selector: Invalid value, spec.completions: Invalid value: 2: field is immutable]',
    );
  });

  it('bounds whatever else an API server says', () => {
    assert.ok(trimApiMessage('x'.repeat(5000)).length <= 1000);
    assert.equal(trimApiMessage('namespaces "nope" not found'), 'namespaces "nope" not found');
  });
});

describe('which API errors are worth a retry', () => {
  it('retries a 500 that passes on etcd being away, not a 500 about the object', () => {
    const away = [
      'rpc error: code = Unavailable desc = error reading from server: read tcp 127.0.0.1:42878->127.0.0.1:44841: read: connection reset by peer',
      'rpc error: code = DeadlineExceeded desc = context deadline exceeded',
      'etcdserver: request timed out',
      'etcdserver: leader changed',
    ];
    for (const message of away)
      assert.equal(new KubeApiError(500, 'InternalError', message).transient, true, message);
    const real = [
      'failed to create typed patch object (/v1, Kind=ConfigMap) shop/web: .data.x: expected string, got &value.valueUnstructured{Value:5432}',
      'Internal error occurred: failed calling webhook "validate.example.com": connection refused',
      'rpc error: code = InvalidArgument desc = bad request',
    ];
    for (const message of real)
      assert.equal(new KubeApiError(500, 'InternalError', message).transient, false, message);
    assert.equal(new KubeApiError(503, 'ServiceUnavailable', 'x').transient, true);
    assert.equal(new KubeApiError(422, 'Invalid', 'rpc error: code = Unavailable').transient, false);
  });
});
