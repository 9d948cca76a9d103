// The plan: which objects are copied in which order, what namespaced copies pull in, what the
// include/exclude lists and selectors do, counts per kind, and kinds B cannot take.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SUSPENDED_BY_MIGRATE,
  chooseKinds,
  formatRef,
  planMigration,
  planWaves,
  scopePredicate,
  selectKinds,
  waveOf,
  type MigrationScope,
  type ServedTypes,
} from '../../../src/migrate/index.js';
import type { ResourceType } from '../../../src/kube/index.js';
import { objectKey, type KubeObject } from '../../../src/shared/index.js';

const RBAC = 'rbac.authorization.k8s.io';
const TYPES: Array<[string, string, string, boolean]> = [
  ['', 'Namespace', 'namespaces', false],
  ['', 'ConfigMap', 'configmaps', true],
  ['', 'Secret', 'secrets', true],
  ['', 'ServiceAccount', 'serviceaccounts', true],
  ['', 'Service', 'services', true],
  ['', 'Pod', 'pods', true],
  ['', 'ResourceQuota', 'resourcequotas', true],
  ['apps', 'Deployment', 'deployments', true],
  ['apps', 'ReplicaSet', 'replicasets', true],
  ['networking.k8s.io', 'Ingress', 'ingresses', true],
  [
    'admissionregistration.k8s.io',
    'ValidatingWebhookConfiguration',
    'validatingwebhookconfigurations',
    false,
  ],
  ['apiextensions.k8s.io', 'CustomResourceDefinition', 'customresourcedefinitions', false],
  [RBAC, 'ClusterRole', 'clusterroles', false],
  [RBAC, 'ClusterRoleBinding', 'clusterrolebindings', false],
  [RBAC, 'RoleBinding', 'rolebindings', true],
  [RBAC, 'Role', 'roles', true],
  ['scheduling.k8s.io', 'PriorityClass', 'priorityclasses', false],
  ['storage.k8s.io', 'StorageClass', 'storageclasses', false],
  ['', 'PersistentVolumeClaim', 'persistentvolumeclaims', true],
  ['', 'PersistentVolume', 'persistentvolumes', false],
  ['apps', 'StatefulSet', 'statefulsets', true],
  ['batch', 'Job', 'jobs', true],
  ['batch', 'CronJob', 'cronjobs', true],
  ['example.com', 'Widget', 'widgets', true],
  ['legacy.example.com', 'Gizmo', 'gizmos', true],
];

function served(withCustom: boolean): ServedTypes {
  const types: ResourceType[] = TYPES.filter(([group]) => withCustom || !group.includes('example.com')).map(
    ([group, kind, resource, namespaced]) => ({
      group,
      version: 'v1',
      apiVersion: group ? `${group}/v1` : 'v1',
      kind,
      resource,
      namespaced,
      verbs: ['create', 'get', 'list', 'patch'],
    }),
  );
  return { types, preferred: new Map(types.map((t) => [t.group, 'v1'])) };
}

const o = (
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
  rest: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion,
  kind,
  ...rest,
  metadata: { name, ...(namespace ? { namespace } : {}), uid: `uid-${name}`, resourceVersion: '1', ...meta },
});

const crd = o('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com', undefined, {
  spec: { group: 'example.com', names: { kind: 'Widget' } },
});
const SOURCE: KubeObject[] = [
  o('v1', 'Namespace', 'shop'),
  o('v1', 'Namespace', 'blog'),
  o('v1', 'Namespace', 'kube-system'),
  o('v1', 'ConfigMap', 'web', 'shop', { data: { a: '1' } }, { labels: { app: 'web' } }),
  o('v1', 'ConfigMap', 'kube-root-ca.crt', 'shop'),
  o('v1', 'ConfigMap', 'blog', 'blog', {}, { labels: { app: 'blog' } }),
  o('v1', 'ConfigMap', 'coredns', 'kube-system'),
  o('v1', 'Secret', 'db', 'shop', { data: { password: 'cw==' } }, { labels: { app: 'web' } }),
  o('v1', 'ServiceAccount', 'default', 'shop', { imagePullSecrets: [{ name: 'registry' }] }),
  o('v1', 'ResourceQuota', 'compute', 'shop'),
  o(
    'apps/v1',
    'Deployment',
    'web',
    'shop',
    { spec: { template: { spec: { priorityClassName: 'shop-high' } } } },
    { labels: { app: 'web' } },
  ),
  o(
    'apps/v1',
    'ReplicaSet',
    'web-1',
    'shop',
    {},
    {
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true },
      ],
    },
  ),
  o('networking.k8s.io/v1', 'Ingress', 'web', 'shop', {}, { labels: { app: 'web' } }),
  o('example.com/v1', 'Widget', 'blue', 'shop', { spec: { size: 3 } }, { labels: { app: 'web' } }),
  o('legacy.example.com/v1', 'Gizmo', 'old', 'shop', {}, { labels: { app: 'web' } }),
  o(
    `${RBAC}/v1`,
    'RoleBinding',
    'view',
    'shop',
    { roleRef: { kind: 'ClusterRole', name: 'shop-reader' } },
    { labels: { app: 'web' } },
  ),
  o(`${RBAC}/v1`, 'RoleBinding', 'admin', 'shop', { roleRef: { kind: 'ClusterRole', name: 'admin' } }),
  o(`${RBAC}/v1`, 'ClusterRole', 'shop-reader'),
  o(
    `${RBAC}/v1`,
    'ClusterRole',
    'admin',
    undefined,
    {},
    { labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
  ),
  o(`${RBAC}/v1`, 'ClusterRole', 'unrelated'),
  o(`${RBAC}/v1`, 'ClusterRoleBinding', 'shop-ci', undefined, {
    roleRef: { kind: 'ClusterRole', name: 'ci' },
    subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'shop' }],
  }),
  o(`${RBAC}/v1`, 'ClusterRole', 'ci'),
  o('scheduling.k8s.io/v1', 'PriorityClass', 'shop-high'),
  o('scheduling.k8s.io/v1', 'PriorityClass', 'other'),
  o('storage.k8s.io/v1', 'StorageClass', 'fast'),
  o('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'policy'),
  crd,
];

function plan(scope: MigrationScope, target: KubeObject[] = [], targetServesCustom = false, source = SOURCE) {
  const crdKinds = new Set(['Widget.example.com']);
  const { chosen, skipped } = chooseKinds(served(true), served(targetServesCustom), crdKinds);
  const selection = selectKinds(chosen, scope);
  return planMigration({
    source,
    target: new Map(target.map((t) => [objectKey(t), t])),
    scope,
    kinds: chosen,
    selection: { ...selection, skipped: [...skipped, ...selection.skipped] },
  });
}
const refs = (p: ReturnType<typeof plan>) => p.objects.map((x) => formatRef(x.ref));

describe('planMigration: one namespace', () => {
  const p = plan({ namespaces: ['shop'] });

  it('copies the namespace and what it needs from the cluster scope, in creation order', () => {
    assert.deepEqual(refs(p), [
      'CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com',
      'Namespace/shop',
      'PriorityClass.scheduling.k8s.io/shop-high',
      'ClusterRole.rbac.authorization.k8s.io/ci',
      'ClusterRole.rbac.authorization.k8s.io/shop-reader',
      'ClusterRoleBinding.rbac.authorization.k8s.io/shop-ci',
      'RoleBinding.rbac.authorization.k8s.io/shop/admin',
      'RoleBinding.rbac.authorization.k8s.io/shop/view',
      'ServiceAccount/shop/default',
      'ResourceQuota/shop/compute',
      'ConfigMap/shop/web',
      'Secret/shop/db',
      'Deployment.apps/shop/web',
      'Ingress.networking.k8s.io/shop/web',
      'Widget.example.com/shop/blue',
    ]);
  });

  it('skips generated objects with their reason, and leaves other namespaces and unrelated cluster objects out', () => {
    const skipped = Object.fromEntries(p.skipped.map((s) => [formatRef(s.ref), s.reason]));
    assert.match(skipped['ConfigMap/shop/kube-root-ca.crt'], /every namespace/);
    assert.match(skipped['ReplicaSet.apps/shop/web-1'], /owned by Deployment\/web/);
    assert.equal(
      skipped['RoleBinding.rbac.authorization.k8s.io/shop/admin'],
      undefined,
      'a binding to a bootstrap role is copied',
    );
    assert.match(skipped['ClusterRole.rbac.authorization.k8s.io/admin'], /bootstrap RBAC/);
    for (const absent of [
      'ConfigMap/blog/blog',
      'ClusterRole.rbac.authorization.k8s.io/unrelated',
      'PriorityClass.scheduling.k8s.io/other',
      'StorageClass.storage.k8s.io/fast',
    ]) {
      assert.ok(!refs(p).includes(absent) && !(absent in skipped), absent);
    }
  });

  it('reports custom kinds B cannot serve, with the number of objects', () => {
    assert.deepEqual(
      p.unsupported.map((u) => [u.kind, u.objects]),
      [['Gizmo', 1]],
    );
    assert.match(
      p.skipped.find((s) => s.ref.kind === 'Gizmo')!.reason,
      /B does not serve Gizmo.legacy.example.com/,
    );
    assert.deepEqual(
      p.unsupported.map((u) => u.reason),
      ['B does not serve Gizmo.legacy.example.com'],
    );
  });

  it('strips what it copies', () => {
    const web = p.objects.find((x) => x.ref.kind === 'Deployment')!.object;
    assert.equal(web.metadata.uid, undefined);
    assert.equal(web.metadata.resourceVersion, undefined);
  });

  it('counts per kind: copied, already in B, skipped', () => {
    const row = (kind: string) => p.counts.find((c) => c.kind === kind);
    assert.deepEqual(row('ConfigMap'), { kind: 'ConfigMap', planned: 1, inTarget: 0, skipped: 1 });
    assert.deepEqual(row('ReplicaSet.apps'), {
      kind: 'ReplicaSet.apps',
      planned: 0,
      inTarget: 0,
      skipped: 1,
    });
    assert.equal(p.counts[0].kind, 'CustomResourceDefinition.apiextensions.k8s.io');
  });
});

describe('planMigration: against what B holds', () => {
  it("marks objects B already has and merges pull secrets into B's default ServiceAccount", () => {
    const bConfig = o('v1', 'ConfigMap', 'web', 'shop', { data: { a: '0' } });
    const bAccount = o('v1', 'ServiceAccount', 'default', 'shop', {
      imagePullSecrets: [{ name: 'b-mirror' }, { name: 'registry' }],
    });
    const p = plan({ namespaces: ['shop'] }, [bConfig, bAccount]);
    assert.equal(p.objects.find((x) => x.ref.kind === 'ConfigMap')!.current, bConfig);
    const account = p.objects.find((x) => x.ref.kind === 'ServiceAccount')!.object;
    assert.deepEqual(account.imagePullSecrets, [{ name: 'registry' }, { name: 'b-mirror' }]);
    assert.equal(p.counts.find((c) => c.kind === 'ConfigMap')!.inTarget, 1);
  });

  it("never changes B's StorageClasses", () => {
    const p = plan({}, [o('storage.k8s.io/v1', 'StorageClass', 'fast')]);
    assert.match(p.skipped.find((s) => s.ref.name === 'fast')!.reason, /B has its own StorageClass/);
  });

  it('reads custom kinds B serves already without needing the CRD', () => {
    const p = plan({ namespaces: ['shop'], excludeKinds: ['customresourcedefinitions'] }, [], true);
    assert.ok(refs(p).includes('Widget.example.com/shop/blue'));
    assert.deepEqual(p.unsupported, []);
    assert.deepEqual(
      p.skippedKinds.filter((k) => k.reason.includes('exclude')).map((k) => k.kind),
      ['CustomResourceDefinition'],
    );
  });
});

describe('planMigration: all namespaces, kinds and selectors', () => {
  it('copies every namespace but the system ones, and the cluster-scoped objects', () => {
    const r = refs(plan({}));
    for (const expected of [
      'Namespace/blog',
      'ConfigMap/blog/blog',
      'ClusterRole.rbac.authorization.k8s.io/unrelated',
      'StorageClass.storage.k8s.io/fast',
    ])
      assert.ok(r.includes(expected), expected);
    assert.ok(!r.includes('ConfigMap/kube-system/coredns'));
    assert.equal(
      r.at(-1),
      'ValidatingWebhookConfiguration.admissionregistration.k8s.io/policy',
      'admission webhooks come last',
    );
  });

  it('with --include-kinds copies those kinds plus the Namespaces and CRDs they need', () => {
    const p = plan({ namespaces: ['shop'], includeKinds: ['Widget', 'configmaps'] });
    assert.deepEqual(refs(p), [
      'CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com',
      'Namespace/shop',
      'ConfigMap/shop/web',
      'Widget.example.com/shop/blue',
    ]);
    assert.ok(p.skippedKinds.some((k) => k.kind === 'Deployment' && /include-kinds/.test(k.reason)));
  });

  it('with --exclude-kinds never reads those kinds', () => {
    const p = plan({ namespaces: ['shop'], excludeKinds: ['Secret', 'Ingress.networking.k8s.io'] });
    assert.ok(!refs(p).some((r) => r.startsWith('Secret/') || r.startsWith('Ingress')));
  });

  it('with a selector copies matching objects and the namespaces holding them', () => {
    const r = refs(plan({ selector: 'app=web' }));
    assert.ok(r.includes('Namespace/shop') && !r.includes('Namespace/blog'));
    assert.ok(r.includes('ConfigMap/shop/web') && !r.includes('ConfigMap/blog/blog'));
    assert.ok(
      r.includes('ClusterRole.rbac.authorization.k8s.io/shop-reader'),
      'needed by a selected RoleBinding',
    );
    assert.ok(!r.includes('ResourceQuota/shop/compute'));
  });
});

describe('waves', () => {
  it('orders kinds as the reference does: CRDs, namespaces, RBAC, quotas, config, services, workloads, the rest, CRs, webhooks', () => {
    const order = [
      ['apiextensions.k8s.io', 'CustomResourceDefinition'],
      ['', 'Namespace'],
      ['scheduling.k8s.io', 'PriorityClass'],
      [RBAC, 'ClusterRole'],
      ['', 'ResourceQuota'],
      ['', 'Secret'],
      ['', 'PersistentVolumeClaim'],
      ['', 'Service'],
      ['apps', 'Deployment'],
      ['networking.k8s.io', 'Ingress'],
      ['example.com', 'Widget'],
      ['admissionregistration.k8s.io', 'MutatingWebhookConfiguration'],
    ] as const;
    const waves = order.map(([g, k]) => waveOf(g, k));
    assert.deepEqual(
      waves,
      [...waves].sort((a, b) => a - b),
    );
    assert.equal(new Set(waves).size, waves.length);
    assert.equal(waveOf('', 'ServiceAccount'), waveOf(RBAC, 'RoleBinding'));
    assert.equal(waveOf('', 'ConfigMap'), waveOf('', 'Secret'));
  });

  it('splits a plan into its waves, in order', () => {
    const waves = planWaves(plan({ namespaces: ['shop'] }).objects);
    assert.equal(waves.length, 9);
    assert.deepEqual(
      waves[0].map((x) => x.ref.kind),
      ['CustomResourceDefinition'],
    );
    assert.ok(waves.every((w, i) => i === 0 || w[0].wave > waves[i - 1][0].wave));
  });
});

describe('planMigration: no double effects in B', () => {
  const job = (name: string, status: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
    o('batch/v1', 'Job', name, 'shop', { spec, status });
  const source = [
    o('v1', 'Namespace', 'shop'),
    o('batch/v1', 'CronJob', 'billing', 'shop', { spec: { schedule: '0 3 * * *', jobTemplate: {} } }),
    o('batch/v1', 'CronJob', 'paused', 'shop', {
      spec: { schedule: '0 4 * * *', suspend: true, jobTemplate: {} },
    }),
    job('import-123', { active: 1 }),
    job('import-100', { completionTime: '2026-11-30T00:00:00Z', succeeded: 1 }),
    job('held', {}, { suspend: true }),
    o(
      'batch/v1',
      'Job',
      'billing-29000',
      'shop',
      { status: { active: 1 } },
      {
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'CronJob', name: 'billing', uid: 'uid-billing', controller: true },
        ],
      },
    ),
    o('v1', 'ConfigMap', 'owner', 'shop'),
    o(
      'v1',
      'ConfigMap',
      'owned',
      'shop',
      {},
      {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'uid-owner', blockOwnerDeletion: true },
        ],
      },
    ),
    o(
      'v1',
      'ConfigMap',
      'stale-owner',
      'shop',
      {},
      {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'uid-of-an-older-owner' },
        ],
      },
    ),
    o(
      'v1',
      'ConfigMap',
      'owner-not-copied',
      'shop',
      {},
      { ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 'gone', uid: 'uid-gone' }] },
    ),
  ];
  const p = plan({ namespaces: ['shop'] }, [], false, source);
  const planned = (name: string) => p.objects.find((x) => x.ref.name === name);
  const reasonOf = (name: string) => p.skipped.find((x) => x.ref.name === name)?.reason;

  it('creates running CronJobs suspended and marked, and suspended ones suspended without the mark', () => {
    const billing = planned('billing')!.object;
    assert.equal((billing.spec as any).suspend, true);
    assert.equal(billing.metadata.annotations?.[SUSPENDED_BY_MIGRATE], 'false');
    const paused = planned('paused')!.object;
    assert.equal((paused.spec as any).suspend, true);
    assert.equal(paused.metadata.annotations?.[SUSPENDED_BY_MIGRATE], undefined);
  });

  it('copies neither finished nor running Jobs, and reports the running ones', () => {
    assert.match(reasonOf('import-100') ?? '', /finished Job/);
    assert.match(reasonOf('import-123') ?? '', /would run again in B/);
    assert.deepEqual(p.leftOut.runningJobs.map(formatRef), ['Job.batch/shop/import-123']);
    assert.ok(planned('held'), 'a suspended Job is copied: it stays suspended');
    assert.match(reasonOf('billing-29000') ?? '', /owned by CronJob\/billing/);
  });

  it('keeps non-controller owners that are copied, by key, to be rewritten to their UIDs in B', () => {
    assert.deepEqual(planned('owned')!.owners, [
      {
        key: 'ConfigMap/shop/owner',
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'owner',
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(planned('owned')!.object.metadata.ownerReferences, undefined, "A's UIDs never reach B");
    assert.equal(
      planned('stale-owner')!.owners,
      undefined,
      'a reference to another object of the same name is dropped',
    );
    assert.equal(planned('owner-not-copied')!.owners, undefined);
  });

  it('leaves nothing out when there are no volumes and no running Jobs', () => {
    const quiet = plan(
      { namespaces: ['shop'] },
      [],
      false,
      source.filter((x) => x.metadata.name !== 'import-123'),
    );
    assert.deepEqual(quiet.leftOut, { volumes: [], runningJobs: [] });
  });
});

describe('planMigration: volumes whose data stays in A', () => {
  const claim = (
    name: string,
    spec: Record<string, unknown>,
    status: Record<string, unknown> = {},
    meta: Record<string, unknown> = {},
  ) =>
    o(
      'v1',
      'PersistentVolumeClaim',
      name,
      'shop',
      { spec: { resources: { requests: { storage: '10Gi' } }, ...spec }, status },
      meta,
    );
  const source = [
    o('v1', 'Namespace', 'shop'),
    o('apps/v1', 'StatefulSet', 'pg', 'shop', {
      spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
    }),
    claim('data-pg-0', { volumeName: 'pvc-0' }, { phase: 'Bound', capacity: { storage: '50Gi' } }),
    claim('data-pg-1', { volumeName: 'pvc-1' }, { phase: 'Bound', capacity: { storage: '50Gi' } }),
    claim('uploads', { volumeName: 'pvc-2' }, { phase: 'Bound' }),
    claim('never-bound', {}, { phase: 'Pending' }),
    claim('on-nfs', { volumeName: 'nfs-share' }, { phase: 'Bound' }),
    o(
      'v1',
      'PersistentVolume',
      'pvc-0',
      undefined,
      { spec: { claimRef: { namespace: 'shop', name: 'data-pg-0' } } },
      { annotations: { 'pv.kubernetes.io/provisioned-by': 'ebs' } },
    ),
    o(
      'v1',
      'PersistentVolume',
      'pvc-2',
      undefined,
      { spec: { claimRef: { namespace: 'shop', name: 'uploads' } } },
      { annotations: { 'pv.kubernetes.io/provisioned-by': 'ebs' } },
    ),
    o(
      'v1',
      'PersistentVolume',
      'released',
      undefined,
      { spec: { capacity: { storage: '5Gi' }, claimRef: { namespace: 'shop', name: 'old' } } },
      { annotations: { 'pv.kubernetes.io/provisioned-by': 'ebs' } },
    ),
    o('v1', 'PersistentVolume', 'nfs-share', undefined, { spec: { nfs: { server: 'nfs', path: '/x' } } }),
  ];

  it('counts bound claims copied without their volume and the StatefulSet claims, not unbound claims or claims on copied volumes', () => {
    const p = plan({ namespaces: ['shop'] }, [], false, source);
    assert.deepEqual(
      p.leftOut.volumes.map((v) => `${formatRef(v.ref)} ${v.size ?? '-'}: ${v.reason}`),
      [
        'PersistentVolumeClaim/shop/data-pg-0 50Gi: StatefulSet pg creates it empty in B',
        'PersistentVolumeClaim/shop/data-pg-1 50Gi: StatefulSet pg creates it empty in B',
        'PersistentVolumeClaim/shop/uploads 10Gi: copied claim: B provisions an empty volume',
      ],
    );
  });

  it('counts dynamically provisioned volumes without a counted claim when the whole cluster is copied', () => {
    const p = plan({}, [], false, source);
    assert.ok(
      p.leftOut.volumes.some((v) => formatRef(v.ref) === 'PersistentVolume/released' && v.size === '5Gi'),
    );
    assert.ok(
      !p.leftOut.volumes.some((v) => formatRef(v.ref) === 'PersistentVolume/pvc-0'),
      'counted once, as its claim',
    );
  });
});

describe('planMigration: --app, a stack across namespaces', () => {
  const app = (name: string) => ({ labels: { 'capstan.dev/app': name } });
  const partOf = (name: string) => ({ labels: { 'app.kubernetes.io/part-of': name } });
  const pod = (extra: Record<string, unknown>) => ({
    spec: {
      template: {
        spec: {
          serviceAccountName: 'web',
          imagePullSecrets: [{ name: 'pull' }],
          volumes: [
            { name: 'tls', secret: { secretName: 'tls' } },
            { name: 'cfg', configMap: { name: 'web-config' } },
          ],
          containers: [
            {
              name: 'web',
              env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'p' } } }],
              envFrom: [{ configMapRef: { name: 'env' } }],
            },
          ],
          ...extra,
        },
      },
    },
  });
  const source = [
    o('v1', 'Namespace', 'front'),
    o('v1', 'Namespace', 'back'),
    o('v1', 'Namespace', 'other'),
    o('apps/v1', 'Deployment', 'web', 'front', pod({}), app('shop')),
    o(
      'apps/v1',
      'Deployment',
      'api',
      'back',
      { spec: { template: { spec: { containers: [{ name: 'api' }] } } } },
      partOf('shop'),
    ),
    o('apps/v1', 'Deployment', 'blog', 'front', {}, app('blog')),
    o('v1', 'ServiceAccount', 'web', 'front', { imagePullSecrets: [{ name: 'sa-pull' }] }),
    o('v1', 'ServiceAccount', 'default', 'back', { imagePullSecrets: [{ name: 'registry' }] }),
    o('v1', 'ServiceAccount', 'blog', 'front'),
    ...['pull', 'tls', 'db', 'sa-pull', 'unused'].map((name) => o('v1', 'Secret', name, 'front')),
    o('v1', 'Secret', 'registry', 'back'),
    o('v1', 'ConfigMap', 'web-config', 'front'),
    o('v1', 'ConfigMap', 'env', 'front'),
    o('v1', 'ConfigMap', 'unrelated', 'front'),
    o(`${RBAC}/v1`, 'RoleBinding', 'web-reads', 'front', {
      roleRef: { kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'web' }],
    }),
    o(`${RBAC}/v1`, 'Role', 'reader', 'front'),
    o(`${RBAC}/v1`, 'RoleBinding', 'blog-reads', 'front', {
      roleRef: { kind: 'Role', name: 'blog-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'blog' }],
    }),
    o(`${RBAC}/v1`, 'Role', 'blog-reader', 'front'),
    o(`${RBAC}/v1`, 'ClusterRoleBinding', 'api-nodes', undefined, {
      roleRef: { kind: 'ClusterRole', name: 'node-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'back' }],
    }),
    o(`${RBAC}/v1`, 'ClusterRole', 'node-reader'),
    o(`${RBAC}/v1`, 'ClusterRole', 'unrelated'),
    o(
      'networking.k8s.io/v1',
      'Ingress',
      'web',
      'front',
      { spec: { tls: [{ secretName: 'tls' }] } },
      app('shop'),
    ),
  ];

  it('copies the labelled objects of every namespace and what they use, nothing else', () => {
    const p = plan({ app: 'shop' }, [], false, source);
    assert.deepEqual(refs(p).sort(), [
      'ClusterRole.rbac.authorization.k8s.io/node-reader',
      'ClusterRoleBinding.rbac.authorization.k8s.io/api-nodes',
      'ConfigMap/front/env',
      'ConfigMap/front/web-config',
      'Deployment.apps/back/api',
      'Deployment.apps/front/web',
      'Ingress.networking.k8s.io/front/web',
      'Namespace/back',
      'Namespace/front',
      'Role.rbac.authorization.k8s.io/front/reader',
      'RoleBinding.rbac.authorization.k8s.io/front/web-reads',
      'Secret/back/registry',
      'Secret/front/db',
      'Secret/front/pull',
      'Secret/front/sa-pull',
      'Secret/front/tls',
      'ServiceAccount/back/default',
      'ServiceAccount/front/web',
    ]);
  });

  it('judges extra objects in B by the labels only', () => {
    const p = plan({ app: 'shop' }, [], false, source);
    assert.ok(p.objects.length > 0);
    const selection = selectKinds(chooseKinds(served(true), served(false), new Set()).chosen, {
      app: 'shop',
    });
    const inScope = scopePredicate({ app: 'shop' }, selection);
    assert.equal(inScope(o('v1', 'ConfigMap', 'x', 'anywhere', {}, partOf('shop'))), true);
    assert.equal(inScope(o('v1', 'ConfigMap', 'x', 'front')), false);
  });
});
