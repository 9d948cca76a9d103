import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import {
  workspacePath,
  escapeData,
  escapeProperty,
  formatAnnotation,
  formatStepSummary,
  gitlabSectionEnd,
  gitlabSectionStart,
} from '../../../src/cli/ci.js';
import { reportError } from '../../../src/cli/report-error.js';
import { Reporter, type OutputMode } from '../../../src/cli/reporter.js';
import type { DeployEvent } from '../../../src/deploy/index.js';
import { Redactor } from '../../../src/secrets/index.js';
import { ConfigError } from '../../../src/shared/index.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

describe('GitHub workflow commands', () => {
  it('escapes % CR LF in the message, and also : and , in properties', () => {
    assert.equal(escapeData('50% done\r\nnext'), '50%25 done%0D%0Anext');
    assert.equal(escapeProperty('a:b,c%\n'), 'a%3Ab%2Cc%25%0A');
    assert.equal(
      formatAnnotation('error', 'bad: value,\nsecond line', {
        file: '.deploy/capstan.yaml',
        line: 3,
        col: 7,
        title: 'capstan: invalid input',
      }),
      '::error file=.deploy/capstan.yaml,line=3,col=7,title=capstan%3A invalid input::bad: value,%0Asecond line',
    );
    assert.equal(formatAnnotation('error', 'plain'), '::error::plain');
  });

  it('points at files relative to the workspace, as GitHub links them', () => {
    const env = { GITHUB_WORKSPACE: '/home/runner/work/shop/shop/' };
    assert.equal(
      workspacePath('/home/runner/work/shop/shop/.deploy/capstan.yaml', env),
      '.deploy/capstan.yaml',
    );
    assert.equal(workspacePath('/elsewhere/x.yaml', env), '/elsewhere/x.yaml');
    assert.equal(
      workspacePath('/home/runner/work/shop/shopping/x.yaml', env),
      '/home/runner/work/shop/shopping/x.yaml',
    );
  });

  it('reportError annotates each ConfigError issue at its file and line, redacted, under GITHUB_ACTIONS only', () => {
    const error = new ConfigError([
      {
        file: '.deploy/capstan.yaml',
        line: 4,
        column: 3,
        path: 'environments.staging.namespace',
        message: 'must be a string, not hunter22',
      },
      { file: '.deploy/staging/30-web/web.yaml', message: 'unknown kind' },
    ]);
    const gh = sink();
    assert.equal(
      reportError(error, { stderr: gh.stream, env: { GITHUB_ACTIONS: 'true' } }, new Redactor(['hunter22'])),
      2,
    );
    const annotations = gh
      .text()
      .split('\n')
      .filter((l) => l.startsWith('::'));
    assert.deepEqual(annotations, [
      '::error file=.deploy/capstan.yaml,line=4,col=3,title=capstan%3A invalid input::environments.staging.namespace: must be a string, not [redacted]',
      '::error file=.deploy/staging/30-web/web.yaml,title=capstan%3A invalid input::unknown kind',
    ]);
    const local = sink();
    reportError(error, { stderr: local.stream, env: {} });
    assert.ok(!local.text().includes('::error'));
  });
});

describe('Reporter under CI', () => {
  const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
  const events: DeployEvent[] = [
    {
      type: 'deploy-started',
      app: 'shop',
      env: 'staging',
      namespace: 'shop',
      deployId: 'r1',
      phases: ['10-config', '30-web'],
      dryRun: false,
    },
    { type: 'phase-started', phase: '10-config', objects: 2 },
    { type: 'phase-finished', phase: '10-config', durationMs: 1200 },
    { type: 'phase-started', phase: '30-web', objects: 1 },
    { type: 'object-applied', phase: '30-web', object: web, action: 'configured' },
    {
      type: 'object-failed',
      phase: '30-web',
      object: web,
      message: 'CrashLoopBackOff: password hunter22',
      diagnosis: {
        mostLikelyCause: 'container web keeps crashing, 100% sure',
        pods: [],
        events: [],
        logs: [],
      },
      diagnosisText: 'Most likely cause: container web keeps crashing',
      source: { file: '/home/runner/work/shop/shop/.deploy/staging/30-web/web.yaml', line: 12 },
    },
    {
      type: 'deploy-finished',
      outcome: 'failed',
      exitCode: 1,
      durationMs: 5400,
      deployId: 'r1',
      message: 'phase 30-web failed: Deployment/web: CrashLoopBackOff',
      applied: [web],
      notApplied: [],
    },
  ];

  function run(mode: OutputMode, env: NodeJS.ProcessEnv) {
    const out = sink();
    const err = sink();
    const files: Array<[string, string]> = [];
    let now = 1_764_576_000_000;
    const reporter = new Reporter(out.stream, mode, new Redactor(['hunter22']), {
      env,
      stderr: err.stream,
      appendFile: (p, t) => files.push([p, t]),
      now: () => (now += 1000),
    });
    for (const e of events) reporter.event(e);
    reporter.end();
    return { out: out.text(), err: err.text(), files };
  }

  it('prints failures as annotations on standard error, redacted then escaped, and keeps -o json clean', () => {
    const { out, err } = run('json', {
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: '/home/runner/work/shop/shop',
    });
    assert.ok(
      out
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('{')),
      'stdout stays JSON lines',
    );
    assert.deepEqual(err.trim().split('\n'), [
      '::error file=.deploy/staging/30-web/web.yaml,line=12,title=Deployment/web failed in phase 30-web::Deployment/web: CrashLoopBackOff: password [redacted]%0AMost likely cause: container web keeps crashing, 100%25 sure',
      '::error title=capstan deploy failed::phase 30-web failed: Deployment/web: CrashLoopBackOff',
    ]);
  });

  it('appends the phase timeline to $GITHUB_STEP_SUMMARY as a Markdown table', () => {
    const { files } = run('plain', { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: '/tmp/summary.md' });
    assert.equal(files.length, 1);
    const [path, text] = files[0];
    assert.equal(path, '/tmp/summary.md');
    assert.equal(
      text,
      [
        '### capstan deploy of shop to staging',
        '',
        '| Phase | Duration | Outcome | Objects |',
        '| --- | ---: | --- | ---: |',
        '| 10-config | 1.2s | succeeded | 2 |',
        '| 30-web | 1.0s | failed | 1 |',
        '',
        '✗ deploy failed: phase 30-web failed: Deployment/web: CrashLoopBackOff (5.4s, deploy r1)',
        '',
        '',
      ].join('\n'),
    );
  });

  it('escapes pipes in table cells', () => {
    const text = formatStepSummary({
      title: 't',
      rows: [{ phase: 'a|b', outcome: 'ok', objects: 1 }],
      result: 'x\ny',
    });
    assert.match(text, /\| a\\\|b \|  \| ok \| 1 \|/);
    assert.match(text, /\nx y\n/);
  });

  it('writes nothing CI-specific without a CI', () => {
    const { out, err, files } = run('plain', { GITHUB_STEP_SUMMARY: '/tmp/summary.md' });
    assert.equal(err, '');
    assert.equal(files.length, 0);
    assert.ok(!out.includes('section_start'));
  });

  it('folds each phase into a GitLab section and shows failures outside it', () => {
    const { out } = run('plain', { GITLAB_CI: 'true' });
    const lines = out.split('\n');
    const start = lines.findIndex((l) => l.includes('section_start') && l.includes('phase_30-web'));
    assert.match(
      lines[start],
      /^\u001b\[0Ksection_start:\d+:phase_30-web\[collapsed=true\]\r\u001b\[0K▶ phase 30-web \(1 object\)$/,
    );
    const end = lines.findIndex((l) => l.includes('section_end') && l.includes('phase_30-web'));
    const failure = lines.findIndex((l) => l.includes('✗ Deployment/web'));
    assert.ok(start < end && end < failure, out);
    assert.ok(lines.some((l) => /^\u001b\[0Ksection_end:\d+:phase_10-config\r\u001b\[0K$/.test(l)));
    assert.ok(!out.includes('hunter22'));
  });

  it('formats GitLab section markers with the time in seconds and a safe name', () => {
    assert.equal(
      gitlabSectionStart('phase 1/x', 'Header\nnext', 1_764_576_000_999),
      '\u001b[0Ksection_start:1764576000:phase_1_x[collapsed=true]\r\u001b[0KHeader next',
    );
    assert.equal(
      gitlabSectionEnd('phase 1/x', 1_764_576_001_000),
      '\u001b[0Ksection_end:1764576001:phase_1_x\r\u001b[0K',
    );
  });
});
