// capstan migrate between two local clusters: the shared test cluster is A (read through an identity
// that cannot write), a second cluster started here is B. A realistic mix and a Capstan-deployed app
// are planned, copied, verified, copied again without changes, changed in A, and tampered with in B.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kubectl as kubectlOf, startCluster, stopCluster, type ClusterInfo } from '../cluster/cluster.js';
import { mintToken, OIDC_PREFIX, writeTokenKubeconfig } from '../cluster/identity.js';
import { capstan, capstanYaml, writeApp, type CliRun } from './cli-helpers.js';
import { getJson, kubectl, testCluster, waitFor } from './helpers.js';

const id = randomBytes(3).toString('hex');
const SHOP = `mig-shop-${id}`;
const APP = `mig-app-${id}`;
// Jobs, a claimed volume and owner references, copied on their own: B gets an empty volume here.
const JOBS = `mig-jobs-${id}`;
const CLASS = `mig-wffc-${id}`;
const VOLUME = `mig-pv-${id}`;
// An application stack over two namespaces, copied with --app.
const STACK = `mig-stack-${id}`;
const FRONT = `mig-front-${id}`;
const BACK = `mig-back-${id}`;
const GROUP = `mig${id}.capstan.test`;
const PASSWORD = `s3cr3t-${id}-in-A`;
const TAMPERED = `tampered-${id}-in-B`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
// Explicit nodePorts are cluster-wide: a random one keeps reruns and other tests out of the way.
const NODE_PORT = 30100 + (randomBytes(2).readUInt16BE() % 2600);

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.${GROUP} }
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { size: { type: integer, default: 1 }, color: { type: string } } }
`;

const workload = (
  kind: string,
  name: string,
  replicas: number,
  extra = '',
  podExtra = '',
) => `apiVersion: apps/v1
kind: ${kind}
metadata: { name: ${name}, namespace: ${SHOP} }
spec:
  replicas: ${replicas}${extra}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:${podExtra}
      containers: [{ name: ${name}, image: registry.example.com/shop/${name}:1.0, envFrom: [{ configMapRef: { name: web-config } }] }]
`;

const mix = [
  `apiVersion: v1
kind: Namespace
metadata: { name: ${SHOP}, labels: { team: shop } }`,
  `apiVersion: v1
kind: ResourceQuota
metadata: { name: compute, namespace: ${SHOP} }
spec: { hard: { pods: "20", requests.cpu: "4", requests.memory: 8Gi } }`,
  `apiVersion: v1
kind: LimitRange
metadata: { name: defaults, namespace: ${SHOP} }
spec: { limits: [{ type: Container, default: { cpu: 200m, memory: 128Mi }, defaultRequest: { cpu: 100m, memory: 64Mi } }] }`,
  `apiVersion: v1
kind: Secret
metadata: { name: registry, namespace: ${SHOP} }
type: kubernetes.io/dockerconfigjson
stringData: { .dockerconfigjson: '{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}' }`,
  `apiVersion: v1
kind: ServiceAccount
metadata: { name: default, namespace: ${SHOP} }
imagePullSecrets: [{ name: registry }]`,
  `apiVersion: v1
kind: ServiceAccount
metadata: { name: builder, namespace: ${SHOP} }
imagePullSecrets: [{ name: registry }]`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: config-reader, namespace: ${SHOP} }
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get, list] }]`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: builder-reads-config, namespace: ${SHOP} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: config-reader }
subjects: [{ kind: ServiceAccount, name: builder, namespace: ${SHOP} }]`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: ${SHOP}-widget-reader }
rules: [{ apiGroups: [${GROUP}], resources: [widgets], verbs: [get, list, watch] }]`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: ${SHOP}-builder-widgets }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${SHOP}-widget-reader }
subjects: [{ kind: ServiceAccount, name: builder, namespace: ${SHOP} }]`,
  `apiVersion: v1
kind: Secret
metadata: { name: db-credentials, namespace: ${SHOP} }
type: Opaque
stringData: { username: shop, password: ${PASSWORD} }`,
  `apiVersion: v1
kind: Secret
metadata: { name: web-tls, namespace: ${SHOP} }
type: kubernetes.io/tls
data: { tls.crt: ${b64('-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n')}, tls.key: ${b64('-----BEGIN PRIVATE KEY-----\nfake\n-----END PRIVATE KEY-----\n')} }`,
  `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config, namespace: ${SHOP} }
data: { GREETING: hello, LOG_LEVEL: info }`,
  workload('Deployment', 'web', 2, '', '\n      serviceAccountName: builder'),
  workload('Deployment', 'worker', 1),
  workload('StatefulSet', 'db', 2, '\n  serviceName: db'),
  `apiVersion: v1
kind: Service
metadata: { name: db, namespace: ${SHOP} }
spec: { clusterIP: None, selector: { app: db }, ports: [{ name: pg, port: 5432 }] }`,
  `apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${SHOP} }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }] }`,
  `apiVersion: v1
kind: Service
metadata: { name: web-nodeport, namespace: ${SHOP} }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }, { name: admin, port: 81, targetPort: 8080, nodePort: ${NODE_PORT} }]`,
  `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly, namespace: ${SHOP} }
spec:
  schedule: "0 3 * * *"
  jobTemplate: { spec: { template: { spec: { restartPolicy: Never, containers: [{ name: report, image: registry.example.com/shop/report:1.0 }] } } } }`,
  `apiVersion: batch/v1
kind: CronJob
metadata: { name: paused, namespace: ${SHOP} }
spec:
  schedule: "0 4 * * *"
  suspend: true
  jobTemplate: { spec: { template: { spec: { restartPolicy: Never, containers: [{ name: report, image: registry.example.com/shop/report:1.0 }] } } } }`,
  `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: ${SHOP} }
spec:
  tls: [{ hosts: [shop.example.com], secretName: web-tls }]
  rules: [{ host: shop.example.com, http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] } }]`,
  `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web, namespace: ${SHOP} }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 2
  maxReplicas: 5
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } } }]`,
  `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web, namespace: ${SHOP} }
spec: { minAvailable: 1, selector: { matchLabels: { app: web } } }`,
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-from-web, namespace: ${SHOP} }
spec: { podSelector: { matchLabels: { app: db } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: web } } }], ports: [{ port: 5432 }] }] }`,
  `apiVersion: ${GROUP}/v1
kind: Widget
metadata: { name: blue, namespace: ${SHOP} }
spec: { size: 3, color: blue }`,
  `apiVersion: ${GROUP}/v1
kind: Widget
metadata: { name: plain, namespace: ${SHOP} }
spec: { color: grey }`,
].join('\n---\n');

// A class nothing provisions: claims wait for a consumer in B, which health accepts.
const storageClass = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: ${CLASS} }
provisioner: example.com/none
volumeBindingMode: WaitForFirstConsumer`;

const jobPod = (labels = '') =>
  `{ metadata: { labels: { job: x${labels} } }, spec: { restartPolicy: Never, containers: [{ name: run, image: registry.example.com/shop/import:1.0 }] } }`;
const jobsMix = [
  `apiVersion: v1
kind: Namespace
metadata: { name: ${JOBS} }`,
  storageClass,
  // As a provisioner leaves it: annotated, pre-bound to its claim.
  `apiVersion: v1
kind: PersistentVolume
metadata: { name: ${VOLUME}, annotations: { pv.kubernetes.io/provisioned-by: example.com/none } }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  storageClassName: ${CLASS}
  hostPath: { path: /tmp/${VOLUME} }
  claimRef: { namespace: ${JOBS}, name: uploads }`,
  `apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: uploads, namespace: ${JOBS} }
spec: { accessModes: [ReadWriteOnce], storageClassName: ${CLASS}, volumeName: ${VOLUME}, resources: { requests: { storage: 1Gi } } }`,
  `apiVersion: batch/v1
kind: Job
metadata: { name: import-123, namespace: ${JOBS} }
spec: { backoffLimit: 0, template: ${jobPod(', capstan.test/scenario: not-ready')} }`,
  `apiVersion: batch/v1
kind: Job
metadata: { name: import-100, namespace: ${JOBS} }
spec: { backoffLimit: 0, template: ${jobPod()} }`,
  `apiVersion: v1
kind: ConfigMap
metadata: { name: owner, namespace: ${JOBS} }
data: { role: owner }`,
].join('\n---\n');

const stack = [
  `apiVersion: v1
kind: Namespace
metadata: { name: ${FRONT} }`,
  `apiVersion: v1
kind: Namespace
metadata: { name: ${BACK} }`,
  `apiVersion: v1
kind: ServiceAccount
metadata: { name: web-sa, namespace: ${FRONT} }`,
  `apiVersion: v1
kind: Secret
metadata: { name: web-secret, namespace: ${FRONT} }
stringData: { TOKEN: t }`,
  `apiVersion: v1
kind: ConfigMap
metadata: { name: not-in-stack, namespace: ${FRONT} }
data: { x: "1" }`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: web-reader, namespace: ${FRONT} }
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get] }]`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: web-reads, namespace: ${FRONT} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: web-reader }
subjects: [{ kind: ServiceAccount, name: web-sa, namespace: ${FRONT} }]`,
  `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${FRONT}, labels: { capstan.dev/app: ${STACK} } }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { serviceAccountName: web-sa, containers: [{ name: web, image: registry.example.com/web:1, envFrom: [{ secretRef: { name: web-secret } }] }] }`,
  `apiVersion: v1
kind: ConfigMap
metadata: { name: api-config, namespace: ${BACK}, labels: { app.kubernetes.io/part-of: ${STACK} } }
data: { MODE: live }`,
].join('\n---\n');

const appFiles = {
  '.deploy/capstan.yaml': capstanYaml('storefront', APP),
  '.deploy/test/10-configuration/config.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: storefront-config }\ndata: { MODE: live }\n',
  '.deploy/test/30-deployment/web.yaml.ejs': `apiVersion: apps/v1
kind: Deployment
metadata: { name: storefront }
spec:
  replicas: 2
  selector: { matchLabels: { app: storefront } }
  template:
    metadata: { labels: { app: storefront } }
    spec: { containers: [{ name: web, image: <%= image %>, envFrom: [{ configMapRef: { name: storefront-config } }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: storefront }
spec: { selector: { app: storefront }, ports: [{ port: 80, targetPort: 8080 }] }
`,
};

// CAPSTAN_TEST_CLUSTER_B names the second cluster (one name per person or branch on a shared machine).
const bName = process.env.CAPSTAN_TEST_CLUSTER_B ?? `migrate-b-${process.pid}`;
let b: ClusterInfo;
let starting: Promise<ClusterInfo> | undefined;
const inB = (args: string[], input?: string) => kubectlOf(b, args, input);
const jsonInB = async <T = Record<string, any>>(args: string[]): Promise<T> =>
  JSON.parse(await inB([...args, '-o', 'json'])) as T;

function migrateJobs(...args: string[]): Promise<CliRun> {
  return capstan([
    'migrate',
    '--from-kubeconfig',
    testCluster().readOnlyKubeconfig,
    '--to-kubeconfig',
    b.kubeconfig,
    '-n',
    JOBS,
    '--health-timeout',
    '90s',
    ...args,
  ]);
}

function migrate(...args: string[]): Promise<CliRun> {
  const a = testCluster();
  return capstan([
    'migrate',
    '--from-kubeconfig',
    a.readOnlyKubeconfig,
    '--to-kubeconfig',
    b.kubeconfig,
    '-n',
    SHOP,
    '-n',
    APP,
    '--health-timeout',
    '90s',
    ...args,
  ]);
}
const eventOf = (run: CliRun, type: string) => run.events.find((e) => e.type === type) as Record<string, any>;
const refText = (r: any) => `${r.kind}/${r.namespace ?? ''}/${r.name}`;

describe('capstan migrate', { timeout: 480_000 }, () => {
  before(async () => {
    // B starts while A is populated.
    starting = startCluster({ name: bName, binDir: testCluster().binDir });
    starting.catch(() => {});
    await kubectl(['apply', '-f', '-'], crd);
    await kubectl(['wait', '--for=condition=Established', `crd/widgets.${GROUP}`, '--timeout=60s']);
    await kubectl(['apply', '-f', '-'], mix);
    await kubectl(['create', 'job', '--from=cronjob/nightly', 'nightly-manual', '-n', SHOP]);
    await kubectl(['apply', '-f', '-'], stack);
    await kubectl(['apply', '-f', '-'], jobsMix);
    const owner = await getJson(['get', 'configmap', 'owner', '-n', JOBS]);
    const ownerRef = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid };
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'owned', namespace: JOBS, ownerReferences: [ownerRef] },
        data: { role: 'owned' },
      }),
    );
    await kubectl(['wait', '--for=condition=Complete', `job/import-100`, '-n', JOBS, '--timeout=60s']);
    const app = writeApp(appFiles);
    try {
      const deployed = await capstan(
        ['deploy', 'test', '--image', 'example.com/storefront:1', '--timeout', '2m'],
        { cwd: app.dir },
      );
      assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    } finally {
      app.cleanup();
    }
    await waitFor('the mix to run in A', 90_000, async () => {
      const web = await getJson(['get', 'deployment', 'web', '-n', SHOP]);
      return web.status?.availableReplicas === 2;
    });
    b = await starting;
    await inB(['apply', '-f', '-'], storageClass);
  });

  after(async () => {
    try {
      await kubectl([
        'delete',
        'namespace',
        SHOP,
        APP,
        JOBS,
        FRONT,
        BACK,
        '--wait=false',
        '--ignore-not-found',
      ]);
      await kubectl([
        'delete',
        `pv/${VOLUME}`,
        `storageclass/${CLASS}`,
        '--wait=false',
        '--ignore-not-found',
      ]);
      await kubectl([
        'delete',
        `crd/widgets.${GROUP}`,
        `clusterrole/${SHOP}-widget-reader`,
        `clusterrolebinding/${SHOP}-builder-widgets`,
        '--wait=false',
        '--ignore-not-found',
      ]);
    } finally {
      await starting?.catch(() => undefined);
      await stopCluster(bName);
    }
  });

  it('--dry-run prints counts per kind and every skipped object with its reason, and changes nothing', async () => {
    const run = await migrate('--dry-run', '-o', 'json');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const plan = eventOf(run, 'plan');
    const count = (kind: string) => plan.counts.find((c: any) => c.kind === kind)?.planned;
    assert.equal(count('Deployment.apps'), 3);
    assert.equal(count('StatefulSet.apps'), 1);
    assert.equal(count('Secret'), 4, 'three Secrets and the release record of the deployed app');
    assert.equal(count('CustomResourceDefinition.apiextensions.k8s.io'), 1);
    assert.equal(count(`Widget.${GROUP}`), 2);
    const skipped = new Map<string, string>(plan.skipped.map((s: any) => [refText(s.ref), s.reason]));
    assert.match(skipped.get(`ConfigMap/${SHOP}/kube-root-ca.crt`)!, /every namespace/);
    assert.match(skipped.get(`Job/${SHOP}/nightly-manual`)!, /owned by CronJob\/nightly/);
    assert.match(skipped.get(`Endpoints/${SHOP}/web`)!, /endpoints controller/);
    assert.ok(
      [...skipped].some(
        ([ref, reason]) => ref.startsWith('ReplicaSet/') && /owned by Deployment/.test(reason),
      ),
    );
    assert.ok([...skipped].some(([ref, reason]) => ref.startsWith('Pod/') && /owned by/.test(reason)));
    assert.ok(
      plan.skippedKinds.some((k: any) => k.kind === 'Lease' && /leader-election/.test(k.reason)),
      'the deploy lock is not copied',
    );
    await assert.rejects(inB(['get', 'namespace', SHOP]), /NotFound|not found/);

    const human = await migrate('--dry-run', '--exclude-kinds', 'customresourcedefinitions');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /KIND\s+COPY\s+IN B\s+SKIPPED/);
    assert.match(
      human.stdout,
      new RegExp(`ConfigMap/${SHOP}/kube-root-ca.crt: published in every namespace`),
    );
    assert.match(
      human.stdout,
      new RegExp(`unsupported: Widget.${GROUP.replace(/\./g, '\\.')} \\(2 objects\\)`),
    );
  });

  it('--verify-only before any copy reports every object missing and exits non-zero', async () => {
    const run = await migrate('--verify-only', '-o', 'json');
    assert.equal(run.code, 1, run.stderr);
    const verified = eventOf(run, 'verify-finished');
    assert.equal(verified.ok, false);
    assert.equal(verified.missing.length, eventOf(run, 'plan').total);
  });

  it('copies everything with a read-only identity in A; verification passes and workloads become available in B', async () => {
    const run = await migrate('-o', 'json');
    assert.equal(
      run.code,
      0,
      run.stdout
        .split('\n')
        .filter((l) => /failed|verify-finished|warning/.test(l))
        .join('\n') + run.stderr,
    );
    const applied = eventOf(run, 'apply-finished');
    assert.equal(applied.failed, 0);
    assert.equal(applied.created, eventOf(run, 'plan').total);
    assert.equal(eventOf(run, 'verify-finished').ok, true);
    assert.equal(eventOf(run, 'verify-finished').complete, true, 'no volume or running Job left out');
    assert.equal(eventOf(run, 'migrate-finished').outcome, 'succeeded');

    for (const [kind, name, ns] of [
      ['deployment', 'web', SHOP],
      ['deployment', 'worker', SHOP],
      ['deployment', 'storefront', APP],
    ] as const) {
      const live = await jsonInB(['get', kind, name, '-n', ns]);
      assert.equal(live.status.availableReplicas, live.spec.replicas, `${kind}/${name} available in B`);
    }
    assert.equal((await jsonInB(['get', 'statefulset', 'db', '-n', SHOP])).status.readyReplicas, 2);
    const secret = await jsonInB(['get', 'secret', 'db-credentials', '-n', SHOP]);
    assert.equal(secret.data.password, b64(PASSWORD));
    const nodePort = await jsonInB(['get', 'service', 'web-nodeport', '-n', SHOP]);
    assert.equal(
      nodePort.spec.ports.find((p: any) => p.name === 'admin').nodePort,
      NODE_PORT,
      'an explicit nodePort is kept',
    );
    assert.match(nodePort.spec.clusterIP, /^10\.96\./, 'B allocated its own cluster IP');
    assert.deepEqual((await jsonInB(['get', 'serviceaccount', 'default', '-n', SHOP])).imagePullSecrets, [
      { name: 'registry' },
    ]);
    assert.equal((await jsonInB(['get', `widgets.${GROUP}`, 'plain', '-n', SHOP])).spec.size, 1);
    const storefront = await jsonInB(['get', 'deployment', 'storefront', '-n', APP]);
    assert.equal(storefront.metadata.labels['app.kubernetes.io/managed-by'], 'capstan');
    // Nothing was written to A: no object there has the migration as a field manager.
    const inA = await kubectl([
      'get',
      'all,configmaps,secrets,serviceaccounts',
      '-n',
      SHOP,
      '-o',
      'json',
      '--show-managed-fields',
    ]);
    assert.ok(!inA.includes('capstan-migrate'));
  });

  it("creates CronJobs suspended in B, marks the ones that run in A, and leaves A's running", async () => {
    const nightly = await jsonInB(['get', 'cronjob', 'nightly', '-n', SHOP]);
    assert.equal(nightly.spec.suspend, true);
    assert.equal(nightly.metadata.annotations?.['capstan.dev/suspended-by-migrate'], 'false');
    const paused = await jsonInB(['get', 'cronjob', 'paused', '-n', SHOP]);
    assert.equal(paused.spec.suspend, true);
    assert.equal(
      paused.metadata.annotations?.['capstan.dev/suspended-by-migrate'],
      undefined,
      'suspended in A: no cutover may resume it',
    );
    assert.notEqual(
      (await getJson(['get', 'cronjob', 'nightly', '-n', SHOP])).spec.suspend,
      true,
      "A's schedule still runs",
    );
    const human = await migrate('--verify-only');
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, /^verified: B matches A$/m);
    assert.doesNotMatch(human.stdout, /NOT copied/);
  });

  it('a second run reports no changes', async () => {
    const run = await migrate('-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const applied = eventOf(run, 'apply-finished');
    assert.deepEqual([applied.created, applied.changed, applied.failed], [0, 0, 0]);
    assert.equal(applied.unchanged, eventOf(run, 'plan').total);
  });

  it('a change in A reaches B with the next run', async () => {
    await kubectl([
      'patch',
      'configmap',
      'web-config',
      '-n',
      SHOP,
      '--type=merge',
      '-p',
      '{"data":{"GREETING":"hi"}}',
    ]);
    await kubectl([
      'set',
      'image',
      'deployment/worker',
      '-n',
      SHOP,
      'worker=registry.example.com/shop/worker:1.1',
    ]);
    const run = await migrate('-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const changed = run.events
      .filter((e) => e.type === 'object-applied' && e.action !== 'unchanged')
      .map((e) => refText(e.object))
      .sort();
    assert.deepEqual(changed, [`ConfigMap/${SHOP}/web-config`, `Deployment/${SHOP}/worker`]);
    assert.deepEqual((await jsonInB(['get', 'configmap', 'web-config', '-n', SHOP])).data, {
      GREETING: 'hi',
      LOG_LEVEL: 'info',
    });
    const worker = await jsonInB(['get', 'deployment', 'worker', '-n', SHOP]);
    assert.equal(worker.spec.template.spec.containers[0].image, 'registry.example.com/shop/worker:1.1');
  });

  it('--verify-only finds what differs in B and names Secret keys, never their values', async () => {
    await inB([
      'patch',
      'secret',
      'db-credentials',
      '-n',
      SHOP,
      '--type=merge',
      '-p',
      JSON.stringify({ stringData: { password: TAMPERED } }),
    ]);
    await inB(['delete', 'configmap', 'web-config', '-n', SHOP]);
    await inB(['create', 'configmap', 'only-in-b', '-n', SHOP, '--from-literal=x=1']);
    await inB(['scale', 'deployment', 'worker', '-n', SHOP, '--replicas=3']);
    for (const output of [['-o', 'json'], []]) {
      const run = await migrate('--verify-only', ...output);
      assert.equal(run.code, 1, run.stderr);
      for (const value of [PASSWORD, TAMPERED, b64(PASSWORD), b64(TAMPERED)])
        assert.ok(!run.stdout.includes(value), `printed ${value}`);
      if (output.length === 0) {
        assert.match(run.stdout, new RegExp(`different: Secret/${SHOP}/db-credentials: data.password`));
        assert.match(run.stdout, /verification failed: 4 differences/);
        continue;
      }
      const verified = eventOf(run, 'verify-finished');
      assert.deepEqual(verified.missing.map(refText), [`ConfigMap/${SHOP}/web-config`]);
      assert.deepEqual(verified.extra.map(refText), [`ConfigMap/${SHOP}/only-in-b`]);
      assert.deepEqual(verified.different.map((d: any) => `${refText(d.ref)} ${d.paths.join(',')}`).sort(), [
        `Deployment/${SHOP}/worker spec.replicas`,
        `Secret/${SHOP}/db-credentials data.password`,
      ]);
    }
  });

  it('lets capstan deploy to B afterwards, taking its fields back from the migration', async () => {
    const app = writeApp(appFiles);
    try {
      const deployed = await capstan(
        ['deploy', 'test', '--image', 'example.com/storefront:2', '--timeout', '2m'],
        { cwd: app.dir, kubeconfig: b.kubeconfig },
      );
      assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
      const storefront = await jsonInB(['get', 'deployment', 'storefront', '-n', APP]);
      assert.equal(storefront.spec.template.spec.containers[0].image, 'example.com/storefront:2');
    } finally {
      app.cleanup();
    }
  });

  it('leaves finished and running Jobs out, names the empty volumes, and verifies only with --allow-empty-volumes', async () => {
    const run = await migrateJobs('-o', 'json');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const verified = eventOf(run, 'verify-finished');
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(verified.complete, false);
    assert.deepEqual(
      verified.leftOut.volumes.map((v: any) => `${refText(v.ref)} ${v.size}`),
      [`PersistentVolumeClaim/${JOBS}/uploads 1Gi`],
    );
    assert.deepEqual(verified.leftOut.runningJobs.map(refText), [`Job/${JOBS}/import-123`]);
    const finished = eventOf(run, 'migrate-finished');
    assert.equal(finished.outcome, 'incomplete');
    assert.match(finished.message, /data NOT copied: 1 PersistentVolumeClaim .*--allow-empty-volumes/);
    for (const job of ['import-123', 'import-100'])
      await assert.rejects(
        inB(['get', 'job', job, '-n', JOBS]),
        /NotFound|not found/,
        `Job ${job} is not in B`,
      );
    const claim = await jsonInB(['get', 'pvc', 'uploads', '-n', JOBS]);
    assert.equal(claim.spec.volumeName, undefined, "B's claim gets a volume of its own");
    const [owner, owned] = await Promise.all([
      jsonInB(['get', 'configmap', 'owner', '-n', JOBS]),
      jsonInB(['get', 'configmap', 'owned', '-n', JOBS]),
    ]);
    assert.deepEqual(
      owned.metadata.ownerReferences.map((r: any) => `${r.kind}/${r.name} ${r.uid}`),
      [`ConfigMap/owner ${owner.metadata.uid}`],
      "the owner's UID in B",
    );

    const human = await migrateJobs();
    assert.equal(human.code, 1, human.stdout + human.stderr);
    assert.match(
      human.stdout,
      new RegExp(
        `^data NOT copied: 1 PersistentVolumeClaim \\(${JOBS}/uploads 1Gi\\), B has empty volumes$`,
        'm',
      ),
    );
    assert.match(
      human.stdout,
      new RegExp(`^not copied: 1 running Job ${JOBS}/import-123: it would run again in B$`, 'm'),
    );
    assert.doesNotMatch(human.stdout, /verified/);

    const allowed = await migrateJobs('--allow-empty-volumes');
    assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
    assert.match(
      allowed.stdout,
      /^verified: the \d+ copied objects in B match A; what is listed as not copied is not verified$/m,
    );
    assert.match(allowed.stdout, /^data NOT copied: 1 PersistentVolumeClaim/m);
    assert.doesNotMatch(allowed.stdout, /verified: B matches A/);
    const again = await jsonInB(['get', 'configmap', 'owned', '-n', JOBS]);
    assert.equal(again.metadata.ownerReferences[0].uid, owner.metadata.uid, 'a rerun keeps the reference');
  });

  it('--app copies a stack spanning two namespaces, with the account, RBAC and Secret it uses', async () => {
    const run = await capstan([
      'migrate',
      '--from-kubeconfig',
      testCluster().readOnlyKubeconfig,
      '--to-kubeconfig',
      b.kubeconfig,
      '--app',
      STACK,
      '--health-timeout',
      '90s',
      '-o',
      'json',
    ]);
    assert.equal(
      run.code,
      0,
      run.stdout
        .split('\n')
        .filter((l) => /failed|verify-finished|warning|migrate-finished/.test(l))
        .join('\n') + run.stderr,
    );
    const copied = run.events
      .filter((e) => e.type === 'object-applied')
      .map((e) => refText(e.object))
      .sort();
    assert.deepEqual(copied, [
      `ConfigMap/${BACK}/api-config`,
      `Deployment/${FRONT}/web`,
      `Namespace//${BACK}`,
      `Namespace//${FRONT}`,
      `Role/${FRONT}/web-reader`,
      `RoleBinding/${FRONT}/web-reads`,
      `Secret/${FRONT}/web-secret`,
      `ServiceAccount/${FRONT}/web-sa`,
    ]);
    assert.equal(eventOf(run, 'verify-finished').complete, true);
    await assert.rejects(inB(['get', 'configmap', 'not-in-stack', '-n', FRONT]), /NotFound|not found/);
    const web = await jsonInB(['get', 'deployment', 'web', '-n', FRONT]);
    assert.equal(web.status.availableReplicas, 1);
  });

  it('copies an app with OIDC identities on both sides: read-only in A, in B reads and the `capstan rbac` Role', async () => {
    const group = `mig-${id}`;
    const scratch = mkdtempSync(join(tmpdir(), 'capstan-mig-oidc-'));
    const app = writeApp(appFiles);
    try {
      // A: an OIDC group that may only read (capstan:reader), like the certificate reader.
      await kubectl([
        'create',
        'clusterrolebinding',
        `${group}-reader`,
        '--clusterrole=capstan:reader',
        `--group=${OIDC_PREFIX}${group}-readers`,
      ]);
      const readerToken = await mintToken(testCluster(), {
        email: `reader-${id}@example.com`,
        groups: [`${group}-readers`],
        lifetimeSeconds: 600,
      });
      const fromA = writeTokenKubeconfig(testCluster(), join(scratch, 'a.kubeconfig'), readerToken.id_token);
      // B: B's own issuer; the deployer group holds only what `capstan rbac` prints for the app.
      await inB(['create', 'namespace', APP]).catch(() => '');
      const rbac = await capstan(['rbac', 'test', '--subject', `group:${OIDC_PREFIX}${group}-deployers`], {
        cwd: app.dir,
        kubeconfig: b.kubeconfig,
      });
      assert.equal(rbac.code, 0, rbac.stderr);
      await inB(['apply', '-f', '-'], rbac.stdout);
      // The grant is the platform's, not the app's: left out of the copy and the comparison.
      // Comparing B with A reads every kind there: the deployer may read B, and write only what the Role allows.
      await inB([
        'create',
        'clusterrolebinding',
        `${group}-reader`,
        '--clusterrole=capstan:reader',
        `--group=${OIDC_PREFIX}${group}-deployers`,
      ]);
      const deployerToken = await mintToken(b, {
        email: `deployer-${id}@example.com`,
        groups: [`${group}-deployers`],
        lifetimeSeconds: 600,
      });
      const toB = writeTokenKubeconfig(b, join(scratch, 'b.kubeconfig'), deployerToken.id_token);
      // The deploy to B of an earlier test recorded a release A never had: B would differ by it.
      await inB([
        'delete',
        'secret',
        '-n',
        APP,
        '-l',
        'capstan.dev/release=true,capstan.dev/revision=2',
        '--ignore-not-found',
      ]);
      const run = await capstan([
        'migrate',
        '--from-kubeconfig',
        fromA,
        '--to-kubeconfig',
        toB,
        '-n',
        APP,
        '--exclude-kinds',
        'Namespace,Role,RoleBinding',
        '--health-timeout',
        '90s',
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.doesNotMatch(run.stdout + run.stderr, /cannot /);
      const storefront = await jsonInB(['get', 'deployment', 'storefront', '-n', APP]);
      assert.equal(storefront.spec.replicas, 2);
    } finally {
      app.cleanup();
      rmSync(scratch, { recursive: true, force: true });
      await kubectl(['delete', 'clusterrolebinding', `${group}-reader`, '--ignore-not-found']);
    }
  });
});
