// Identity as teams log in: deploys that outlive their tokens through an exec plugin and through
// auth-provider oidc (10-second tokens, a workload Ready after 30 s), a static bearer token, and
// in-cluster style credentials whose token file is rotated (and the old token revoked) mid-deploy.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  issuerStats,
  mintToken,
  OIDC_DEPLOYERS,
  OIDC_PREFIX,
  requestServiceAccountToken,
  rotateInClusterToken,
  writeExecKubeconfig,
  writeInClusterIdentity,
  writeOidcKubeconfig,
  writeTokenKubeconfig,
} from '../cluster/identity.js';
import { KubeClient } from '../../src/kube/index.js';
import { RESTRICTED_CLUSTER_ROLE } from '../cluster/cluster.js';
import { capstan, capstanYaml, writeApp, type CliRun } from './cli-helpers.js';
import { freshNamespace, getJson, kubectl, testCluster, waitFor } from './helpers.js';

const TOKEN_SECONDS = 10;
const READY_AFTER_SECONDS = 30;

/** A Deployment whose pod becomes Ready only after READY_AFTER_SECONDS (kwok scenario `slow`). */
const slowWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  progressDeadlineSeconds: 300
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web, capstan.test/scenario: slow }
      annotations: { capstan.test/ready-after: ${READY_AFTER_SECONDS}s }
    spec:
      containers: [{ name: web, image: <%= image %> }]
`;

const config = `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { GREETING: hello }
`;

function slowApp(namespace: string) {
  return writeApp({
    '.deploy/capstan.yaml': capstanYaml('ident', namespace),
    '.deploy/test/10-configuration/config.yaml': config,
    '.deploy/test/30-deployment/web.yaml.ejs': slowWeb,
  });
}

async function grantOidcDeployers(namespace: string): Promise<void> {
  await kubectl([
    'create',
    'rolebinding',
    'oidc-deployers',
    `--clusterrole=${RESTRICTED_CLUSTER_ROLE}`,
    `--group=${OIDC_PREFIX}${OIDC_DEPLOYERS}`,
    '-n',
    namespace,
  ]);
}

async function grantServiceAccount(namespace: string, serviceAccount: string): Promise<void> {
  await kubectl(['create', 'serviceaccount', serviceAccount, '-n', namespace]);
  await kubectl([
    'create',
    'rolebinding',
    `${serviceAccount}-deployer`,
    `--clusterrole=${RESTRICTED_CLUSTER_ROLE}`,
    `--serviceaccount=${namespace}:${serviceAccount}`,
    '-n',
    namespace,
  ]);
}

const DEPLOY = [
  'deploy',
  'test',
  '--image',
  'example.com/app:1',
  '--timeout',
  '3m',
  '--progress-deadline',
  '2m',
  '--output',
  'json',
];

interface Setup {
  readonly ns: string;
  readonly app: ReturnType<typeof writeApp>;
  /** A folder for kubeconfigs and token files; also HOME, so that no ~/.kube/config is found. */
  readonly scratch: string;
}

/**
 * Exit code 0 is not enough: a deploy whose credential expired may still succeed while its Lease
 * renewals and release fail with 401 (reported as warnings). Demand none, and a released lock.
 * The one warning these namespace-bound identities do get: the scheduling preflight, which reads
 * nodes and pods cluster-wide, was skipped; it must name the identity that was refused.
 */
async function assertCleanDeploy(run: CliRun, ns: string): Promise<void> {
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const warnings = run.events.filter((e) => e.type === 'warning').map((e) => String(e.message));
  const [preflight, ...others] = warnings;
  if (preflight?.startsWith('scheduling preflight skipped:'))
    assert.match(
      preflight,
      / as (oidc:|system:serviceaccount:)\S+ \(groups: /,
      'the refusal names the identity',
    );
  assert.deepEqual(preflight?.startsWith('scheduling preflight skipped:') ? others : warnings, []);
  const leases = await getJson<{ items: any[] }>(['get', 'leases', '-n', ns]);
  assert.ok(leases.items.length > 0, 'the deploy took its lock');
  for (const lease of leases.items)
    assert.equal(lease.spec.holderIdentity, undefined, `lock ${lease.metadata.name} released`);
}

/** A fresh namespace with `grant` applied, the slow app (or a quick one), a scratch folder; all removed afterwards. */
async function withSetup(
  prefix: string,
  options: { grant: (ns: string) => Promise<void>; slow: boolean },
  body: (setup: Setup) => Promise<void>,
): Promise<void> {
  const ns = await freshNamespace(prefix);
  const app = options.slow
    ? slowApp(ns.name)
    : writeApp({
        '.deploy/capstan.yaml': capstanYaml('ident', ns.name),
        '.deploy/test/10-configuration/config.yaml': config,
      });
  const scratch = mkdtempSync(join(tmpdir(), 'capstan-ident-'));
  try {
    await options.grant(ns.name);
    await body({ ns: ns.name, app, scratch });
  } finally {
    app.cleanup();
    rmSync(scratch, { recursive: true, force: true });
    await ns.remove();
  }
}

describe('identity', () => {
  it(`deploys through an exec plugin for ${READY_AFTER_SECONDS / TOKEN_SECONDS}x the token lifetime, the plugin invoked again meanwhile`, async () => {
    const cluster = testCluster();
    await withSetup('ident-exec', { grant: grantOidcDeployers, slow: true }, async ({ ns, app, scratch }) => {
      const countFile = join(scratch, 'plugin-runs');
      const kubeconfig = writeExecKubeconfig(cluster, {
        file: join(scratch, 'exec.kubeconfig'),
        email: 'alice@example.com',
        groups: [OIDC_DEPLOYERS],
        lifetimeSeconds: TOKEN_SECONDS,
        countFile,
      });
      const started = Date.now();
      const run = await capstan(DEPLOY, { cwd: app.dir, kubeconfig, env: { HOME: scratch } });
      const seconds = (Date.now() - started) / 1000;
      await assertCleanDeploy(run, ns);
      const runs = readFileSync(countFile, 'utf8').trim().split('\n').length;
      console.log(
        `# exec plugin: deploy lasted ${seconds.toFixed(1)} s with ${TOKEN_SECONDS}-s tokens; plugin ran ${runs} times`,
      );
      // Credentials are obtained when a request needs them (Lease renewals every 20 s, the release at the end): at least once more.
      assert.ok(
        runs >= 2,
        `the plugin ran ${runs} times during a deploy of ${READY_AFTER_SECONDS}+ s with ${TOKEN_SECONDS}-s tokens`,
      );
    });
  });

  it(`deploys through auth-provider oidc for ${READY_AFTER_SECONDS / TOKEN_SECONDS}x the token lifetime, refreshing with the refresh token`, async () => {
    const cluster = testCluster();
    await withSetup('ident-oidc', { grant: grantOidcDeployers, slow: true }, async ({ ns, app, scratch }) => {
      const tokens = await mintToken(cluster, {
        email: 'bob@example.com',
        groups: [OIDC_DEPLOYERS],
        lifetimeSeconds: TOKEN_SECONDS,
      });
      const kubeconfig = writeOidcKubeconfig(cluster, join(scratch, 'oidc.kubeconfig'), tokens);
      const before = await issuerStats(cluster);
      // The issuer's CA reaches the refresh only through idp-certificate-authority-data: no NODE_EXTRA_CA_CERTS.
      const started = Date.now();
      const run = await capstan(DEPLOY, { cwd: app.dir, kubeconfig, env: { HOME: scratch } });
      const seconds = (Date.now() - started) / 1000;
      await assertCleanDeploy(run, ns);
      const after = await issuerStats(cluster);
      const refreshed = after.refreshed - before.refreshed;
      console.log(
        `# auth-provider oidc: deploy lasted ${seconds.toFixed(1)} s with ${TOKEN_SECONDS}-s tokens; ${refreshed} refreshes, ${after.refusedRefresh - before.refusedRefresh} refused`,
      );
      assert.ok(refreshed >= 1, `refreshed ${refreshed} times`);
      assert.equal(after.refusedRefresh, before.refusedRefresh, 'no used refresh token was sent again');
    });
  });

  it('deploys with a static bearer token', async () => {
    const cluster = testCluster();
    await withSetup(
      'ident-static',
      { grant: (ns) => grantServiceAccount(ns, 'capstan-bot'), slow: false },
      async ({ ns, app, scratch }) => {
        const token = await requestServiceAccountToken(cluster, {
          namespace: ns,
          serviceAccount: 'capstan-bot',
        });
        const kubeconfig = writeTokenKubeconfig(cluster, join(scratch, 'token.kubeconfig'), token);
        await assertCleanDeploy(
          await capstan(DEPLOY, { cwd: app.dir, kubeconfig, env: { HOME: scratch } }),
          ns,
        );
      },
    );
  });

  it('survives a rotation of the in-cluster token file, the old token revoked mid-deploy', async () => {
    const cluster = testCluster();
    await withSetup(
      'ident-incluster',
      { grant: (ns) => grantServiceAccount(ns, 'capstan-ci'), slow: true },
      async ({ ns, app, scratch }) => {
        const identity = await writeInClusterIdentity(cluster, {
          dir: join(scratch, 'serviceaccount'),
          namespace: ns,
          serviceAccount: 'capstan-ci',
        });
        const oldKubeconfig = writeTokenKubeconfig(
          cluster,
          join(scratch, 'old-token.kubeconfig'),
          readFileSync(join(identity.dir, 'token'), 'utf8'),
        );
        let finished = false;
        const deploy = capstan(DEPLOY, {
          cwd: app.dir,
          kubeconfig: false,
          env: { HOME: scratch, ...identity.env },
        }).finally(() => (finished = true));
        await waitFor('the deploy to create its Deployment', 60_000, async () => {
          if (finished) assert.fail(`the deploy ended early: ${JSON.stringify(await deploy)}`);
          return (await kubectl(['get', 'deployments', '-n', ns, '-o', 'name'])).includes('web');
        });
        await rotateInClusterToken(cluster, identity);
        // The API server caches token reviews for a few seconds: wait until the old token is refused.
        await waitFor('the old token to be refused', 60_000, async () => {
          try {
            await kubectl(['auth', 'whoami'], undefined, oldKubeconfig);
            return false;
          } catch (error) {
            return /Unauthorized|must be logged in/i.test(
              String((error as { stderr?: string }).stderr ?? error),
            );
          }
        });
        assert.equal(finished, false, 'the deploy was still running when the old token stopped working');
        await assertCleanDeploy(await deploy, ns);
      },
    );
  });

  it('says who was refused what, where, and while doing what', async () => {
    const cluster = testCluster();
    const ns = await freshNamespace('ident-refused');
    const client = await KubeClient.connect({ kubeconfig: cluster.oidcKubeconfig, env: {} });
    try {
      const refused = await client.list('v1', 'Secret', { namespace: ns.name }).then(
        () => assert.fail('listing Secrets without a grant should be refused'),
        (error: unknown) => client.explainRefusal(error, 'reading the release history'),
      );
      assert.equal(
        (refused as Error).message,
        `cannot list secrets in namespace ${ns.name} as ${OIDC_PREFIX}alice@example.com (groups: ${OIDC_PREFIX}${OIDC_DEPLOYERS}): reading the release history`,
      );
      assert.match(
        (refused as { hint?: string }).hint ?? '',
        /Role rule: apiGroups: \[""\], resources: \["secrets"\], verbs: \["list"\]/,
      );
    } finally {
      client.close();
      await ns.remove();
    }
  });
});
