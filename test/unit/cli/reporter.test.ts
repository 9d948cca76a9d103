import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { reportError } from '../../../src/cli/main.js';
import { Reporter, type OutputMode } from '../../../src/cli/reporter.js';
import type { DeployEvent } from '../../../src/deploy/index.js';
import type { RollbackEvent } from '../../../src/release/index.js';
import { Redactor } from '../../../src/secrets/index.js';
import { CapstanError } from '../../../src/shared/index.js';

function draw(mode: OutputMode, events: Array<DeployEvent | RollbackEvent>, redactor?: Redactor): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const reporter = new Reporter(out, mode, redactor);
  for (const e of events) reporter.event(e);
  reporter.end();
  return text;
}

const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const events: DeployEvent[] = [
  { type: 'phase-started', phase: '30-deployment', objects: 1 },
  { type: 'object-applied', phase: '30-deployment', object: web, action: 'configured' },
  {
    type: 'object-waiting',
    phase: '30-deployment',
    object: web,
    message: '1 of 2 updated replicas available',
  },
  {
    type: 'object-failed',
    phase: '30-deployment',
    object: web,
    message: 'CrashLoopBackOff',
    diagnosisText: 'Most likely cause: container web keeps crashing\nlast lines: password=hunter22',
  },
  {
    type: 'deploy-finished',
    outcome: 'failed',
    exitCode: 1,
    durationMs: 1500,
    deployId: 'r1',
    message: 'phase failed',
    applied: [web],
    notApplied: [],
  },
];

describe('Reporter', () => {
  it('prints one line per state change without a terminal, with the diagnosis indented', () => {
    const text = draw('plain', events);
    assert.match(text, /▶ phase 30-deployment \(1 object\)\n/);
    assert.match(text, /waiting Deployment\/web: 1 of 2 updated replicas available\n/);
    assert.match(
      text,
      /✗ Deployment\/web: CrashLoopBackOff\n {4}Most likely cause: container web keeps crashing\n/,
    );
    assert.match(text, /✗ deploy failed: phase failed \(1\.5s, deploy r1\)/);
    assert.ok(!text.includes('\u001b['), 'no escape codes without a terminal');
  });

  it('closes a rollback as a rollback, not as a deploy', () => {
    const started: RollbackEvent = {
      type: 'rollback-started',
      app: 'shop',
      env: 'staging',
      namespace: 'shop',
      release: 5,
      target: 3,
      images: [],
    };
    const finished = events.at(-1) as Extract<DeployEvent, { type: 'deploy-finished' }>;
    const text = draw('plain', [started, finished]);
    assert.match(text, /✗ rollback failed: phase failed \(1\.5s, deploy r1\)/);
    assert.ok(!text.includes('deploy failed'), text);
    assert.match(
      draw('plain', [started, { ...finished, outcome: 'succeeded', message: undefined }]),
      /✓ rollback succeeded/,
    );
  });

  it('writes one JSON object per line with -o json', () => {
    const lines = draw('json', events).trim().split('\n');
    assert.equal(lines.length, events.length);
    const parsed = lines.map((l) => JSON.parse(l) as { type: string; time: string });
    assert.deepEqual(
      parsed.map((p) => p.type),
      events.map((e) => e.type),
    );
    assert.ok(parsed.every((p) => !Number.isNaN(Date.parse(p.time))));
  });

  it('redraws the waiting block in place on a terminal', () => {
    const text = draw('tty', events);
    assert.match(text, /\u001b\[1A\u001b\[0J/, 'the live block is cleared before new lines');
  });

  it('passes everything through the redactor', () => {
    const text = draw('plain', events, new Redactor(['hunter22']));
    assert.ok(!text.includes('hunter22'));
    assert.match(text, /password=\[redacted\]/);
  });
});

describe('Reporter and reportError with ordinary secret values', () => {
  // `production` is also the environment's name: public, so never redacted (docs/redaction.md).
  const values = ['false', '5432', 'production', 'hunter22'];
  const started: DeployEvent = {
    type: 'deploy-started',
    app: 'shop',
    env: 'production',
    namespace: 'shop',
    deployId: 'r1',
    phases: ['30-deployment'],
    dryRun: false,
  };
  const finished: DeployEvent = {
    type: 'deploy-finished',
    outcome: 'succeeded',
    exitCode: 0,
    durationMs: 5432,
    deployId: 'r1',
    message: 'deployed to production with hunter22',
    applied: [],
    notApplied: [],
  };

  it("keeps -o json lines valid JSON with their booleans, numbers and the deploy's names", () => {
    const redactor = new Redactor(values);
    const [first, last] = draw('json', [redactor.event(started), redactor.event(finished)], redactor)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(first.dryRun, false);
    assert.equal(first.env, 'production');
    assert.equal(last.durationMs, 5432);
    assert.equal(last.outcome, 'succeeded');
    assert.equal(last.message, 'deployed to production with [redacted]');
  });

  it('keeps the identity fields of an event even when a secret value equals one', () => {
    // Without learning first: the fields themselves are never redacted.
    const event = new Redactor(['production', 'shop-production']).event({
      type: 'object-applied',
      phase: 'production',
      object: { kind: 'Deployment', name: 'shop-production', namespace: 'shop-production' },
      action: 'created',
    } satisfies DeployEvent);
    assert.deepEqual(event.object, {
      kind: 'Deployment',
      name: 'shop-production',
      namespace: 'shop-production',
    });
    assert.equal(event.phase, 'production');
  });

  it('redacts plain and terminal lines as text, but not the public names', () => {
    for (const mode of ['plain', 'tty'] as const) {
      const redactor = new Redactor(values);
      const text = draw(mode, [redactor.event(started), redactor.event(finished)], redactor);
      assert.match(text, /Deploying shop to production \(namespace shop\), deploy r1/);
      assert.match(text, /deployed to production with \[redacted\]/);
      assert.ok(!/5432|hunter22/.test(text.replace(/\(5\.4s/, '')), text);
    }
  });

  it('draws a rollback-started event, redacted, in every mode', () => {
    const redactor = new Redactor(values);
    const event: RollbackEvent = {
      type: 'rollback-started',
      app: 'shop',
      env: 'production',
      namespace: 'shop',
      release: 4,
      target: 2,
      images: ['shop:hunter22'],
    };
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    new Reporter(out, 'plain', redactor).event(redactor.event(event));
    new Reporter(out, 'json', redactor).event(redactor.event(event));
    const [plain, json] = text.trim().split('\n');
    assert.equal(
      plain,
      'Rolling back shop in production (namespace shop) to release 2, as release 4, image shop:[redacted]',
    );
    assert.deepEqual(
      { ...(JSON.parse(json) as object), time: undefined },
      { ...event, images: ['shop:[redacted]'], time: undefined },
    );
  });

  it('reportError redacts the message, the hint and the stack', () => {
    const redactor = new Redactor(values);
    const err = new PassThrough();
    let text = '';
    err.on('data', (c: Buffer) => (text += c.toString()));
    const code = reportError(
      new CapstanError('ERR_X', 'port 5432 refused', { hint: 'set production' }),
      { stderr: err },
      redactor,
    );
    assert.equal(code, 1);
    reportError(new Error('bug with production'), { stderr: err }, redactor);
    assert.ok(!/5432|production/.test(text), text);
    assert.match(text, /error: port \[redacted\] refused\nhint: set \[redacted\]\n/);
    // Once the deploy named its environment, that name is public: it reads as itself everywhere.
    redactor.event(started);
    reportError(
      new CapstanError('ERR_X', 'port 5432 refused', { hint: 'set production' }),
      { stderr: err },
      redactor,
    );
    assert.match(text, /error: port \[redacted\] refused\nhint: set production\n$/);
  });
});

describe('Reporter -o json time', () => {
  it('never redacts the time of an event, whatever the secrets', () => {
    const year = String(new Date().getUTCFullYear());
    const line = draw('json', [{ type: 'warning', message: `port ${year}` }], new Redactor([year]));
    const parsed = JSON.parse(line) as { time: string; message: string };
    assert.ok(!Number.isNaN(Date.parse(parsed.time)), parsed.time);
    assert.equal(parsed.message, 'port [redacted]');
  });
});
