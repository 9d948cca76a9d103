// Notifications: payloads for Slack and webhooks, event filters, redaction, retries, timeouts, no throws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotificationConfig } from '../../../src/config/index.js';
import { notify, slackPayload, webhookPayload, type NotifyEvent } from '../../../src/notify/index.js';
import { Redactor } from '../../../src/secrets/index.js';

const succeeded: NotifyEvent = {
  kind: 'succeeded',
  app: 'shop',
  env: 'production',
  deployId: 'd12',
  release: 12,
  image: 'example.com/shop:1.4',
  durationMs: 83_000,
  user: 'alice',
};
const SLACK_URL = 'https://hooks.slack.example/services/T000/B000/very-secret-token';

type Call = { url: string; body: any; init: RequestInit };

/** A fetch answering with the given statuses in turn (or throwing for 'error'), recording each call. */
function fakeFetch(answers: Array<number | 'error' | 'hang'>): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  let i = 0;
  const impl = (url: string, init: RequestInit & { body: string }): Promise<Response> => {
    calls.push({ url, body: JSON.parse(init.body), init });
    const answer = answers[Math.min(i++, answers.length - 1)];
    if (answer === 'error')
      return Promise.reject(
        new TypeError('fetch failed', {
          cause: Object.assign(new Error(`connect ECONNREFUSED ${url}`), { code: 'ECONNREFUSED' }),
        }),
      );
    if (answer === 'hang') {
      return new Promise((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)),
      );
    }
    return Promise.resolve(new Response(answer === 200 ? 'ok' : 'nope', { status: answer }));
  };
  return { fetch: impl as unknown as typeof fetch, calls };
}

const slack: NotificationConfig = { type: 'slack', urlEnv: 'SLACK_URL' };
const hook: NotificationConfig = { type: 'webhook', urlEnv: 'HOOK_URL' };
const env = { SLACK_URL, HOOK_URL: 'http://127.0.0.1:9/hook' };
const fast = { retries: 2, backoffMs: 1, timeoutMs: 200 };

describe('payloads', () => {
  it('Slack: a text with the release number, image and duration, escaped for mrkdwn', () => {
    const payload = slackPayload(succeeded);
    assert.equal(
      payload.text,
      ':white_check_mark: Deployed shop to production (release 12, image example.com/shop:1.4, by alice, in 1m 23s)',
    );
    assert.deepEqual(payload.blocks, [{ type: 'section', text: { type: 'mrkdwn', text: payload.text } }]);
    assert.match(slackPayload({ ...succeeded, app: 'a<b>&c' }).text, /a&lt;b&gt;&amp;c/);
  });

  it('Slack: a failure carries its diagnosis summary in a code block', () => {
    const payload = slackPayload({
      kind: 'failed',
      app: 'shop',
      env: 'prod',
      deployId: 'd3',
      release: 3,
      summary: 'Deployment/web: CrashLoopBackOff\n  last log: boom',
    });
    assert.match(
      payload.text,
      /^:x: Deploy of shop to prod failed \(release 3\): Deployment\/web: CrashLoopBackOff$/,
    );
    assert.match(
      JSON.stringify(payload.blocks![1]),
      /```Deployment\/web: CrashLoopBackOff\\n  last log: boom```/,
    );
  });

  it('Slack: started and rolled-back', () => {
    assert.match(
      slackPayload({ kind: 'started', app: 'shop', env: 'prod', deployId: 'd4', release: 4 }).text,
      /^:rocket: Deploying shop to prod \(release 4\)$/,
    );
    // Before a release number is known (no record), the deploy's id names it.
    assert.match(
      slackPayload({ kind: 'started', app: 'shop', env: 'prod', deployId: '20261201-ab12' }).text,
      /^:rocket: Deploying shop to prod \(deploy 20261201-ab12\)$/,
    );
    assert.match(
      slackPayload({
        kind: 'rolled-back',
        app: 'shop',
        env: 'prod',
        deployId: 'd9',
        release: 9,
        rolledBackTo: 7,
      }).text,
      /Rolled back shop in prod to release 7 \(as release 9\)/,
    );
  });

  it('webhook: every field of the event plus text and timestamp', () => {
    assert.deepEqual(webhookPayload(succeeded, '2024-05-01T10:00:00.000Z'), {
      source: 'capstan',
      event: 'succeeded',
      app: 'shop',
      env: 'production',
      deployId: 'd12',
      release: 12,
      image: 'example.com/shop:1.4',
      durationMs: 83_000,
      user: 'alice',
      text: 'Deployed shop to production (release 12, image example.com/shop:1.4, by alice, in 1m 23s)',
      timestamp: '2024-05-01T10:00:00.000Z',
    });
  });
});

describe('notify', () => {
  it('posts JSON to every configured endpoint', async () => {
    const { fetch, calls } = fakeFetch([200]);
    const warnings: string[] = [];
    await notify([slack, hook], succeeded, { env, fetch, onWarning: (m) => warnings.push(m), ...fast });
    assert.deepEqual(warnings, []);
    assert.deepEqual(calls.map((c) => c.url).sort(), [env.HOOK_URL, SLACK_URL]);
    const slackCall = calls.find((c) => c.url === SLACK_URL)!;
    assert.equal(slackCall.init.method, 'POST');
    assert.equal((slackCall.init.headers as Record<string, string>)['content-type'], 'application/json');
    assert.ok(slackCall.body.text && slackCall.body.blocks);
    assert.equal(calls.find((c) => c.url === env.HOOK_URL)!.body.event, 'succeeded');
  });

  it('only sends the events a configuration asks for', async () => {
    const { fetch, calls } = fakeFetch([200]);
    await notify([{ ...slack, events: ['failed'] }], succeeded, { env, fetch, onWarning: () => {}, ...fast });
    assert.equal(calls.length, 0);
  });

  it('retries server errors and network failures, then succeeds without a warning', async () => {
    const { fetch, calls } = fakeFetch([503, 'error', 200]);
    const warnings: string[] = [];
    await notify([hook], succeeded, { env, fetch, onWarning: (m) => warnings.push(m), ...fast });
    assert.equal(calls.length, 3);
    assert.deepEqual(warnings, []);
  });

  it('gives up after the bounded retries with one warning that never shows the URL', async () => {
    const { fetch, calls } = fakeFetch(['error']);
    const warnings: string[] = [];
    await notify([slack], succeeded, { env, fetch, onWarning: (m) => warnings.push(m), ...fast });
    assert.equal(calls.length, 3, 'one attempt and two retries');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /slack notification \(SLACK_URL\) failed: fetch failed \(ECONNREFUSED\); the deploy itself is not affected/,
    );
    assert.ok(!warnings[0].includes('very-secret-token'));
  });

  it('does not retry a client error', async () => {
    const { fetch, calls } = fakeFetch([404]);
    const warnings: string[] = [];
    await notify([hook], succeeded, { env, fetch, onWarning: (m) => warnings.push(m), ...fast });
    assert.equal(calls.length, 1);
    assert.match(warnings[0], /HTTP 404/);
  });

  it('times out a request that never answers', async () => {
    const { fetch, calls } = fakeFetch(['hang']);
    const warnings: string[] = [];
    await notify([hook], succeeded, {
      env,
      fetch,
      onWarning: (m) => warnings.push(m),
      retries: 1,
      backoffMs: 1,
      timeoutMs: 50,
    });
    assert.equal(calls.length, 2);
    assert.match(warnings[0], /no answer within 50 ms/);
  });

  it('warns about a missing URL variable and never throws, whatever happens', async () => {
    const warnings: string[] = [];
    await notify([slack], succeeded, {
      env: {},
      fetch: fakeFetch([200]).fetch,
      onWarning: (m) => warnings.push(m),
    });
    assert.match(warnings[0], /skipped: environment variable SLACK_URL is not set/);
    const throwing = (() => Promise.reject(new Error('boom'))) as unknown as typeof fetch;
    await notify([hook], succeeded, {
      env,
      fetch: throwing,
      onWarning: () => {
        throw new Error('sink broken');
      },
      ...fast,
    });
  });

  it('redacts secret values from every text of the message', async () => {
    const { fetch, calls } = fakeFetch([200]);
    const event: NotifyEvent = {
      kind: 'failed',
      app: 'shop',
      env: 'prod',
      deployId: 'd2',
      release: 2,
      summary: 'env DB_PASSWORD=hunter22 rejected',
    };
    await notify([slack, hook], event, {
      env,
      fetch,
      redact: (s) => s.replaceAll('hunter22', '[redacted]'),
      onWarning: () => {},
      ...fast,
    });
    for (const call of calls) {
      assert.ok(!JSON.stringify(call.body).includes('hunter22'));
      assert.match(JSON.stringify(call.body), /\[redacted\]/);
    }
  });

  it('redacts the composed message too, and keeps the fields receivers read', async () => {
    const { fetch, calls } = fakeFetch([200]);
    // 'shop to prod' spans two fields and the words between them; '<b&c>' is escaped for Slack.
    const redact = new Redactor(['shop to prod', 'x<b&c>']).text;
    const event: NotifyEvent = {
      kind: 'failed',
      app: 'shop',
      env: 'prod',
      deployId: 'd2',
      release: 2,
      summary: 'bad x<b&c>\nsecond line',
    };
    await notify([slack, hook], event, { env, fetch, redact, onWarning: () => {}, ...fast });
    const [slackBody, hookBody] = [
      calls.find((c) => c.url === env.SLACK_URL)!.body,
      calls.find((c) => c.url === env.HOOK_URL)!.body,
    ];
    for (const body of [slackBody, hookBody]) {
      const text = JSON.stringify(body);
      assert.ok(
        !text.includes('shop to prod') && !text.includes('x<b&c>') && !text.includes('x&lt;b&amp;c&gt;'),
        text,
      );
    }
    assert.deepEqual(
      slackBody.blocks.map((b: any) => [b.type, b.text.type]),
      [
        ['section', 'mrkdwn'],
        ['section', 'mrkdwn'],
      ],
    );
    assert.equal(hookBody.source, 'capstan');
    assert.equal(hookBody.event, 'failed');
    assert.equal(hookBody.release, 2);
  });
});
