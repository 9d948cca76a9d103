// Reading Helm's stored releases: the Secret and ConfigMap encodings, the newest revision, and
// which states may be adopted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  adoptionRefusal,
  decodeHelmRelease,
  latestRevision,
  type HelmRelease,
} from '../../../src/adopt/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

/** A revision stored as Helm stores it: JSON, gzip, base64; a Secret's data is base64 once more. */
function stored(
  release: unknown,
  kind: 'Secret' | 'ConfigMap' = 'Secret',
  version = 1,
  gzip = true,
): KubeObject {
  const json = Buffer.from(JSON.stringify(release));
  const helm = (gzip ? gzipSync(json) : json).toString('base64');
  return {
    apiVersion: 'v1',
    kind,
    metadata: {
      name: `sh.helm.release.v1.web.v${version}`,
      labels: { owner: 'helm', name: 'web', version: String(version) },
    },
    data: { release: kind === 'Secret' ? Buffer.from(helm).toString('base64') : helm },
  };
}

const RELEASE = {
  name: 'web',
  namespace: 'shop',
  version: 3,
  info: { status: 'deployed' },
  chart: { metadata: { name: 'podinfo', version: '6.14.1', appVersion: '6.14.1' } },
  manifest:
    '---\n# Source: podinfo/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n',
  hooks: [
    {
      name: 'web-pre-upgrade',
      kind: 'Job',
      path: 'podinfo/templates/hooks/job.yaml',
      manifest: 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: web-pre-upgrade\n',
      events: ['pre-upgrade'],
      weight: -5,
      delete_policies: ['hook-succeeded'],
    },
  ],
};

describe('decodeHelmRelease', () => {
  it('reads a Secret, a ConfigMap, and an ungzipped payload alike', () => {
    const expected: HelmRelease = {
      name: 'web',
      namespace: 'shop',
      revision: 3,
      status: 'deployed',
      chart: { name: 'podinfo', version: '6.14.1', appVersion: '6.14.1' },
      manifest: RELEASE.manifest,
      hooks: [
        {
          name: 'web-pre-upgrade',
          kind: 'Job',
          path: 'podinfo/templates/hooks/job.yaml',
          manifest: RELEASE.hooks[0].manifest,
          events: ['pre-upgrade'],
          weight: -5,
        },
      ],
    };
    assert.deepEqual(decodeHelmRelease(stored(RELEASE)), expected);
    assert.deepEqual(decodeHelmRelease(stored(RELEASE, 'ConfigMap')), expected);
    assert.deepEqual(decodeHelmRelease(stored(RELEASE, 'Secret', 1, false)), expected);
  });

  it('keeps any manifest text and status as stored (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.string({ maxLength: 20 }),
        (manifest, status) => {
          const decoded = decodeHelmRelease(stored({ ...RELEASE, manifest, info: { status } }));
          assert.equal(decoded.manifest, manifest);
          assert.equal(decoded.status, status || 'unknown');
        },
      ),
    );
  });

  it('names the object it cannot read, without its content', () => {
    const broken: KubeObject = {
      ...stored(RELEASE),
      data: { release: Buffer.from('H4sI-not-gzip secret-ish').toString('base64') },
    };
    assert.throws(
      () => decodeHelmRelease(broken),
      (error: Error) => {
        assert.match(
          error.message,
          /^Secret\/sh\.helm\.release\.v1\.web\.v1 does not hold a Helm release Capstan can read/,
        );
        assert.doesNotMatch(error.message, /secret-ish/);
        return true;
      },
    );
    const noManifest = stored({ ...RELEASE, manifest: undefined });
    assert.throws(() => decodeHelmRelease(noManifest), /its release has no manifest/);
    const empty: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } };
    assert.throws(() => decodeHelmRelease(empty), /it has no data\.release/);
  });
});

describe('latestRevision', () => {
  it('takes the highest version number, not the last name in text order', () => {
    const revisions = [9, 10, 2].map((v) => stored(RELEASE, 'Secret', v));
    assert.equal(latestRevision(revisions)?.metadata.labels?.['version'], '10');
    assert.equal(latestRevision([]), undefined);
  });
});

describe('adoptionRefusal', () => {
  const release = (status: string): HelmRelease => ({ ...decodeHelmRelease(stored(RELEASE)), status });
  it('adopts a deployed release only', () => {
    assert.equal(adoptionRefusal(release('deployed')), undefined);
    for (const status of ['pending-install', 'pending-upgrade', 'pending-rollback'])
      assert.match(adoptionRefusal(release(status))!, /is pending-.*in progress or died half-way/);
    assert.match(adoptionRefusal(release('failed'))!, /revision 3\) is failed: its last operation failed/);
    for (const status of ['superseded', 'uninstalling', 'uninstalled', 'unknown'])
      assert.match(adoptionRefusal(release(status))!, /only a deployed release can be adopted/);
  });
});
