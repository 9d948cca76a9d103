import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { countOf, fitWidth, PhaseProgress, pluralKind } from '../../../src/cli/progress.js';
import { Reporter } from '../../../src/cli/reporter.js';
import type { DeployEvent } from '../../../src/deploy/index.js';
import { Redactor } from '../../../src/secrets/index.js';

describe('pluralKind and countOf', () => {
  it('says 1 ConfigMap and 2 ConfigMaps, and the plural of kinds that are not just an s', () => {
    assert.equal(countOf(1, 'ConfigMap'), '1 ConfigMap');
    assert.equal(countOf(2, 'ConfigMap'), '2 ConfigMaps');
    assert.deepEqual(
      ['Ingress', 'NetworkPolicy', 'Endpoints', 'StorageClass', 'Gateway', 'Deployment'].map(pluralKind),
      ['Ingresses', 'NetworkPolicies', 'Endpoints', 'StorageClasses', 'Gateways', 'Deployments'],
    );
  });
});

describe('PhaseProgress', () => {
  const obj = (kind: string, i: number) => ({ kind, name: `app-${i}` });
  function phase(): PhaseProgress {
    const p = new PhaseProgress('30-deployment', 300, 0);
    for (let i = 0; i < 100; i++) p.applied(obj('ConfigMap', i), i < 3 ? 'configured' : 'unchanged');
    for (let i = 0; i < 100; i++) p.applied(obj('Service', i), 'created');
    for (let i = 0; i < 100; i++) p.applied(obj('Deployment', i), 'created');
    for (let i = 0; i < 100; i++) p.ready(obj('ConfigMap', i), `ConfigMap/app-${i}`);
    for (let i = 0; i < 100; i++) p.ready(obj('Service', i), `Service/app-${i}`);
    for (let i = 0; i < 37; i++) p.ready(obj('Deployment', i), `Deployment/app-${i}`);
    return p;
  }

  it('counts by kind, the kinds still waiting first, with the elapsed seconds', () => {
    assert.equal(
      phase().summary(12_400),
      'Deployments 37/100 ready · ConfigMaps 100/100 · Services 100/100 · 12.4s',
    );
  });

  it('says how far the apply is while it goes on', () => {
    const p = new PhaseProgress('30-deployment', 3, 0);
    p.applied(obj('ConfigMap', 0), 'created');
    assert.equal(p.summary(1000), 'applying 1/3 · ConfigMaps 0/1 ready · 1.0s');
  });

  it('summarises the apply per kind, singular and plural right', () => {
    const p = phase();
    const one = new PhaseProgress('10-config', 1, 0);
    one.applied(obj('ConfigMap', 0), 'created');
    assert.deepEqual(p.appliedLines(), [
      'applied 100 ConfigMaps: 3 changed, 97 unchanged',
      'applied 100 Services: 100 created',
      'applied 100 Deployments: 100 created',
    ]);
    assert.deepEqual(one.appliedLines(), ['applied 1 ConfigMap: 1 created']);
    assert.equal(one.finished(200), '1 ConfigMap ready in 0.2s');
  });

  it('counts the objects not sent, unchanged, as done with the apply', () => {
    const p = new PhaseProgress('30-app', 3, 0);
    p.applied(obj('Deployment', 0), 'configured');
    p.applied(obj('ConfigMap', 0), 'not sent');
    p.applied(obj('Deployment', 1), 'not sent');
    assert.deepEqual(p.appliedLines(), [
      'applied 1 ConfigMap: 1 unchanged, not sent',
      'applied 2 Deployments: 1 changed, 1 unchanged, not sent',
    ]);
    assert.doesNotMatch(p.summary(0), /applying/);
  });

  it('counts an object ready once, however often it is reported', () => {
    const p = new PhaseProgress('p', 1, 0);
    p.applied(obj('Deployment', 0), 'created');
    p.ready(obj('Deployment', 0), 'Deployment/app-0');
    p.ready(obj('Deployment', 0), 'Deployment/app-0');
    p.waitingFor('Deployment/app-0', 'late event');
    assert.equal(p.summary(0), 'Deployments 1/1 ready · 0.0s');
    assert.equal(p.waiting.size, 0);
  });

  it('cuts a line to the terminal width, counting characters, not bytes', () => {
    assert.equal(fitWidth('▶ abcdef', 6), '▶ ab…');
    assert.equal(fitWidth('short', 80), 'short');
    assert.equal(fitWidth('anything', undefined), 'anything');
  });
});

describe('Reporter on a terminal', () => {
  const ns = 'shop';
  const ev = (kind: string, i: number) => ({ kind, name: `app-${i}`, namespace: ns });
  function run(events: DeployEvent[], options: { columns?: number; redactor?: Redactor } = {}): string {
    const out = Object.assign(new PassThrough(), { columns: options.columns, rows: 40 });
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    let now = 0;
    const reporter = new Reporter(out, 'tty', options.redactor, { redrawMs: 0, now: () => (now += 100) });
    for (const e of events) reporter.event(e);
    reporter.end();
    return text;
  }

  const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
  const phase = '30-deployment';
  const events: DeployEvent[] = [
    { type: 'phase-started', phase, objects: 4 },
    { type: 'object-applied', phase, object: ev('ConfigMap', 0), action: 'unchanged' },
    { type: 'object-applied', phase, object: ev('ConfigMap', 1), action: 'configured' },
    { type: 'object-applied', phase, object: ev('Deployment', 0), action: 'created' },
    { type: 'object-applied', phase, object: ev('Deployment', 1), action: 'created' },
    { type: 'object-ready', phase, object: ev('ConfigMap', 0), message: 'applied' },
    { type: 'object-ready', phase, object: ev('ConfigMap', 1), message: 'applied' },
    {
      type: 'object-waiting',
      phase,
      object: ev('Deployment', 0),
      message: '0 of 1 updated replicas available',
    },
    {
      type: 'object-waiting',
      phase,
      object: ev('Deployment', 1),
      message: '0 of 1 updated replicas available',
    },
    { type: 'object-ready', phase, object: ev('Deployment', 0), message: 'available' },
    { type: 'object-ready', phase, object: ev('Deployment', 1), message: 'available' },
    { type: 'phase-finished', phase, durationMs: 2345 },
    {
      type: 'deploy-finished',
      outcome: 'succeeded',
      exitCode: 0,
      durationMs: 3000,
      deployId: 'r1',
      applied: [],
      notApplied: [],
    },
  ];

  it('redraws one live line per phase in place and leaves one line with its duration', () => {
    const text = plain(run(events));
    assert.match(
      text,
      /\u001b\[\d+A\u001b\[0J▶ 30-deployment {2}Deployments 0\/2 ready · ConfigMaps 2\/2 · \d+\.\ds\n/,
    );
    assert.match(text, / {2}… Deployment\/app-0: 0 of 1 updated replicas available\n/);
    const final = text.slice(text.lastIndexOf('\u001b[0J') + 4);
    assert.equal(
      final,
      '✓ 30-deployment  2 ConfigMaps · 2 Deployments ready in 2.3s\n  applied 2 ConfigMaps: 1 changed, 1 unchanged\n  applied 2 Deployments: 2 created\n✓ deploy succeeded (3.0s, deploy r1)\n',
    );
    assert.ok(!text.includes('applied ConfigMap/app-0'), 'no per-object lines on a terminal');
  });

  it('cuts live lines to the width after redacting, so no part of a secret shows', () => {
    const secret = 'sup3r-s3cret-value';
    const waiting: DeployEvent[] = [
      { type: 'phase-started', phase, objects: 1 },
      { type: 'object-applied', phase, object: ev('Deployment', 0), action: 'created' },
      { type: 'object-waiting', phase, object: ev('Deployment', 0), message: `waiting for ${secret}` },
    ];
    const text = plain(run(waiting, { columns: 40, redactor: new Redactor([secret]) }));
    assert.ok(!text.includes('sup3r'), text);
    for (const line of text.split('\n'))
      assert.ok([...line.replace(/\u001b\[\d+A\u001b\[0J/g, '')].length < 40, line);
  });

  it('freezes the phase line before a failure, which prints in full', () => {
    const failed: DeployEvent[] = [
      { type: 'phase-started', phase, objects: 1 },
      { type: 'object-applied', phase, object: ev('Deployment', 0), action: 'created' },
      {
        type: 'object-failed',
        phase,
        object: ev('Deployment', 0),
        message: 'CrashLoopBackOff',
        diagnosisText: 'Most likely cause: it crashes\nLogs:',
      },
      {
        type: 'deploy-finished',
        outcome: 'failed',
        exitCode: 1,
        durationMs: 1000,
        deployId: 'r1',
        applied: [],
        notApplied: [],
      },
    ];
    const text = plain(run(failed));
    assert.match(
      text,
      /✗ 30-deployment {2}Deployments 0\/1 ready · \d+\.\ds\n {2}applied 1 Deployment: 1 created\n {2}✗ Deployment\/app-0: CrashLoopBackOff\n {4}Most likely cause: it crashes\n {4}Logs:\n✗ deploy failed/,
    );
  });

  it('stops its redraw timer at deploy-finished', async () => {
    const out = Object.assign(new PassThrough(), { rows: 40 });
    let writes = 0;
    out.on('data', () => writes++);
    const reporter = new Reporter(out, 'tty', undefined, { redrawMs: 5 });
    reporter.event({ type: 'phase-started', phase, objects: 1 });
    for (let i = 0; i < 200 && writes < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(writes >= 3, 'the live line redraws on its own');
    reporter.event(events.at(-1)!);
    await new Promise((resolve) => setImmediate(resolve));
    const after = writes;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(writes, after);
  });
});
