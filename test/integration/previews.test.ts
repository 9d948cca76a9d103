// capstan preview against the real control plane: two branches (one with slashes, capitals and
// punctuation, one 140 characters long) deploy to two stable DNS-safe namespaces with a quota, a
// LimitRange and their hosts; a redeploy reuses the namespace and moves the expiry; list shows
// both; after the ttl, gc deletes the expired one (namespace gone) and keeps the fresh one and a
// look-alike namespace it did not create; delete waits until the namespace is gone and names the
// finalizer that holds it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { previewNames } from '../../src/previews/index.js';
import { capstan, writeApp } from './cli-helpers.js';
import { getJson, kubectl, waitFor } from './helpers.js';

const TTL_S = 40;
const HOST = '{slug}.preview.example.test';
const BRANCH_A = 'Feature/JIRA-1234_Add “Checkout” flow!';
const BRANCH_B = `renovate/${'very-long-dependency-name-'.repeat(6)}`.slice(0, 140);

function tree(app: string): Record<string, string> {
  return {
    '.deploy/capstan.yaml': [
      `app: ${app}`,
      'image: registry.example.com/shop:1.0.0',
      'values:',
      '  replicas: 2',
      'environments:',
      '  staging:',
      `    namespace: ${app}-staging`,
      'previews:',
      '  from: staging',
      `  host: "${HOST}"`,
      `  ttl: ${TTL_S}s`,
      '  quota:',
      '    requests.cpu: "2"',
      '    limits.memory: 2Gi',
      '    pods: 10',
      '  values:',
      '    replicas: 1',
      '  protect:',
      '    ingress: nginx',
      '',
    ].join('\n'),
    '.deploy/staging/10-config/settings.yaml.ejs': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: settings',
      'data:',
      "  branch: <%- JSON.stringify(preview ? preview.branch : 'none') %>",
      "  host: <%- JSON.stringify(preview ? preview.host : 'shop.example.test') %>",
      '',
    ].join('\n'),
    // The environment's own cluster-scoped object: a preview leaves it out and never prunes it.
    '.deploy/staging/05-rbac/reader.yaml': [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      `metadata: { name: ${app}-reader }`,
      'rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get] }]',
      '',
    ].join('\n'),
    '.deploy/staging/20-web/web.yaml.ejs': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  replicas: <%= values.replicas %>',
      '  selector: { matchLabels: { app: web } }',
      '  template:',
      '    metadata: { labels: { app: web } }',
      '    spec:',
      '      containers:',
      '        - name: web',
      '          image: <%= image %>',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: { name: web }',
      'spec:',
      '  selector: { app: web }',
      '  ports: [{ port: 80 }]',
      '---',
      'apiVersion: networking.k8s.io/v1',
      'kind: Ingress',
      'metadata: { name: web }',
      'spec:',
      '  rules:',
      "    - host: <%= preview ? preview.host : 'shop.example.test' %>",
      '      http:',
      '        paths:',
      '          - path: /',
      '            pathType: Prefix',
      '            backend: { service: { name: web, port: { number: 80 } } }',
      '',
    ].join('\n'),
  };
}

async function namespaceOf(name: string): Promise<Record<string, any> | undefined> {
  try {
    return await getJson(['get', 'namespace', name]);
  } catch {
    return undefined;
  }
}

describe('capstan preview', () => {
  const app = `pv${randomBytes(2).toString('hex')}`;
  const files = tree(app);
  const { dir, cleanup } = writeApp(files);
  const a = previewNames(app, BRANCH_A, HOST);
  const b = previewNames(app, BRANCH_B, HOST);
  const lookAlike = `${app}-look-alike`;
  const deployed: Record<string, Record<string, any>> = {};

  before(async () => {
    const staging = await capstan(['deploy', 'staging', '-o', 'json'], { cwd: dir });
    assert.equal(staging.code, 0, staging.stdout + staging.stderr);
    // Labelled like a preview of this app, expired by its annotation, but not made by capstan preview.
    await kubectl(['create', 'namespace', lookAlike]);
    await kubectl([
      'label',
      'namespace',
      lookAlike,
      `capstan.dev/preview=look-alike`,
      `capstan.dev/app=${app}`,
    ]);
    await kubectl([
      'annotate',
      'namespace',
      lookAlike,
      'capstan.dev/preview-expires-at=2020-01-01T00:00:00Z',
    ]);
  });

  const clusterRoleKept = async () => {
    const role = await getJson(['get', 'clusterrole', `${app}-reader`]);
    assert.equal(role.metadata.labels['capstan.dev/env'], 'staging');
  };

  after(async () => {
    await kubectl(['delete', 'clusterrole', `${app}-reader`, '--ignore-not-found']).catch(() => {});
    for (const ns of [a.namespace, b.namespace, lookAlike, `${app}-staging`])
      await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']).catch(() => {});
    cleanup();
  });

  const deploy = async (branch: string, extra: string[] = []) => {
    const run = await capstan(['preview', 'deploy', '--branch', branch, '-o', 'json', ...extra], {
      cwd: dir,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const ready = run.events.find((e) => e.type === 'preview-ready');
    assert.ok(ready, 'a preview-ready event');
    return { run, ready };
  };

  it('deploys two branches to stable DNS-safe namespaces with a quota, limits, hosts and protection', async () => {
    for (const [branch, names] of [
      [BRANCH_A, a],
      [BRANCH_B, b],
    ] as const) {
      const { run, ready } = await deploy(branch);
      assert.equal(ready.namespace, names.namespace);
      assert.ok(
        run.events.some(
          (e) =>
            e.type === 'warning' &&
            /ClusterRole .*-reader is cluster-scoped: left out of the preview/.test(e.message),
        ),
      );
      // The first deploy of a preview has no history: its prune must still leave staging's ClusterRole.
      await clusterRoleKept();
      assert.equal(ready.url, `https://${names.host}`);
      assert.ok(names.namespace.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(names.namespace));
      assert.ok(Buffer.byteLength(names.host) <= 64, names.host);
      // The generated password is printed once, on the first deploy, and never in the JSON events.
      assert.match(run.stderr, /preview basic auth: user preview, password [A-Za-z0-9]{24}\n/);
      const password = /password ([A-Za-z0-9]{24})/.exec(run.stderr)![1];
      assert.ok(!run.stdout.includes(password));

      const ns = (await namespaceOf(names.namespace))!;
      assert.equal(ns.metadata.labels['capstan.dev/preview'], names.slug);
      assert.equal(ns.metadata.labels['capstan.dev/app'], app);
      assert.equal(ns.metadata.annotations['capstan.dev/preview-branch'], branch);
      assert.equal(ns.metadata.annotations['capstan.dev/preview-expires-at'], ready.expiresAt);
      deployed[branch] = ns;

      const quota = await getJson(['get', 'resourcequota', 'capstan-preview', '-n', names.namespace]);
      assert.equal(quota.spec.hard['requests.cpu'], '2');
      await getJson(['get', 'limitrange', 'capstan-preview', '-n', names.namespace]);
      // Pods name no requests: the LimitRange's defaults let them into the quota.
      const web = await getJson(['get', 'deployment', 'web', '-n', names.namespace]);
      assert.equal(web.status.readyReplicas, 1);
      const ingress = await getJson(['get', 'ingress', 'web', '-n', names.namespace]);
      assert.equal(ingress.spec.rules[0].host, names.host);
      assert.equal(ingress.metadata.annotations['nginx.ingress.kubernetes.io/auth-type'], 'basic');
      assert.equal(
        ingress.metadata.annotations['nginx.ingress.kubernetes.io/auth-secret'],
        'capstan-preview-auth',
      );
      const auth = await getJson(['get', 'secret', 'capstan-preview-auth', '-n', names.namespace]);
      assert.match(Buffer.from(auth.data.auth, 'base64').toString(), /^preview:\{SHA\}/);
      const settings = await getJson(['get', 'configmap', 'settings', '-n', names.namespace]);
      assert.equal(settings.data.branch, branch);
    }
    assert.notEqual(a.namespace, b.namespace);
  });

  it('a redeploy of the same branch reuses its namespace and moves its expiry; list shows both', async () => {
    // B must expire well before A does: A is deployed again at least 15 s after B.
    const bDeployed = Date.parse(deployed[BRANCH_B].metadata.annotations['capstan.dev/preview-last-deploy']);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, bDeployed + 15_000 - Date.now())));
    const before = deployed[BRANCH_A].metadata;
    const { run, ready } = await deploy(BRANCH_A);
    assert.equal(ready.namespace, a.namespace);
    assert.doesNotMatch(run.stderr, /password/, 'the password is shown once only');
    const ns = (await namespaceOf(a.namespace))!;
    assert.equal(ns.metadata.uid, before.uid, 'the same namespace');
    assert.ok(
      Date.parse(ns.metadata.annotations['capstan.dev/preview-expires-at']) >
        Date.parse(before.annotations['capstan.dev/preview-expires-at']),
    );
    assert.equal(
      ns.metadata.annotations['capstan.dev/preview-created-at'],
      before.annotations['capstan.dev/preview-created-at'],
    );
    deployed[BRANCH_A] = ns;

    const list = await capstan(['preview', 'list', '-o', 'json'], { cwd: dir });
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { previews: Record<string, any>[] };
    assert.deepEqual(listed.previews.map((p) => p.branch).sort(), [BRANCH_A, BRANCH_B].sort());
    for (const p of listed.previews) assert.equal(p.status, 'active');
    const table = await capstan(['preview', 'list'], { cwd: dir });
    assert.match(table.stdout, new RegExp(`https://${a.host.replace(/\./g, '\\.')}`));
  });

  it('gc deletes the expired preview only: the fresh one and the look-alike stay', async () => {
    const bExpires = Date.parse(deployed[BRANCH_B].metadata.annotations['capstan.dev/preview-expires-at']);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, bExpires + 1000 - Date.now())));
    const aExpires = Date.parse(deployed[BRANCH_A].metadata.annotations['capstan.dev/preview-expires-at']);
    assert.ok(Date.now() < aExpires - 5000, 'the test needs A fresh while B has expired');

    const dry = await capstan(['preview', 'gc', '--dry-run', '-o', 'json'], { cwd: dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(
      (JSON.parse(dry.stdout) as { deleted: { namespace: string }[] }).deleted.map((p) => p.namespace),
      [b.namespace],
    );
    assert.ok(await namespaceOf(b.namespace), '--dry-run deletes nothing');

    const gc = await capstan(['preview', 'gc'], { cwd: dir });
    assert.equal(gc.code, 0, gc.stdout + gc.stderr);
    assert.match(
      gc.stdout,
      new RegExp(`deleted the preview of ${BRANCH_B.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
    );
    assert.equal(await namespaceOf(b.namespace), undefined, 'gc returns once the namespace is gone');
    assert.ok(await namespaceOf(a.namespace), 'the fresh preview stays');
    assert.ok(await namespaceOf(lookAlike), 'a namespace capstan preview did not create stays');
    await clusterRoleKept();
  });

  it('delete waits until the namespace is gone, naming a finalizer that holds it', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'held', namespace: a.namespace, finalizers: ['example.com/hold'] },
      }),
    );
    // Past its deadline delete exits 3 and says what holds the namespace.
    const held = await capstan(['preview', 'delete', '--branch', BRANCH_A, '--timeout', '1s'], { cwd: dir });
    assert.equal(held.code, 3, held.stdout + held.stderr);
    assert.match(held.stderr, /is still there after 1 s: held by /);
    // With time, it names the finalizer as the namespace controller reports it, and returns only
    // once the namespace is gone (the finalizer is removed while it waits).
    const deleting = capstan(['preview', 'delete', '--branch', BRANCH_A, '--timeout', '2m'], { cwd: dir });
    await waitFor('the namespace controller to name the finalizer', 60_000, async () => {
      const ns = await namespaceOf(a.namespace);
      return JSON.stringify(ns?.status?.conditions ?? []).includes('example.com/hold');
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await kubectl([
      'patch',
      'configmap',
      'held',
      '-n',
      a.namespace,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    const done = await deleting;
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stderr, /waiting for the namespace to go: .*example\.com\/hold/);
    assert.equal(await namespaceOf(a.namespace), undefined, 'delete returns once the namespace is gone');
    const again = await capstan(['preview', 'delete', '--branch', BRANCH_A], { cwd: dir });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /nothing to delete/);
  });

  it('protects with Traefik Middlewares when the config names traefik', async () => {
    // Traefik's CRD as its chart installs it, reduced to what the API server needs to serve it.
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'middlewares.traefik.io' },
        spec: {
          group: 'traefik.io',
          names: {
            kind: 'Middleware',
            listKind: 'MiddlewareList',
            plural: 'middlewares',
            singular: 'middleware',
          },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1alpha1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      }),
    );
    const traefikApp = `${app}t`;
    const traefikFiles = tree(traefikApp);
    traefikFiles['.deploy/capstan.yaml'] = traefikFiles['.deploy/capstan.yaml']
      .replace('    ingress: nginx', '    ingress: traefik\n    passwordEnv: PREVIEW_PASSWORD')
      .replace(`${app}-staging`, `${traefikApp}-staging`);
    const traefik = writeApp(traefikFiles);
    const names = previewNames(traefikApp, 'main', HOST);
    try {
      const missing = await capstan(['preview', 'deploy', '--branch', 'main'], { cwd: traefik.dir });
      assert.equal(missing.code, 2, 'passwordEnv names a variable that is not set');
      assert.match(missing.stderr, /PREVIEW_PASSWORD, which is not set/);
      assert.equal(await namespaceOf(names.namespace), undefined, 'nothing was created');

      const env = { PREVIEW_PASSWORD: 'false' };
      const run = await capstan(['preview', 'deploy', '--branch', 'main', '-o', 'json'], {
        cwd: traefik.dir,
        env,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.doesNotMatch(run.stderr, /password/, 'a given password is never printed');
      const middlewares = await getJson(['get', 'middlewares.traefik.io', '-n', names.namespace]);
      assert.deepEqual(middlewares.items.map((m: any) => m.metadata.name).sort(), [
        'capstan-preview-auth',
        'capstan-preview-noindex',
      ]);
      const ingress = await getJson(['get', 'ingress', 'web', '-n', names.namespace]);
      assert.equal(
        ingress.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares'],
        `${names.namespace}-capstan-preview-auth@kubernetescrd,${names.namespace}-capstan-preview-noindex@kubernetescrd`,
      );
      const auth = await getJson(['get', 'secret', 'capstan-preview-auth', '-n', names.namespace]);
      const sha = createHash('sha1').update('false').digest('base64');
      assert.equal(Buffer.from(auth.data.users, 'base64').toString(), `preview:{SHA}${sha}\n`);
    } finally {
      await kubectl([
        'delete',
        'namespace',
        names.namespace,
        `${traefikApp}-staging`,
        '--wait=false',
        '--ignore-not-found',
      ]).catch(() => {});
      await kubectl(['delete', 'clusterrole', `${traefikApp}-reader`, '--ignore-not-found']).catch(() => {});
      traefik.cleanup();
    }
  });
});
