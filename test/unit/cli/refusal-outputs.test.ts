// Every way a deploy is refused, told in every output the CLI writes to: the terminal's live view,
// `-o plain`, `-o json`, GitHub annotations and step summary, GitLab sections. Each case is the
// event sequence deploy() emits for that refusal (src/deploy/deploy.ts), then what it returns or
// throws, drawn as runCli draws it: the reporter settles the deploy, then reportError prints what
// was thrown. The reason must show once per output: never lost, never said twice.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { reportError } from '../../../src/cli/main.js';
import { Reporter, type OutputMode } from '../../../src/cli/reporter.js';
import type { DeployEvent, DeployOutcome } from '../../../src/deploy/index.js';
import { Redactor } from '../../../src/secrets/index.js';
import { CapstanError, ConfigError } from '../../../src/shared/index.js';

const NS = 'shop-staging';
const web = { kind: 'Deployment', name: 'web', namespace: NS };
const config = { kind: 'ConfigMap', name: 'web-config', namespace: NS };
const migrate = { kind: 'Job', name: 'db-migrate', namespace: NS };
const WORKSPACE = '/home/runner/work/shop/shop';

const started: DeployEvent = {
  type: 'deploy-started',
  app: 'shop',
  env: 'staging',
  namespace: NS,
  deployId: '20261207140000-ab12',
  image: 'example.com/shop:1',
  phases: ['10-configuration', '20-predeployment', '30-deployment'],
  dryRun: false,
};
const validated: DeployEvent = { type: 'validation-finished', objects: 3, durationMs: 120 };

function finished(outcome: DeployOutcome, exitCode: number, message: string): DeployEvent {
  return {
    type: 'deploy-finished',
    outcome,
    exitCode,
    durationMs: 900,
    deployId: '20261207140000-ab12',
    message,
    applied: [],
    notApplied: [config, migrate, web],
  };
}

interface Refusal {
  /** What deploy() emits, in order. */
  readonly events: readonly DeployEvent[];
  /** What deploy() throws after its last event, if it throws. */
  readonly thrown?: Error;
  readonly exitCode: number;
  /** A phrase only the reason holds: it must show once in each output. */
  readonly reason: string;
}

const PREFLIGHT_PROBLEM =
  'Deployment/web: 1 of 1 pod would not schedule: 0/6 nodes are available: 6 Insufficient cpu. Free: at most 7.9 cpu on a node; each pod requests 9';

/** The deploy's refusals, each as deploy() tells it (see the comments for the code path). */
const REFUSALS: Record<string, Refusal> = (() => {
  // loadConfig/resolveEnvironment throw before anything is rendered: deploy() catches, finishes, rethrows.
  const input = new ConfigError([
    {
      file: `${WORKSPACE}/.deploy/capstan.yaml`,
      line: 3,
      column: 5,
      message: 'unknown environment "stagin"',
    },
  ]);
  // refuseBrokenObjects throws once the dry run passed (deploy-gate.ts).
  const audit = new ConfigError(
    [
      {
        file: `${WORKSPACE}/.deploy/staging/30-deployment/web.yaml`,
        line: 14,
        message: 'Deployment/web: envFrom names Secret/web-secrets, which does not exist [missing-reference]',
      },
    ],
    {
      hint: "fix them; or, if they are meant, set the check's severity in the audit section of capstan.yaml, add the annotation capstan.dev/audit-ignore: missing-reference, or deploy with --skip-audit",
    },
  );
  // planHookJob's refusal of a Job Capstan did not create becomes an issue of the dry run
  // (validate.ts): thrown before validation-finished.
  const foreignJob = new ConfigError(
    [
      {
        file: `${WORKSPACE}/.deploy/staging/20-predeployment/db-migrate.job.yaml`,
        line: 1,
        message: `Job/db-migrate already exists in namespace ${NS} and was not created by Capstan for this app and environment; rename the Job, or remove that one: kubectl delete job db-migrate -n ${NS} --cascade=foreground`,
      },
    ],
    { hint: 'nothing was applied: a Job of the same name as one this deploy runs is in the way' },
  );
  const lock = `shop/staging is locked by alice@laptop (pid 4242) since 2026-12-07T13:59:00.000Z (by its clock); it renewed the lock 3s ago, so that deploy is running; the lock expires in 57s`;
  const awaited = `Job/db-migrate of an earlier deploy was still running at the deadline (started 2m ago, 1 active pod); deploy again once it finished, or with --replace-running-jobs to delete it`;
  // A request that failed for another reason than the input: thrown, exit 1.
  const broken = new CapstanError(
    'ERR_CAPSTAN_KUBE_API',
    'the API server answered 500 while reading Secret/web-secrets',
  );
  return {
    'input error': {
      events: [finished('invalid', 2, input.message)],
      thrown: input,
      exitCode: 2,
      reason: 'unknown environment "stagin"',
    },
    'audit refusal': {
      events: [started, validated, finished('invalid', 2, audit.message)],
      thrown: audit,
      exitCode: 2,
      reason: 'which does not exist [missing-reference]',
    },
    // checkScheduling returns the refusal; deploy() finishes with it and returns exit 2.
    'scheduling preflight refusal': {
      events: [
        started,
        validated,
        {
          type: 'preflight-finished',
          workloads: 1,
          problems: [
            {
              object: web,
              severity: 'error',
              message: PREFLIGHT_PROBLEM,
              hint: 'add capacity, or lower the request',
            },
          ],
          durationMs: 40,
        },
        finished(
          'invalid',
          2,
          `scheduling preflight: ${PREFLIGHT_PROBLEM}. Add capacity, or lower the request\nNothing was applied; --skip-preflight deploys anyway.`,
        ),
      ],
      exitCode: 2,
      reason: 'each pod requests 9',
    },
    'a Job Capstan did not create in the way (refused in the dry run)': {
      events: [started, finished('invalid', 2, foreignJob.message)],
      thrown: foreignJob,
      exitCode: 2,
      reason: 'was not created by Capstan for this app',
    },
    // A running Job of another spec waited for until the deadline (replacePhaseJobs' failure, returned).
    'running Job in the way (waited for until the deadline)': {
      events: [
        started,
        validated,
        { type: 'preflight-finished', workloads: 1, problems: [], durationMs: 40 },
        { type: 'phase-started', phase: '10-configuration', objects: 1 },
        { type: 'object-applied', phase: '10-configuration', object: config, action: 'created' },
        { type: 'object-ready', phase: '10-configuration', object: config, message: 'exists' },
        { type: 'phase-finished', phase: '10-configuration', durationMs: 80 },
        { type: 'phase-started', phase: '20-predeployment', objects: 1 },
        {
          type: 'object-waiting',
          phase: '20-predeployment',
          object: migrate,
          message: 'waiting for the run of an earlier deploy to finish before replacing it',
        },
        {
          ...(finished('timed-out', 3, awaited) as Extract<DeployEvent, { type: 'deploy-finished' }>),
          applied: [config],
          notApplied: [migrate, web],
        },
      ],
      exitCode: 3,
      reason: 'was still running at the deadline',
    },
    // The recorder's LockHeldError is caught by deploy(): it finishes 'locked' and returns exit 4.
    'lock held': {
      events: [
        started,
        validated,
        { type: 'preflight-finished', workloads: 1, problems: [], durationMs: 40 },
        finished('locked', 4, lock),
      ],
      exitCode: 4,
      reason: 'is locked by alice@laptop (pid 4242)',
    },
    'failure thrown after the dry run': {
      events: [started, validated, finished('failed', 1, broken.message)],
      thrown: broken,
      exitCode: 1,
      reason: 'answered 500 while reading',
    },
  };
})();

interface Printed {
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: string;
  readonly exitCode: number;
}

function sink(): { stream: PassThrough & { columns?: number; rows?: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { columns: 200, rows: 40 });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

/** What `capstan deploy` prints for this refusal: deploy-commands' settle, then runCli's reportError. */
async function deployCommand(mode: OutputMode, env: NodeJS.ProcessEnv, refusal: Refusal): Promise<Printed> {
  const out = sink();
  const err = sink();
  let summary = '';
  const redactor = new Redactor(['hunter22']);
  const reporter = new Reporter(out.stream, mode, redactor, {
    env,
    stderr: err.stream,
    appendFile: (_path, text) => (summary += text),
    redrawMs: 0,
  });
  const deploy = async () => {
    for (const event of refusal.events) reporter.event(redactor.event(event));
    await Promise.resolve();
    if (refusal.thrown) throw refusal.thrown;
    return { exitCode: refusal.exitCode };
  };
  let exitCode: number;
  try {
    exitCode = (await reporter.settle(deploy())).exitCode;
  } catch (error) {
    exitCode = reportError(error, { stderr: err.stream, env }, redactor);
  }
  return { stdout: out.text(), stderr: err.text(), summary, exitCode };
}

function count(text: string, phrase: string): number {
  return text.split(phrase).length - 1;
}

const plainText = (text: string) => text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');

const GITHUB = {
  GITHUB_ACTIONS: 'true',
  GITHUB_WORKSPACE: WORKSPACE,
  GITHUB_STEP_SUMMARY: '/tmp/summary.md',
};

describe('a refused deploy tells its reason in every output, once', () => {
  for (const [name, refusal] of Object.entries(REFUSALS)) {
    describe(name, () => {
      it('on a terminal (the live view), with the exit code', async () => {
        const printed = await deployCommand('tty', {}, refusal);
        assert.equal(printed.exitCode, refusal.exitCode);
        const shown = plainText(printed.stdout + printed.stderr);
        assert.equal(count(shown, refusal.reason), 1, shown);
        assert.match(plainText(printed.stdout), /✗ deploy (invalid|locked|timed-out|failed)/);
      });

      it('with -o plain', async () => {
        const printed = await deployCommand('plain', {}, refusal);
        const shown = printed.stdout + printed.stderr;
        assert.equal(count(shown, refusal.reason), 1, shown);
        assert.ok(!shown.includes('\u001b['), 'no escape codes');
      });

      it('with -o json: in deploy-finished, and standard output stays JSON', async () => {
        const printed = await deployCommand('json', {}, refusal);
        const events = printed.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        const last = events.at(-1)!;
        assert.equal(last.type, 'deploy-finished');
        assert.ok(String(last.message).includes(refusal.reason), String(last.message));
        // A thrown error is explained on standard error too, once.
        assert.equal(count(printed.stderr, refusal.reason), refusal.thrown ? 1 : 0, printed.stderr);
      });

      it('as exactly one GitHub annotation, whatever the output mode', async () => {
        for (const mode of ['plain', 'json', 'tty'] as const) {
          const printed = await deployCommand(mode, GITHUB, refusal);
          const annotations = (printed.stdout + printed.stderr)
            .split('\n')
            .filter((line) => line.startsWith('::error'));
          const telling = annotations.filter((a) => a.includes(refusal.reason));
          assert.equal(telling.length, 1, `${mode}: ${annotations.join('\n')}`);
          assert.equal(count(telling[0], refusal.reason), 1);
          assert.ok(!printed.stdout.includes('::error') || mode !== 'json', 'annotations stay off -o json');
        }
      });

      it('in the GitHub step summary', async () => {
        const printed = await deployCommand('plain', GITHUB, refusal);
        assert.equal(count(printed.summary, refusal.reason), 1, printed.summary);
        assert.match(printed.summary, /✗ deploy (invalid|locked|timed-out|failed): /);
      });

      it('under GitLab CI, outside every collapsed section', async () => {
        const printed = await deployCommand('plain', { GITLAB_CI: 'true' }, refusal);
        const shown = printed.stdout + printed.stderr;
        assert.equal(count(shown, refusal.reason), 1, shown);
        const opened = count(printed.stdout, 'section_start:');
        assert.equal(count(printed.stdout, 'section_end:'), opened, 'every section is closed');
        const at = printed.stdout.indexOf(refusal.reason);
        if (at !== -1) assert.ok(printed.stdout.lastIndexOf('section_end:') < at, printed.stdout);
      });
    });
  }

  it('puts a reason of several lines under the closing line, indented', async () => {
    const printed = await deployCommand('plain', {}, REFUSALS['scheduling preflight refusal']);
    assert.match(
      printed.stdout,
      /\n✗ deploy invalid \(0\.9s, deploy 20261207140000-ab12\)\n {2}scheduling preflight: Deployment\/web: .*each pod requests 9\. Add capacity, or lower the request\n {2}Nothing was applied; --skip-preflight deploys anyway\.\n$/,
    );
    assert.equal(printed.stderr, '');
  });

  it('says "nothing was applied" and leaves invalid input to reportError, issue by issue at its file', async () => {
    const printed = await deployCommand('plain', GITHUB, REFUSALS['audit refusal']);
    assert.match(
      printed.stdout,
      /✗ deploy invalid: nothing was applied \(0\.9s, deploy 20261207140000-ab12\)\n$/,
    );
    assert.match(printed.stderr, /^error: invalid input:\n {2}.*\[missing-reference\]\nhint: fix them;/);
    assert.match(
      printed.stderr,
      /::error file=\.deploy\/staging\/30-deployment\/web\.yaml,line=14,title=capstan%3A invalid input::Deployment\/web: envFrom/,
    );
  });

  it('keeps the reason of a returned refusal redacted in every output', async () => {
    const secret: Refusal = {
      events: [started, finished('invalid', 2, 'scheduling preflight: password hunter22 in the way')],
      exitCode: 2,
      reason: 'password [redacted] in the way',
    };
    for (const mode of ['plain', 'tty', 'json'] as const) {
      const printed = await deployCommand(mode, GITHUB, secret);
      for (const text of [printed.stdout, printed.stderr, printed.summary])
        assert.ok(!text.includes('hunter22'), text);
      assert.equal(count(printed.stderr, secret.reason), 1, printed.stderr);
    }
  });
});
