// A refused deploy, through the real CLI against the real control plane: the reason of each kind of
// refusal (the scheduling preflight, the audit's certainly-broken checks, a Job in the way: one of
// an earlier deploy still running, waited for until the deadline, or one Capstan did not create)
// is printed once with `-o plain`, and once as a GitHub annotation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capstan, capstanYaml, writeApp, type CliRun } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, waitFor } from './helpers.js';

/** A Deployment `web` with these resources (a YAML flow mapping) and optionally more container fields. */
const deployment = (resources: string, more = '') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  selector: { matchLabels: { app: web } }\n` +
  `  template:\n    metadata: { labels: { app: web } }\n    spec:\n      containers:\n` +
  `        - { name: web, image: <%= image %>, resources: ${resources}${more} }\n`;

const config = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shop-config }\ndata: { GREETING: hi }\n';

const MIGRATE =
  'apiVersion: batch/v1\nkind: Job\nmetadata: { name: db-migrate }\nspec:\n  backoffLimit: 0\n' +
  '  template: { spec: { restartPolicy: Never, containers: [{ name: migrate, image: <%= image %> }] } }\n';

/** A Job `db-migrate` of this app as a deploy that died left it: with no spec hash, its pod never finishing. */
const LEFT_RUNNING = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {
    name: 'db-migrate',
    labels: {
      'app.kubernetes.io/managed-by': 'capstan',
      'capstan.dev/app': 'shop',
      'capstan.dev/env': 'test',
    },
  },
  spec: {
    template: {
      metadata: { labels: { 'capstan.test/scenario': 'not-ready' } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'shop:v0' }] },
    },
  },
};

/** Occurrences of a pattern (global) in a text. */
function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, 'g'))].length;
}

/** The `::error` workflow commands a run printed (on standard error, whatever the mode). */
function annotations(run: CliRun): string[] {
  return (run.stdout + run.stderr).split('\n').filter((line) => line.startsWith('::error'));
}

/**
 * Deploys twice, with `-o plain` and under GitHub Actions; checks the exit code, the reason once
 * among everything printed, and exactly one annotation telling it. Returns both runs.
 */
async function refused(
  dir: string,
  reason: RegExp,
  exitCodes: readonly number[],
  args: readonly string[] = [],
): Promise<CliRun[]> {
  const runs: CliRun[] = [];
  for (const env of [{}, { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: dir }]) {
    const run = await capstan(['deploy', 'test', '--image', 'example.com/shop:1', '-o', 'plain', ...args], {
      cwd: dir,
      env,
    });
    const shown = run.stdout + run.stderr;
    assert.ok(exitCodes.includes(run.code), `exit ${run.code}\n${shown}`);
    const plain = shown
      .split('\n')
      .filter((line) => !line.startsWith('::'))
      .join('\n');
    assert.equal(count(plain, reason), 1, `the reason once in:\n${shown}`);
    if ('GITHUB_ACTIONS' in env) {
      const telling = annotations(run).filter((a) => reason.test(a));
      assert.equal(telling.length, 1, annotations(run).join('\n'));
    } else assert.deepEqual(annotations(run), [], 'no annotations outside GitHub Actions');
    runs.push(run);
  }
  return runs;
}

describe('a refused deploy prints its reason', () => {
  it('a scheduling preflight refusal: 9 CPUs asked on nodes of 8', async () => {
    const ns = await freshNamespace('refusal-preflight');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/10-configuration/config.yaml': config,
      '.deploy/test/30-deployment/web.yaml.ejs': deployment('{ requests: { cpu: "9", memory: 64Mi } }'),
    });
    try {
      const [plain, github] = await refused(
        app.dir,
        /0\/\d+ nodes are available: \d+ Insufficient cpu\..*each pod requests 9/,
        [2],
      );
      assert.match(
        plain.stdout,
        /\n✗ deploy invalid \(\d+\.\ds, deploy \S+\)\n {2}scheduling preflight: Deployment\/web: /,
      );
      assert.match(plain.stdout, /Nothing was applied; --skip-preflight deploys anyway\./);
      assert.match(
        github.stderr,
        /^::error title=capstan deploy invalid::scheduling preflight: Deployment\/web: /m,
      );
      const deployments = await getJson<{ items: unknown[] }>(['get', 'deployments', '-n', ns.name]);
      assert.equal(deployments.items.length, 0, 'nothing was applied');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('an audit refusal: a ConfigMap that is neither rendered nor in the namespace', async () => {
    const ns = await freshNamespace('refusal-audit');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/30-deployment/web.yaml.ejs': deployment(
        '{ requests: { cpu: 100m, memory: 64Mi } }',
        ', envFrom: [{ configMapRef: { name: web-settings } }]',
      ),
    });
    try {
      const [plain, github] = await refused(
        app.dir,
        /uses ConfigMap web-settings, which is neither rendered nor in namespace/,
        [2],
      );
      // reportError tells it, with the hint; the closing line only closes the deploy.
      assert.match(plain.stdout, /✗ deploy invalid: nothing was applied \(/);
      assert.match(plain.stderr, /\[reference-missing\]\nhint: fix them;/);
      // One annotation per issue, at the template's file and line (relative to the workspace).
      assert.match(
        github.stderr,
        /^::error file=\.deploy\/test\/30-deployment\/web\.yaml\.ejs,line=\d+,title=capstan%3A invalid input::.*web-settings/m,
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('a Job of an earlier deploy still running with another spec', async () => {
    const ns = await freshNamespace('refusal-job');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/10-configuration/config.yaml': config,
      '.deploy/test/20-predeployment/db-migrate.job.yaml.ejs': MIGRATE,
    });
    try {
      await kubectl(['apply', '-n', ns.name, '-f', '-'], JSON.stringify(LEFT_RUNNING));
      await waitFor('the old migration running', 20_000, async () => {
        const job = await getJson(['get', 'job', 'db-migrate', '-n', ns.name]);
        return (job.status?.active ?? 0) > 0;
      });
      // Waited for until the deploy's deadline (exit 3), never deleted: the Job is named, with why.
      const [plain] = await refused(
        app.dir,
        /Job\/db-migrate of an earlier deploy was still running at the deadline \(started/,
        [3],
        ['--timeout', '15s'],
      );
      assert.match(plain.stdout, /✗ deploy timed-out: Job\/db-migrate of an earlier deploy/);
      const job = await getJson(['get', 'job', 'db-migrate', '-n', ns.name]);
      assert.equal(job.spec.template.spec.containers[0].image, 'shop:v0', 'the running Job was left alone');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('a Job of the same name that Capstan did not create', async () => {
    const ns = await freshNamespace('refusal-foreign-job');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('shop', ns.name),
      '.deploy/test/20-predeployment/db-migrate.job.yaml.ejs': MIGRATE,
    });
    try {
      const foreign = { ...LEFT_RUNNING, metadata: { name: 'db-migrate' } };
      await kubectl(['apply', '-n', ns.name, '-f', '-'], JSON.stringify(foreign));
      const [plain, github] = await refused(
        app.dir,
        /Job\/db-migrate already exists in namespace \S+ and was not created by Capstan/,
        [2],
      );
      assert.match(plain.stdout, /✗ deploy invalid: nothing was applied \(/);
      assert.match(
        plain.stderr,
        /hint: nothing was applied: a Job of the same name as one this deploy runs is in the way/,
      );
      assert.match(
        github.stderr,
        /^::error file=\.deploy\/test\/20-predeployment\/db-migrate\.job\.yaml\.ejs,.*title=capstan%3A invalid input::Job\/db-migrate already exists/m,
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
