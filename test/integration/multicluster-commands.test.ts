// The commands besides deploy on one environment in two clusters, eu (the shared test cluster) and
// us (a second cluster started here), each named by its own kubeconfig in capstan.yaml: render one
// cluster or each under its name, diff each cluster against its own live objects, run a task in the
// cluster named, audit both, and refuse run, jobs clean and unlock without --cluster.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kubectl as kubectlOf, startCluster, stopCluster, type ClusterInfo } from '../cluster/cluster.js';
import { capstan, writeApp, type CliRun } from './cli-helpers.js';
import { kubectl, testCluster, waitFor } from './helpers.js';

const id = randomBytes(3).toString('hex');
const NS = `mc-shop-${id}`;
const US_NS = `mc-shop-us-${id}`;
const usName = `mc-us-${process.pid}`;

const capstanYaml = (eu: string, us: string) => `app: shop
image: registry.example.com/shop/web:1.0
values: { replicas: 1, region: none, port: 5432 }
environments:
  production:
    namespace: ${NS}
    values: { replicas: 2 }
    clusters:
      eu:
        kubeconfig: ${eu}
        values: { region: eu-central-1 }
      us:
        kubeconfig: ${us}
        namespace: ${US_NS}
        values: { region: us-east-2, replicas: 3 }
    waves: [[eu], [us]]
`;

const FILES = {
  '.deploy/production/10-configuration/app.configmap.yaml.ejs': `apiVersion: v1
kind: ConfigMap
metadata: { name: app.settings }
data:
  cluster: "<%= cluster %>"
  region: "<%= values.region %>"
  port: "<%= values.port %>"
  env: "<%= env %>"
`,
  '.deploy/production/30-deployment/web.deployment.yaml.ejs': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: <%= values.replicas %>
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: <%= image %>
          env: [{ name: REGION, value: "<%= values.region %>" }]
`,
};

let us: ClusterInfo | undefined;
let starting: Promise<ClusterInfo> | undefined;
let app: ReturnType<typeof writeApp>;
const inUs = (args: string[], input?: string): Promise<string> => {
  if (!us) throw new Error('cluster us is not started');
  return kubectlOf(us, args, input);
};
const run = (...args: string[]): Promise<CliRun> => capstan(args, { cwd: app.dir });
const explain = (r: CliRun) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/**
 * One cluster's rendered objects (passed through `edit`), applied as Capstan applies them:
 * server-side, with its field manager.
 */
async function applyRendered(cluster: 'eu' | 'us', edit = (yaml: string) => yaml): Promise<void> {
  const rendered = await run('render', 'production', '--cluster', cluster);
  assert.equal(rendered.code, 0, explain(rendered));
  const args = ['apply', '--server-side', '--field-manager', 'capstan', '-f', '-'];
  const yaml = edit(rendered.stdout);
  await (cluster === 'eu' ? kubectl(args, yaml) : inUs(args, yaml));
}

describe('multi-cluster environments: render, diff, run, audit, unlock', { timeout: 300_000 }, () => {
  before(async () => {
    starting = startCluster({ name: usName, binDir: testCluster().binDir });
    starting.catch(() => {});
    await kubectl(['create', 'namespace', NS]);
    us = await starting;
    await inUs(['create', 'namespace', US_NS]);
    app = writeApp({
      '.deploy/capstan.yaml': capstanYaml(testCluster().kubeconfig, us.kubeconfig),
      ...FILES,
    });
  });

  after(async () => {
    try {
      app?.cleanup();
      await kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']);
    } finally {
      await starting?.catch(() => undefined);
      await stopCluster(usName);
    }
  });

  it("render --cluster prints that cluster's view; without it, every cluster under its name", async () => {
    const one = await run('render', 'production', '--cluster', 'us');
    assert.equal(one.code, 0, explain(one));
    assert.doesNotMatch(one.stdout, /# cluster/);
    assert.match(one.stdout, new RegExp(`namespace: ${US_NS}\\n`));
    assert.match(one.stdout, /cluster: us\n {2}region: us-east-2\n {2}port: "5432"\n {2}env: production\n/);
    assert.match(one.stdout, /replicas: 3\n/);

    const all = await run('render', 'production');
    assert.equal(all.code, 0, explain(all));
    const [before, eu, usPart] = all.stdout.split(/^# cluster (?:eu|us)\n/m);
    assert.equal(before, '', 'the first line names the first cluster');
    assert.match(all.stdout, /^# cluster eu\n[\s\S]*^# cluster us\n/m);
    assert.match(eu ?? '', /cluster: eu\n {2}region: eu-central-1\n/);
    assert.match(eu ?? '', new RegExp(`namespace: ${NS}\\n`));
    assert.match(eu ?? '', /replicas: 2\n/);
    assert.match(usPart ?? '', /cluster: us\n/);
    assert.match(usPart ?? '', new RegExp(`namespace: ${US_NS}\\n`));

    const unknown = await run('render', 'production', '--cluster', 'ap');
    assert.equal(unknown.code, 2, explain(unknown));
    assert.match(unknown.stderr, /unknown cluster "ap"/);
    assert.match(unknown.stderr, /hint: the clusters of production: eu, us/);
  });

  it('diff shows each cluster against its own live objects, grouped; --cluster diffs one', async () => {
    await applyRendered('eu');
    // Only us differs: its live ConfigMap is not what capstan.yaml renders for it now.
    await applyRendered('us', (yaml) => yaml.replace('region: us-east-2', 'region: drifted'));

    const grouped = await run('diff', 'production');
    assert.equal(grouped.code, 0, explain(grouped));
    const [, eu, usPart] = grouped.stdout.split(/^=== cluster /m);
    assert.match(eu ?? '', new RegExp(`^eu \\(namespace ${NS}\\)\\nno changes \\(2 objects unchanged\\)`));
    assert.match(usPart ?? '', new RegExp(`^us \\(namespace ${US_NS}\\)\\n~ change ConfigMap/app.settings`));
    assert.match(usPart ?? '', /-\s+region: drifted\n\+\s+region: us-east-2\n/);
    assert.match(grouped.stdout, /changes in 1 of 2 clusters: us\n$/);

    const exitCode = await run('diff', 'production', '--exit-code');
    assert.equal(exitCode.code, 1, 'a change in any cluster');

    const onlyUs = await run('diff', 'production', '--cluster', 'us', '--exit-code');
    assert.equal(onlyUs.code, 1, explain(onlyUs));
    assert.doesNotMatch(onlyUs.stdout, /=== cluster/);
    assert.match(onlyUs.stdout, /~ change ConfigMap\/app.settings/);
    const onlyEu = await run('diff', 'production', '--cluster', 'eu', '--exit-code');
    assert.equal(onlyEu.code, 0, explain(onlyEu));
    assert.match(onlyEu.stdout, /^no changes/);

    const json = await run('diff', 'production', '-o', 'json');
    assert.equal(json.code, 0, explain(json));
    const document = JSON.parse(json.stdout) as {
      hasChanges: boolean;
      clusters: { cluster: string; namespace: string; hasChanges: boolean }[];
    };
    assert.equal(document.hasChanges, true);
    assert.deepEqual(
      document.clusters.map((c) => [c.cluster, c.namespace, c.hasChanges]),
      [
        ['eu', NS, false],
        ['us', US_NS, true],
      ],
    );
  });

  it('run --cluster runs the task in that cluster only; without --cluster it is refused', async () => {
    const refused = await run('run', 'production', '--', 'echo', 'hello');
    assert.equal(refused.code, 2, explain(refused));
    assert.match(refused.stderr, /production runs in 2 clusters \(eu, us\): run acts on one of them/);
    assert.match(refused.stderr, /hint: name it with --cluster/);

    const task = await run('run', 'production', '--cluster', 'us', '--keep', '--', 'rake', 'db:status');
    assert.equal(task.code, 0, explain(task));
    assert.match(task.stderr, new RegExp(`in namespace ${US_NS} of cluster us`));
    assert.match(task.stdout, /capstan fake container: log line 1\n/);
    const jobs = JSON.parse(await inUs(['get', 'jobs', '-n', US_NS, '-o', 'json'])) as { items: any[] };
    assert.equal(jobs.items.length, 1);
    const container = jobs.items[0].spec.template.spec.containers[0];
    assert.deepEqual(container.command, ['rake', 'db:status']);
    assert.deepEqual(container.env, [{ name: 'REGION', value: 'us-east-2' }]);
    const inEu = JSON.parse(await kubectl(['get', 'jobs', '-n', NS, '-o', 'json'])) as { items: unknown[] };
    assert.equal(inEu.items.length, 0, 'nothing ran in eu');

    const clean = await run('jobs', 'clean', 'production');
    assert.equal(clean.code, 2, explain(clean));
    assert.match(clean.stderr, /jobs clean acts on one of them/);
    const cleaned = await run('jobs', 'clean', 'production', '--cluster', 'us');
    assert.equal(cleaned.code, 0, explain(cleaned));
    assert.match(cleaned.stdout, /deleted Job\/shop-task-rake-/);
  });

  it('unlock without --cluster is refused naming the clusters; with it, it acts on that cluster', async () => {
    const refused = await run('unlock', 'production');
    assert.equal(refused.code, 2, explain(refused));
    assert.match(refused.stderr, /production runs in 2 clusters \(eu, us\): unlock acts on one of them/);

    // A lock left in us only: unlock --cluster us removes it there.
    await inUs(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'capstan-lock-shop-production', namespace: US_NS },
        spec: { holderIdentity: 'ci@runner (pid 4242)', leaseDurationSeconds: 60 },
      }),
    );
    const eu = await run('unlock', 'production', '--cluster', 'eu');
    assert.equal(eu.code, 0, explain(eu));
    assert.match(eu.stdout, /no lock .* of cluster eu: nothing to do/);
    const removed = await run('unlock', 'production', '--cluster', 'us');
    assert.equal(removed.code, 0, explain(removed));
    assert.match(removed.stdout, new RegExp(`removed the lock .* in ${US_NS} of cluster us`));
    await waitFor('the lease to be gone from us', 10_000, async () => {
      const leases = JSON.parse(await inUs(['get', 'leases', '-n', US_NS, '-o', 'json'])) as {
        items: unknown[];
      };
      return leases.items.length === 0;
    });
  });

  it('audit audits every cluster, each finding tagged with its cluster in JSON', async () => {
    const audit = await run('audit', 'production', '-o', 'json');
    assert.ok(audit.code === 0 || audit.code === 1, explain(audit));
    const findings = audit.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { cluster: string; object: { namespace: string } });
    assert.deepEqual([...new Set(findings.map((f) => f.cluster))], ['eu', 'us']);
    for (const f of findings) assert.equal(f.object.namespace, f.cluster === 'eu' ? NS : US_NS);
    const text = await run('audit', 'production', '--cluster', 'us');
    assert.doesNotMatch(text.stdout, /=== cluster/);
  });
});
