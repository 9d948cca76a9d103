// capstan.yaml `previews:`: what the validator refuses (file, line, field), and one branch's
// preview as an environment: its namespace, values, expiry, the template's `preview`, and what a
// preview may not render.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../../src/config/index.js';
import { previewNames, resolvePreview } from '../../../src/previews/index.js';
import { renderEnvironment } from '../../../src/render/index.js';
import { lines, writeDeployTree } from '../../fixtures/deploy-tree.js';

const FILE = '/repo/.deploy/capstan.yaml';
const base = (...previewLines: string[]) =>
  lines(
    'app: shop',
    'environments:',
    '  staging:',
    '    namespace: shop-staging',
    '  production:',
    '    namespace: shop',
    '    clusters:',
    '      eu: { context: eu }',
    ...previewLines,
  );

function problems(text: string): { line?: number; path?: string; message: string }[] {
  const parsed = parseConfig(text, FILE);
  assert.equal(parsed.config, undefined, 'expected issues');
  return parsed.issues.map(({ line, path, message }) => ({ line, path, message }));
}

describe('capstan.yaml previews', () => {
  it('accepts a complete previews block', () => {
    const parsed = parseConfig(
      base(
        'previews:',
        '  from: staging',
        '  host: "{slug}.preview.example.test"',
        '  ttl: 3d',
        '  quota: { requests.cpu: "2", limits.memory: 4Gi, pods: 20 }',
        '  limits: { defaultRequest: { cpu: 100m } }',
        '  values: { replicas: 1 }',
        '  protect: { ingress: traefik, user: qa, passwordEnv: PREVIEW_PASSWORD }',
      ),
      FILE,
    );
    assert.deepEqual(parsed.issues, []);
  });

  it('refuses an unknown or multi-cluster from, a host without {slug}, a bad ttl, at their lines', () => {
    assert.deepEqual(problems(base('previews:', '  from: qa', '  host: "{slug}.p.test"', '  ttl: 3d')), [
      { line: 10, path: 'previews.from', message: '"qa" is not an environment (staging, production)' },
    ]);
    assert.match(
      problems(base('previews:', '  from: production', '  host: "{slug}.p.test"', '  ttl: 3d'))[0].message,
      /several clusters/,
    );
    assert.deepEqual(
      problems(base('previews:', '  from: staging', '  host: "preview.example.test"', '  ttl: 3d')).map(
        (p) => [p.line, p.path],
      ),
      [[11, 'previews.host']],
    );
    const ttl = problems(base('previews:', '  from: staging', '  host: "{slug}.p.test"', '  ttl: 3 days'));
    assert.deepEqual(
      ttl.map((p) => [p.line, p.path]),
      [[12, 'previews.ttl']],
    );
    assert.match(ttl[0].message, /duration such as 3d/);
    const quota = problems(
      base(
        'previews:',
        '  from: staging',
        '  host: "{slug}.p.test"',
        '  ttl: 1h',
        '  protect: { ingress: caddy }',
      ),
    );
    assert.deepEqual(
      quota.map((p) => p.path),
      ['previews.protect.ingress'],
    );
  });

  it("resolves a branch's preview: own namespace, values over the environment's, expiry from now", async () => {
    const root = await writeDeployTree({
      'capstan.yaml': lines(
        'app: shop',
        'values: { replicas: 3, tier: web }',
        'environments:',
        '  staging:',
        '    namespace: shop-staging',
        '    extraNamespaces: [shared]',
        '    values: { replicas: 2, db: staging-db }',
        'previews:',
        '  from: staging',
        '  host: "{slug}.preview.example.test"',
        '  ttl: 1d12h',
        '  quota: { pods: 10 }',
        '  values: { replicas: 1 }',
      ),
      'staging/10-config/c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n',
    });
    const loaded = await loadConfig({ cwd: root });
    const now = new Date('2026-12-07T10:00:00Z');
    const env = resolvePreview(loaded, 'Feature/Cart', { now, set: ['db=false'] });
    const names = previewNames('shop', 'Feature/Cart', '{slug}.preview.example.test');
    assert.equal(env.namespace, names.namespace);
    assert.equal(env.name, 'staging');
    assert.deepEqual(env.extraNamespaces, []);
    assert.deepEqual(env.values, { replicas: 1, tier: 'web', db: false });
    assert.equal(env.preview?.expiresAt, '2026-12-08T22:00:00.000Z');
    assert.deepEqual(env.preview?.quota, { pods: '10' });
    assert.deepEqual(env.preview?.limits.defaultRequest, { cpu: '50m', memory: '64Mi' });
    assert.throws(() => resolvePreview(loaded, '  '), /a preview needs a branch/);
  });

  it('gives templates `preview` and leaves cluster-scoped objects out of a preview, saying so', async () => {
    const root = await writeDeployTree({
      'capstan.yaml': lines(
        'app: shop',
        'environments:',
        '  staging: { namespace: shop-staging }',
        'previews: { from: staging, host: "{slug}.p.example.test", ttl: 1h, protect: { ingress: nginx } }',
      ),
      'staging/10-config/c.yaml.ejs': lines(
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: c }',
        "data: { host: <%- JSON.stringify(preview ? preview.host : 'none') %> }",
        '---',
        'apiVersion: networking.k8s.io/v1',
        'kind: Ingress',
        'metadata: { name: web, annotations: { team: shop } }',
        'spec: { defaultBackend: { service: { name: web, port: { number: 80 } } } }',
      ),
    });
    const loaded = await loadConfig({ cwd: root });
    const env = resolvePreview(loaded, 'main');
    const [phase] = await renderEnvironment({ env, deployId: 'r1' });
    const [config, ingress] = phase.objects.map((o) => o.object);
    assert.deepEqual(config.data, { host: 'main.p.example.test' });
    assert.equal(config.metadata.namespace, 'shop-main');
    assert.equal(ingress.metadata.annotations?.team, 'shop');
    assert.equal(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/auth-type'], 'basic');
    assert.equal(
      ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/custom-headers'],
      'shop-main/capstan-preview-headers',
    );

    const clusterScoped = await writeDeployTree({
      'capstan.yaml': lines(
        'app: shop',
        'environments:',
        '  staging: { namespace: shop-staging }',
        'previews: { from: staging, host: "{slug}.p.example.test", ttl: 1h }',
      ),
      'staging/10-rbac/role.yaml': lines(
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata: { name: reader }',
        'rules: []',
      ),
    });
    const cs = resolvePreview(await loadConfig({ cwd: clusterScoped }), 'main');
    const warnings: string[] = [];
    const phases = await renderEnvironment({ env: cs, deployId: 'r1', warn: (m) => warnings.push(m) });
    assert.deepEqual(
      phases.flatMap((p) => p.objects),
      [],
    );
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /role\.yaml:2: ClusterRole reader is cluster-scoped: left out of the preview \(the staging environment's deploy manages it\)/,
    );
  });
});
