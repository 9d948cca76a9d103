// Round trips with a fixed random source, byte preservation and idempotent encryption.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decryptEjson,
  encryptEjson,
  generateKeyPair,
  parseBoxedMessage,
} from '../../../src/secrets/index.js';
import type { RandomBytes } from '../../../src/secrets/index.js';

/** Deterministic bytes from a counter: tests get the same ciphertexts every run. */
function counterSource(seed = 1): RandomBytes {
  let next = seed;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = next++ & 0xff;
    return out;
  };
}

const keys = generateKeyPair(counterSource(200));
const header = `"_public_key": "${keys.publicKey}"`;

/** Every `EJ[...]` value of a document, in order. */
function messages(text: string): string[] {
  return [...text.matchAll(/EJ\[1:[^"]*\]/g)].map((m) => m[0]);
}

describe('round trips', () => {
  it('a fixed random source gives the same output every time', () => {
    const input = `{${header}, "a": "b", "c": ["d", "e"]}`;
    const first = encryptEjson(input, { randomBytes: counterSource() });
    assert.equal(encryptEjson(input, { randomBytes: counterSource() }), first);
    assert.notEqual(encryptEjson(input, { randomBytes: counterSource(7) }), first);
    assert.equal(decryptEjson(first, keys.privateKey), input);
  });

  it('uses one ephemeral key pair per run and a fresh nonce per value', () => {
    const output = encryptEjson(`{${header}, "a": "same", "b": "same", "c": "same"}`);
    const parsed = messages(output).map((m) => parseBoxedMessage(m));
    assert.equal(parsed.length, 3);
    const publics = new Set(parsed.map((p) => Buffer.from(p.encrypterPublic).toString('hex')));
    const nonces = new Set(parsed.map((p) => Buffer.from(p.nonce).toString('hex')));
    assert.equal(publics.size, 1);
    assert.equal(nonces.size, 3);
    assert.equal(new Set(messages(output)).size, 3, 'equal plaintexts give different ciphertexts');
  });

  it('round-trips awkward values: escapes, unicode, control characters, empty, long', () => {
    const values = [
      '',
      'quote " backslash \\ slash /',
      'line\nbreak\r\ttab',
      'é ✓ 😀 \u2028',
      '\u0001\u001f',
      'x'.repeat(10_000),
    ];
    const input = `{${header}, "v": ${JSON.stringify(values)}}`;
    const decrypted = decryptEjson(encryptEjson(input), keys.privateKey);
    assert.deepEqual((JSON.parse(decrypted) as { v: string[] }).v, values);
  });

  it('decodes escapes in the plaintext before encrypting, as ejson does', () => {
    const input = `{${header}, "a": "caf\\u00e9 \\ud83d\\ude00 \\/"}`;
    const decrypted = decryptEjson(encryptEjson(input), keys.privateKey);
    assert.equal(decrypted, `{${header}, "a": "café 😀 /"}`);
  });

  it('replaces invalid UTF-8 and lone surrogates with U+FFFD, as Go does', () => {
    const bytes = Buffer.concat([
      Buffer.from(`{${header}, "a": "x`),
      Buffer.from([0xff, 0xed, 0xa0, 0x80]),
      Buffer.from('\\ud800y"}'),
    ]);
    const decrypted = decryptEjson(encryptEjson(new Uint8Array(bytes)), keys.privateKey);
    assert.equal(Buffer.from(decrypted).toString(), `{${header}, "a": "x\ufffd\ufffd\ufffd\ufffd\ufffdy"}`);
  });
});

describe('byte preservation', () => {
  const document = [
    '{',
    `    ${header},`,
    '\t"z_last_first": "value",',
    '  "escapes_kept_in_keys\\u0041":   "v",',
    '  "_comment": "not \\u0065ncrypted <&>",',
    '  "nested" : { "b" :[ 1 , 2.50 , true , null , "s" ] , "_n" : -0 },',
    '  "a":"tight"',
    '}',
    '',
    '',
  ].join('\r\n');

  it('changes nothing but the encryptable string values', () => {
    const output = encryptEjson(document);
    const masked = output.replace(/"EJ\[1:[^"]*\]"/g, '"E"');
    const expected = document
      .replace('"value"', '"E"')
      .replace(':   "v"', ':   "E"')
      .replace('"s" ]', '"E" ]')
      .replace('"tight"', '"E"');
    assert.equal(masked, expected);
  });

  it('decrypting gives back the original document byte for byte', () => {
    assert.equal(decryptEjson(encryptEjson(document), keys.privateKey), document);
  });

  it('keeps a document without a trailing newline as it is', () => {
    const input = `{${header}}`;
    assert.equal(encryptEjson(input), input);
  });

  it('works on bytes as well as strings', () => {
    const input = new TextEncoder().encode(`{${header}, "a": "b"}`);
    const output = encryptEjson(input, { randomBytes: counterSource() });
    assert.ok(output instanceof Uint8Array);
    assert.equal(Buffer.from(decryptEjson(output, keys.privateKey)).toString(), `{${header}, "a": "b"}`);
  });
});

describe('idempotent encryption', () => {
  it('a second run changes nothing', () => {
    const once = encryptEjson(`{${header}, "a": "b", "c": {"d": ["e"]}}\n`);
    assert.equal(encryptEjson(once), once);
  });

  it('keeps existing ciphertexts and encrypts only the new values', () => {
    const once = encryptEjson(`{${header}, "a": "b"}`);
    const [old] = messages(once);
    const extended = once.replace(/}$/, ', "new": "value"}');
    const twice = encryptEjson(extended);
    const [kept, added] = messages(twice);
    assert.equal(kept, old);
    assert.notEqual(
      parseBoxedMessage(added).encrypterPublic.toString(),
      parseBoxedMessage(old).encrypterPublic.toString(),
    );
    assert.deepEqual(JSON.parse(decryptEjson(twice, keys.privateKey)), {
      _public_key: keys.publicKey,
      a: 'b',
      new: 'value',
    });
  });

  it('leaves values that merely look encrypted alone, as ejson does', () => {
    const lookalike = 'EJ[1:12345678901234567890123456789012345678901234:12345678901234567890123456789012:a]';
    const input = `{${header}, "a": "${lookalike}"}`;
    assert.equal(encryptEjson(input), input);
  });
});
