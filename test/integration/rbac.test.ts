// `capstan rbac` against the real API server: the Role it prints, bound to a fresh OIDC group and
// nothing else, lets that group deploy the example app and run every other command; with one rule
// taken out the deploy stops with the 403 that names who was refused what, and why Capstan asked.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { mintToken, OIDC_PREFIX, writeTokenKubeconfig } from '../cluster/identity.js';
import { capstan } from './cli-helpers.js';
import { freshNamespace, kubectl, testCluster } from './helpers.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'demo-app');
const IMAGE = 'example.com/demo:1';

interface Setup {
  readonly ns: string;
  readonly group: string;
  readonly email: string;
  readonly app: string;
  readonly scratch: string;
  /** The OIDC identity's kubeconfig: a 10-minute ID token for `email` in `group`. */
  readonly kubeconfig: string;
  /** `capstan rbac staging --subject group:oidc:GROUP`, as printed. */
  readonly rbacYaml: string;
  readonly remove: () => Promise<void>;
}

/** The example app deploying to a fresh namespace, and a fresh OIDC identity with no grant yet. */
async function setUp(prefix: string): Promise<Setup> {
  const ns = await freshNamespace(prefix);
  const scratch = mkdtempSync(join(tmpdir(), 'capstan-rbac-'));
  const app = join(scratch, 'app');
  cpSync(EXAMPLE, app, { recursive: true });
  const config = join(app, '.deploy', 'capstan.yaml');
  writeFileSync(
    config,
    readFileSync(config, 'utf8').replace('namespace: demo-staging', `namespace: ${ns.name}`),
  );
  const group = `rbac-${ns.name.slice(-6)}`;
  const email = `${group}@example.com`;
  const tokens = await mintToken(testCluster(), { email, groups: [group], lifetimeSeconds: 600 });
  const kubeconfig = writeTokenKubeconfig(testCluster(), join(scratch, 'oidc.kubeconfig'), tokens.id_token);
  const printed = await capstan(['rbac', 'staging', '--subject', `group:${OIDC_PREFIX}${group}`], {
    cwd: app,
  });
  assert.equal(printed.code, 0, printed.stderr);
  return {
    ns: ns.name,
    group,
    email,
    app,
    scratch,
    kubeconfig,
    rbacYaml: printed.stdout,
    remove: async () => {
      rmSync(scratch, { recursive: true, force: true });
      await ns.remove();
    },
  };
}

const DEPLOY = ['deploy', 'staging', '--image', IMAGE, '--timeout', '2m', '--progress-deadline', '90s'];

describe('capstan rbac', () => {
  let setup: Setup;
  before(async () => {
    setup = await setUp('rbac');
  });
  after(async () => {
    await setup?.remove();
  });

  it('prints a Role and its binding only, no ClusterRole, for the example app', () => {
    const kinds = parseAllDocuments(setup.rbacYaml).map((d) => (d.toJS() as { kind: string }).kind);
    assert.deepEqual(kinds, ['Role', 'RoleBinding']);
  });

  it('is enough for the OIDC group to run every command, and nothing else is granted', async () => {
    await kubectl(['apply', '-f', '-'], setup.rbacYaml);
    const as = { cwd: setup.app, kubeconfig: setup.kubeconfig };
    const expect = async (args: string[], code = 0) => {
      const run = await capstan(args, as);
      assert.equal(run.code, code, `capstan ${args.join(' ')}\n${run.stdout}${run.stderr}`);
      return run;
    };
    // Nothing beyond the Role: not even reading the namespace itself.
    const canI = await kubectl([
      'auth',
      'can-i',
      'get',
      'namespaces',
      `--as=${OIDC_PREFIX}${setup.email}`,
      `--as-group=${OIDC_PREFIX}${setup.group}`,
    ]).catch((error: { stdout?: string }) => error.stdout ?? '');
    assert.match(canI, /no/);

    await expect([...DEPLOY, '--output', 'json']);
    await expect(['diff', 'staging', '--image', IMAGE]);
    await expect([
      ...DEPLOY.slice(0, 4),
      '--image',
      'example.com/demo:2',
      '--timeout',
      '2m',
      '--output',
      'json',
    ]);
    const history = await expect(['history', 'staging', '--output', 'json']);
    assert.equal((JSON.parse(history.stdout) as unknown[]).length, 2);
    await expect(['rollback', 'staging', '--timeout', '2m', '--output', 'json']);
    const run = await expect(['run', 'staging', '--image', IMAGE, '--timeout', '2m', '--', 'true']);
    assert.doesNotMatch(run.stderr, /cannot/);
    await expect(['jobs', 'clean', 'staging']);
    await expect(['unlock', 'staging']);
  });

  /** The Role as printed, changed by `change`, applied; the command's run; the full Role again. */
  async function withoutRule(
    change: (rules: Rule[]) => Rule[],
    args: string[],
  ): Promise<{ code: number; stderr: string; stdout: string }> {
    const role = parseAllDocuments(setup.rbacYaml)
      .map((d) => d.toJS() as Record<string, any>)
      .find((d) => d.kind === 'Role')!;
    await kubectl(['apply', '-f', '-'], JSON.stringify({ ...role, rules: change(role.rules as Rule[]) }));
    try {
      return await capstan(args, { cwd: setup.app, kubeconfig: setup.kubeconfig });
    } finally {
      await kubectl(['apply', '-f', '-'], setup.rbacYaml);
    }
  }

  const without = (resource: string, verb?: string) => (rules: Rule[]) =>
    rules.flatMap((r) =>
      !r.resources.includes(resource)
        ? [r]
        : verb
          ? [{ ...r, verbs: r.verbs.filter((v) => v !== verb) }]
          : r.resources.length > 1
            ? [{ ...r, resources: r.resources.filter((x) => x !== resource) }]
            : [],
    );

  /** `cannot VERB RESOURCE in namespace NS as oidc:EMAIL (groups: oidc:GROUP): DOING` */
  function refusal(verb: string, resource: string, doing: string): RegExp {
    const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    return new RegExp(
      esc(
        `cannot ${verb} ${resource} in namespace ${setup.ns} as ${OIDC_PREFIX}${setup.email} (groups: ${OIDC_PREFIX}${setup.group}): `,
      ) + doing,
    );
  }

  it('without the rule for Leases, the deploy names identity, verb, resource, namespace and the lock', async () => {
    const run = await withoutRule(without('leases'), DEPLOY);
    assert.notEqual(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, refusal('get', 'leases.coordination.k8s.io', 'the deploy lock needs it'));
    assert.match(
      run.stderr,
      /apiGroups: \["coordination\.k8s\.io"\], resources: \["leases"\], verbs: \["get"\]/,
    );
  });

  it('each other missing permission is named with what Capstan was doing', async () => {
    const cases: Array<[change: (rules: Rule[]) => Rule[], args: string[], expected: RegExp]> = [
      [
        without('configmaps', 'patch'),
        // --full: an unchanged ConfigMap would not be sent (nor dry-run) at all.
        [...DEPLOY, '--full'],
        refusal(
          'patch',
          'configmaps',
          'the server-side dry run of ConfigMap/demo-config \\(.*app\\.configmap\\.yaml\\.ejs\\) needs it',
        ),
      ],
      [
        without('jobs', 'get'),
        DEPLOY,
        refusal('get', 'jobs.batch', 'checking whether hook Job/db-migrate-[\\w-]+ ran before needs it'),
      ],
      [
        without('secrets', 'list'),
        ['history', 'staging'],
        refusal('list', 'secrets', 'reading the release history \\(its Secrets\\) needs it'),
      ],
      [
        without('leases', 'delete'),
        ['unlock', 'staging'],
        refusal(
          'delete',
          'leases.coordination.k8s.io',
          'removing the deploy lock \\(capstan unlock\\) needs it',
        ),
      ],
      [
        without('jobs', 'create'),
        ['run', 'staging', '--image', IMAGE, '--', 'true'],
        refusal('create', 'jobs.batch', "starting the task's Job/demo-task-true-\\w+ needs it"),
      ],
      [
        without('secrets', 'patch'),
        ['rollback', 'staging', '--to', '1'],
        refusal('patch', 'secrets', 'recording release \\d+ \\(its Secrets\\) needs it'),
      ],
    ];
    for (const [change, args, expected] of cases) {
      const run = await withoutRule(change, args);
      assert.notEqual(run.code, 0, `capstan ${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout + run.stderr, expected, `capstan ${args.join(' ')}`);
    }
  });
});

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
