// Rendering with ref+vault:// references: values resolved before the checksums, so a rotated value
// changes the checksum of exactly the workloads reading that Secret; misplaced references refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RenderedPhase } from '../../../src/render/index.js';
import type { VaultReferenceSite } from '../../../src/secrets/index.js';
import { lines, renderTree, renderTreeIssues } from '../../fixtures/deploy-tree.js';

const deployment = (name: string, secret: string) =>
  lines(
    'apiVersion: apps/v1',
    'kind: Deployment',
    `metadata: { name: ${name} }`,
    'spec:',
    `  selector: { matchLabels: { app: ${name} } }`,
    '  template:',
    `    metadata: { labels: { app: ${name} } }`,
    `    spec: { containers: [{ name: c, image: x, envFrom: [{ secretRef: { name: ${secret} } }] }] }`,
  );

const FILES = {
  'staging/10-config/secrets.yaml': lines(
    'apiVersion: v1',
    'kind: Secret',
    'metadata: { name: db }',
    'data: { PASSWORD: "ref+vault://secret/shop/db#password" }',
    '---',
    'apiVersion: v1',
    'kind: Secret',
    'metadata: { name: api }',
    'stringData: { KEY: "ref+vault://secret/shop/api#key" }',
  ),
  'staging/30-deploy/web.yaml': deployment('web', 'db'),
  'staging/30-deploy/worker.yaml': deployment('worker', 'api'),
};

/** A resolver answering from `store` (keyed by path#key), recording what it was asked. */
function resolver(store: Record<string, string>, asked: string[][] = []) {
  return (sites: readonly VaultReferenceSite[]) => {
    asked.push(sites.map((s) => `${s.reference.path}#${s.reference.key}`));
    return Promise.resolve(sites.map((s) => store[`${s.reference.path}#${s.reference.key}`] ?? ''));
  };
}

function find(phases: readonly RenderedPhase[], kind: string, name: string): Record<string, any> {
  const found = phases
    .flatMap((p) => p.objects)
    .find((o) => o.object.kind === kind && o.object.metadata.name === name);
  assert.ok(found, `${kind}/${name}`);
  return found.object;
}

const checksum = (phases: readonly RenderedPhase[], name: string): string =>
  find(phases, 'Deployment', name)['spec'].template.metadata.annotations['capstan.dev/config-checksum'];

describe('renderEnvironment: Vault references', () => {
  it('writes resolved values into the Secrets and rolls only the workloads of a changed value', async () => {
    const asked: string[][] = [];
    const before = (
      await renderTree(FILES, {
        resolveVaultReferences: resolver(
          { 'secret/shop/db#password': 'p1', 'secret/shop/api#key': 'k1' },
          asked,
        ),
      })
    ).phases;
    assert.deepEqual(asked, [['secret/shop/db#password', 'secret/shop/api#key']], 'asked once, for all');
    assert.deepEqual(find(before, 'Secret', 'db')['data'], {
      PASSWORD: Buffer.from('p1').toString('base64'),
    });
    assert.deepEqual(find(before, 'Secret', 'api')['stringData'], { KEY: 'k1' });
    const after = (
      await renderTree(FILES, {
        resolveVaultReferences: resolver({ 'secret/shop/db#password': 'p2', 'secret/shop/api#key': 'k1' }),
      })
    ).phases;
    assert.notEqual(checksum(after, 'web'), checksum(before, 'web'));
    assert.equal(checksum(after, 'worker'), checksum(before, 'worker'));
  });

  it('refuses a reference outside a Secret with the other problems, before resolving any', async () => {
    const asked: string[][] = [];
    const issues = await renderTreeIssues(
      {
        ...FILES,
        'staging/10-config/cm.yaml': lines(
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: { name: cfg }',
          'data:',
          '  url: ref+vault://secret/shop/db#password',
        ),
      },
      { resolveVaultReferences: resolver({}, asked) },
    );
    assert.deepEqual(
      issues.map((i) => [i.file, i.line, i.path]),
      [['staging/10-config/cm.yaml', 5, 'data.url']],
    );
    assert.deepEqual(asked, []);
  });
});
