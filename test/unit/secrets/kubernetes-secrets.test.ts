// krane's kubernetes_secrets layout to Secret objects, and the deploy's refusal of plaintext values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/shared/index.js';
import type { Issue } from '../../../src/shared/index.js';
import {
  EJSON_SECRET_ANNOTATION,
  encryptEjson,
  findUnencryptedValues,
  generateKeyPair,
  planSecretsFromEjson,
} from '../../../src/secrets/index.js';

const keys = generateKeyPair();
const labels = {
  'app.kubernetes.io/managed-by': 'capstan',
  'capstan.dev/app': 'shop',
  'capstan.dev/env': 'staging',
};
const options = { file: 'staging/10-configuration/secrets.ejson', namespace: 'shop-staging', labels };
const b64 = (s: string) => Buffer.from(s).toString('base64');

function planIssues(doc: unknown): readonly Issue[] {
  try {
    planSecretsFromEjson(doc, options);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
  assert.fail('expected a ConfigError');
}

describe('planSecretsFromEjson', () => {
  it('makes one Secret per entry with base64 data and a leading "_" dropped from data keys', () => {
    const doc = {
      _public_key: keys.publicKey,
      kubernetes_secrets: {
        db: { _type: 'Opaque', data: { password: 'hunter2', _username: 'app', 'tls.crt': '-----BEGIN…\n' } },
        'registry.creds': {
          _type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': '{"auths":{}}' },
        },
      },
      other_app_setting: 'ignored',
    };
    const secrets = planSecretsFromEjson(doc, options);
    assert.deepEqual(secrets, [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'db',
          namespace: 'shop-staging',
          labels,
          annotations: { [EJSON_SECRET_ANNOTATION]: 'true' },
        },
        type: 'Opaque',
        data: { password: b64('hunter2'), username: b64('app'), 'tls.crt': b64('-----BEGIN…\n') },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'registry.creds',
          namespace: 'shop-staging',
          labels,
          annotations: { [EJSON_SECRET_ANNOTATION]: 'true' },
        },
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': b64('{"auths":{}}') },
      },
    ]);
    assert.notEqual(secrets[0].metadata.labels, labels, 'labels are copied, not shared');
  });

  it('only one leading "_" is dropped', () => {
    const [secret] = planSecretsFromEjson(
      { kubernetes_secrets: { s: { _type: 'Opaque', data: { __x: 'v' } } } },
      options,
    );
    assert.deepEqual(Object.keys(secret.data as object), ['_x']);
  });

  it('warns and returns nothing when there is no kubernetes_secrets', () => {
    for (const doc of [{ _public_key: keys.publicKey }, { kubernetes_secrets: {} }]) {
      const warnings: string[] = [];
      assert.deepEqual(planSecretsFromEjson(doc, { ...options, warn: (m) => warnings.push(m) }), []);
      assert.match(warnings[0], /no "kubernetes_secrets"/);
    }
  });

  it('collects every problem with its path, never a value', () => {
    const issues = planIssues({
      kubernetes_secrets: {
        Bad_Name: { _type: 'Opaque', data: {} },
        'no-type': { data: { a: 'hunter2' } },
        'no-data': { _type: 'Opaque' },
        'not-an-object': 'hunter2',
        extra: { _type: 'Opaque', data: {}, stringData: {}, _comment: 'fine' },
        values: { _type: 'Opaque', data: { n: 5, 'bad key': 'hunter2', a: 'x', _a: 'y', _: 'z' } },
      },
    });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message.split(' (')[0]]),
      [
        ['kubernetes_secrets.Bad_Name', 'is not a valid Secret name'],
        ['kubernetes_secrets.no-type._type', 'the Secret type is missing'],
        ['kubernetes_secrets.no-data.data', 'no data provided'],
        ['kubernetes_secrets.not-an-object', 'must be an object with "_type" and "data"'],
        ['kubernetes_secrets.extra.stringData', 'unknown field'],
        ['kubernetes_secrets.values.data.n', 'must be a string'],
        ['kubernetes_secrets.values.data["bad key"]', 'is not a valid Secret key'],
        ['kubernetes_secrets.values.data._a', 'becomes key "a", as "a" does'],
        ['kubernetes_secrets.values.data._', 'is not a valid Secret key'],
      ],
    );
    for (const issue of issues) {
      assert.equal(issue.file, options.file);
      assert.doesNotMatch(issue.message, /hunter2/);
    }
  });

  it('rejects a document that is not an object or a kubernetes_secrets that is not one', () => {
    assert.match(planIssues(['x'])[0].message, /must hold a JSON object/);
    assert.equal(planIssues({ kubernetes_secrets: [] })[0].path, 'kubernetes_secrets');
  });
});

describe('findUnencryptedValues', () => {
  const file = 'secrets.ejson';

  it('finds nothing in an encrypted file; "_" keys may stay plaintext', () => {
    const text = encryptEjson(
      `{"_public_key": "${keys.publicKey}", "kubernetes_secrets": {"db": {"_type": "Opaque", "data": {"password": "p", "_user": "app"}}}}`,
    );
    assert.deepEqual(findUnencryptedValues(text, { file }), []);
  });

  it('reports each plaintext value with file, line, column and path, not the value', () => {
    const text = [
      '{',
      `  "_public_key": "${keys.publicKey}",`,
      '  "kubernetes_secrets": {',
      '    "db": {"_type": "Opaque", "data": {"password": "hunter2", "_user": "app", "tls.key": "k"}},',
      '    "list": ["x"]',
      '  }',
      '}',
    ].join('\n');
    const issues = findUnencryptedValues(text, { file });
    assert.deepEqual(
      issues.map((i) => [i.file, i.line, i.column, i.path]),
      [
        [file, 4, 52, 'kubernetes_secrets.db.data.password'],
        [file, 4, 90, 'kubernetes_secrets.db.data["tls.key"]'],
        [file, 5, 14, 'kubernetes_secrets.list[0]'],
      ],
    );
    assert.match(issues[0].message, /not encrypted; run "capstan secrets encrypt secrets.ejson"/);
    for (const issue of issues) assert.doesNotMatch(issue.message, /hunter2/);
  });

  it('reports malformed JSON as an issue with line and column', () => {
    const [issue] = findUnencryptedValues('{\n  "a": "b",\n}', { file });
    assert.equal(issue.line, 3);
    assert.match(issue.message, /invalid JSON/);
  });
});
