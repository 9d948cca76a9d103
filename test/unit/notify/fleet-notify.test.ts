// A multi-cluster deploy's notifications: one for the environment, a line per cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotificationConfig } from '../../../src/config/index.js';
import type { FleetEvent } from '../../../src/events/index.js';
import {
  fleetNotifyEvent,
  notifyFleet,
  slackPayload,
  webhookPayload,
  type FleetNotice,
} from '../../../src/notify/index.js';
import { Redactor } from '../../../src/secrets/index.js';

const started: Extract<FleetEvent, { type: 'fleet-started' }> = {
  type: 'fleet-started',
  app: 'shop',
  env: 'production',
  deployId: 'd7',
  image: 'registry.example/shop:1.4',
  clusters: ['eu-central.1', 'us-east-2', 'ap-south'],
  waves: [['eu-central.1'], ['us-east-2', 'ap-south']],
  skipped: ['cn-north'],
  dryRun: false,
};

const finished: Extract<FleetEvent, { type: 'fleet-finished' }> = {
  type: 'fleet-finished',
  outcome: 'failed',
  exitCode: 1,
  durationMs: 95_000,
  deployId: 'd7',
  release: 7,
  message: 'wave 2 failed in us-east-2',
  clusters: [
    { cluster: 'eu-central.1', outcome: 'succeeded', exitCode: 0, wave: 1, release: 7 },
    {
      cluster: 'us-east-2',
      outcome: 'failed',
      exitCode: 1,
      wave: 2,
      release: 7,
      message: 'Deployment/web: CrashLoopBackOff\n  last log: DB_PASSWORD=hunter22',
      rolledBack: { outcome: 'succeeded', release: 8 },
    },
    { cluster: 'ap-south', outcome: 'not-deployed', exitCode: 1, wave: 2 },
    { cluster: 'cn-north', outcome: 'skipped', exitCode: 0 },
  ],
};

const notice = (event: FleetNotice['event']): FleetNotice => ({
  event,
  app: 'shop',
  env: 'production',
  image: 'registry.example/shop:1.4',
  user: 'alice',
  branch: 'main',
});

describe('fleetNotifyEvent', () => {
  it('starts with each cluster in its wave, and those left out as skipped', () => {
    const event = fleetNotifyEvent(notice(started));
    assert.equal(event.kind, 'started');
    assert.equal(event.deployId, 'd7');
    assert.deepEqual(event.clusters, [
      { cluster: 'eu-central.1', outcome: 'pending', wave: 1 },
      { cluster: 'us-east-2', outcome: 'pending', wave: 2 },
      { cluster: 'ap-south', outcome: 'pending', wave: 2 },
      { cluster: 'cn-north', outcome: 'skipped' },
    ]);
    assert.deepEqual(webhookPayload(event).text.split('\n'), [
      'Deploying shop to production (deploy d7, image registry.example/shop:1.4, main, by alice)',
      'eu-central.1: wave 1',
      'us-east-2: wave 2',
      'ap-south: wave 2',
      'cn-north: skipped',
    ]);
  });

  it('ends with the shared release, the summary and a line per cluster', () => {
    const event = fleetNotifyEvent(notice(finished));
    assert.equal(event.kind, 'failed');
    assert.equal(event.release, 7);
    assert.equal(event.durationMs, 95_000);
    assert.equal(event.summary, 'wave 2 failed in us-east-2');
    const hook = webhookPayload(event, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(hook.text.split('\n'), [
      'Deploy of shop to production failed (release 7, image registry.example/shop:1.4, main, by alice): wave 2 failed in us-east-2',
      'eu-central.1: succeeded, release 7',
      'us-east-2: failed, release 7: Deployment/web: CrashLoopBackOff; rollback succeeded (release 8)',
      'ap-south: not deployed',
      'cn-north: skipped',
    ]);
    assert.equal(hook.clusters?.length, 4);
    assert.equal(hook.clusters?.[1].rolledBack?.release, 8);
    const slack = slackPayload(event);
    assert.match(slack.text, /^:x: Deploy of shop to production failed/);
    assert.equal(slack.text.includes('\n'), false, 'the fallback text stays one line');
    assert.equal(
      (slack.blocks?.[1] as { text: { text: string } }).text.text,
      [
        '• eu-central.1: succeeded, release 7',
        '• us-east-2: failed, release 7: Deployment/web: CrashLoopBackOff; rollback succeeded (release 8)',
        '• ap-south: not deployed',
        '• cn-north: skipped',
      ].join('\n'),
    );
    const ok = fleetNotifyEvent(
      notice({ ...finished, outcome: 'succeeded', message: undefined, clusters: [] }),
    );
    assert.equal(ok.kind, 'succeeded');
  });

  it('splits tens of clusters into Slack sections under its limit', () => {
    const many = Array.from({ length: 80 }, (_, i) => ({
      cluster: `cluster-${i}.example`,
      outcome: 'failed' as const,
      exitCode: 1,
      message: `Deployment/web-${i}: ${'x'.repeat(60)}`,
    }));
    const slack = slackPayload(fleetNotifyEvent(notice({ ...finished, clusters: many })));
    const sections = (slack.blocks ?? []).map((b) => (b as { text: { text: string } }).text.text);
    assert.ok(sections.length > 2, `${sections.length}`);
    assert.ok(sections.every((t) => t.length <= 3000));
    assert.equal(sections.join('\n').match(/• cluster-/g)?.length, 80);
  });
});

describe('notifyFleet', () => {
  it('sends one message for the environment, redacted, with the outcomes kept', async () => {
    const bodies: Array<Record<string, any>> = [];
    const fakeFetch = ((_url: string, init: { body: string }) => {
      bodies.push(JSON.parse(init.body) as Record<string, any>);
      return Promise.resolve(new Response('ok'));
    }) as unknown as typeof fetch;
    const configs: NotificationConfig[] = [
      { type: 'slack', urlEnv: 'SLACK_URL' },
      { type: 'webhook', urlEnv: 'HOOK_URL', events: ['failed'] },
    ];
    // `failed` is an ordinary secret value: the message hides it, the outcome keeps its word.
    const redact = new Redactor(['hunter22', 'failed']).text;
    const warnings: string[] = [];
    const options = {
      env: { SLACK_URL: 'https://hooks.slack.example/T/B/x', HOOK_URL: 'http://127.0.0.1:9/hook' },
      fetch: fakeFetch,
      redact,
      onWarning: (m: string) => warnings.push(m),
      retries: 0,
    };
    await notifyFleet(configs, notice(started), options);
    assert.equal(bodies.length, 1, 'the webhook wants failures only');
    await notifyFleet(configs, notice(finished), options);
    assert.equal(bodies.length, 3);
    assert.deepEqual(warnings, []);
    for (const body of bodies) assert.ok(!JSON.stringify(body).includes('hunter22'));
    const hook = bodies.find((b) => b.source === 'capstan')!;
    assert.equal(hook.event, 'failed');
    assert.deepEqual(
      hook.clusters.map((c: { cluster: string; outcome: string }) => [c.cluster, c.outcome]),
      [
        ['eu-central.1', 'succeeded'],
        ['us-east-2', 'failed'],
        ['ap-south', 'not-deployed'],
        ['cn-north', 'skipped'],
      ],
    );
  });
});
