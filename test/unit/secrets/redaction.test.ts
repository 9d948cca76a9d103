// The redactor and the values-free Secret diff.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor, REDACTED, secretValues, summarizeSecretDiff } from '../../../src/secrets/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

describe('createRedactor', () => {
  it('replaces every occurrence of each value and of its base64 form', () => {
    const redact = createRedactor(['hunter2', 's3cr3t-token']);
    const b64 = Buffer.from('hunter2').toString('base64');
    assert.equal(
      redact(`password=hunter2 again hunter2; data: ${b64}; token s3cr3t-token.`),
      `password=${REDACTED} again ${REDACTED}; data: ${REDACTED}; token ${REDACTED}.`,
    );
  });

  it('ignores values shorter than 4 characters', () => {
    const redact = createRedactor(['abc', 'on', '']);
    assert.equal(redact('abc on the line'), 'abc on the line');
    assert.equal(createRedactor(['abcd'])('xabcdx'), `x${REDACTED}x`);
  });

  it('prefers the longest value when one contains another', () => {
    const redact = createRedactor(['pass', 'password123']);
    assert.equal(redact('password123 pass'), `${REDACTED} ${REDACTED}`);
  });

  it('treats regular expression characters literally', () => {
    const redact = createRedactor(['a.b*c(d)[e]$^|\\']);
    assert.equal(redact('xa.b*c(d)[e]$^|\\x aXbbc'), `x${REDACTED}x aXbbc`);
  });

  it('also catches the JSON-escaped form of multi-line values', () => {
    const pem = '-----BEGIN KEY-----\nabc\n-----END KEY-----\n';
    const redact = createRedactor([pem]);
    assert.equal(redact(JSON.stringify({ value: pem })), `{"value":"${REDACTED}"}`);
    assert.equal(redact(`raw:\n${pem}`), `raw:\n${REDACTED}`);
  });

  it('with no values, returns text unchanged', () => {
    assert.equal(createRedactor([])('anything'), 'anything');
  });
});

describe('secretValues', () => {
  it('decodes data and takes stringData of Secrets only', () => {
    const objects: KubeObject[] = [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's' },
        data: { a: Buffer.from('hunter2').toString('base64') },
        stringData: { b: 'plain' },
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { c: 'not secret' } },
    ];
    assert.deepEqual(secretValues(objects), ['hunter2', 'plain']);
  });
});

describe('summarizeSecretDiff', () => {
  it('says per key what changed and nothing about values', () => {
    const diff = summarizeSecretDiff(
      { a: 'MQ==', b: 'Mg==', c: 'Mw==' },
      { a: 'MQ==', b: 'Nw==', d: 'NA==' },
    );
    assert.deepEqual(diff, [
      { key: 'a', change: 'unchanged' },
      { key: 'b', change: 'changed' },
      { key: 'c', change: 'removed' },
      { key: 'd', change: 'added' },
    ]);
    assert.doesNotMatch(JSON.stringify(diff), /MQ==|Mg==|Nw==/);
  });

  it('handles a Secret that does not exist yet or any more', () => {
    assert.deepEqual(summarizeSecretDiff(undefined, { x: 'eQ==' }), [{ key: 'x', change: 'added' }]);
    assert.deepEqual(summarizeSecretDiff({ x: 'eQ==' }, undefined), [{ key: 'x', change: 'removed' }]);
    assert.deepEqual(summarizeSecretDiff(undefined, undefined), []);
  });
});
