// capstan watch's messages: an incident and its resolution, for Slack and webhooks, and the outcome per configuration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notify, slackPayload, webhookPayload, type NotifyEvent } from '../../../src/notify/index.js';

const incident: NotifyEvent = {
  kind: 'incident',
  app: 'shop',
  env: 'production',
  deployId: '20261207095700-ab12',
  release: 7,
  image: 'registry.example/shop:1.4.2',
  commit: '3f2c1a9b0d1e4f5a6b7c',
  branch: 'main',
  user: 'alice',
  deployedAt: '2026-12-07T09:58:00Z',
  workload: 'Deployment/web',
  cause: 'crash loop',
  summary:
    'Most likely cause: container app keeps crashing (exit code 1); see its previous logs\nLogs:\n  | fatal',
  actions: 'What to do: `capstan rollback production` puts the release before it back',
};

describe('incident messages', () => {
  it('say where, which workload, the cause, the live release and what to do', () => {
    const body = webhookPayload(incident, '2026-12-07T20:00:00Z');
    assert.equal(body.event, 'incident');
    assert.equal(
      body.text,
      'Incident in shop/production: Deployment/web: crash loop (live release 7, image registry.example/shop:1.4.2, main@3f2c1a9b0d1e, by alice at 2026-12-07T09:58:00Z): Most likely cause: container app keeps crashing (exit code 1); see its previous logs\nWhat to do: `capstan rollback production` puts the release before it back',
    );
    const resolved = webhookPayload({
      ...incident,
      kind: 'resolved',
      summary: undefined,
      actions: undefined,
      cluster: 'eu',
    });
    assert.equal(
      resolved.text,
      'Resolved in shop/production (cluster eu): Deployment/web: crash loop (live release 7, image registry.example/shop:1.4.2, main@3f2c1a9b0d1e, by alice at 2026-12-07T09:58:00Z)',
    );
  });

  it('Slack gets the line, the diagnosis as a code block and the actions', () => {
    const payload = slackPayload(incident);
    assert.match(payload.text, /^:rotating_light: Incident in shop\/production: Deployment\/web: crash loop/);
    const texts = (payload.blocks ?? []).map((b) => (b.text as { text: string }).text);
    assert.equal(texts.length, 3);
    assert.match(texts[1], /^```Most likely cause: .*\nLogs:\n {2}\| fatal```$/s);
    assert.match(texts[2], /^What to do: /);
  });

  it('an incident of the environment as a whole (an API outage) names no workload', () => {
    const { workload: _w, actions: _a, ...rest } = incident;
    const outage: NotifyEvent = {
      ...rest,
      cause: 'API server not answering',
      summary: 'the API server has not answered since 2026-12-07T20:00:00.000Z',
    };
    assert.match(
      webhookPayload(outage, '2026-12-07T20:02:00Z').text,
      /^Incident in shop\/production: API server not answering \(live release 7, .*\): the API server has not answered since 2026-12-07T20:00:00\.000Z$/,
    );
    assert.match(
      webhookPayload({ ...outage, kind: 'resolved' }, '2026-12-07T20:03:00Z').text,
      /^Resolved in shop\/production: API server not answering \(live release 7, /,
    );
  });

  it('notify returns what became of each configuration', async () => {
    const outcomes = await notify(
      [
        { type: 'webhook', urlEnv: 'GOOD' },
        { type: 'webhook', urlEnv: 'BAD' },
        { type: 'webhook', urlEnv: 'MISSING' },
        { type: 'webhook', urlEnv: 'DEPLOYS_ONLY', events: ['failed'] },
      ],
      incident,
      {
        env: { GOOD: 'http://good.invalid/', BAD: 'http://bad.invalid/', DEPLOYS_ONLY: 'http://x.invalid/' },
        fetch: (url) =>
          Promise.resolve(new Response('', { status: (url as string).includes('good') ? 200 : 400 })),
        onWarning: () => {},
        backoffMs: 1,
      },
    );
    assert.deepEqual(
      outcomes.map((o) => [o.config.urlEnv, o.outcome]),
      [
        ['GOOD', 'delivered'],
        ['BAD', 'failed'],
        ['MISSING', 'skipped'],
      ],
    );
  });
});
