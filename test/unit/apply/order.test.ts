import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPriorities, planApplyOrder, scheduleOrder } from '../../../src/apply/index.js';
import { kindOrder } from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const obj = (
  kind: string,
  name: string,
  rest: Record<string, unknown> = {},
  apiVersion = 'v1',
): KubeObject => ({ apiVersion, kind, metadata: { name, namespace: 'ns' }, ...rest });

const deployment = (name: string, podSpec: Record<string, unknown> = {}, labels = { app: name }) =>
  obj(
    'Deployment',
    name,
    {
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'x' }], ...podSpec } },
      },
    },
    'apps/v1',
  );
const service = (name: string, selector: Record<string, string> = { app: name }) =>
  obj('Service', name, { spec: { selector, ports: [{ port: 80 }] } });

/** Each object's dependencies by name, for readable assertions. */
function named(objects: KubeObject[]): Record<string, string[]> {
  const deps = planApplyOrder(objects, 'ns');
  return Object.fromEntries(
    objects.map((o, i) => [
      `${o.kind}/${o.metadata.name}`,
      deps[i].map((d) => `${objects[d].kind}/${objects[d].metadata.name}`),
    ]),
  );
}

describe('planApplyOrder', () => {
  it('a Deployment waits for its own ConfigMap, not for every ConfigMap nor for the Service selecting it', () => {
    const objects = [0, 1].flatMap((i) => [
      obj('ConfigMap', `app-${i}`),
      service(`app-${i}`),
      deployment(`app-${i}`, {
        containers: [{ name: 'a', envFrom: [{ configMapRef: { name: `app-${i}` } }] }],
      }),
    ]);
    assert.deepEqual(named(objects), {
      'ConfigMap/app-0': [],
      'Service/app-0': [],
      'Deployment/app-0': ['ConfigMap/app-0'],
      'ConfigMap/app-1': [],
      'Service/app-1': [],
      'Deployment/app-1': ['ConfigMap/app-1'],
    });
    // One worker in render order alone: app-0's Deployment before app-1's ConfigMap.
    const deps = planApplyOrder(objects, 'ns');
    assert.deepEqual(scheduleOrder(deps), [0, 1, 2, 3, 4, 5]);
    // By priority: a Deployment as soon as its ConfigMap is in, the Services (nothing waits for them) last.
    assert.deepEqual(applyPriorities(objects, deps), [1, 2, 0, 1, 2, 0]);
    assert.deepEqual(scheduleOrder(deps, applyPriorities(objects, deps)), [0, 2, 3, 5, 1, 4]);
  });

  it('finds every ConfigMap, Secret, PVC and ServiceAccount a pod template names', () => {
    const objects = [
      obj('ConfigMap', 'env'),
      obj('ConfigMap', 'key'),
      obj('ConfigMap', 'vol'),
      obj('ConfigMap', 'projected'),
      obj('ConfigMap', 'unused'),
      obj('Secret', 'env'),
      obj('Secret', 'key'),
      obj('Secret', 'vol'),
      obj('Secret', 'pull'),
      obj('PersistentVolumeClaim', 'data'),
      obj('ServiceAccount', 'web'),
      deployment('web', {
        serviceAccountName: 'web',
        imagePullSecrets: [{ name: 'pull' }],
        initContainers: [
          { name: 'i', env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'key' } } }] },
        ],
        containers: [
          {
            name: 'c',
            envFrom: [{ configMapRef: { name: 'env' } }, { secretRef: { name: 'env' } }],
            env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 'key', key: 'k' } } }],
          },
        ],
        volumes: [
          { name: 'a', configMap: { name: 'vol' } },
          { name: 'b', secret: { secretName: 'vol' } },
          { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
          { name: 'd', projected: { sources: [{ configMap: { name: 'projected' } }] } },
        ],
      }),
    ];
    assert.deepEqual(named(objects)['Deployment/web'].sort(), [
      'ConfigMap/env',
      'ConfigMap/key',
      'ConfigMap/projected',
      'ConfigMap/vol',
      'PersistentVolumeClaim/data',
      'Secret/env',
      'Secret/key',
      'Secret/pull',
      'Secret/vol',
      'ServiceAccount/web',
    ]);
  });

  it('Namespaces and quotas come before everything of a later kind group', () => {
    const objects = [
      obj('ConfigMap', 'c'),
      obj('LimitRange', 'limits'),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } } as KubeObject,
      deployment('web'),
    ];
    const deps = named(objects);
    assert.deepEqual(deps['Namespace/ns'], []);
    assert.deepEqual(deps['LimitRange/limits'], ['Namespace/ns']);
    assert.deepEqual(deps['ConfigMap/c'], ['LimitRange/limits', 'Namespace/ns']);
    assert.deepEqual(deps['Deployment/web'], ['LimitRange/limits', 'Namespace/ns']);
  });

  it('workloads wait for all RBAC of the phase; a binding for its role', () => {
    const objects = [
      deployment('web'),
      obj('RoleBinding', 'rb', { roleRef: { kind: 'Role', name: 'reader' } }, 'rbac.authorization.k8s.io/v1'),
      obj('Role', 'reader', {}, 'rbac.authorization.k8s.io/v1'),
      obj('ServiceAccount', 'other'),
    ];
    const deps = named(objects);
    assert.deepEqual(deps['Deployment/web'], ['RoleBinding/rb', 'Role/reader', 'ServiceAccount/other']);
    assert.deepEqual(deps['RoleBinding/rb'], ['Role/reader']);
  });

  it('custom resources follow their CRD; other kinds of the last group follow every earlier group', () => {
    const crd = obj(
      'CustomResourceDefinition',
      'widgets.example.com',
      { spec: { group: 'example.com' } },
      'apiextensions.k8s.io/v1',
    );
    const objects = [obj('Widget', 'w', {}, 'example.com/v1'), deployment('web'), crd, obj('ConfigMap', 'c')];
    const deps = named(objects);
    assert.deepEqual(deps['Widget/w'], [
      'Deployment/web',
      'CustomResourceDefinition/widgets.example.com',
      'ConfigMap/c',
    ]);
    assert.deepEqual(deps['Deployment/web'], ['CustomResourceDefinition/widgets.example.com']);
  });

  it('an Ingress waits for its Services and TLS Secret, an HPA for its target, not for every workload', () => {
    const objects = [
      deployment('web'),
      deployment('worker'),
      service('web'),
      obj('Secret', 'tls'),
      obj(
        'Ingress',
        'web',
        {
          spec: {
            tls: [{ secretName: 'tls' }],
            rules: [{ http: { paths: [{ backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
          },
        },
        'networking.k8s.io/v1',
      ),
      obj(
        'HorizontalPodAutoscaler',
        'worker',
        { spec: { scaleTargetRef: { kind: 'Deployment', name: 'worker' } } },
        'autoscaling/v2',
      ),
    ];
    const deps = named(objects);
    assert.deepEqual(deps['Ingress/web'], ['Service/web', 'Secret/tls']);
    assert.deepEqual(deps['HorizontalPodAutoscaler/worker'], ['Deployment/worker']);
    assert.deepEqual(deps['Deployment/web'], []);
    assert.deepEqual(deps['Deployment/worker'], []);
  });

  it('names count within a namespace; cluster-scoped StorageClasses are found from any namespace', () => {
    const elsewhere = {
      ...obj('ConfigMap', 'web'),
      metadata: { name: 'web', namespace: 'other' },
    } as KubeObject;
    const objects = [
      elsewhere,
      { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' } } as KubeObject,
      obj('PersistentVolumeClaim', 'data', { spec: { storageClassName: 'fast' } }),
      deployment('web', { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'web' } }] }] }),
    ];
    const deps = named(objects);
    assert.deepEqual(deps['Deployment/web'], []);
    assert.deepEqual(deps['PersistentVolumeClaim/data'], ['StorageClass/fast']);
  });

  it('every dependency is of the same or an earlier kind group, so the order has no cycle', () => {
    const objects = [
      obj('Widget', 'w', {}, 'example.com/v1'),
      obj('Ingress', 'i', { spec: { defaultBackend: { service: { name: 's' } } } }, 'networking.k8s.io/v1'),
      deployment('s'),
      service('s'),
      obj('RoleBinding', 'rb', { roleRef: { kind: 'ClusterRole', name: 'view' } }),
      obj('ClusterRole', 'view'),
      obj('ConfigMap', 'c'),
      obj('NetworkPolicy', 'np'),
    ];
    const deps = planApplyOrder(objects, 'ns');
    deps.forEach((list, i) => {
      for (const d of list)
        assert.ok(kindOrder(objects[d].kind) <= kindOrder(objects[i].kind), `${i} -> ${d}`);
    });
    const order = scheduleOrder(deps);
    assert.equal(order.length, objects.length);
    const position = new Map(order.map((o, p) => [o, p]));
    deps.forEach((list, i) => list.forEach((d) => assert.ok(position.get(d)! < position.get(i)!)));
  });
});
