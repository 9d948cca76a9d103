// Vectors and cases from Shopify/ejson's own test suite (ejson_test.go, crypto/, json/), and a
// golden ciphertext made with Go's golang.org/x/crypto/nacl/box from a fixed random stream.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decryptEjson,
  encryptEjson,
  formatBoxedMessage,
  isBoxedMessage,
  parseBoxedMessage,
  readEjsonPublicKey,
} from '../../../src/secrets/index.js';
import type { RandomBytes } from '../../../src/secrets/index.js';
import { quoteJsonString } from '../../../src/secrets/json-string.js';
import { publicKeyFor, toHex } from '../../../src/secrets/keys.js';

const validPubKey = '8d8647e2eeb6d2e31228e6df7da3df921ec3b799c3f66a171cd37a1ed3004e7d';
const validPrivKey = 'c5caa31a5b8cb2be0074b37c56775f533b368b81d8fd33b94181f79bd6e47f87';
const vectorCiphertext =
  'EJ[1:KR1IxNZnTZQMP3OR1NdOpDQ1IcLD83FSuE7iVNzINDk=:XnYW1HOxMthBFMnxWULHlnY4scj5mNmX:ls1+kvwwu2ETz5C6apgWE7Q=]';

/** Hands out 0x00..0x1f, then 0x80..0x97, then 0xc0..0xd7: the stream the Go golden values used. */
function goldenSource(): RandomBytes {
  const stream = new Uint8Array(80);
  for (let i = 0; i < 32; i++) stream[i] = i;
  for (let i = 0; i < 24; i++) stream[32 + i] = 0x80 + i;
  for (let i = 0; i < 24; i++) stream[56 + i] = 0xc0 + i;
  let offset = 0;
  return (length) => {
    assert.ok(offset + length <= stream.length, 'fixed random stream exhausted');
    const out = stream.slice(offset, offset + length);
    offset += length;
    return out;
  };
}

describe('ejson_test.go vector', () => {
  it('decrypts the published ciphertext byte for byte', () => {
    const input = `{"_public_key": "${validPubKey}", "a": "${vectorCiphertext}"}`;
    assert.equal(decryptEjson(input, validPrivKey), `{"_public_key": "${validPubKey}", "a": "b"}`);
  });

  it('the private key belongs to the public key', () => {
    assert.equal(toHex(publicKeyFor(Buffer.from(validPrivKey, 'hex'))), validPubKey);
  });

  it('matches what Go nacl/box produces from the same random stream', () => {
    const input = `{"_public_key": "${validPubKey}", "a": "b", "c": "hunter2\\n<&>"}`;
    const output = encryptEjson(input, { randomBytes: goldenSource() });
    const eph = 'j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8=';
    assert.equal(
      output,
      `{"_public_key": "${validPubKey}", ` +
        `"a": "EJ[1:${eph}:gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaX:G9USOV+RH3RjaG847HaL1nw=]", ` +
        `"c": "EJ[1:${eph}:wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX:YTs8YSCwZZj4lWajehb49cqjqYzb00dmEdBi]"}`,
    );
    assert.equal(decryptEjson(output, validPrivKey), input);
  });
});

describe('crypto/boxed_message_test.go', () => {
  it('dumps the wire format', () => {
    const message = {
      schemaVersion: 1,
      encrypterPublic: new Uint8Array(32).fill(1),
      nonce: new Uint8Array(24).fill(2),
      box: new Uint8Array([3, 3, 3]),
    };
    const dumped = 'EJ[1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=:AgICAgICAgICAgICAgICAgICAgICAgIC:AwMD]';
    assert.equal(formatBoxedMessage(message), dumped);
    assert.deepEqual(parseBoxedMessage(dumped), message);
  });

  it('recognises boxed messages as loosely as ejson', () => {
    assert.equal(isBoxedMessage('nope'), false);
    assert.equal(isBoxedMessage('EJ[]'), false);
    assert.equal(
      isBoxedMessage('EJ[1:12345678901234567890123456789012345678901234:12345678901234567890123456789012:a]'),
      true,
    );
    assert.equal(
      isBoxedMessage(
        'EJ[1:12345678901234567890123456789012345678901234:12345678901234567890123456789012:a\n]',
      ),
      false,
    );
    assert.equal(isBoxedMessage(`${vectorCiphertext}\n`), false);
  });
});

describe('json/key_test.go', () => {
  it('reads a valid public key', () => {
    const key = '6d79b7e50073e5e66a4581ed08bf1d9a03806cc4648cffeb6df71b5775e5eb08';
    assert.equal(readEjsonPublicKey(`{"_public_key": "${key}"}`), key);
  });

  it('accepts upper-case hex and returns it lower-case (the key file name ejson looks for)', () => {
    assert.equal(readEjsonPublicKey(`{"_public_key": "${validPubKey.toUpperCase()}"}`), validPubKey);
  });

  for (const [name, doc, message] of [
    [
      '63 characters',
      '{"_public_key": "6d79b7e50073e5e66a4581ed08bf1d9a03806cc4648cffeb6df71b5775e5eb0"}',
      /invalid format/,
    ],
    [
      'bad hex',
      '{"_public_key": "6d79b7e50073e5e66a45t1ed08bf1d9a03806cc4648cffeb6df71b5775e5eb08"}',
      /invalid format/,
    ],
    ['missing', '{"nope": "dunno"}', /public key not present in EJSON file/],
  ] as const) {
    it(`rejects a public key: ${name}`, () => {
      assert.throws(() => readEjsonPublicKey(doc), message);
    });
  }
});

describe('json/walker_test.go cases', () => {
  // The walker test's action turns every selected value into E; ours encrypts, so compare shapes.
  const shape = (text: string): string => text.replace(/"EJ\[1:[^"]*\]"/g, '"E"');
  const pub = `"_public_key": "${validPubKey}"`;
  const cases: Array<[string, string]> = [
    [`{"a": "b"}`, `{"a": "E"}`],
    [`{"a" : "b"}`, `{"a" : "E"}`],
    [` {  "a"  :"b" } `, ` {  "a"  :"E" } `],
    [`{"a": "b"}\n`, `{"a": "E"}\n`],
    [`{"_a": "b"}`, `{"_a": "b"}`],
    [`{"a": "b", "c": "d"}`, `{"a": "E", "c": "E"}`],
    [`{"a": 1}`, `{"a": 1}`],
    [`{"a": true}`, `{"a": true}`],
    [`{"a": ["b", "c"]}`, `{"a": ["E", "E"]}`],
    [`{"_a": ["b", "c"]}`, `{"_a": ["b", "c"]}`],
    [`{"a": {"b": "c"}}`, `{"a": {"b": "E"}}`],
    [`{"a": {"_b": "c"}}`, `{"a": {"_b": "c"}}`],
    [`{"_a": {"b": "c"}}`, `{"_a": {"b": "E"}}`],
    // The "last key seen" edge cases the Go scanner produces.
    [`{"a": [{"_b": "c"}, "d"]}`, `{"a": [{"_b": "c"}, "d"]}`],
    [`{"_a": ["b", {"c": "d"}, "e"]}`, `{"_a": ["b", {"c": "E"}, "E"]}`],
    [`{"\\u005fa": "b"}`, `{"\\u005fa": "E"}`],
    [`{"a": null, "b": false, "c": -1.5e3}`, `{"a": null, "b": false, "c": -1.5e3}`],
  ];
  for (const [input, expected] of cases) {
    it(input, () => {
      const withKey = (s: string): string => s.replace(/^(\s*)\{/, `$1{${pub}, `);
      assert.equal(shape(encryptEjson(withKey(input))), withKey(expected));
    });
  }

  it('collapses raw line breaks in string literals when encrypting (collapseTestCases)', () => {
    const input = `{"_public_key": "${validPubKey}", "_a": "b\r\nc\nd"\r\n}`;
    assert.equal(encryptEjson(input), `{"_public_key": "${validPubKey}", "_a": "b\\r\\nc\\nd"\r\n}`);
  });
});

describe('quoteBytes (TestQuoteBytes)', () => {
  const quote = (s: string): string => Buffer.from(quoteJsonString(Buffer.from(s))).toString();
  for (const [input, expected] of [
    ['hello', '"hello"'],
    ['<>&', '"<>&"'],
    ['aaa<bbb>ccc^ddd~eee&fff', '"aaa<bbb>ccc^ddd~eee&fff"'],
    ['with"quote', '"with\\"quote"'],
    ['with\\backslash', '"with\\\\backslash"'],
    ['with\nnewline', '"with\\nnewline"'],
    ['with\ttab', '"with\\ttab"'],
    ['with\rcarriage', '"with\\rcarriage"'],
    ['bell\u0007 and \u001f', '"bell\\u0007 and \\u001f"'],
    ['é ✓ 😀', '"é ✓ 😀"'],
  ] as const) {
    it(JSON.stringify(input), () => assert.equal(quote(input), expected));
  }
});
