// The redactor and the values-free Secret diff.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRedactor,
  deployPublicNames,
  REDACTED,
  Redactor,
  secretValues,
  summarizeSecretDiff,
  unredactableSecretWarnings,
} from '../../../src/secrets/index.js';
import { mapStrings, type KubeObject } from '../../../src/shared/index.js';

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

describe('Redactor', () => {
  it('redacts string values only, never keys, numbers, booleans or null', () => {
    const redactor = new Redactor(['false', '5432', 'production']);
    const doc = {
      dryRun: false,
      port: 5432,
      none: null,
      env: 'production',
      false: 'is false',
      list: ['5432', 15432],
    };
    assert.deepEqual(redactor.value(doc), {
      dryRun: false,
      port: 5432,
      none: null,
      env: REDACTED,
      false: `is ${REDACTED}`,
      list: [REDACTED, 15432],
    });
  });

  it("keeps an event's type, outcome and action, Capstan's own names", () => {
    const redactor = new Redactor(['deploy-finished', 'succeeded', 'created']);
    const event = {
      type: 'deploy-finished',
      outcome: 'succeeded',
      action: 'created',
      message: 'succeeded and created',
    };
    assert.deepEqual(redactor.event(event), { ...event, message: `${REDACTED} and ${REDACTED}` });
  });

  it('redacts overlapping values as one stretch, so no character of either survives', () => {
    const redactor = new Redactor(['abcdef', 'defghi']);
    assert.equal(redactor.text('xxabcdefghixx'), `xx${REDACTED}xx`);
    assert.equal(redactor.text('abcdef defghi'), `${REDACTED} ${REDACTED}`);
  });

  it('redacts each long enough line of a multi-line value on its own, as a streamed log shows it', () => {
    const pem =
      '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n  AASCBKcwggSjAgEAAoIBAQC7  \nab\n-----END KEY-----\n';
    const redactor = new Redactor([pem]);
    assert.equal(redactor.text('line: MIIEvQIBADANBgkqhkiG9w0BAQEF'), `line: ${REDACTED}`);
    assert.equal(redactor.text('AASCBKcwggSjAgEAAoIBAQC7'), REDACTED, 'a line is matched trimmed');
    assert.equal(redactor.text('ab'), 'ab', 'a line shorter than 4 characters is not');
    assert.equal(redactor.text(pem.replace(/\n/g, '\r\n')).includes('MIIE'), false, 'CRLF lines too');
  });

  it('judges the length of a value trimmed, and ignores values of only whitespace', () => {
    const redactor = new Redactor(['  ab  ', '    ', ' 5432 ']);
    assert.equal(redactor.text('  ab      x'), '  ab      x');
    assert.equal(redactor.text('port 5432'), `port ${REDACTED}`);
  });

  it('learns values after it was created and leaves everything untouched before', () => {
    const redactor = new Redactor();
    const doc = { a: 'hunter22' };
    assert.equal(redactor.empty, true);
    assert.equal(redactor.value(doc), doc);
    redactor.add(['hunter22']);
    assert.deepEqual(redactor.value(doc), { a: REDACTED });
    assert.equal(redactor.text('pw=hunter22'), `pw=${REDACTED}`);
  });
});

describe('mapStrings', () => {
  it('reads values with toJSON as JSON does, and keeps the paths it is told to', () => {
    const when = new Date('2026-12-01T00:00:00.000Z');
    const out = mapStrings(
      { when, keep: { me: 'x' }, other: 'x' },
      (t) => t.toUpperCase(),
      (path) => path.join('.') === 'keep.me',
    );
    assert.deepEqual(out, { when: '2026-12-01T00:00:00.000Z'.toUpperCase(), keep: { me: 'x' }, other: 'X' });
  });
});

describe('public names', () => {
  const started = {
    type: 'deploy-started',
    app: 'shop',
    env: 'staging',
    namespace: 'shop-staging',
    deployId: '20261207-ab12',
    phases: ['10-configuration', '30-deployment'],
    image: 'example.com/shop:staging-1',
    dryRun: false,
  };

  it("never redacts an event's identity fields: the deploy's names, its phases, its objects' kinds and names", () => {
    const redactor = new Redactor(['shop-staging', 'ConfigMap', 'web-config', '30-deployment']);
    const failed = {
      type: 'object-failed',
      phase: '30-deployment',
      object: { kind: 'ConfigMap', name: 'web-config', namespace: 'shop-staging' },
      message: 'ConfigMap/web-config in shop-staging refused',
    };
    assert.deepEqual(redactor.event(failed), failed);
    const finished = {
      type: 'deploy-finished',
      applied: [{ kind: 'ConfigMap', name: 'web-config', namespace: 'shop-staging' }],
      notApplied: [],
    };
    assert.deepEqual(redactor.event(finished), finished);
  });

  it('learns them from events: a value equal to one, or part of one, is then redacted nowhere', () => {
    const redactor = new Redactor(['staging', 'stag', 'hunter22']);
    assert.equal(redactor.text('deploy to staging with hunter22'), `deploy to ${REDACTED} with ${REDACTED}`);
    assert.deepEqual(redactor.event(started), started);
    assert.equal(redactor.text('deploy to staging with hunter22'), `deploy to staging with ${REDACTED}`);
    assert.equal(redactor.text('stage stag'), 'stage stag');
    assert.deepEqual(redactor.event({ type: 'warning', message: 'staging: hunter22' }), {
      type: 'warning',
      message: `staging: ${REDACTED}`,
    });
    assert.ok(redactor.isPublic(' staging '));
    assert.ok(!redactor.isPublic('staging-db'));
  });

  it('keeps redacting a value that only contains a public name', () => {
    const redactor = new Redactor();
    redactor.addPublic(['staging']);
    redactor.add(['staging-password', 'staging']);
    assert.equal(redactor.text('staging staging-password'), `staging ${REDACTED}`);
    // A value holding the separator of the names is judged name by name.
    redactor.addPublic(['shop']);
    redactor.add(['staging\u0000shop']);
    assert.equal(redactor.text('staging\u0000shop'), REDACTED);
  });

  it("lists a deploy's public names and warns about the keys that hold one, never the values", () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-secrets', namespace: 'shop-staging' },
      data: {
        TIER: Buffer.from('staging').toString('base64'),
        DEBUG: Buffer.from('on').toString('base64'),
      },
      stringData: { EMPTY: '', BLANK: '  ', HOST: 'web', PASSWORD: 'hunter22', PART: 'hop-stag' },
    };
    const names = deployPublicNames({
      app: 'shop',
      env: 'staging',
      namespace: 'shop-staging',
      phases: ['10-configuration'],
      objects: [secret],
    });
    assert.deepEqual(names, [
      'shop',
      'staging',
      'shop-staging',
      '10-configuration',
      'Secret',
      'app-secrets',
      'shop-staging',
    ]);
    const redactor = new Redactor();
    redactor.addPublic(names);
    const warnings = unredactableSecretWarnings([secret], redactor.isPublic);
    assert.deepEqual(
      warnings.map((w) => w.split(' ').slice(0, 4).join(' ')),
      [
        'Secret/app-secrets key DEBUG is',
        'Secret/app-secrets key HOST is',
        'Secret/app-secrets key TIER equals',
        'Secret/app-secrets key PART equals',
      ],
    );
    assert.match(
      warnings[2],
      /equals a name Capstan prints anyway .* so Capstan cannot keep it out of its output/,
    );
    for (const warning of warnings) assert.ok(!/\bstaging\b|hop-stag|hunter22/.test(warning), warning);
  });
});
