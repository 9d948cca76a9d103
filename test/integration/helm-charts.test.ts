// A Helm chart as a phase file, against the real control plane: podinfo's chart as published
// (test/fixtures/podinfo-chart), rendered by Helm 4 built from its Go module, with the chart's
// hook Jobs enabled: the pre-install hook runs before the chart's Deployment on the first deploy,
// the pre-upgrade one on a later deploy, no test pod is deployed, and an unchanged redeploy
// rolls nothing.
import assert from 'node:assert/strict';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp, type CliRun } from './cli-helpers.js';
import { ensureHelm, HELM_VERSION, PODINFO_CHART as CHART, podinfoPodUids } from './helm-tool.js';
import { freshNamespace, getJson } from './helpers.js';

const helm = await ensureHelm();
const skip = helm === undefined ? 'Go is not installed: cannot build helm' : false;

/** The chart file: hook Jobs on (kept after success for the pre-install one, so it can be seen). */
function podinfoApp(namespace: string) {
  const app = writeApp({
    '.deploy/capstan.yaml': capstanYaml('shop', namespace, '    values:\n      greeting: hello\n'),
  });
  const chart = relative(join(app.dir, '.deploy/test/30-web'), CHART);
  const hook = (policy: string) => `{ job: { enabled: true, hookDeletePolicy: "${policy}" } }`;
  const file = [
    `chart: ${chart}`,
    'values:',
    '  replicaCount: 1',
    '  ui: { message: "<%= values.greeting %>" }',
    '  redis: { enabled: false }',
    '  hooks:',
    `    preInstall: ${hook('before-hook-creation')}`,
    `    preUpgrade: ${hook('hook-succeeded')}`,
    `    postUpgrade: ${hook('hook-succeeded')}`,
    '',
  ].join('\n');
  return { app, file };
}

function deploy(dir: string, greeting: string): Promise<CliRun> {
  return capstan(
    [
      'deploy',
      'test',
      '--image',
      'shop:v1',
      '--set',
      `greeting=${greeting}`,
      '--timeout',
      '3m',
      '-o',
      'json',
    ],
    { cwd: dir, env: { PATH: `${dirname(helm!)}:${process.env['PATH'] ?? ''}`, HOME: process.env['HOME'] } },
  );
}

/** The order in which objects were applied: `Kind/name` for each object-applied event. */
function applied(result: CliRun): string[] {
  return result.events
    .filter((e) => e.type === 'object-applied')
    .map((e) => `${e.object.kind as string}/${e.object.name as string}`);
}

describe(`Helm charts as phase files (helm ${HELM_VERSION})`, { skip }, () => {
  it("deploys podinfo's chart with its hooks in place, no test pods, and a redeploy that rolls nothing", async () => {
    const ns = await freshNamespace('helm-podinfo');
    const { app, file } = podinfoApp(ns.name);
    try {
      app.write('.deploy/test/30-web/podinfo.helm.yaml.ejs', file);

      const first = await deploy(app.dir, 'hello');
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const order = applied(first);
      assert.ok(order.includes('Job/podinfo-pre-install'), order.join(', '));
      assert.ok(
        order.indexOf('Job/podinfo-pre-install') < order.indexOf('Deployment/podinfo'),
        `the pre-install hook goes first: ${order.join(', ')}`,
      );
      assert.ok(
        !order.some((o) => o.includes('upgrade')),
        `no upgrade hook on the first deploy: ${order.join(', ')}`,
      );
      const preInstall = await getJson(['get', 'job', 'podinfo-pre-install', '-n', ns.name]);
      assert.ok(preInstall.status.conditions.some((c: any) => c.type === 'Complete' && c.status === 'True'));
      const deployment = await getJson(['get', 'deployment', 'podinfo', '-n', ns.name]);
      assert.equal(deployment.metadata.labels['capstan.dev/app'], 'shop');
      const env = deployment.spec.template.spec.containers[0].env as { name: string; value: string }[];
      assert.equal(env.find((e) => e.name === 'PODINFO_UI_MESSAGE')?.value, 'hello');
      const pods = await getJson<{ items: any[] }>(['get', 'pods', '-n', ns.name]);
      assert.deepEqual(
        pods.items.filter((p) => p.metadata.annotations?.['helm.sh/hook']).map((p) => p.metadata.name),
        [],
        'no test pod',
      );
      const secrets = await getJson<{ items: any[] }>(['get', 'secrets', '-n', ns.name]);
      assert.ok(!secrets.items.some((s) => s.type === 'helm.sh/release.v1'), 'no Helm release Secret');

      const second = await deploy(app.dir, 'hello-again');
      assert.equal(second.code, 0, second.stdout + second.stderr);
      const upgrade = applied(second);
      assert.ok(!upgrade.includes('Job/podinfo-pre-install'), upgrade.join(', '));
      const finished = second.events.find((e) => e.type === 'deploy-finished')!;
      assert.deepEqual(finished.notApplied, [], 'the install hook is not counted as left out');
      assert.ok(
        upgrade.indexOf('Job/podinfo-pre-upgrade') >= 0 &&
          upgrade.indexOf('Job/podinfo-pre-upgrade') < upgrade.indexOf('Deployment/podinfo') &&
          upgrade.indexOf('Deployment/podinfo') < upgrade.indexOf('Job/podinfo-post-upgrade'),
        `pre-upgrade, the Deployment, post-upgrade: ${upgrade.join(', ')}`,
      );
      // hook-succeeded: the upgrade hooks are gone once they succeeded.
      const jobs = await getJson<{ items: any[] }>(['get', 'jobs', '-n', ns.name]);
      assert.deepEqual(
        jobs.items.filter((j) => !j.metadata.deletionTimestamp).map((j) => j.metadata.name),
        ['podinfo-pre-install'],
      );

      const before = await podinfoPodUids(ns.name);
      const generation = (await getJson(['get', 'deployment', 'podinfo', '-n', ns.name])).metadata.generation;
      const third = await deploy(app.dir, 'hello-again');
      assert.equal(third.code, 0, third.stdout + third.stderr);
      assert.deepEqual(await podinfoPodUids(ns.name), before, 'the same pods');
      assert.equal(
        (await getJson(['get', 'deployment', 'podinfo', '-n', ns.name])).metadata.generation,
        generation,
        'the Deployment did not change',
      );
    } finally {
      await ns.remove();
      app.cleanup();
    }
  });
});
