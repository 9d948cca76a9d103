// The form of A's objects applied to B, kind by kind: server-set and per-cluster fields go, intent stays.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripForCopy, SUSPENDED_BY_MIGRATE } from '../../../src/migrate/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

const serverMeta = {
  uid: '6145de44-fd8d-4bfa-b2c8-ae80e8f638cd',
  resourceVersion: '653',
  generation: 4,
  creationTimestamp: '2026-11-21T21:59:44Z',
  selfLink: '/api/v1/x',
  generateName: 'web-',
  managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: {} }],
  ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u' }],
};

describe('stripForCopy: every kind', () => {
  const live: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'web-config',
      namespace: 'shop',
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', note: 'kept' },
      finalizers: ['kubernetes.io/pvc-protection', 'example.com/keep'],
      ...serverMeta,
    },
    data: { GREETING: 'hello' },
    status: { anything: true },
  };
  const stripped = stripForCopy(live);

  it('keeps only name, namespace, labels, annotations and user finalizers', () => {
    assert.deepEqual(stripped.metadata, {
      name: 'web-config',
      namespace: 'shop',
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', note: 'kept' },
      finalizers: ['example.com/keep'],
    });
  });
  it('drops status and keeps the content', () => {
    assert.equal(stripped.status, undefined);
    assert.deepEqual(stripped.data, { GREETING: 'hello' });
  });
  it('does not change its input', () => {
    assert.equal(live.metadata.uid, serverMeta.uid);
    assert.ok(live.status);
    stripped.data = {};
    assert.deepEqual(live.data, { GREETING: 'hello' });
  });
});

describe('stripForCopy: Service', () => {
  const service = (spec: Record<string, unknown>, fieldsV1: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'shop',
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1 }],
    },
    spec,
  });

  it('drops clusterIP and clusterIPs, and the allocated IP families', () => {
    const s = stripForCopy(
      service({
        clusterIP: '10.96.1.2',
        clusterIPs: ['10.96.1.2'],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        ports: [],
      }),
    );
    assert.deepEqual(s.spec, { ports: [] });
  });
  it('keeps a headless Service headless', () => {
    const s = stripForCopy(service({ clusterIP: 'None', clusterIPs: ['None'] }));
    assert.deepEqual(s.spec, { clusterIP: 'None', clusterIPs: ['None'] });
  });
  it('keeps nodePorts someone set and drops the allocated ones', () => {
    const owned = {
      'f:spec': {
        'f:ports': {
          'k:{"port":81,"protocol":"TCP"}': { 'f:nodePort': {} },
          'k:{"port":80,"protocol":"TCP"}': { 'f:port': {} },
        },
      },
    };
    const s = stripForCopy(
      service(
        {
          type: 'NodePort',
          ports: [
            { name: 'http', port: 80, protocol: 'TCP', nodePort: 31329 },
            { name: 'admin', port: 81, protocol: 'TCP', nodePort: 30081 },
          ],
        },
        owned,
      ),
    );
    assert.deepEqual(s.spec, {
      type: 'NodePort',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'admin', port: 81, protocol: 'TCP', nodePort: 30081 },
      ],
    });
  });
  it('keeps an IP family policy someone chose', () => {
    const s = stripForCopy(
      service(
        { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4'] },
        { 'f:spec': { 'f:ipFamilyPolicy': {} } },
      ),
    );
    assert.deepEqual(s.spec, { ipFamilyPolicy: 'PreferDualStack' });
  });
});

describe('stripForCopy: workloads', () => {
  it('drops the Deployment revision and embedded creationTimestamp: null, keeps restartedAt', () => {
    const s = stripForCopy({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', annotations: { 'deployment.kubernetes.io/revision': '3' } },
      spec: {
        template: {
          metadata: { creationTimestamp: null, annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } },
        },
      },
    });
    assert.equal(s.metadata.annotations, undefined);
    assert.deepEqual(s.spec, {
      template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } },
    });
  });

  it("drops a Job's generated selector and controller-uid labels, keeps job-name", () => {
    const uid = { 'batch.kubernetes.io/controller-uid': 'u1', 'controller-uid': 'u1' };
    const s = stripForCopy({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once', labels: { ...uid, 'job-name': 'once' } },
      spec: {
        selector: { matchLabels: uid },
        template: { metadata: { labels: { ...uid, 'job-name': 'once', app: 'x' } } },
      },
    });
    assert.deepEqual(s.metadata.labels, { 'job-name': 'once' });
    assert.deepEqual(s.spec, { template: { metadata: { labels: { 'job-name': 'once', app: 'x' } } } });
  });

  it('keeps the selector of a Job with manualSelector', () => {
    const s = stripForCopy({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { manualSelector: true, selector: { matchLabels: { a: 'b' } } },
    });
    assert.deepEqual(s.spec, { manualSelector: true, selector: { matchLabels: { a: 'b' } } });
  });

  it("drops the DaemonSet's template generation and a StatefulSet's claim template status", () => {
    const ds = stripForCopy({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'd', annotations: { 'deprecated.daemonset.template.generation': '2' } },
    });
    assert.equal(ds.metadata.annotations, undefined);
    const sts = stripForCopy({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        volumeClaimTemplates: [
          { metadata: { name: 'data', creationTimestamp: null }, spec: {}, status: { phase: 'Pending' } },
        ],
      },
    });
    assert.deepEqual(sts.spec, { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }] });
  });

  it('unbinds a bare Pod from its node and drops the injected token volume', () => {
    const s = stripForCopy({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { 'pod-template-hash': 'x', app: 'a' } },
      spec: {
        nodeName: 'node-1',
        priority: 100,
        priorityClassName: 'high',
        serviceAccount: 'default',
        serviceAccountName: 'default',
        volumes: [{ name: 'kube-api-access-abcde' }, { name: 'data' }],
        containers: [
          {
            name: 'c',
            volumeMounts: [
              { name: 'kube-api-access-abcde', mountPath: '/var/run' },
              { name: 'data', mountPath: '/data' },
            ],
          },
        ],
      },
    });
    assert.deepEqual(s.metadata.labels, { app: 'a' });
    assert.deepEqual(s.spec, {
      priorityClassName: 'high',
      serviceAccountName: 'default',
      volumes: [{ name: 'data' }],
      containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    });
  });
});

describe('stripForCopy: storage, accounts, namespaces', () => {
  it('drops binding annotations and the volume of a claim unless the volume is copied', () => {
    const claim: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data',
        annotations: { 'pv.kubernetes.io/bind-completed': 'yes', 'volume.kubernetes.io/selected-node': 'n1' },
      },
      spec: { volumeName: 'pv-1', storageClassName: 'fast' },
    };
    assert.deepEqual(stripForCopy(claim).spec, { storageClassName: 'fast' });
    assert.equal(stripForCopy(claim).metadata.annotations, undefined);
    assert.deepEqual(stripForCopy(claim, { copiedVolumes: new Set(['pv-1']) }).spec, {
      volumeName: 'pv-1',
      storageClassName: 'fast',
    });
  });

  it("drops a static volume's claim uid and resourceVersion", () => {
    const s = stripForCopy({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-1' },
      spec: { claimRef: { name: 'data', namespace: 'shop', uid: 'u', resourceVersion: '1' } },
    });
    assert.deepEqual(s.spec, { claimRef: { name: 'data', namespace: 'shop' } });
  });

  it('drops token Secret references of a ServiceAccount', () => {
    const s = stripForCopy({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'ci' },
      secrets: [{ name: 'ci-token-abcde' }, { name: 'extra' }],
      imagePullSecrets: [{ name: 'r' }],
    });
    assert.deepEqual(s.secrets, [{ name: 'extra' }]);
    assert.deepEqual(s.imagePullSecrets, [{ name: 'r' }]);
  });

  it("leaves a hand-made token Secret for B's controller to fill", () => {
    const s = stripForCopy({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name: 'ci-long',
        annotations: { 'kubernetes.io/service-account.name': 'ci', 'kubernetes.io/service-account.uid': 'u' },
        labels: { 'kubernetes.io/legacy-token-last-used': '2026-01-01' },
      },
      data: { token: 'dG9r', 'ca.crt': 'Y2E=', namespace: 'c2hvcA==', extra: 'eA==' },
    });
    assert.deepEqual(s.metadata, {
      name: 'ci-long',
      annotations: { 'kubernetes.io/service-account.name': 'ci' },
    });
    assert.deepEqual(s.data, { extra: 'eA==' });
  });

  it("drops a Namespace's spec and its automatic name label", () => {
    const s = stripForCopy({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'a' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    assert.deepEqual(s, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { team: 'a' } },
    });
  });

  it('drops the rules of an aggregated ClusterRole (the controller fills them)', () => {
    const s = stripForCopy({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'r' },
      aggregationRule: { clusterRoleSelectors: [] },
      rules: [{ verbs: ['get'] }],
    });
    assert.equal(s.rules, undefined);
  });
});

describe('stripForCopy: CronJobs in B', () => {
  const cron = (spec: Record<string, unknown>, annotations?: Record<string, string>): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'billing', namespace: 'shop', ...(annotations ? { annotations } : {}) },
    spec: {
      schedule: '0 3 * * *',
      jobTemplate: { spec: { template: { spec: { containers: [] } } } },
      ...spec,
    },
  });

  it('suspends a running CronJob and marks it with its suspend state in A', () => {
    for (const spec of [{}, { suspend: false }]) {
      const b = stripForCopy(cron(spec, { note: 'kept' }), { suspendCronJobs: true });
      assert.equal((b.spec as { suspend?: boolean }).suspend, true);
      assert.deepEqual(b.metadata.annotations, { note: 'kept', [SUSPENDED_BY_MIGRATE]: 'false' });
    }
  });

  it('keeps a CronJob suspended in A suspended and unmarked, so that no cutover resumes it', () => {
    const b = stripForCopy(cron({ suspend: true }, { [SUSPENDED_BY_MIGRATE]: 'false' }), {
      suspendCronJobs: true,
    });
    assert.equal((b.spec as { suspend?: boolean }).suspend, true);
    assert.equal(b.metadata.annotations, undefined);
  });

  it('leaves CronJobs as they are when only comparing', () => {
    const b = stripForCopy(cron({}));
    assert.equal((b.spec as { suspend?: boolean }).suspend, undefined);
    assert.equal(b.metadata.annotations, undefined);
  });
});
