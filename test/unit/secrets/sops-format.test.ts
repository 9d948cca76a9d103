// The SOPS format: Go YAML typing, round trips over any keys and values, AAD and encryption rules,
// the MAC, tampering, and files the real sops v3.13.3 wrote (test/fixtures/sops, made with the
// throwaway identity test-key.txt beside them).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import fc from 'fast-check';
import { parseAgeIdentities, type AgeIdentity } from '../../../src/secrets/sops-age.js';
import {
  decryptSopsText,
  emitDocuments,
  encryptSopsDocuments,
  parsePlainDocuments,
  type SopsFormat,
} from '../../../src/secrets/sops-document.js';
import {
  additionalData,
  decryptValue,
  encryptionTest,
  encryptValue,
  goRegExp,
  type SopsEncryptionRule,
} from '../../../src/secrets/sops-format.js';
import {
  formatGoFloat,
  parseSopsYaml,
  resolvePlainScalar,
  toPlainData,
  type SopsMap,
  type SopsValue,
} from '../../../src/secrets/sops-tree.js';
import { ConfigError } from '../../../src/shared/index.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/sops/${name}`, import.meta.url), 'utf8');
const fixtureIdentities = await parseAgeIdentities(fixture('test-key.txt'), 'test-key.txt');
const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);
const ours: AgeIdentity[] = [{ identity, recipient, source: 'test' }];
const ALL: SopsEncryptionRule = { kind: 'unencrypted_suffix', value: '_unencrypted' };
const K8S: SopsEncryptionRule = { kind: 'encrypted_regex', value: '^(data|stringData)$' };

const map = (entries: Record<string, SopsValue>): SopsMap => new Map(Object.entries(entries));

async function roundTrip(branches: SopsMap[], format: SopsFormat, rule = ALL) {
  const text = await encryptSopsDocuments(branches, { format, recipients: [recipient], rule });
  const file = format === 'json' ? 'x.sops.json' : 'x.sops.yaml';
  return { text, decrypted: await decryptSopsText(text, { file, identities: ours }) };
}

async function refusal(text: string, file = 'f.sops.yaml', identities = ours): Promise<ConfigError> {
  const error = await decryptSopsText(text, { file, identities }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError, `refused with a ConfigError, got ${String(error)}`);
  return error;
}

describe('Go YAML v3 scalar typing', () => {
  it('resolves plain scalars the way sops reads them', () => {
    const cases: Array<[string, SopsValue]> = [
      ['5432', 5432n],
      ['-7', -7n],
      ['0x1F', 31n],
      ['0o17', 15n],
      ['017', 15n],
      ['0b101', 5n],
      ['1_000', 1000n],
      ['9223372036854775807', 9223372036854775807n],
      ['2.5', 2.5],
      ['1e3', 1000],
      ['.5', 0.5],
      ['.inf', Infinity],
      ['-.Inf', -Infinity],
      ['true', true],
      ['False', false],
      ['TRUE', true],
      ['yes', 'yes'],
      ['on', 'on'],
      ['null', null],
      ['~', null],
      ['', null],
      ['2001-12-14', '2001-12-14'],
      ['2fa_secret', '2fa_secret'],
      ['1.2.3', '1.2.3'],
      ['+', '+'],
    ];
    for (const [text, expected] of cases) assert.deepEqual(resolvePlainScalar(text), expected, text);
    assert.ok(Number.isNaN(resolvePlainScalar('.nan')));
  });

  it('keeps quoted scalars as text and refuses non-string keys', () => {
    const [doc] = parseSopsYaml('a: "5432"\nb: \'false\'\nc: !!str 7\nd: 7\n');
    assert.deepEqual(
      [...doc],
      [
        ['a', '5432'],
        ['b', 'false'],
        ['c', '7'],
        ['d', 7n],
      ],
    );
    assert.throws(() => parseSopsYaml('1: x\n'), /only string keys/);
  });

  it("formats floats as Go's FormatFloat(f, 'f', -1, 64)", () => {
    const cases: Array<[number, string]> = [
      [1, '1'],
      [2.5, '2.5'],
      [1e21, '1000000000000000000000'],
      [1.5e-7, '0.00000015'],
      [-0, '-0'],
      [0.1, '0.1'],
      [Infinity, '+Inf'],
    ];
    for (const [value, text] of cases) assert.equal(formatGoFloat(value), text);
  });
});

const keyName = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 8, unit: 'grapheme' }),
  fc.constantFrom(
    '2fa',
    '5432',
    'a.b',
    'my-key',
    '-x',
    '.dot',
    'true',
    'null',
    'yes',
    'a:b',
    '# c',
    'ENC[x]',
    '',
  ),
);
const leaf: fc.Arbitrary<SopsValue> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.constantFrom(
    'false',
    'true',
    '5432',
    '0x1F',
    'null',
    '~',
    '',
    ' lead',
    'trail ',
    'a\nb\n',
    '-----BEGIN X-----\nabc\n',
  ),
  fc.boolean(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(null),
);
const tree = fc.letrec<{ value: SopsValue; map: SopsMap }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('map'),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
  map: fc
    .uniqueArray(fc.tuple(keyName, tie('value')), { selector: ([k]) => k, maxLength: 4 })
    .map((entries) => new Map(entries.filter(([k]) => k !== 'sops'))),
})).map;

describe('encrypt and decrypt', () => {
  for (const format of ['yaml', 'json'] as const) {
    it(`round-trips any ${format} tree: keys, order, values and their types`, async () => {
      await fc.assert(
        fc.asyncProperty(tree, async (doc) => {
          const { decrypted } = await roundTrip([doc], format);
          assert.deepEqual(decrypted.branches, [doc]);
          // And the plain form is read back as the same tree.
          assert.deepEqual(parsePlainDocuments(emitDocuments(decrypted.branches, format), format), [doc]);
        }),
        { numRuns: Number(process.env.CAPSTAN_PROPERTY_RUNS ?? 100) },
      );
    });
  }

  it('keeps "5432" and "false" text, and 5432 and false typed', async () => {
    const doc = map({ stringData: map({ port: '5432', flag: 'false' }), n: 5432n, b: false });
    const { text, decrypted } = await roundTrip([doc], 'yaml');
    assert.match(text, /port: ENC\[[^\]]*type:str\]/);
    assert.match(text, /"n": ENC\[[^\]]*type:int\]/);
    assert.match(text, /b: ENC\[[^\]]*type:bool\]/);
    assert.deepEqual(toPlainData(decrypted.branches[0]), {
      stringData: { port: '5432', flag: 'false' },
      n: 5432,
      b: false,
    });
  });

  it('round-trips several YAML documents under one MAC', async () => {
    const docs = [map({ a: 'one' }), map({ b: 'two' })];
    const { text, decrypted } = await roundTrip(docs, 'yaml');
    assert.equal(text.split('\n---\n').length, 2);
    assert.deepEqual(decrypted.branches, docs);
  });
});

describe('which values are encrypted, and their additional data', () => {
  it('tests the rules against every key of the path', () => {
    const k8s = encryptionTest(K8S);
    assert.equal(k8s(['stringData', 'password']), true);
    assert.equal(k8s(['metadata', 'name']), false);
    assert.equal(k8s(['spec', 'data', 'x']), true, 'any component may match');
    const suffix = encryptionTest(ALL);
    assert.equal(suffix(['a_unencrypted', 'deep', 'x']), false, 'a parent exempts its subtree');
    assert.equal(suffix(['a', 'b']), true);
    assert.equal(encryptionTest({ kind: 'encrypted_suffix', value: '_secret' })(['db_secret', 'x']), true);
    assert.equal(encryptionTest({ kind: 'unencrypted_regex', value: '^public' })(['publicKey']), false);
  });

  it('writes the encrypted_regex and leaves everything else in clear', async () => {
    const doc = map({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: map({ name: 'db' }),
      stringData: map({ password: 'hunter2-secret' }),
    });
    const { text } = await roundTrip([doc], 'yaml', K8S);
    assert.match(text, /^kind: Secret$/m);
    assert.match(text, /^ {4}name: db$/m);
    assert.match(text, /password: ENC\[/);
    assert.match(text, /encrypted_regex: "\^\(data\|stringData\)\$"/);
    assert.ok(!text.includes('hunter2'));
  });

  it('binds a value to its path of map keys, not to array positions', () => {
    const key = new Uint8Array(32).fill(7);
    assert.equal(additionalData(['stringData', 'password']), 'stringData:password:');
    const enc = encryptValue('v', key, additionalData(['a', 'b']));
    assert.equal(decryptValue(enc, key, ['a', 'b']).value, 'v');
    assert.throws(() => decryptValue(enc, key, ['a', 'c']), /does not decrypt/);
  });

  it('reads Go RE2 flags and refuses what JavaScript would read differently', () => {
    assert.ok(goRegExp('(?i)^DATA$').test('data'));
    assert.ok(goRegExp('^(?:data|stringData)$').test('stringData'), 'non-capturing groups are the same');
    assert.throws(() => goRegExp('\\z'), /RE2/);
    assert.throws(() => goRegExp('('), /not valid/);
  });
});

describe('refusals', () => {
  const secret = 'tamper-me-secret-value-8812';
  const doc = () => map({ stringData: map({ a: secret, b: 'second-value-1234' }), list: ['x1', 'x2'] });
  const noValue = (error: ConfigError) => {
    assert.ok(!error.message.includes(secret), error.message);
    assert.ok(!error.message.includes('second-value-1234'), error.message);
  };

  it('refuses a value changed, moved, deleted or turned to plaintext, naming the file and path', async () => {
    const { text } = await roundTrip([doc()], 'yaml');
    const lines = text.split('\n');
    const at = (key: string) => lines.findIndex((l) => l.trimStart().startsWith(`${key}: ENC[`));
    const edit = (f: (l: string[]) => void) => {
      const copy = [...lines];
      f(copy);
      return copy.join('\n');
    };
    const changed = await refusal(
      edit(
        (l) =>
          (l[at('a')] = l[at('a')].replace(/data:(.)/, (_m, c: string) => `data:${c === 'A' ? 'B' : 'A'}`)),
      ),
    );
    assert.match(changed.message, /f\.sops\.yaml: stringData\.a: the value does not decrypt/);
    const moved = await refusal(
      edit((l) => {
        const a = l[at('a')].split(': ')[1];
        const b = l[at('b')].split(': ')[1];
        l[at('a')] = l[at('a')].replace(a, b);
        l[at('b')] = l[at('b')].replace(b, a);
      }),
    );
    assert.match(moved.message, /stringData\.a: the value does not decrypt/);
    const deleted = await refusal(edit((l) => l.splice(at('b'), 1)));
    assert.match(deleted.message, /sops\.mac: the MAC does not match/);
    const plain = await refusal(edit((l) => (l[at('b')] = '    b: second-value-1234')));
    assert.match(plain.message, /stringData\.b: the value should be encrypted/);
    for (const error of [changed, moved, deleted, plain]) noValue(error);
  });

  it('catches swapped array items and a changed lastmodified by the MAC', async () => {
    const { text } = await roundTrip([doc()], 'yaml');
    const lines = text.split('\n');
    const items = lines.flatMap((l, i) => (/^ {4}- ENC/.test(l) ? [i] : []));
    [lines[items[0]], lines[items[1]]] = [lines[items[1]], lines[items[0]]];
    noValue(await refusal(lines.join('\n')));
    const time = text.replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) + 1}`);
    assert.match((await refusal(time)).message, /MAC/);
  });

  it('refuses a wrong key and a missing key, naming the recipients (never the key)', async () => {
    const { text } = await roundTrip([doc()], 'yaml');
    const wrong = await refusal(text, 'f.sops.yaml', fixtureIdentities);
    assert.match(
      wrong.message,
      new RegExp(`sops\\.age: none of the 1 age identities found opens it; it is encrypted for ${recipient}`),
    );
    assert.ok(!wrong.message.includes('AGE-SECRET-KEY'));
    const none = await refusal(text, 'f.sops.yaml', []);
    assert.match(none.message, /no age identity found/);
  });

  it('refuses Shamir key groups and comment rules clearly', async () => {
    const { text } = await roundTrip([doc()], 'yaml');
    const groups = text.replace(
      'sops:\n',
      'sops:\n    shamir_threshold: 2\n    key_groups:\n        - age: []\n',
    );
    assert.match((await refusal(groups)).message, /key groups \(Shamir secret sharing\)/);
    const comments = text.replace('sops:\n', 'sops:\n    encrypted_comment_regex: x\n');
    assert.match((await refusal(comments)).message, /encrypted_comment_regex is not supported/);
  });

  it('never names the value in a refusal, whatever the value and the tampering', async () => {
    // A mark no message holds, so that a hit is the value, not a word of the message.
    const value = fc.string({ minLength: 3, maxLength: 40, unit: 'grapheme' }).map((v) => `§${v}`);
    await fc.assert(
      fc.asyncProperty(
        value,
        fc.constantFrom('cipher', 'plaintext', 'cut', 'break'),
        async (secretValue, how) => {
          const { text } = await roundTrip(
            [map({ stringData: map({ a: secretValue, b: 'other-value' }) })],
            'yaml',
          );
          const line = text.split('\n').find((l) => l.startsWith('    a: ENC['))!;
          const tampered = {
            cipher: () => text.replace(line, line.replace('data:', 'data:AAAA')),
            plaintext: () => text.replace(line, `    a: ${JSON.stringify(secretValue)}`),
            cut: () => text.replace(/^ {4}b: .*\n/m, ''),
            break: () => text.replace(line, `    a: "${secretValue}\n  [`),
          }[how]();
          const error = await refusal(tampered);
          assert.ok(!error.message.includes(secretValue), `${how}: ${error.message}`);
          assert.ok(!JSON.stringify(error.issues).includes(secretValue));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('does not quote the input in a YAML syntax error', async () => {
    const error = await refusal(`stringData:\n  a: "${secret}\n  b: [\n`);
    noValue(error);
  });
});

describe('files the real sops v3.13.3 wrote', () => {
  const read = (name: string) =>
    decryptSopsText(fixture(name), { file: name, identities: fixtureIdentities });

  it('decrypts every type, a comment, unicode, dotted and digit-leading keys, and unencrypted suffixes', async () => {
    const { branches } = await read('rich.sops.yaml');
    const data = toPlainData(branches[0]) as Record<string, Record<string, unknown>>;
    assert.deepEqual(data.stringData, {
      port: '5432',
      enabled: 'false',
      password: 'p@ss: w0rd ünïcödé 🚀',
      '2fa_secret': 'digits-first-key',
      'dotted.key-name': 'dots and dashes',
      empty: '',
      pem: '-----BEGIN KEY-----\nabc\n-----END KEY-----\n',
    });
    const typed = branches[0].get('typed') as SopsMap;
    assert.equal(typed.get('big'), 9007199254740993n, 'no digit of a large int is lost');
    assert.equal(typed.get('hex'), 31n);
    assert.equal(typed.get('whole_float'), 1);
    assert.equal(typed.get('yes_is_string'), 'yes');
    assert.equal(typed.get('bool'), true);
    assert.deepEqual(typed.get('list'), ['a', 1n, false, ['nested', 2n]]);
    assert.equal(typed.get('plain_unencrypted'), 'left in clear');
  });

  it('decrypts JSON with exact integers', async () => {
    const { branches } = await read('rich.sops.json');
    const n = branches[0].get('n') as SopsMap;
    assert.equal(n.get('int'), 9007199254740993n);
    assert.equal(n.get('whole'), 2);
    assert.deepEqual((branches[0].get('stringData') as SopsMap).get('port'), '5432');
  });

  it('decrypts several documents, and mac_only_encrypted files', async () => {
    for (const name of ['multi.sops.yaml', 'mac-only.sops.yaml']) {
      const { branches } = await read(name);
      assert.deepEqual(
        branches.map((b) => toPlainData(b.get('stringData')!)),
        [{ a: 'first-value' }, { b: 'second-value' }],
        name,
      );
    }
  });

  it('reads metadata as sops 3.9 and older wrote it (empty key lists)', async () => {
    const old = fixture('multi.sops.yaml').replaceAll(
      'sops:\n',
      'sops:\n    kms: []\n    gcp_kms: []\n    azure_kv: []\n    hc_vault: []\n    pgp: null\n',
    );
    const { branches } = await decryptSopsText(old, { file: 'old.sops.yaml', identities: fixtureIdentities });
    assert.equal(branches.length, 2);
  });

  it('refuses a sops-written file whose MAC no longer matches', async () => {
    const text = fixture('multi.sops.yaml');
    const second = text.indexOf('\n---\n') + 1;
    // The first document's MAC covers both: dropping the second document is caught.
    const error = await refusal(text.slice(0, second), 'multi.sops.yaml', fixtureIdentities);
    assert.match(error.message, /MAC does not match/);
  });
});
