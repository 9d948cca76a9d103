// Every failure ejson has, with Capstan's locations: malformed JSON, keys, and bad values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapstanError, ConfigError } from '../../../src/shared/index.js';
import type { Issue } from '../../../src/shared/index.js';
import { decryptEjson, encryptEjson, generateKeyPair, SecretsErrorCode } from '../../../src/secrets/index.js';

const validPubKey = '8d8647e2eeb6d2e31228e6df7da3df921ec3b799c3f66a171cd37a1ed3004e7d';
const validPrivKey = 'c5caa31a5b8cb2be0074b37c56775f533b368b81d8fd33b94181f79bd6e47f87';
const incorrectPrivKey = 'c5caa31a5b8cb2be0074b37c56775f533b368b81d8fd33b94181f79bd6e47f00';
const tooShortPrivKey = '8d8647e2eeb6d2e31228e6df7da3df921ec3b799c3f66a171cd37a1e000000';
const vector =
  'EJ[1:KR1IxNZnTZQMP3OR1NdOpDQ1IcLD83FSuE7iVNzINDk=:XnYW1HOxMthBFMnxWULHlnY4scj5mNmX:ls1+kvwwu2ETz5C6apgWE7Q=]';
const header = `"_public_key": "${validPubKey}"`;

function issuesOf(fn: () => unknown): readonly Issue[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('expected a ConfigError');
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CapstanError);
    return error.code;
  }
  assert.fail('expected a CapstanError');
}

describe('malformed JSON', () => {
  const cases: Array<[string, string, number, number, RegExp]> = [
    [
      'wrong closing bracket (ejson_test.go)',
      '{"a": "b"]',
      1,
      10,
      /unexpected character '\]' \(expected ',' or '\}'\)/,
    ],
    ['trailing comma', '{\n  "a": "b",\n}', 3, 1, /expected a string key/],
    ['missing colon', '{"a" "b"}', 1, 6, /expected ':'/],
    ['unterminated string', '{\n"a": "b', 2, 8, /end of input in a string literal/],
    ['bad escape', '{"a": "\\x"}', 1, 9, /string escape/],
    ['bad unicode escape', '{"a": "\\u12G4"}', 1, 12, /hex digit/],
    ['raw tab in a string', '{"a": "b\tc"}', 1, 9, /control characters must be escaped/],
    ['leading zero', '{"a": 01}', 1, 8, /expected ','/],
    ['bare word', '{"a": wat}', 1, 7, /expected a value/],
    ['misspelt literal', '{"a": nul}', 1, 10, /in literal null/],
    ['garbage after the object', '{"a": "b"} x', 1, 12, /after the top-level value/],
    ['empty input', '', 1, 1, /end of input/],
    ['column counts characters, not bytes', '{"é": "ü" x}', 1, 11, /unexpected character 'x'/],
  ];
  for (const [name, text, line, column, message] of cases) {
    it(`${name}: line ${line}, column ${column}`, () => {
      for (const run of [
        () => encryptEjson(text, { file: 'secrets.ejson' }),
        () => decryptEjson(text, validPrivKey, { file: 'secrets.ejson' }),
      ]) {
        const [issue, ...rest] = issuesOf(run);
        assert.equal(rest.length, 0);
        assert.equal(issue.file, 'secrets.ejson');
        assert.equal(issue.line, line);
        assert.equal(issue.column, column);
        assert.match(issue.message, /^invalid JSON: /);
        assert.match(issue.message, message);
      }
    });
  }

  it('decrypt refuses raw line breaks that encrypt would have escaped', () => {
    const [issue] = issuesOf(() => decryptEjson(`{${header},\n "a": "b\nc"}`, validPrivKey));
    assert.equal(issue.line, 2);
    assert.match(issue.message, /write line breaks as \\n/);
  });
});

describe('public key', () => {
  it('missing (ejson: "public key not present in EJSON file")', () => {
    const [issue] = issuesOf(() => encryptEjson('{"a": "b"}'));
    assert.match(issue.message, /public key not present in EJSON file/);
    assert.match(
      issuesOf(() => decryptEjson('{"nested": {"_public_key": "x"}}', validPrivKey))[0].message,
      /not present/,
    );
  });

  for (const [name, value] of [
    ['"invalid" (ejson_test.go)', '"invalid"'],
    ['not a string', '12'],
    ['63 characters', `"${validPubKey.slice(1)}"`],
    ['not hex', `"${validPubKey.slice(0, 63)}g"`],
  ] as const) {
    it(`invalid: ${name}`, () => {
      const [issue] = issuesOf(() =>
        encryptEjson(`{\n  "_public_key": ${value}, "a": "b"}`, { file: 'f.ejson' }),
      );
      assert.match(issue.message, /public key has invalid format/);
      assert.equal(issue.path, '_public_key');
      assert.deepEqual([issue.line, issue.column], [2, 18]);
    });
  }

  it('the last "_public_key" wins, as with Go\'s json.Unmarshal', () => {
    const text = `{"_public_key": "invalid", ${header}, "a": "${vector}"}`;
    assert.match(decryptEjson(text, validPrivKey), /"a": "b"/);
  });

  it('the top level must be an object', () => {
    assert.match(issuesOf(() => encryptEjson('["a"]'))[0].message, /must hold a JSON object/);
  });
});

describe('private key', () => {
  const input = `{${header}, "a": "${vector}"}`;

  it('too short (ejson_test.go: "invalid private key")', () => {
    assert.equal(
      codeOf(() => decryptEjson(input, tooShortPrivKey)),
      SecretsErrorCode.invalidPrivateKey,
    );
    assert.equal(
      codeOf(() => decryptEjson(input, 'zz'.repeat(32))),
      SecretsErrorCode.invalidPrivateKey,
    );
  });

  it('not the key of the file (ejson only fails later, with "couldn\'t decrypt message")', () => {
    assert.throws(
      () => decryptEjson(input, incorrectPrivKey),
      (error: unknown) =>
        error instanceof CapstanError &&
        error.code === SecretsErrorCode.keyMismatch &&
        error.message.includes(validPubKey) &&
        !error.message.includes(incorrectPrivKey),
    );
  });

  it('surrounding whitespace is trimmed, as ejson trims key files', () => {
    assert.match(decryptEjson(input, `  ${validPrivKey}\n`), /"a": "b"/);
  });
});

describe('values that cannot be decrypted', () => {
  it('reports every bad value with its location and path, never its content', () => {
    const other = generateKeyPair();
    const foreign = encryptEjson(`{"_public_key": "${other.publicKey}", "x": "from another key"}`).match(
      /EJ\[[^"]+\]/,
    )![0];
    const text = [
      '{',
      `  ${header},`,
      '  "ok": "' + vector + '",',
      '  "plain": "hunter2",',
      `  "list": ["${foreign}"],`,
      '  "bad": {"b64": "EJ[1:KR1IxNZnTZQMP3OR1NdOpDQ1IcLD83FSuE7iVNzINDk=:XnYW1HOxMthBFMnxWULHlnY4scj5mNmX:!!!!]",',
      '          "nonce": "EJ[1:KR1IxNZnTZQMP3OR1NdOpDQ1IcLD83FSuE7iVNzINDk=:XnYW1HOxMthBFMnxWULHlnY4scj5mN==:ls1+kvwwu2ETz5C6apgWE7Q=]",',
      '          "key": "EJ[1:KR1IxNZnTZQMP3OR1NdOpDQ1IcLD83FSuE7iVNzI=DkA:XnYW1HOxMthBFMnxWULHlnY4scj5mNmX:ls1+kvwwu2ETz5C6apgWE7Q=]",',
      '          "short": "EJ[1:KR1IxNZnTZQMP3OR1NdOpDQ1IcLD83FSuE7iVNzINDk=:XnYW1HOxMthBFMnxWULHlnY4scj5mNmX:AAAA]"}',
      '}',
    ].join('\n');
    const issues = issuesOf(() => decryptEjson(text, validPrivKey, { file: 's.ejson' }));
    const summary = issues.map((i) => [i.path, i.line, i.column]);
    assert.deepEqual(summary, [
      ['plain', 4, 12],
      ['list[0]', 5, 12],
      ['bad.b64', 6, 18],
      ['bad.nonce', 7, 20],
      ['bad.key', 8, 18],
      ['bad.short', 9, 20],
    ]);
    assert.match(issues[0].message, /value is not encrypted \(invalid message format\)/);
    assert.match(issues[1].message, /couldn't decrypt message/);
    assert.match(issues[2].message, /malformed encrypted value: the box is not valid base64/);
    assert.match(issues[3].message, /malformed encrypted value: nonce invalid/);
    assert.match(issues[4].message, /malformed encrypted value: the public key is not valid base64/);
    assert.match(issues[5].message, /couldn't decrypt message/);
    for (const issue of issues) assert.doesNotMatch(issue.message, /hunter2|EJ\[/);
  });

  it('a lookalike that is not a real message fails to decrypt', () => {
    const lookalike = 'EJ[1:12345678901234567890123456789012345678901234:12345678901234567890123456789012:a]';
    assert.match(
      issuesOf(() => decryptEjson(`{${header}, "a": "${lookalike}"}`, validPrivKey))[0].message,
      /malformed/,
    );
  });
});
