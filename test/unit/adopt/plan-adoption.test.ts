// The tree adoption writes from a Helm release: files per template, Secrets only in the ejson
// document (never in a file in plain text), upgrade hooks as phases, install and test hooks left out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import {
  fileNameOf,
  manifestObjects,
  planAdoption,
  type HelmHook,
  type HelmRelease,
} from '../../../src/adopt/index.js';

function release(manifest: string, hooks: HelmHook[] = []): HelmRelease {
  return {
    name: 'web',
    namespace: 'shop',
    revision: 4,
    status: 'deployed',
    chart: { name: 'web', version: '1.2.3' },
    manifest,
    hooks,
  };
}

const DEPLOYMENT = `---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: web:1
          envFrom: [{ secretRef: { name: web-db } }]
`;

function secret(name: string, data: Record<string, string>, extra = ''): string {
  const lines = Object.entries(data).map(
    ([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(Buffer.from(v).toString('base64'))}`,
  );
  return `---\n# Source: web/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n${extra}type: Opaque\ndata:\n${lines.join('\n')}\n`;
}

function hook(name: string, events: string[], weight = 0, kind = 'Job'): HelmHook {
  return {
    name,
    kind,
    path: 'web/templates/hooks.yaml',
    events,
    weight,
    manifest: `apiVersion: batch/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  annotations:\n    helm.sh/hook: ${events.join(',')}\n    helm.sh/hook-weight: "${weight}"\n    helm.sh/hook-delete-policy: hook-succeeded\n`,
  };
}

describe('manifestObjects and fileNameOf', () => {
  it('reads each document with its # Source: template, skipping empty ones', () => {
    const objects = manifestObjects(
      `${DEPLOYMENT}---\n# Source: web/templates/empty.yaml\n---\n${secret('a', { k: 'v' })}`,
    );
    assert.deepEqual(
      objects.map((o) => [o.source, `${o.object.kind}/${o.object.metadata.name}`]),
      [
        ['web/templates/deployment.yaml', 'Deployment/web'],
        ['web/templates/secret.yaml', 'Secret/a'],
      ],
    );
  });

  it('names files after the template, subcharts included', () => {
    assert.equal(fileNameOf('web/templates/deployment.yaml', 'web'), 'deployment.yaml');
    assert.equal(fileNameOf('web/templates/hooks/job.yaml', 'web'), 'hooks-job.yaml');
    assert.equal(fileNameOf('web/charts/redis/templates/master.yaml', 'web'), 'charts-redis-master.yaml');
    assert.equal(fileNameOf('web/templates/NOTES.txt', 'web'), 'NOTES.yaml');
    assert.equal(fileNameOf('', 'web'), 'manifest.yaml');
  });
});

describe('planAdoption', () => {
  it('puts the manifest in 30-deployment and Secrets, decoded, in the ejson document only', () => {
    const values = {
      DATABASE_URL: 'postgres://u:p@db/shop',
      PORT: '5432',
      ENABLED: 'false',
      EMPTY: '',
      NAME: 'web',
    };
    const plan = planAdoption(release(DEPLOYMENT + secret('web-db', values)), 'Helm release web');
    assert.deepEqual([...plan.files.keys()], ['30-deployment/deployment.yaml']);
    assert.deepEqual(plan.secrets, { 'web-db': { _type: 'Opaque', data: values } });
    assert.deepEqual(plan.takeOverPhases, ['10-configuration', '30-deployment']);
    assert.deepEqual(plan.rollOnNextDeploy, ['Deployment/web']);
    assert.deepEqual(plan.issues, []);
    const text = plan.files.get('30-deployment/deployment.yaml')!;
    assert.match(
      text,
      /^# From Helm release web \(chart web-1\.2\.3, revision 4\): web\/templates\/deployment\.yaml\n/,
    );
    assert.equal(parseAllDocuments(text).length, 1);
  });

  it('never writes a Secret value into a file (property)', () => {
    const key = fc.stringMatching(/^[A-Za-z0-9][-._A-Za-z0-9]{0,20}$/);
    const value = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 80 })
      .filter((v) => v.trim().length > 3);
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), (data) => {
        const plan = planAdoption(release(DEPLOYMENT + secret('web-db', data)), 'Helm release web');
        assert.deepEqual(plan.secrets['web-db']?.data, { ...data });
        // The Secret adds nothing to any file: the files are those of the release without it.
        const without = planAdoption(release(DEPLOYMENT), 'Helm release web');
        assert.deepEqual([...plan.files], [...without.files]);
      }),
    );
  });

  it('refuses what an ejson file cannot hold, naming the Secret and key', () => {
    const binary = `---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\ndata:\n  key.der: ${Buffer.from([0xff, 0xfe, 0x00]).toString('base64')}\n`;
    const plan = planAdoption(release(binary + secret('web-db', { _hidden: 'x' })), 'Helm release web');
    assert.deepEqual(
      plan.issues.map((i) => `${i.path}: ${i.message}`),
      [
        'Secret/tls.key.der: holds bytes that are not UTF-8 text, which an ejson file cannot hold',
        'Secret/web-db._hidden: a key starting with "_" cannot be encrypted in an ejson file (ejson leaves such keys in plain text)',
      ],
    );
  });

  it('says what it leaves of a Secret (labels, annotations)', () => {
    const plan = planAdoption(
      release(secret('web-db', { a: 'b' }, '  labels: { team: x }\n')),
      'Helm release web',
    );
    assert.deepEqual(plan.leftOut, [
      "Secret/web-db: its labels and annotations (an ejson file holds a Secret's type and data)",
    ]);
    assert.deepEqual(plan.files.size, 0);
  });

  it('turns upgrade hooks into phases by weight, leaves install-only and test hooks out', () => {
    const plan = planAdoption(
      release(DEPLOYMENT, [
        hook('migrate', ['pre-install', 'pre-upgrade'], -5),
        hook('warm', ['pre-upgrade'], 3),
        hook('seed', ['pre-install']),
        hook('notify', ['post-upgrade']),
        hook('smoke', ['test'], 0, 'Pod'),
        hook('both', ['pre-upgrade', 'post-upgrade']),
        hook('cleanup', ['pre-delete']),
      ]),
      'Helm release web',
    );
    assert.deepEqual([...plan.files.keys()].sort(), [
      '20-predeployment-w-5/migrate.yaml',
      '21-predeployment-w3/warm.yaml',
      '30-deployment/deployment.yaml',
      '40-postdeployment/notify.yaml',
    ]);
    assert.deepEqual(plan.leftOut, [
      'hook Job/seed (web/templates/hooks.yaml): runs only on install, and the environment is installed',
      'hook Pod/smoke (web/templates/hooks.yaml): a test hook (helm test): Capstan does not run tests',
      'hook Job/both (web/templates/hooks.yaml): runs both before and after an upgrade, which phases cannot express',
      'hook Job/cleanup (web/templates/hooks.yaml): runs on pre-delete, which Capstan has no counterpart for',
    ]);
    assert.deepEqual(plan.takeOverPhases, ['30-deployment']);
    assert.deepEqual(
      plan.hookObjects.map((o) => o.metadata.name),
      ['migrate', 'warm', 'notify'],
    );
    const migrate = plan.files.get('20-predeployment-w-5/migrate.yaml')!;
    assert.doesNotMatch(migrate, /helm\.sh\/hook/, 'hook annotations are gone');
  });

  it('one weight gives plain phase names', () => {
    const plan = planAdoption(release(DEPLOYMENT, [hook('migrate', ['pre-upgrade'])]), 'Helm release web');
    assert.ok(plan.files.has('20-predeployment/migrate.yaml'));
  });
});
