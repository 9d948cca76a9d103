// A redeploy sends only what changed (docs/apply-order.md, "What a redeploy skips"), on the local
// control plane: an unchanged redeploy applies nothing, an image-only one only the Deployments, a
// hand edit of each kind is found and restored while the rest is left alone, --full sends all;
// and after every redeploy, each object left unsent is live exactly as rendered.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig, resolveEnvironment } from '../../src/config/index.js';
import { ClusterDeploy, type AnyDeployEvent } from '../../src/deploy/index.js';
import { capstan, capstanYaml, writeApp, type CliRun } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, testCluster } from './helpers.js';

const DEPLOYMENTS = ['web-0', 'web-1.api', 'web-2'];

const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations: { team: "false" }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: app
          image: <%= image %>
          env: [{ name: PORT, value: "5432" }, { name: EMPTY, value: "" }]
          envFrom: [{ configMapRef: { name: settings } }]
`;

const FILES = {
  '.deploy/test/10-configuration/settings.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: settings, labels: { tier: "a.b-c" } }
data: { MODE: "false", LONG: "${'x'.repeat(2000)}" }
`,
  '.deploy/test/30-deployment/service.yaml': `apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web-0 }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`,
  ...Object.fromEntries(DEPLOYMENTS.map((d) => [`.deploy/test/30-deployment/${d}.yaml.ejs`, deployment(d)])),
};

const ALL = ['ConfigMap/settings', 'Service/web', ...DEPLOYMENTS.map((d) => `Deployment/${d}`)].sort();

/** APPLY requests the API server answered, by resource and dry run, from its /metrics. */
async function applyCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of (await kubectl(['get', '--raw', '/metrics'])).split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('verb="APPLY"')) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    if (!['configmaps', 'services', 'deployments'].includes(resource)) continue;
    const dryRun = /dry_run="([^"]*)"/.exec(line)?.[1] ? 'dry run' : 'apply';
    const key = `${dryRun} ${resource}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(' ').pop()));
  }
  return counts;
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of after) if (n - (before.get(key) ?? 0) > 0) out[key] = n - (before.get(key) ?? 0);
  return out;
}

const refs = (run: CliRun, type: string) =>
  run.events
    .filter((e) => e.type === type)
    .map((e) => `${e.object.kind}/${e.object.name}`)
    .sort();

/** Whether `live` holds every value of `wanted` (lists element by element, of the same length). */
function holds(live: unknown, wanted: unknown, path = ''): string | undefined {
  // The API server leaves out Go's zero values (omitempty): an empty string is stored as nothing.
  if (live === undefined && (wanted === '' || wanted === false || wanted === 0)) return undefined;
  if (Array.isArray(wanted)) {
    if (!Array.isArray(live) || live.length !== wanted.length) return `${path}: ${JSON.stringify(live)}`;
    for (let i = 0; i < wanted.length; i++) {
      const why = holds(live[i], wanted[i], `${path}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (wanted && typeof wanted === 'object') {
    if (!live || typeof live !== 'object') return `${path}: missing`;
    for (const [k, v] of Object.entries(wanted)) {
      const why = holds((live as Record<string, unknown>)[k], v, `${path}.${k}`);
      if (why) return why;
    }
    return undefined;
  }
  return live === wanted ? undefined : `${path}: ${JSON.stringify(live)} is not ${JSON.stringify(wanted)}`;
}

describe('a redeploy sends only what changed', () => {
  let ns: { name: string; remove: () => Promise<void> };
  let app: ReturnType<typeof writeApp>;
  let image = 'example.com/app:1';

  /** Deploys with -o json; then every object it did not send must be live as rendered. */
  async function deploy(extra: string[] = []): Promise<CliRun & { requests: Record<string, number> }> {
    const before = await applyCounts();
    const run = await capstan(['deploy', 'test', '--image', image, '-o', 'json', ...extra], { cwd: app.dir });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const requests = delta(before, await applyCounts());
    const rendered = await capstan(['render', 'test', '--image', image], { cwd: app.dir });
    const objects = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Record<string, any>);
    for (const ref of refs(run, 'object-unchanged')) {
      const [kind, name] = ref.split('/');
      const object = objects.find((o) => o.kind === kind && o.metadata.name === name)!;
      const live = await getJson(['get', `${kind}/${name}`, '-n', ns.name]);
      const { namespace: _ns, ...metadata } = object.metadata;
      assert.equal(
        holds(live, { ...object, metadata }),
        undefined,
        `${ref} was not sent yet differs from its render`,
      );
    }
    return { ...run, requests };
  }

  before(async () => {
    ns = await freshNamespace('skip-unchanged');
    app = writeApp({ '.deploy/capstan.yaml': capstanYaml('skipper', ns.name), ...FILES });
    const first = await deploy();
    assert.deepEqual(refs(first, 'object-applied'), ALL);
  });

  after(async () => {
    app.cleanup();
    await ns.remove();
  });

  it('an unchanged redeploy sends no object, and says so', async () => {
    const run = await deploy();
    assert.deepEqual(refs(run, 'object-applied'), []);
    assert.deepEqual(refs(run, 'object-unchanged'), ALL);
    assert.deepEqual(run.requests, {}, 'no apply nor dry run of the app objects');
    const validated = run.events.find((e) => e.type === 'validation-finished')!;
    assert.deepEqual([validated.objects, validated.unchanged], [0, ALL.length]);
    const finished = run.events.at(-1)!;
    assert.equal(finished.unchanged.length, ALL.length);
    assert.deepEqual(finished.notApplied, []);
    // Still the release's objects: the record's inventory holds them all.
    const plain = await capstan(['deploy', 'test', '--image', image, '-o', 'plain'], { cwd: app.dir });
    assert.match(
      plain.stdout,
      /0 objects with a server-side dry run.*; 5 unchanged since the last apply, not sent/,
    );
    assert.match(plain.stdout, /unchanged Deployment\/web-0: not sent/);
  });

  it('an image-only redeploy sends the Deployments alone, and keeps nothing unchanged in the prune', async () => {
    image = 'example.com/app:2';
    const run = await deploy();
    assert.deepEqual(refs(run, 'object-applied'), DEPLOYMENTS.map((d) => `Deployment/${d}`).sort());
    assert.deepEqual(refs(run, 'object-unchanged'), ['ConfigMap/settings', 'Service/web']);
    assert.deepEqual(run.requests, { 'dry run deployments': 3, 'apply deployments': 3 });
    // The next one, unchanged again, sends nothing: the skipped objects stayed in the record.
    const again = await deploy();
    assert.deepEqual(refs(again, 'object-applied'), []);
    assert.equal((await getJson(['get', 'configmap', 'settings', '-n', ns.name])).metadata.name, 'settings');
  });

  const handEdits: Array<[string, string[], string, boolean]> = [
    [
      'an edit removing an env var of a Deployment',
      [
        'patch',
        'deployment',
        'web-0',
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/spec/template/spec/containers/0/env/1"}]',
      ],
      'Deployment/web-0',
      false,
    ],
    [
      'kubectl set image',
      ['set', 'image', 'deployment/web-1.api', 'app=example.com/other:9'],
      'Deployment/web-1.api',
      true,
    ],
    ['kubectl scale', ['scale', 'deployment/web-2', '--replicas=3'], 'Deployment/web-2', true],
    [
      'a ConfigMap data change',
      ['patch', 'configmap', 'settings', '-p', '{"data":{"MODE":"true"}}'],
      'ConfigMap/settings',
      true,
    ],
    [
      'a Service port change',
      [
        'patch',
        'service',
        'web',
        '--type=json',
        '-p',
        '[{"op":"replace","path":"/spec/ports/0/targetPort","value":9090}]',
      ],
      'Service/web',
      true,
    ],
    [
      'a label change of a ConfigMap',
      ['label', 'configmap', 'settings', 'tier=other', '--overwrite'],
      'ConfigMap/settings',
      true,
    ],
    [
      'an annotation change of a Deployment',
      ['annotate', 'deployment', 'web-2', 'team=true', '--overwrite'],
      'Deployment/web-2',
      true,
    ],
  ];
  for (const [what, edit, ref, conflicts] of handEdits) {
    it(`${what} is found: that object alone is sent, and restored`, async () => {
      await kubectl([...edit, '-n', ns.name]);
      // A person's kubectl change of a field Capstan renders made kubectl its owner: the deploy takes
      // it back (no --force-conflicts) and says so.
      const run = await deploy();
      assert.deepEqual(refs(run, 'object-applied'), [ref]);
      assert.deepEqual(
        refs(run, 'object-unchanged'),
        ALL.filter((r) => r !== ref),
      );
      const restored = run.events.filter(
        (e) => e.type === 'warning' && /: put back to the rendered value/.test(e.message),
      );
      if (conflicts) {
        assert.equal(restored.length, 1, JSON.stringify(restored));
        assert.match(
          restored[0].message,
          new RegExp(`^${ref.replace('.', '\\.')}: .* changed by kubectl(-[a-z]+)?: put back`),
        );
      } else assert.deepEqual(restored, [], 'a removed field is restored without a conflict');
      const again = await deploy();
      assert.deepEqual(refs(again, 'object-applied'), [], 'restored: the next redeploy sends nothing');
    });
  }

  it('a label someone adds to a Deployment is not what Capstan sends: the Deployment stays unsent', async () => {
    await kubectl(['label', 'deployment', 'web-0', 'extra=1', '-n', ns.name]);
    const run = await deploy();
    assert.deepEqual(refs(run, 'object-applied'), []);
    assert.equal((await getJson(['get', 'deployment', 'web-0', '-n', ns.name])).metadata.labels.extra, '1');
  });

  it('objects judged unchanged are sent when another deploy recorded a release before this one got the lock', async () => {
    const events: AnyDeployEvent[] = [];
    const late = new ClusterDeploy(
      { cwd: app.dir, env: 'test', image, kubeconfig: testCluster().kubeconfig, envVars: {} },
      (e) => events.push(e),
    );
    try {
      const env = resolveEnvironment(await loadConfig({ cwd: app.dir }), 'test');
      assert.equal(await late.prepare(env), undefined);
      const judged = events.find((e) => e.type === 'validation-finished');
      assert.equal(judged?.type === 'validation-finished' && judged.unchanged, ALL.length);
      // Another deploy changes the ConfigMap and records its release meanwhile.
      const file = '.deploy/test/10-configuration/settings.yaml';
      app.write(file, FILES[file].replace('MODE: "false"', 'MODE: "other"'));
      await deploy();
      app.write(file, FILES[file]);
      assert.equal(await late.lock(), undefined);
      const result = await late.execute();
      assert.equal(result.exitCode, 0, result.message);
      assert.ok(events.some((e) => e.type === 'warning' && /a release was recorded since/.test(e.message)));
      const sent = events.flatMap((e) =>
        e.type === 'object-applied' ? [`${e.object.kind}/${e.object.name}`] : [],
      );
      assert.deepEqual(sent.sort(), ALL);
      assert.equal((await getJson(['get', 'configmap', 'settings', '-n', ns.name])).data.MODE, 'false');
    } finally {
      late.close();
    }
  });

  it('--full sends every object', async () => {
    const run = await deploy(['--full']);
    assert.deepEqual(refs(run, 'object-applied'), ALL);
    assert.deepEqual(refs(run, 'object-unchanged'), []);
    assert.deepEqual(run.requests, {
      'dry run configmaps': 1,
      'apply configmaps': 1,
      'dry run services': 1,
      'apply services': 1,
      'dry run deployments': 3,
      'apply deployments': 3,
    });
  });
});
