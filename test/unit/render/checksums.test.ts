import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyConfigChecksums, CHECKSUM_ANNOTATION, referencedConfig } from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { field } from '../../fixtures/deploy-tree.js';

const NS = 'shop-staging';

function configMap(name: string, data: Record<string, string>, namespace = NS): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function secret(name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, stringData: data };
}

function deployment(name: string, podSpec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: { template: { metadata: { labels: { app: name } }, spec: podSpec } },
  };
}

function checksumOf(object: KubeObject | undefined): unknown {
  const template =
    object?.kind === 'Pod'
      ? object
      : field(object, object?.kind === 'CronJob' ? 'spec.jobTemplate.spec.template' : 'spec.template');
  return (field(template, 'metadata.annotations') as Record<string, string> | undefined)?.[
    CHECKSUM_ANNOTATION
  ];
}

/** A fresh set of objects: web uses `app` by envFrom, worker uses `worker` by a volume, api uses none. */
function world(appData: Record<string, string>, workerData: Record<string, string>): KubeObject[] {
  return [
    configMap('app', appData),
    configMap('worker', workerData),
    deployment('web', { containers: [{ name: 'web', envFrom: [{ configMapRef: { name: 'app' } }] }] }),
    deployment('worker', {
      containers: [{ name: 'w' }],
      volumes: [{ name: 'c', configMap: { name: 'worker' } }],
    }),
    deployment('api', { containers: [{ name: 'api', env: [{ name: 'A', value: 'b' }] }] }),
  ];
}

describe('applyConfigChecksums', () => {
  it('changing one ConfigMap value changes only the checksum of the templates using it', () => {
    const before = world({ A: '1', B: '2' }, { W: '1' });
    const after = world({ A: '1', B: '3' }, { W: '1' });
    applyConfigChecksums(before);
    applyConfigChecksums(after);
    const [, , webBefore, workerBefore, apiBefore] = before;
    const [, , webAfter, workerAfter, apiAfter] = after;
    assert.match(String(checksumOf(webBefore)), /^[0-9a-f]{64}$/);
    assert.notEqual(checksumOf(webBefore), checksumOf(webAfter));
    assert.equal(checksumOf(workerBefore), checksumOf(workerAfter));
    assert.equal(checksumOf(apiBefore), undefined);
    assert.equal(checksumOf(apiAfter), undefined);
  });

  it('is deterministic and ignores key order', () => {
    const one = world({ A: '1', B: '2' }, { W: '1' });
    const two = world({ B: '2', A: '1' }, { W: '1' });
    applyConfigChecksums(one);
    applyConfigChecksums(two);
    assert.equal(checksumOf(one[2]), checksumOf(two[2]));
    assert.equal(checksumOf(one[3]), checksumOf(two[3]));
  });

  it('follows env, envFrom, volumes and projected volumes of containers and init containers', () => {
    const config = [
      configMap('a', { k: '1' }),
      configMap('b', { k: '1' }),
      secret('s', { k: '1' }),
      secret('t', { k: '1' }),
    ];
    const podSpec = {
      initContainers: [
        { name: 'i', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
      ],
      containers: [
        {
          name: 'c',
          env: [{ name: 'Y', valueFrom: { configMapKeyRef: { name: 'a', key: 'k' } } }],
          envFrom: [{ secretRef: { name: 't' } }],
        },
      ],
      volumes: [
        { name: 'v', secret: { secretName: 'u' } },
        { name: 'p', projected: { sources: [{ configMap: { name: 'b' } }, { secret: { name: 'w' } }] } },
      ],
    };
    assert.deepEqual([...referencedConfig(podSpec)].sort(), [
      'ConfigMap/a',
      'ConfigMap/b',
      'Secret/s',
      'Secret/t',
      'Secret/u',
      'Secret/w',
    ]);

    const objects = [...config, deployment('d', podSpec)];
    applyConfigChecksums(objects);
    const first = checksumOf(objects[4]);
    assert.ok(first);
    for (const changed of [0, 1, 2, 3]) {
      const copy = structuredClone([...config, deployment('d', podSpec)]);
      const target = copy[changed] as KubeObject & Record<string, Record<string, string>>;
      target[changed < 2 ? 'data' : 'stringData'] = { k: '2' };
      applyConfigChecksums(copy);
      assert.notEqual(checksumOf(copy[4]), first, `changing object ${changed} must change the checksum`);
    }
  });

  it('covers every pod template kind and ignores ConfigMaps of other namespaces', () => {
    const podSpec = { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'app' } }] }] };
    const template = (): object => structuredClone({ metadata: {}, spec: podSpec });
    const workloads: KubeObject[] = [
      ...['StatefulSet', 'DaemonSet', 'ReplicaSet'].map((kind) => ({
        apiVersion: 'apps/v1',
        kind,
        metadata: { name: 'x', namespace: NS },
        spec: { template: template() },
      })),
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'j', namespace: NS },
        spec: { template: template() },
      },
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'c', namespace: NS },
        spec: { jobTemplate: { spec: { template: template() } } },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: NS },
        spec: structuredClone(podSpec),
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'elsewhere', namespace: 'other' },
        spec: { template: template() },
      },
    ];
    const objects = [configMap('app', { a: 'b' }), ...workloads];
    applyConfigChecksums(objects);
    const sums = objects.slice(1).map(checksumOf);
    assert.equal(new Set(sums.slice(0, 6)).size, 1);
    assert.ok(sums[0]);
    assert.equal(sums[6], undefined);
  });
});
