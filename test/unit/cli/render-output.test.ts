// `capstan render`: Secrets masked, and any other object repeating a secret value redacted too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderedYaml } from '../../../src/cli/deploy-commands.js';
import type { RenderedPhase } from '../../../src/render/index.js';
import { Redactor } from '../../../src/secrets/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'shop' },
  data: { PASSWORD: b64('hunter2222'), PORT: b64('5432') },
  stringData: { SSL: 'false' },
};
const configMap: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'shop' },
  data: { DB_PORT: '5432', DB_SSL: 'false', DSN: 'postgres://app:hunter2222@db:5432/shop', MODE: 'live' },
};
const phases = [
  { name: '10-config', objects: [{ object: secret, source: { file: 'secrets.ejson' } }] },
  { name: '20-app', objects: [{ object: configMap, source: { file: 'settings.yaml.ejs', line: 1 } }] },
] as unknown as RenderedPhase[];

describe('capstan render output', () => {
  it('redacts secret values wherever they appear, short ones like 5432 and false included', () => {
    const yaml = renderedYaml(phases, new Redactor());
    for (const value of ['hunter2222', '5432', 'false', b64('hunter2222'), b64('5432')])
      assert.ok(!yaml.includes(value), `${value} is printed:\n${yaml}`);
    assert.match(yaml, /DB_PORT: "?\[redacted\]"?/);
    assert.match(yaml, /DB_SSL: "?\[redacted\]"?/);
    assert.match(yaml, /MODE: live/);
    assert.match(yaml, /# phase 10-config\n---\napiVersion: v1\nkind: Secret/);
  });

  it('prints everything as it is with --show-secrets (no redactor)', () => {
    const yaml = renderedYaml(phases);
    assert.match(yaml, /DB_PORT: "5432"/);
    assert.ok(yaml.includes(b64('hunter2222')));
  });
});
