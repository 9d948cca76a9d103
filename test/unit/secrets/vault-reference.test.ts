import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  collectVaultReferences,
  formatVaultReference,
  parseVaultReference,
  writeVaultValues,
  type VaultReference,
} from '../../../src/secrets/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
/** Any key Vault stores, but control characters, and not starting with `/` (vals' pointer form). */
const key = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((k) => !/[\u0000-\u001f]/.test(k) && !k.startsWith('/'));

describe('parseVaultReference', () => {
  it('reads back any mount (slashes included), path, key and version it formatted', () => {
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        key,
        fc.option(fc.integer({ min: 1, max: 2 ** 31 }), { nil: undefined }),
        (mount, path, k, version) => {
          const reference: VaultReference = {
            path: [...mount, ...path].join('/'),
            key: k,
            ...(version === undefined ? {} : { version }),
          };
          assert.deepEqual(parseVaultReference(formatVaultReference(reference)), reference);
        },
      ),
    );
  });

  it('reads the mount a/b, dots and dashes as written, and vals` #/key', () => {
    assert.deepEqual(parseVaultReference('ref+vault://a/b/app.v2/db-main#pass.word'), {
      path: 'a/b/app.v2/db-main',
      key: 'pass.word',
    });
    assert.deepEqual(parseVaultReference('ref+vault://secret/app?version=3#/api~1key'), {
      path: 'secret/app',
      key: 'api/key',
      version: 3,
    });
  });

  it('refuses what is not a whole, complete reference, saying why', () => {
    const cases: Record<string, RegExp> = {
      'ref+vault://secret/app': /names no key/,
      'ref+vault://secret/app#': /no key after #/,
      'ref+vault://secret#k': /a mount and a path/,
      'ref+vault://secret//app#k': /empty/,
      'ref+vault://secret/../app#k': /"\.\."/,
      'ref+vault://secret/a b#k': /whitespace/,
      'ref+vault://secret/app?version=0#k': /whole number from 1/,
      'ref+vault://secret/app?version=x#k': /whole number from 1/,
      'ref+vault://secret/app?address=http://x#k': /only parameter/,
      'postgres://u:ref+vault://secret/app#k@db': /must be the whole value/,
    };
    for (const [text, message] of Object.entries(cases)) {
      const parsed = parseVaultReference(text);
      assert.ok('error' in parsed, text);
      assert.match(parsed.error, message, text);
    }
  });
});

function secret(name: string, fields: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' }, ...fields };
}

describe('collectVaultReferences', () => {
  it("finds the references of Secrets' data and stringData and leaves other values alone", () => {
    const db = secret('db', {
      data: { password: 'ref+vault://secret/app/db#password', plain: 'c2VjcmV0' },
      stringData: { user: 'ref+vault://a/b/app?version=2#user' },
    });
    const { sites, issues } = collectVaultReferences([
      { object: db, source: { file: 'db.yaml', line: 1 }, lineOf: (path) => (path[0] === 'data' ? 5 : 9) },
    ]);
    assert.deepEqual(issues, []);
    assert.deepEqual(
      sites.map((s) => [s.field, s.key, s.reference, s.source]),
      [
        ['data', 'password', { path: 'secret/app/db', key: 'password' }, { file: 'db.yaml', line: 5 }],
        ['stringData', 'user', { path: 'a/b/app', key: 'user', version: 2 }, { file: 'db.yaml', line: 9 }],
      ],
    );
    writeVaultValues(sites, ['s3cr=t', 'app']);
    assert.deepEqual(db['data'], { password: Buffer.from('s3cr=t').toString('base64'), plain: 'c2VjcmV0' });
    assert.deepEqual(db['stringData'], { user: 'app' });
  });

  it('refuses a reference anywhere else, naming the file and the field', () => {
    const ref = 'ref+vault://secret/app#k';
    const objects: KubeObject[] = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { url: ref } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'P', value: ref }] }] } } },
      },
      secret('annotated', { metadata: { name: 'annotated', annotations: { note: ref } } }),
      secret('nested', { data: { 'a.b': 'ref+vault://secret#k' } }),
    ];
    const { sites, issues } = collectVaultReferences(
      objects.map((object) => ({ object, source: { file: 'f.yaml' } })),
    );
    assert.deepEqual(sites, []);
    assert.deepEqual(
      issues.map((i) => [i.file, i.path, i.message.split(':')[0]]),
      [
        ['f.yaml', 'data.url', 'ConfigMap/cfg'],
        ['f.yaml', 'spec.template.spec.containers.0.env.0.value', 'Deployment/web'],
        ['f.yaml', 'metadata.annotations.note', 'Secret/annotated'],
        ['f.yaml', 'data."a.b"', 'Secret/nested'],
      ],
    );
    assert.match(issues[0].message, /only as a value of a Secret's data or stringData/);
    assert.match(issues[3].message, /a mount and a path/);
  });
});
