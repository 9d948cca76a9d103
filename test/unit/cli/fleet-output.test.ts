// A multi-cluster deploy's output: the terminal's line per cluster, plain lines prefixed with the
// cluster, JSON events with `cluster`, GitHub's step summary and annotations, GitLab's sections.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { formatFleetStepSummary } from '../../../src/cli/ci.js';
import { Reporter, type OutputMode } from '../../../src/cli/reporter.js';
import type { AnyDeployEvent, DeployEvent, FleetEvent, RollbackEvent } from '../../../src/events/index.js';
import { Redactor } from '../../../src/secrets/index.js';

describe('cluster names in events', () => {
  it('are public names, never redacted, like the environment', () => {
    const redactor = new Redactor();
    redactor.add(['eu-central-1', 'us-east.2', 'false']);
    const started = redactor.event({
      type: 'fleet-started',
      app: 'shop',
      env: 'production',
      deployId: 'd1',
      clusters: ['eu-central-1', 'us-east.2'],
      waves: [['eu-central-1'], ['us-east.2']],
      skipped: ['us-east.2'],
      dryRun: false,
    } satisfies AnyDeployEvent);
    assert.deepEqual(started.clusters, ['eu-central-1', 'us-east.2']);
    assert.deepEqual(started.waves, [['eu-central-1'], ['us-east.2']]);
    assert.deepEqual(started.skipped, ['us-east.2']);
    const finished = redactor.event({
      type: 'fleet-finished',
      outcome: 'failed',
      exitCode: 1,
      durationMs: 10,
      deployId: 'd1',
      message: 'failed with false',
      clusters: [{ cluster: 'eu-central-1', outcome: 'failed', exitCode: 1, message: 'false' }],
    } satisfies AnyDeployEvent);
    assert.equal(finished.clusters[0].cluster, 'eu-central-1');
    assert.equal(finished.clusters[0].message, '[redacted]');
    assert.equal(finished.message, 'failed with [redacted]');
    const event: AnyDeployEvent = { type: 'warning', message: 'x', cluster: 'eu-central-1' };
    assert.equal(redactor.event(event).cluster, 'eu-central-1');
    // Once an event named them, no other output hides them either.
    assert.equal(redactor.text('eu-central-1 false'), 'eu-central-1 [redacted]');
  });
});

const phase = '30-deployment';
const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const config = { kind: 'ConfigMap', name: 'web-config', namespace: 'shop' };
const on = (cluster: string, events: DeployEvent[] | RollbackEvent[]): AnyDeployEvent[] =>
  events.map((event) => ({ ...event, cluster }));

const started = (cluster: string): AnyDeployEvent[] =>
  on(cluster, [
    {
      type: 'deploy-started',
      app: 'shop',
      env: 'production',
      namespace: 'shop',
      deployId: 'd7',
      image: 'registry.example/shop:1.4',
      phases: ['10-config', phase],
      dryRun: false,
    },
  ]);
const validated = (cluster: string): AnyDeployEvent[] =>
  on(cluster, [
    { type: 'validation-finished', objects: 2, durationMs: 800 },
    { type: 'preflight-finished', workloads: 1, problems: [], durationMs: 100 },
  ]);
const succeeded = (cluster: string): AnyDeployEvent[] =>
  on(cluster, [
    { type: 'phase-started', phase, objects: 2 },
    { type: 'object-applied', phase, object: config, action: 'configured' },
    { type: 'object-applied', phase, object: web, action: 'configured' },
    { type: 'object-ready', phase, object: config, message: 'applied' },
    { type: 'object-waiting', phase, object: web, message: '1 of 2 updated replicas available' },
    { type: 'object-ready', phase, object: web, message: 'available' },
    { type: 'phase-finished', phase, durationMs: 2300 },
    {
      type: 'deploy-finished',
      outcome: 'succeeded',
      exitCode: 0,
      durationMs: 3000,
      deployId: 'd7',
      release: 7,
      applied: [config, web],
      notApplied: [],
    },
  ]);
const failed: AnyDeployEvent[] = on('us-east-2', [
  { type: 'phase-started', phase, objects: 2 },
  { type: 'object-applied', phase, object: config, action: 'configured' },
  { type: 'object-applied', phase, object: web, action: 'configured' },
  { type: 'object-waiting', phase, object: web, message: '0 of 2 updated replicas available' },
  {
    type: 'object-failed',
    phase,
    object: web,
    message: 'CrashLoopBackOff',
    diagnosis: { mostLikelyCause: 'container web keeps crashing', pods: [], events: [], logs: [] },
    diagnosisText: 'Most likely cause: container web keeps crashing\nlast log: DB_PASSWORD=hunter22',
    source: { file: '/home/runner/work/shop/.deploy/production/30-deployment/web.yaml.ejs', line: 3 },
  },
  {
    type: 'deploy-finished',
    outcome: 'failed',
    exitCode: 1,
    durationMs: 4000,
    deployId: 'd7',
    release: 7,
    message: 'Deployment/web: CrashLoopBackOff',
    applied: [config, web],
    notApplied: [],
  },
]);
const rollback = (cluster: string): AnyDeployEvent[] =>
  on(cluster, [
    {
      type: 'rollback-started',
      app: 'shop',
      env: 'production',
      namespace: 'shop',
      release: 8,
      target: 6,
      images: ['registry.example/shop:1.3'],
    },
    { type: 'phase-started', phase, objects: 1 },
    { type: 'object-applied', phase, object: web, action: 'configured' },
    { type: 'object-ready', phase, object: web, message: 'available' },
    { type: 'phase-finished', phase, durationMs: 1200 },
    {
      type: 'deploy-finished',
      outcome: 'succeeded',
      exitCode: 0,
      durationMs: 1500,
      deployId: 'd8',
      release: 8,
      applied: [web],
      notApplied: [],
    },
  ]);

const fleetFinished: Extract<FleetEvent, { type: 'fleet-finished' }> = {
  type: 'fleet-finished',
  outcome: 'failed',
  exitCode: 1,
  durationMs: 75_000,
  deployId: 'd7',
  release: 7,
  message: 'wave 2 failed: us-east-2: Deployment/web: CrashLoopBackOff',
  clusters: [
    {
      cluster: 'eu-central.1',
      outcome: 'succeeded',
      exitCode: 0,
      wave: 1,
      release: 7,
      rolledBack: { outcome: 'succeeded', release: 8 },
    },
    {
      cluster: 'us-east-2',
      outcome: 'failed',
      exitCode: 1,
      wave: 2,
      release: 7,
      message: 'Deployment/web: CrashLoopBackOff',
      rolledBack: { outcome: 'succeeded', release: 8 },
    },
    { cluster: 'ap-south', outcome: 'not-deployed', exitCode: 1, wave: 2 },
    { cluster: 'cn-north', outcome: 'skipped', exitCode: 0 },
  ],
};

/**
 * Two waves: eu-central.1 succeeds and soaks; in wave 2 us-east-2 fails and ap-south never starts
 * (maxParallel 1); both changed clusters roll back; cn-north is left out with --skip-cluster.
 */
const stream: AnyDeployEvent[] = [
  {
    type: 'fleet-started',
    app: 'shop',
    env: 'production',
    deployId: 'd7',
    image: 'registry.example/shop:1.4',
    clusters: ['eu-central.1', 'us-east-2', 'ap-south', 'cn-north'],
    waves: [['eu-central.1'], ['us-east-2', 'ap-south']],
    skipped: ['cn-north'],
    dryRun: false,
  },
  // Validation of every cluster first, interleaved.
  ...started('eu-central.1'),
  ...started('us-east-2'),
  ...validated('us-east-2'),
  ...started('ap-south'),
  ...validated('eu-central.1'),
  ...validated('ap-south'),
  { type: 'wave-started', wave: 1, clusters: ['eu-central.1'] },
  ...succeeded('eu-central.1'),
  { type: 'soak-started', wave: 1, clusters: ['eu-central.1'], durationMs: 60_000 },
  { type: 'wave-finished', wave: 1, outcome: 'succeeded', durationMs: 63_000 },
  { type: 'wave-started', wave: 2, clusters: ['us-east-2', 'ap-south'] },
  ...failed,
  { type: 'wave-finished', wave: 2, outcome: 'failed', durationMs: 4100 },
  ...rollback('us-east-2'),
  ...rollback('eu-central.1'),
  fleetFinished,
];

interface Drawn {
  readonly out: string;
  readonly err: string;
  readonly summary: string;
}

function draw(
  mode: OutputMode,
  events: readonly AnyDeployEvent[],
  options: { env?: NodeJS.ProcessEnv; rows?: number; end?: (reporter: Reporter) => void } = {},
): Drawn {
  const out = Object.assign(new PassThrough(), { columns: 160, rows: options.rows ?? 40 });
  const err = new PassThrough();
  let text = '';
  let errText = '';
  let summary = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  err.on('data', (c: Buffer) => (errText += c.toString()));
  let now = 0;
  const reporter = new Reporter(out, mode, new Redactor(['hunter22']), {
    redrawMs: 0,
    now: () => (now += 100),
    env: { NO_COLOR: '1', ...options.env },
    stderr: err,
    appendFile: (_path, t) => (summary += t),
  });
  for (const event of events) reporter.event(event);
  if (options.end) options.end(reporter);
  else reporter.end();
  return { out: text, err: errText, summary };
}

/** What a terminal shows after each write: a redraw moves up over the live block and clears it. */
function screens(text: string): string[][] {
  const lines: string[] = [];
  const shown: string[][] = [];
  for (const part of text.split(/(\u001b\[\d+A\u001b\[0J)/)) {
    const up = /^\u001b\[(\d+)A\u001b\[0J$/.exec(part);
    if (up) lines.splice(lines.length - Number(up[1]), Number(up[1]));
    else if (part !== '') {
      lines.push(...part.split('\n').slice(0, -1));
      shown.push([...lines]);
    }
  }
  return shown;
}

describe('a multi-cluster deploy without a terminal (-o plain)', () => {
  const { out } = draw('plain', stream);
  const lines = out.trimEnd().split('\n');

  it('prefixes every line of a cluster with its name, redacted as ever', () => {
    assert.ok(!out.includes('\u001b['), 'no escape codes');
    assert.ok(!out.includes('hunter22'));
    const events = lines.filter((l) => /Deployment\/web|ConfigMap|phase 30/.test(l));
    for (const line of events.filter((l) => !/^(wave|✗ deploy| {8}-)/.test(l)))
      assert.match(line, /^\[(eu-central\.1|us-east-2)\] /, line);
    assert.ok(lines.includes('[eu-central.1]   waiting Deployment/web: 1 of 2 updated replicas available'));
    assert.ok(lines.includes('[us-east-2]     last log: DB_PASSWORD=[redacted]'));
    assert.ok(
      lines.includes('[eu-central.1] ✓ deploy succeeded (3.0s, release 7, deploy d7)'),
      "a cluster's end is told as it comes",
    );
    assert.ok(
      lines.includes(
        '[us-east-2] ✗ deploy failed: Deployment/web: CrashLoopBackOff (4.0s, release 7, deploy d7)',
      ),
    );
    assert.ok(lines.includes('[us-east-2] ✓ rollback succeeded (1.5s, release 8, deploy d8)'));
  });

  it('tells the fleet, each wave, the soak, and closes with every cluster once the fleet finished', () => {
    assert.deepEqual(lines.slice(0, 4), [
      'Deploying shop to production on 3 clusters in 2 waves, deploy d7, image registry.example/shop:1.4',
      '  wave 1: eu-central.1',
      '  wave 2: us-east-2, ap-south',
      'left out with --skip-cluster: cn-north',
    ]);
    for (const line of [
      '▶ wave 1 of 2: eu-central.1',
      '~ wave 1 soaks for 1m 0s: eu-central.1',
      '✓ wave 1 succeeded in 63.0s',
      '▶ wave 2 of 2: us-east-2, ap-south',
      '✗ wave 2 failed in 4.1s',
    ])
      assert.ok(lines.includes(line), line);
    assert.deepEqual(lines.slice(-5), [
      'wave 1  ↩ eu-central.1  succeeded; rolled back to release 6',
      'wave 2  ↩ us-east-2     failed: Deployment/web: CrashLoopBackOff; rolled back to release 6',
      'wave 2  - ap-south      not deployed',
      '        - cn-north      skipped',
      '✗ deploy failed: wave 2 failed: us-east-2: Deployment/web: CrashLoopBackOff (75.0s, release 7, deploy d7)',
    ]);
    assert.equal(lines.filter((l) => l.startsWith('✗ deploy')).length, 1, 'one closing line');
  });

  it("closes nothing before the fleet finished: a cluster's deploy-finished does not end the command", () => {
    const beforeEnd = draw('plain', stream.slice(0, -1), { end: () => {} }).out;
    assert.ok(!/^[✓✗] deploy/m.test(beforeEnd), beforeEnd);
    assert.ok(!beforeEnd.includes('not deployed'));
  });

  it('folds each wave into a GitLab section, a failure outside it', () => {
    const gitlab = draw('plain', stream, { env: { GITLAB_CI: 'true' } }).out.split('\n');
    const start = gitlab.findIndex((l) =>
      /section_start:\d+:wave_2\[collapsed=true\]\r\u001b\[0K▶ wave 2 of 2: us-east-2, ap-south$/.test(l),
    );
    const end = gitlab.findIndex((l) => /section_end:\d+:wave_2\r/.test(l));
    const failure = gitlab.indexOf('[us-east-2]   ✗ Deployment/web: CrashLoopBackOff');
    assert.ok(start !== -1 && start < end && end < failure, gitlab.join('\n'));
    assert.ok(!gitlab.some((l) => l.includes('section_start') && l.includes('phase_')), 'no phase sections');
  });
});

describe('a multi-cluster deploy on a terminal', () => {
  const { out } = draw('tty', stream);
  const shown = screens(out);
  const find = (line: string) => shown.find((screen) => screen.includes(line));

  it('shows a line per cluster within each wave while validating', () => {
    const screen = shown[0];
    assert.deepEqual(screen.slice(-8), [
      'left out with --skip-cluster: cn-north',
      'wave 1 of 2',
      '  … eu-central.1  validating',
      'wave 2 of 2',
      '  … us-east-2     validating',
      '  … ap-south      validating',
      'left out',
      '  - cn-north      skipped',
    ]);
    assert.ok(find('  · us-east-2     waiting for wave 2'));
  });

  it("draws a deploying cluster's phase and what its objects wait for, under its line", () => {
    const screen = shown.find((s) => s.includes('      … Deployment/web: 1 of 2 updated replicas available'));
    assert.ok(screen);
    const at = screen.indexOf('      … Deployment/web: 1 of 2 updated replicas available');
    assert.match(
      screen[at - 1],
      /^ {2}▶ eu-central\.1 {2}deploying 30-deployment \(phase 2\/2\) · Deployments 0\/1 ready · ConfigMaps 1\/1 · \d+\.\ds$/,
    );
    assert.deepEqual(screen.slice(at + 1), [
      'wave 2 of 2',
      '  · us-east-2     waiting for wave 2',
      '  · ap-south      waiting for wave 2',
      'left out',
      '  - cn-north      skipped',
    ]);
    assert.ok(find('  ~ eu-central.1  soaking, 1m 0s left'));
    assert.ok(find('wave 1 of 2  soaking'));
    assert.ok(find('wave 1 of 2  succeeded in 63.0s'));
  });

  it('shows failures, rollbacks and clusters that wait to start', () => {
    assert.ok(find('  ✗ us-east-2     failed: Deployment/web: CrashLoopBackOff'));
    assert.ok(find('  · ap-south      waiting to start'));
    assert.ok(find('  ↩ us-east-2     failed: Deployment/web: CrashLoopBackOff; rolling back to release 6'));
    assert.ok(find('  ↩ eu-central.1  succeeded; rolling back to release 6'));
    assert.ok(find('[us-east-2]   ✗ Deployment/web: CrashLoopBackOff'));
    assert.ok(find('[us-east-2]     Most likely cause: container web keeps crashing'));
  });

  it('leaves finished phases per cluster, then every cluster and the closing line, without the live block', () => {
    const last = shown.at(-1)!;
    assert.ok(last.includes('[eu-central.1] ✓ 30-deployment  1 ConfigMap · 1 Deployment ready in 2.3s'));
    assert.ok(
      last.includes(
        '[us-east-2] ✗ deploy failed: Deployment/web: CrashLoopBackOff (4.0s, release 7, deploy d7)',
      ),
    );
    assert.deepEqual(last.slice(-5), [
      'wave 1  ↩ eu-central.1  succeeded; rolled back to release 6',
      'wave 2  ↩ us-east-2     failed: Deployment/web: CrashLoopBackOff; rolled back to release 6',
      'wave 2  - ap-south      not deployed',
      '        - cn-north      skipped',
      '✗ deploy failed: wave 2 failed: us-east-2: Deployment/web: CrashLoopBackOff (75.0s, release 7, deploy d7)',
    ]);
    assert.ok(!last.some((l) => l.startsWith('wave 1 of 2')), 'the live block is gone');
    assert.ok(!out.includes('hunter22'));
  });

  it('keeps the objects of each cluster apart when their names repeat', () => {
    const parallel: AnyDeployEvent[] = [
      {
        type: 'fleet-started',
        app: 'shop',
        env: 'production',
        deployId: 'd9',
        clusters: ['eu', 'us'],
        waves: [['eu', 'us']],
        skipped: [],
        dryRun: false,
      },
      { type: 'wave-started', wave: 1, clusters: ['eu', 'us'] },
      ...on('eu', [{ type: 'phase-started', phase, objects: 1 }]),
      ...on('us', [{ type: 'phase-started', phase, objects: 1 }]),
      ...on('eu', [{ type: 'object-applied', phase, object: web, action: 'created' }]),
      ...on('us', [{ type: 'object-applied', phase, object: web, action: 'created' }]),
      ...on('us', [{ type: 'object-waiting', phase, object: web, message: 'no pods yet' }]),
      ...on('eu', [{ type: 'object-waiting', phase, object: web, message: '0 of 1 available' }]),
      ...on('eu', [{ type: 'object-ready', phase, object: web, message: 'available' }]),
    ];
    const screen = screens(draw('tty', parallel, { end: () => {} }).out).at(-1)!;
    assert.deepEqual(
      screen.slice(-4).map((l) => l.replace(/ · \d+\.\ds$/, '')),
      [
        'wave 1 of 1  deploying',
        '  ▶ eu  deploying 30-deployment · Deployments 1/1 ready',
        '  ▶ us  deploying 30-deployment · Deployments 0/1 ready',
        '      … Deployment/web: no pods yet',
      ],
    );
  });

  it('folds the waves with no cluster at work on a short terminal', () => {
    const names = Array.from({ length: 12 }, (_, i) => `cluster-${i}.eu`);
    const many: AnyDeployEvent[] = [
      {
        type: 'fleet-started',
        app: 'shop',
        env: 'production',
        deployId: 'd9',
        clusters: names,
        waves: [names.slice(0, 4), names.slice(4)],
        skipped: [],
        dryRun: false,
      },
      { type: 'wave-started', wave: 1, clusters: names.slice(0, 4) },
      ...names.slice(0, 4).flatMap((name) => on(name, [{ type: 'phase-started', phase, objects: 1 }])),
    ];
    const screen = screens(draw('tty', many, { rows: 10, end: () => {} }).out).at(-1)!;
    const live = screen.slice(screen.indexOf('wave 1 of 2  deploying'));
    assert.equal(live.length, 6, live.join('\n'));
    assert.equal(live.at(-1), 'wave 2 of 2  8 validating');
  });
});

describe('a multi-cluster deploy with -o json', () => {
  it("writes every event as it came, each cluster's with its cluster, and nothing else", () => {
    const lines = draw('json', stream).out.trim().split('\n');
    assert.equal(lines.length, stream.length);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    parsed.forEach((event, i) => {
      const { time, ...rest } = event;
      assert.ok(!Number.isNaN(Date.parse(String(time))));
      assert.deepEqual(rest, JSON.parse(JSON.stringify(stream[i]).replaceAll('hunter22', '[redacted]')));
    });
    assert.ok(parsed.filter((e) => e.type === 'deploy-finished').every((e) => typeof e.cluster === 'string'));
    assert.deepEqual(parsed.at(-1)?.clusters, fleetFinished.clusters);
  });
});

describe('a multi-cluster deploy under GitHub Actions', () => {
  const github = {
    GITHUB_ACTIONS: 'true',
    GITHUB_STEP_SUMMARY: '/tmp/summary.md',
    GITHUB_WORKSPACE: '/home/runner/work/shop',
  };

  it('annotates failures naming the cluster, then the deploy once', () => {
    for (const mode of ['plain', 'json', 'tty'] as const) {
      const annotations = draw(mode, stream, { env: github }).err.trim().split('\n');
      assert.deepEqual(annotations, [
        '::error file=.deploy/production/30-deployment/web.yaml.ejs,line=3,title=Deployment/web failed in phase 30-deployment on cluster us-east-2::Deployment/web: CrashLoopBackOff%0AMost likely cause: container web keeps crashing',
        '::error title=capstan deploy failed on cluster us-east-2::Deployment/web: CrashLoopBackOff',
        '::error title=capstan deploy failed::wave 2 failed: us-east-2: Deployment/web: CrashLoopBackOff',
      ]);
    }
  });

  it('writes a table of the clusters, then one per cluster', () => {
    const { summary } = draw('json', stream, { env: github });
    const [fleet, ...clusters] = summary.split(/\n(?=#### )/);
    assert.equal(
      fleet,
      [
        '### capstan deploy of shop to production',
        '',
        '| Cluster | Wave | Outcome | Release | Duration | Details |',
        '| --- | ---: | --- | ---: | ---: | --- |',
        '| eu-central.1 | 1 | succeeded, rolled back | 7 | 3.0s | rolled back to release 6 |',
        '| us-east-2 | 2 | failed, rolled back | 7 | 4.0s | Deployment/web: CrashLoopBackOff; rolled back to release 6 |',
        '| ap-south | 2 | not deployed |  |  |  |',
        '| cn-north |  | skipped |  |  |  |',
        '',
        '✗ deploy failed: wave 2 failed: us-east-2: Deployment/web: CrashLoopBackOff (75.0s, release 7, deploy d7)',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      clusters.map((table) => table.split('\n')[0]),
      [
        '#### capstan deploy of shop to production, cluster eu-central.1',
        '#### capstan rollback of shop in production to release 6, cluster eu-central.1',
        '#### capstan deploy of shop to production, cluster us-east-2',
        '#### capstan rollback of shop in production to release 6, cluster us-east-2',
        '#### capstan deploy of shop to production, cluster ap-south',
      ],
    );
    assert.match(clusters[2], /\| 30-deployment \| \d+\.\ds \| failed \| 2 \|/);
    assert.match(
      clusters[2],
      /\n✗ deploy failed: Deployment\/web: CrashLoopBackOff \(4\.0s, release 7, deploy d7\)\n/,
    );
    assert.match(clusters[4], /\| 30-deployment \|  \| not started \| 0 \|\n\nnot deployed\n/);
  });
});

describe('a multi-cluster deploy that refused before its end', () => {
  it('is closed from the result the fleet returned', async () => {
    const out = Object.assign(new PassThrough(), { rows: 40 });
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const reporter = new Reporter(out, 'plain', new Redactor(), { redrawMs: 0 });
    reporter.event(stream[0]);
    const result = await reporter.settle(
      Promise.resolve({
        outcome: 'locked' as const,
        exitCode: 4,
        deployId: 'd7',
        message: 'us-east-2: shop/production is locked by ci@runner-7',
        applied: [],
        clusters: [
          { cluster: 'eu-central.1', outcome: 'not-deployed' as const, exitCode: 4, wave: 1 },
          {
            cluster: 'us-east-2',
            outcome: 'locked' as const,
            exitCode: 4,
            wave: 2,
            message: 'locked by ci@runner-7',
          },
        ],
      }),
    );
    assert.equal(result.exitCode, 4);
    const lines = text.trimEnd().split('\n');
    assert.deepEqual(lines.slice(-5), [
      'wave 1  - eu-central.1  not deployed',
      'wave 2  ✗ us-east-2     failed: locked by ci@runner-7',
      'wave 2  - ap-south      not deployed',
      '        - cn-north      skipped',
      lines.at(-1)!,
    ]);
    assert.match(
      lines.at(-1)!,
      /^✗ deploy locked: us-east-2: shop\/production is locked by ci@runner-7 \(\d+\.\ds, deploy d7\)$/,
    );
  });
});

describe('events of several clusters without a fleet-started', () => {
  it('are drawn per cluster, a rollback as a rollback', () => {
    const events = [...rollback('eu-central.1'), ...rollback('us-east-2')];
    const lines = draw('plain', events).out.trimEnd().split('\n');
    assert.equal(
      lines[0],
      '[eu-central.1] Rolling back shop in production (namespace shop) to release 6, as release 8, image registry.example/shop:1.3',
    );
    assert.deepEqual(lines.slice(-2), [
      '↩ eu-central.1  rolled back to release 6',
      '↩ us-east-2     rolled back to release 6',
    ]);
    const screen = screens(draw('tty', events.slice(0, 9), { end: () => {} }).out).at(-1)!;
    assert.deepEqual(
      screen.slice(-2).map((l) => l.replace(/ · \d+\.\ds$/, '')),
      [
        '  ↩ eu-central.1  rolled back to release 6',
        '  ↩ us-east-2     rolling back to release 6 · Deployments 0/1 ready',
      ],
    );
  });

  it('a rollback of the environment ends with fleet-finished, closed as a rollback', () => {
    const finished: AnyDeployEvent = {
      type: 'fleet-finished',
      outcome: 'failed',
      exitCode: 1,
      durationMs: 5000,
      deployId: 'd8',
      release: 8,
      message: 'rollback to release 6: eu-central.1 succeeded, us-east-2 timed-out',
      clusters: [
        { cluster: 'eu-central.1', outcome: 'succeeded', exitCode: 0, release: 8 },
        {
          cluster: 'us-east-2',
          outcome: 'timed-out',
          exitCode: 3,
          release: 8,
          message: 'Deployment/web: not ready',
        },
      ],
    };
    const events = [...rollback('eu-central.1'), ...rollback('us-east-2').slice(0, -1), finished];
    const github = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: '/tmp/summary.md' };
    const { out, err, summary } = draw('plain', events, { env: github });
    assert.deepEqual(out.trimEnd().split('\n').slice(-3), [
      '↩ eu-central.1  rolled back to release 6',
      '✗ us-east-2     rollback timed out: Deployment/web: not ready',
      '✗ rollback failed: rollback to release 6: eu-central.1 succeeded, us-east-2 timed-out (5.0s, release 8, deploy d8)',
    ]);
    assert.match(err, /::error title=capstan rollback failed::rollback to release 6/);
    assert.match(summary, /^### capstan rollback of shop in production to release 6\n/);
    assert.match(summary, /\| eu-central\.1 \|  \| succeeded \| 8 \|/);
  });
});

describe('formatFleetStepSummary', () => {
  it('gives a table without phases (a rollback re-applies without them) its heading and result only', () => {
    const text = formatFleetStepSummary({
      title: 'capstan deploy of shop to production',
      clusters: [
        { cluster: 'eu|1', outcome: 'succeeded, rolled back', release: 7, detail: 'rolled back\nto 6' },
      ],
      result: '✗ deploy failed',
      tables: [
        {
          title: 'capstan rollback of shop in production to release 6, cluster eu',
          rows: [],
          result: '✓ rolled back',
        },
      ],
    });
    assert.match(text, /\| eu\\\|1 \|  \| succeeded, rolled back \| 7 \|  \| rolled back to 6 \|\n/);
    assert.ok(
      text.endsWith(
        '\n#### capstan rollback of shop in production to release 6, cluster eu\n\n✓ rolled back\n\n',
      ),
      text,
    );
  });
});
