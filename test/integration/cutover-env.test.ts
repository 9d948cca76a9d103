// Cutover knows the environment: after `capstan cutover` made B live, a deploy to A is refused
// (exit 2, nothing applied) naming the record and the ways on; `--back` makes A deployable again;
// an environment whose clusters are a and b is cut over by name. The shared test cluster is A, a
// second cluster started here is B.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kubectl as kubectlOf, startCluster, stopCluster, type ClusterInfo } from '../cluster/cluster.js';
import { capstan, writeApp, type CliRun } from './cli-helpers.js';
import { getJson, grantRestricted, kubectl, testCluster } from './helpers.js';

const id = randomBytes(3).toString('hex');
const NS = `cutover-env-${id}`;

const configMap = `apiVersion: v1
kind: ConfigMap
metadata: { name: web.config }
data: { GREETING: "<%= values.greeting %>", PORT: "5432", ENV: "<%= env %>" }
`;

const web = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: <%= image %>
          envFrom: [{ configMapRef: { name: web.config } }]
`;

const nightly = `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly-report }
spec:
  schedule: "0 3 * * *"
  suspend: false
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{ name: report, image: <%= image %> }]
`;

const bName = `cutover-env-b-${process.pid}`;
let b: ClusterInfo;
let starting: Promise<ClusterInfo> | undefined;
let app: ReturnType<typeof writeApp> | undefined;
let recordName: string | undefined;

/** `production` deploys to whatever --kubeconfig names; `regions` names both clusters. */
function capstanYaml(): string {
  return `app: shop
values: { greeting: "false" }
environments:
  production:
    namespace: ${NS}
  regions:
    namespace: ${NS}
    clusters:
      a: { kubeconfig: ${testCluster().kubeconfig} }
      b: { kubeconfig: ${b.kubeconfig} }
`;
}

const deploy = (greeting: string, kubeconfig = testCluster().kubeconfig): Promise<CliRun> =>
  capstan(
    [
      'deploy',
      'production',
      '--image',
      'registry.example.com/shop/web:1.0',
      '--set',
      `greeting=${greeting}`,
      '--timeout',
      '2m',
    ],
    { cwd: app!.dir, kubeconfig },
  );
const migrate = (): Promise<CliRun> =>
  capstan([
    'migrate',
    '--from-kubeconfig',
    testCluster().readOnlyKubeconfig,
    '--to-kubeconfig',
    b.kubeconfig,
    '-n',
    NS,
    '--health-timeout',
    '90s',
  ]);
const cutoverByFlags = (...args: string[]): Promise<CliRun> =>
  capstan([
    'cutover',
    '--from-kubeconfig',
    testCluster().kubeconfig,
    '--to-kubeconfig',
    b.kubeconfig,
    '-n',
    NS,
    '--health-timeout',
    '90s',
    '-o',
    'json',
    ...args,
  ]);
const cutoverByName = (...args: string[]): Promise<CliRun> =>
  capstan(['cutover', 'regions', '--health-timeout', '90s', '-o', 'json', ...args], { cwd: app!.dir });
const finished = (run: CliRun) => run.events.find((e) => e.type === 'cutover-finished')!;

/** What a deploy to A would change: the greeting and web's replicas there. */
async function inA(): Promise<{ greeting: string; replicas: number }> {
  const [config, deployment] = await Promise.all([
    getJson(['get', 'configmap', 'web.config', '-n', NS]),
    getJson(['get', 'deployment', 'web', '-n', NS]),
  ]);
  return { greeting: config.data.GREETING, replicas: deployment.spec.replicas };
}

function assertRefused(run: CliRun, back: RegExp): void {
  const output = run.stdout + run.stderr;
  assert.equal(run.code, 2, output);
  assert.match(output, /this cluster is not live/);
  assert.match(
    output,
    new RegExp(`cutover record ${recordName} \\(ConfigMap in capstan-system, copy in ${NS}\\)`),
  );
  assert.match(
    output,
    new RegExp(`cut over from .*${testCluster().server.replace(/[.:/]/g, '\\$&')} \\(A\\)`),
  );
  assert.match(output, /says B is live, cut over from .* at \d{4}-\d\d-\d\dT.* by /);
  assert.match(output, /deploy to the live cluster/);
  assert.match(output, back);
  assert.doesNotMatch(output, /force-conflicts/);
}

describe('capstan cutover and the environment', { timeout: 600_000 }, () => {
  before(async () => {
    starting = startCluster({ name: bName, binDir: testCluster().binDir });
    starting.catch(() => {});
    app = writeApp({
      '.deploy/capstan.yaml': 'app: shop\nenvironments: {}\n',
      '.deploy/production/10-configuration/web.config.yaml.ejs': configMap,
      '.deploy/production/30-deployment/web.yaml.ejs': web,
      '.deploy/production/30-deployment/nightly-report.yaml.ejs': nightly,
      '.deploy/regions/10-configuration/web.config.yaml.ejs': configMap,
      '.deploy/regions/30-deployment/web.yaml.ejs': web,
      '.deploy/regions/30-deployment/nightly-report.yaml.ejs': nightly,
    });
    await kubectl(['create', 'namespace', NS]);
    b = await starting;
    app.write('.deploy/capstan.yaml', capstanYaml());
    const deployed = await deploy('first');
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const copied = await migrate();
    assert.equal(copied.code, 0, copied.stdout + copied.stderr);
  });

  after(async () => {
    try {
      app?.cleanup();
      await kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']);
      if (recordName)
        await kubectl(['delete', 'configmap', recordName, '-n', 'capstan-system', '--ignore-not-found']);
    } finally {
      await starting?.catch(() => undefined);
      await stopCluster(bName);
    }
  });

  it('after a cutover to B, a deploy to A is refused (exit 2) naming the record and the ways on; nothing is applied', async () => {
    const cut = await cutoverByFlags('--scale-down-source');
    assert.equal(cut.code, 0, cut.stdout + cut.stderr);
    recordName = finished(cut).record.name as string;
    assert.deepEqual(await inA(), { greeting: 'first', replicas: 0 });

    const refused = await deploy('second');
    assertRefused(
      refused,
      new RegExp(
        `capstan cutover --from-kubeconfig <kubeconfig of [^>]+> --to-kubeconfig <kubeconfig of [^>]+> -n ${NS} --back`,
      ),
    );
    assert.deepEqual(await inA(), { greeting: 'first', replicas: 0 }, 'nothing was applied to A');

    // The restricted deploy identity reads the copy in its namespace, and is refused the same way.
    await grantRestricted(NS);
    const restricted = await deploy('second', testCluster().restrictedKubeconfig);
    assertRefused(restricted, /--back/);
    assert.deepEqual(await inA(), { greeting: 'first', replicas: 0 });

    // The record's copy in the namespace says which side each cluster is.
    const [copyInA, copyInB] = await Promise.all([
      getJson(['get', 'configmap', recordName, '-n', NS]),
      kubectlOf(b, ['get', 'configmap', recordName, '-n', NS, '-o', 'json']).then(
        (text) => JSON.parse(text) as Record<string, any>,
      ),
    ]);
    assert.equal(copyInA.metadata.annotations['capstan.dev/cutover-side'], 'A');
    assert.equal(copyInB.metadata.annotations['capstan.dev/cutover-side'], 'B');
    assert.equal(JSON.parse(copyInA.data['record.json']).state, 'live');
  });

  it('the live cluster B takes the deploy', async () => {
    const there = await deploy('in-b', b.kubeconfig);
    assert.equal(there.code, 0, there.stdout + there.stderr);
    const config = JSON.parse(
      await kubectlOf(b, ['get', 'configmap', 'web.config', '-n', NS, '-o', 'json']),
    ) as Record<string, any>;
    assert.equal(config.data.GREETING, 'in-b');
  });

  it('cutover --back makes A deployable again', async () => {
    const back = await cutoverByFlags('--back');
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.equal(finished(back).state, 'back');
    assert.deepEqual(await inA(), { greeting: 'first', replicas: 2 });
    const deployed = await deploy('second');
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    assert.deepEqual(await inA(), { greeting: 'second', replicas: 2 });
  });

  it('an environment whose clusters are a and b is cut over by name, and back', async () => {
    const copied = await migrate();
    assert.equal(copied.code, 0, copied.stdout + copied.stderr);

    const cut = await cutoverByName('--to', 'b', '--scale-down-source');
    assert.equal(cut.code, 0, cut.stdout + cut.stderr);
    const started = cut.events.find((e) => e.type === 'cutover-started')!;
    assert.equal(started.from, testCluster().server);
    assert.equal(started.to, b.server);
    assert.equal(started.decision, 'fresh');
    assert.equal(finished(cut).outcome, 'cut-over');
    // The same scope between the same clusters: the same record.
    assert.equal(finished(cut).record.name, recordName);
    assert.deepEqual(await inA(), { greeting: 'second', replicas: 0 });

    const refused = await deploy('third');
    assertRefused(refused, /`capstan cutover regions --from a --to b --back`/);
    assert.match(refused.stdout + refused.stderr, /cluster b of regions/);
    assert.deepEqual(await inA(), { greeting: 'second', replicas: 0 });

    // The environment itself deploys to its live cluster: a is left out, with the record's reason.
    const fleet = await capstan(
      [
        'deploy',
        'regions',
        '--image',
        'registry.example.com/shop/web:1.0',
        '--set',
        'greeting=regions',
        '--timeout',
        '2m',
        '-o',
        'json',
      ],
      { cwd: app!.dir },
    );
    assert.equal(fleet.code, 0, fleet.stdout + fleet.stderr);
    const outcomes = fleet.events.find((e) => e.type === 'fleet-finished')!.clusters;
    assert.deepEqual(
      outcomes.map((c: { cluster: string; outcome: string }) => [c.cluster, c.outcome]),
      [
        ['b', 'succeeded'],
        ['a', 'skipped'],
      ],
    );
    assert.match(outcomes[1].message, /this cluster is not live/);
    assert.ok(
      fleet.events.some((e) => e.type === 'warning' && e.cluster === 'a' && /left out/.test(e.message)),
    );
    assert.deepEqual(await inA(), { greeting: 'second', replicas: 0 });
    const inB = JSON.parse(await kubectlOf(b, ['get', 'configmap', 'web.config', '-n', NS, '-o', 'json']));
    assert.equal(inB.data.GREETING, 'regions');

    const back = await cutoverByName('--to', 'b', '--back');
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.equal(finished(back).outcome, 'reversed');
    const deployed = await deploy('third');
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    assert.deepEqual(await inA(), { greeting: 'third', replicas: 2 });
  });

  it('by name, refuses flags that capstan.yaml answers, and asks for --to', async () => {
    const flags = await capstan(['cutover', 'regions', '--to', 'b', '-n', NS], { cwd: app!.dir });
    assert.equal(flags.code, 2, flags.stdout + flags.stderr);
    assert.match(flags.stderr, /--namespace: capstan\.yaml says where regions runs/);
    const noTo = await capstan(['cutover', 'regions'], { cwd: app!.dir });
    assert.equal(noTo.code, 2, noTo.stdout + noTo.stderr);
    assert.match(noTo.stderr, /say which cluster of regions to cut over to/);
  });
});
