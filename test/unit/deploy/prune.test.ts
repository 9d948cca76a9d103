// Prune fails closed: an unreadable release history prunes nothing; extra namespaces are listed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  planPrune,
  pruneNamespaces,
  readPruneHistory,
  type PruneHistory,
} from '../../../src/deploy/prune.js';
import { KubeApiError, type KubeClient } from '../../../src/kube/index.js';
import { encodeRelease } from '../../../src/release/index.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { releaseRecord } from '../../fixtures/release-record.js';

const scope = { namespace: 'shop', app: 'shop', env: 'prod' };

const record = releaseRecord;

const cm = (name: string, namespace = 'shop'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
});
const entry = (name: string, namespace = 'shop') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace,
  name,
});

/** A client whose Secret listing returns `secrets`, or fails with `error`. */
function secretsClient(secrets: KubeObject[] | Error): KubeClient {
  return {
    list: () =>
      secrets instanceof Error
        ? Promise.reject(secrets)
        : Promise.resolve({ items: structuredClone(secrets), resourceVersion: '1' }),
  } as unknown as KubeClient;
}

describe('planPrune', () => {
  const existing = [cm('kept'), cm('old'), cm('labelled-by-hand'), cm('dash', 'monitoring')];
  const rendered = [cm('kept')];

  it('deletes only what an earlier release applied and this one no longer renders', () => {
    const history: PruneHistory = {
      readable: true,
      records: [record(1, [entry('kept'), entry('old'), entry('dash', 'monitoring')])],
    };
    assert.deepEqual(
      planPrune(existing, rendered, history).map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      ['shop/old', 'monitoring/dash'],
    );
  });

  it('deletes nothing when the history cannot be read, never everything carrying the labels', () => {
    assert.deepEqual(planPrune(existing, rendered, { readable: false, reason: 'forbidden' }), []);
  });

  it('goes by the labels only when the history is readable and holds no record yet', () => {
    assert.equal(planPrune(existing, rendered, { readable: true, records: [] }).length, 3);
  });
});

describe('pruneNamespaces', () => {
  it('lists the environment namespace, its extra ones and any an earlier release applied to', () => {
    const records = [
      record(2, [entry('a'), entry('b', 'old-extra')]),
      record(1, [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'r' }]),
    ];
    assert.deepEqual(pruneNamespaces({ namespace: 'shop', extraNamespaces: ['monitoring'] }, records), [
      'shop',
      'monitoring',
      'old-extra',
    ]);
  });
});

describe('readPruneHistory', () => {
  it('reads every record', async () => {
    const secrets = [...encodeRelease(record(1, [entry('a')])), ...encodeRelease(record(2, [entry('b')]))];
    const history = await readPruneHistory(secretsClient(secrets), scope);
    assert.equal(history.readable, true);
    assert.deepEqual(history.readable && history.records.map((r) => r.release), [2, 1]);
  });

  it('is unreadable when one record is damaged, naming it', async () => {
    const damaged = encodeRelease(record(1, [entry('a')]));
    (damaged[0] as unknown as { data: Record<string, string> }).data.release =
      Buffer.from('not gzip').toString('base64');
    const history = await readPruneHistory(
      secretsClient([...damaged, ...encodeRelease(record(2, [entry('b')]))]),
      scope,
    );
    assert.equal(history.readable, false);
    assert.match(
      !history.readable ? history.reason : '',
      /release record 1 of shop\/prod .* is damaged: .*; inspect it, or delete it with: kubectl delete secret/,
    );
  });

  it('is unreadable when the identity may not list Secrets', async () => {
    const history = await readPruneHistory(
      secretsClient(
        new KubeApiError(403, 'Forbidden', 'secrets is forbidden: User "ci" cannot list resource "secrets"'),
      ),
      scope,
    );
    assert.equal(history.readable, false);
    assert.match(
      !history.readable ? history.reason : '',
      /^this identity may not list its Secrets: secrets is forbidden/,
    );
  });

  it('lets other failures through', async () => {
    await assert.rejects(readPruneHistory(secretsClient(new TypeError('a bug')), scope), TypeError);
  });
});
