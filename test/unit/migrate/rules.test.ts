// What a migration never copies, per object and per kind, and which version each kind is read at.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseKinds,
  indexCluster,
  kindMatches,
  kindSkipReason,
  objectSkipReason,
  parseLabelSelector,
  type ServedTypes,
} from '../../../src/migrate/index.js';
import type { ResourceType } from '../../../src/kube/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
  rest: Partial<KubeObject> = {},
  meta: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion,
  kind,
  ...rest,
  metadata: { name, ...(namespace ? { namespace } : {}), ...meta },
});

const noIndex = indexCluster([]);
const reason = (o: KubeObject, others: KubeObject[] = []) =>
  objectSkipReason(o, others.length ? indexCluster(others) : noIndex);

describe('objectSkipReason', () => {
  const table: Array<[string, KubeObject, RegExp | undefined]> = [
    ['a user ConfigMap', obj('v1', 'ConfigMap', 'app', 'shop'), undefined],
    ['kube-root-ca.crt', obj('v1', 'ConfigMap', 'kube-root-ca.crt', 'shop'), /every namespace/],
    [
      'a cutover record',
      obj(
        'v1',
        'ConfigMap',
        'cutover-0123456789ab',
        'capstan-system',
        {},
        {
          labels: { 'capstan.dev/cutover-record': 'true' },
        },
      ),
      /each cluster keeps its own/,
    ],
    ['system namespaces', obj('v1', 'Namespace', 'kube-system'), /system namespace/],
    [
      'objects in system namespaces',
      obj('v1', 'ConfigMap', 'x', 'kube-public'),
      /system namespace kube-public/,
    ],
    ['the default Namespace object', obj('v1', 'Namespace', 'default'), /every cluster/],
    ['a user Namespace', obj('v1', 'Namespace', 'shop'), undefined],
    [
      'objects being deleted',
      obj('v1', 'ConfigMap', 'x', 'shop', {}, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      /being deleted/,
    ],
    [
      'controller-owned children',
      obj(
        'v1',
        'Pod',
        'web-1',
        'shop',
        {},
        {
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'u', controller: true },
          ],
        },
      ),
      /owned by ReplicaSet\/web-1/,
    ],
    [
      'objects with a non-controller owner',
      obj(
        'v1',
        'ConfigMap',
        'x',
        'shop',
        {},
        { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'y', uid: 'u' }] },
      ),
      undefined,
    ],
    [
      'a default ServiceAccount with nothing of the user',
      obj('v1', 'ServiceAccount', 'default', 'shop'),
      /nothing to merge/,
    ],
    [
      'a default ServiceAccount with pull secrets',
      obj('v1', 'ServiceAccount', 'default', 'shop', { imagePullSecrets: [{ name: 'r' }] }),
      undefined,
    ],
    [
      'generated token Secrets',
      obj(
        'v1',
        'Secret',
        'ci-token-abcde',
        'shop',
        { type: 'kubernetes.io/service-account-token' },
        { annotations: { 'kubernetes.io/service-account.name': 'ci' } },
      ),
      /token generated for ServiceAccount ci/,
    ],
    [
      'hand-made token Secrets',
      obj(
        'v1',
        'Secret',
        'ci-long-lived',
        'shop',
        { type: 'kubernetes.io/service-account-token' },
        { annotations: { 'kubernetes.io/service-account.name': 'ci' } },
      ),
      undefined,
    ],
    ['the kubernetes Service', obj('v1', 'Service', 'kubernetes', 'default'), /API server/],
    ['the kubernetes Endpoints', obj('v1', 'Endpoints', 'kubernetes', 'default'), /API server/],
    [
      'controller EndpointSlices',
      obj(
        'discovery.k8s.io/v1',
        'EndpointSlice',
        'web-x',
        'shop',
        {},
        { labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      ),
      /endpointslice-controller/,
    ],
    ['hand-made EndpointSlices', obj('discovery.k8s.io/v1', 'EndpointSlice', 'ext', 'shop'), undefined],
    ['finished pods', obj('v1', 'Pod', 'p', 'shop', { status: { phase: 'Succeeded' } }), /finished pod/],
    [
      'mirror pods',
      obj('v1', 'Pod', 'p', 'shop', {}, { annotations: { 'kubernetes.io/config.mirror': 'x' } }),
      /mirror pod/,
    ],
    [
      'completed Jobs',
      obj('batch/v1', 'Job', 'j', 'shop', { status: { completionTime: '2026-01-01T00:00:00Z' } }),
      /run it again/,
    ],
    [
      'failed Jobs',
      obj('batch/v1', 'Job', 'j', 'shop', { status: { conditions: [{ type: 'Failed', status: 'True' }] } }),
      /run it again/,
    ],
    [
      'running Jobs',
      obj('batch/v1', 'Job', 'j', 'shop', { status: { active: 1 } }),
      /running in A: it would run again in B/,
    ],
    ['Jobs not started yet', obj('batch/v1', 'Job', 'j', 'shop', { status: {} }), /would run again in B/],
    [
      'suspended Jobs',
      obj('batch/v1', 'Job', 'j', 'shop', { spec: { suspend: true }, status: {} }),
      undefined,
    ],
    [
      'bootstrap ClusterRoles',
      obj(
        'rbac.authorization.k8s.io/v1',
        'ClusterRole',
        'view',
        undefined,
        {},
        { labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
      ),
      /bootstrap RBAC/,
    ],
    [
      'system: ClusterRoleBindings',
      obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'system:kube-dns'),
      /bootstrap RBAC/,
    ],
    ['user ClusterRoles', obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'shop-reader'), undefined],
    [
      'built-in PriorityClasses',
      obj('scheduling.k8s.io/v1', 'PriorityClass', 'system-node-critical'),
      /built-in/,
    ],
    [
      'automanaged APIServices',
      obj(
        'apiregistration.k8s.io/v1',
        'APIService',
        'v1.apps',
        undefined,
        {},
        { labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
      ),
      /automatically/,
    ],
    [
      'built-in FlowSchemas',
      obj(
        'flowcontrol.apiserver.k8s.io/v1',
        'FlowSchema',
        'exempt',
        undefined,
        {},
        { annotations: { 'apf.kubernetes.io/autoupdate-spec': 'true' } },
      ),
      /priority and fairness/,
    ],
    [
      'dynamically provisioned volumes',
      obj(
        'v1',
        'PersistentVolume',
        'pvc-1',
        undefined,
        {},
        { annotations: { 'pv.kubernetes.io/provisioned-by': 'ebs' } },
      ),
      /provisions its own/,
    ],
    [
      'the default StorageClass',
      obj(
        'storage.k8s.io/v1',
        'StorageClass',
        'gp2',
        undefined,
        {},
        { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      ),
      /platform/,
    ],
  ];
  for (const [name, object, expected] of table) {
    it(`${expected ? 'skips' : 'copies'} ${name}`, () => {
      const got = reason(object);
      if (expected) assert.match(got ?? '(copied)', expected);
      else assert.equal(got, undefined);
    });
  }

  it('skips the Endpoints of Services with a selector, not of selector-less ones', () => {
    const withSelector = obj('v1', 'Service', 'web', 'shop', { spec: { selector: { app: 'web' } } });
    const external = obj('v1', 'Service', 'db', 'shop', { spec: { ports: [{ port: 5432 }] } });
    const others = [withSelector, external];
    assert.match(
      reason(obj('v1', 'Endpoints', 'web', 'shop'), others) ?? '',
      /endpoints controller for Service web/,
    );
    assert.equal(reason(obj('v1', 'Endpoints', 'db', 'shop'), others), undefined);
  });

  it('skips the contents of a namespace being deleted', () => {
    const leaving = obj(
      'v1',
      'Namespace',
      'old',
      undefined,
      {},
      { deletionTimestamp: '2026-01-01T00:00:00Z' },
    );
    assert.match(reason(leaving) ?? '', /being deleted/);
    assert.match(
      reason(obj('v1', 'ConfigMap', 'x', 'old'), [leaving]) ?? '',
      /in namespace old, which is being deleted/,
    );
    assert.equal(reason(obj('v1', 'ConfigMap', 'x', 'new'), [leaving]), undefined);
  });

  it('skips the claims a StatefulSet creates from its templates, not other claims', () => {
    const sts = obj('apps/v1', 'StatefulSet', 'db', 'shop', {
      spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
    });
    assert.match(
      reason(obj('v1', 'PersistentVolumeClaim', 'data-db-0', 'shop'), [sts]) ?? '',
      /volumeClaimTemplates of StatefulSet db/,
    );
    assert.equal(reason(obj('v1', 'PersistentVolumeClaim', 'data-db-backup', 'shop'), [sts]), undefined);
    assert.equal(reason(obj('v1', 'PersistentVolumeClaim', 'data-db-0', 'other'), [sts]), undefined);
  });
});

const type = (
  group: string,
  version: string,
  kind: string,
  resource: string,
  extra: Partial<ResourceType> = {},
): ResourceType => ({
  group,
  version,
  apiVersion: group ? `${group}/${version}` : version,
  kind,
  resource,
  namespaced: true,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  ...extra,
});

describe('kindSkipReason', () => {
  it('never copies what each cluster generates', () => {
    assert.match(kindSkipReason(type('', 'v1', 'Event', 'events')) ?? '', /events/);
    assert.match(kindSkipReason(type('events.k8s.io', 'v1', 'Event', 'events')) ?? '', /events/);
    assert.match(kindSkipReason(type('coordination.k8s.io', 'v1', 'Lease', 'leases')) ?? '', /leases/);
    assert.match(
      kindSkipReason(type('apps', 'v1', 'ControllerRevision', 'controllerrevisions')) ?? '',
      /controller history/,
    );
    assert.match(kindSkipReason(type('', 'v1', 'Node', 'nodes')) ?? '', /nodes/);
    assert.match(kindSkipReason(type('metrics.k8s.io', 'v1beta1', 'PodMetrics', 'pods')) ?? '', /metrics/);
  });
  it('skips kinds that cannot be listed or created', () => {
    assert.match(
      kindSkipReason(
        type('authorization.k8s.io', 'v1', 'SubjectAccessReview', 'subjectaccessreviews', {
          verbs: ['create'],
        }),
      ) ?? '',
      /list/,
    );
    assert.match(
      kindSkipReason(type('', 'v1', 'ComponentStatus', 'componentstatuses', { verbs: ['get', 'list'] })) ??
        '',
      /component status/,
    );
  });
  it('copies ordinary kinds and custom resources', () => {
    assert.equal(kindSkipReason(type('apps', 'v1', 'Deployment', 'deployments')), undefined);
    assert.equal(kindSkipReason(type('example.com', 'v1', 'Widget', 'widgets')), undefined);
  });
});

describe('kindMatches', () => {
  const deployments = type('apps', 'v1', 'Deployment', 'deployments');
  it('accepts the kind, the plural and kind.group, in any case', () => {
    for (const p of ['Deployment', 'deployment', 'deployments', 'Deployment.apps', 'deployments.apps'])
      assert.ok(kindMatches(p, deployments), p);
  });
  it('rejects another group or kind', () => {
    assert.ok(!kindMatches('Deployment.extensions', deployments));
    assert.ok(!kindMatches('StatefulSet', deployments));
  });
});

describe('chooseKinds', () => {
  const served = (types: ResourceType[], preferred: Record<string, string>): ServedTypes => ({
    types,
    preferred: new Map(Object.entries(preferred)),
  });

  it("reads each kind at B's preferred version when A serves it", () => {
    const a = served(
      [
        type('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
        type('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
      ],
      { autoscaling: 'v1' },
    );
    const b = served(
      [
        type('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
        type('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
      ],
      { autoscaling: 'v2' },
    );
    const { chosen } = chooseKinds(a, b, new Set());
    assert.equal(chosen[0].type.version, 'v2');
    assert.equal(chosen[0].unsupported, undefined);
  });

  it('falls back to another version both serve', () => {
    const a = served(
      [type('example.io', 'v1beta1', 'Gadget', 'gadgets'), type('example.io', 'v1', 'Gadget', 'gadgets')],
      { 'example.io': 'v1beta1' },
    );
    const b = served(
      [type('example.io', 'v1', 'Gadget', 'gadgets'), type('example.io', 'v2', 'Gadget', 'gadgets')],
      { 'example.io': 'v2' },
    );
    assert.equal(chooseKinds(a, b, new Set()).chosen[0].type.version, 'v1');
  });

  it('reports built-in kinds B no longer serves', () => {
    const a = served([type('policy', 'v1beta1', 'PodSecurityPolicy', 'podsecuritypolicies')], {
      policy: 'v1beta1',
    });
    const b = served([type('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets')], { policy: 'v1' });
    assert.match(
      chooseKinds(a, b, new Set()).chosen[0].unsupported ?? '',
      /does not serve PodSecurityPolicy.policy/,
    );
  });

  it('reports a kind B serves only at versions A does not', () => {
    const a = served([type('batch', 'v1beta1', 'CronJob', 'cronjobs')], { batch: 'v1beta1' });
    const b = served([type('batch', 'v1', 'CronJob', 'cronjobs')], { batch: 'v1' });
    assert.match(chooseKinds(a, b, new Set()).chosen[0].unsupported ?? '', /only at v1/);
  });

  it('expects a CRD from A to define custom kinds B does not serve yet', () => {
    const a = served([type('example.com', 'v1', 'Widget', 'widgets')], { 'example.com': 'v1' });
    const choice = chooseKinds(a, served([], {}), new Set(['Widget.example.com'])).chosen[0];
    assert.equal(choice.needsCrd, true);
    assert.equal(choice.unsupported, undefined);
    assert.match(chooseKinds(a, served([], {}), new Set()).chosen[0].unsupported ?? '', /does not serve/);
  });

  it('lists skipped kinds with their reason', () => {
    const a = served([type('', 'v1', 'Event', 'events'), type('', 'v1', 'ConfigMap', 'configmaps')], {
      '': 'v1',
    });
    const { chosen, skipped } = chooseKinds(a, a, new Set());
    assert.deepEqual(
      chosen.map((c) => c.kind),
      ['ConfigMap'],
    );
    assert.deepEqual(
      skipped.map((s) => s.kind),
      ['Event'],
    );
  });
});

describe('parseLabelSelector', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  const table: Array<[string, boolean]> = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app=web,tier=back', false],
    ['env in (prod,staging)', true],
    ['env notin (prod)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web, env in (prod, staging), !missing', true],
  ];
  for (const [selector, expected] of table) {
    it(`"${selector}" ${expected ? 'matches' : 'does not match'}`, () =>
      assert.equal(parseLabelSelector(selector)(labels), expected));
  }
  it('rejects what is not a selector', () => {
    assert.throws(() => parseLabelSelector('app=(web'), /invalid label selector/);
  });
});
