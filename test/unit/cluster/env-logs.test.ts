// The fake kubelet's environment resolution for env-logging pods (test/cluster/env-logs.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criLines, resolveEnv } from '../../cluster/env-logs.js';

const objects: Record<string, Record<string, string>> = {
  'configmaps/app': { MODE: 'cm-mode', PASSWORD: 'cm-password' },
  'secrets/db': { PASSWORD: 's3cret' },
};
const read = (kind: 'configmaps' | 'secrets', name: string) => Promise.resolve(objects[`${kind}/${name}`]);

describe('env-logs: environment as a kubelet builds it', () => {
  it('reads a literal value, a Secret key and a prefixed ConfigMap', async () => {
    const container = {
      envFrom: [{ configMapRef: { name: 'app' }, prefix: 'APP_' }],
      env: [
        { name: 'GREETING', value: 'hi' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } },
      ],
    };
    assert.equal(await resolveEnv(container, 'GREETING', read), 'hi');
    assert.equal(await resolveEnv(container, 'DB_PASSWORD', read), 's3cret');
    assert.equal(await resolveEnv(container, 'APP_MODE', read), 'cm-mode');
    assert.equal(await resolveEnv(container, 'MODE', read), undefined);
  });

  it('lets env override envFrom, and the later envFrom the earlier', async () => {
    const container = {
      envFrom: [{ configMapRef: { name: 'app' } }, { secretRef: { name: 'db' } }],
      env: [{ name: 'MODE', value: 'literal' }],
    };
    assert.equal(await resolveEnv(container, 'PASSWORD', read), 's3cret');
    assert.equal(await resolveEnv(container, 'MODE', read), 'literal');
  });

  it('writes one CRI line per text line', () => {
    const text = criLines(['a', 'b\nc'], new Date('2026-01-01T00:00:00Z'));
    assert.equal(
      text,
      [
        '2026-01-01T00:00:00.000000000Z stdout F a',
        '2026-01-01T00:00:00.001000000Z stdout F b',
        '2026-01-01T00:00:00.002000000Z stdout F c',
        '',
      ].join('\n'),
    );
  });
});
