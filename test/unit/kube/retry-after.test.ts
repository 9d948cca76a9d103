// 429 Too Many Requests is waited out per Retry-After and sent again, for every kind of request.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { HttpTransport } from '../../../src/kube/http.js';
import { MAX_RETRY_AFTER_MS, MAX_THROTTLED_SENDS, retryAfterMs } from '../../../src/kube/retry-after.js';

/** A server that answers each path's first `throttle` requests with 429 and `Retry-After: 0`. */
async function throttlingServer(
  throttle: number,
): Promise<{ server: Server; url: string; seen: Map<string, string[]> }> {
  const seen = new Map<string, string[]>();
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const key = `${req.method} ${req.url?.split('?')[0]}`;
      const bodies = [...(seen.get(key) ?? []), body];
      seen.set(key, bodies);
      if (bodies.length <= throttle) {
        res.writeHead(429, { 'Retry-After': '0', 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            reason: 'TooManyRequests',
            message: 'Too many requests, please try again later.',
          }),
        );
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        req.url?.includes('watch=1')
          ? '{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n'
          : JSON.stringify({ ok: key, body }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, seen };
}

function transport(url: string): HttpTransport {
  const none = () => Promise.resolve({});
  return new HttpTransport({
    server: url,
    requestOptions: {},
    credentials: { headers: none, refresh: none },
  });
}

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, defaults to 1 s and caps long waits', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(['2']), 2000);
    assert.equal(retryAfterMs(undefined), 1000);
    assert.equal(retryAfterMs('soon'), 1000);
    assert.equal(retryAfterMs('86400'), MAX_RETRY_AFTER_MS);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
  });
});

describe('HttpTransport and 429', () => {
  it('sends get, list, apply, create, delete and watch requests again after a 429, with the same body', async () => {
    const { server, url, seen } = await throttlingServer(2);
    const http = transport(url);
    try {
      assert.deepEqual(await http.json({ method: 'GET', path: '/api/v1/namespaces/a/pods/p' }), {
        ok: 'GET /api/v1/namespaces/a/pods/p',
        body: '',
      });
      assert.deepEqual(await http.json({ method: 'GET', path: '/api/v1/pods', query: { limit: 500 } }), {
        ok: 'GET /api/v1/pods',
        body: '',
      });
      const applied = await http.json<{ body: string }>({
        method: 'PATCH',
        path: '/apis/apps/v1/x',
        body: { kind: 'Deployment' },
        contentType: 'application/apply-patch+yaml',
      });
      assert.equal(applied.body, '{"kind":"Deployment"}');
      await http.json({ method: 'POST', path: '/api/v1/y', body: { kind: 'ConfigMap' } });
      await http.json({ method: 'DELETE', path: '/api/v1/z' });
      const watch = await http.open({ method: 'GET', path: '/api/v1/w', query: { watch: 1 } });
      assert.equal(watch.statusCode, 200);
      watch.resume();
      for (const [key, bodies] of seen) {
        assert.equal(bodies.length, 3, `${key} was sent three times`);
        assert.equal(new Set(bodies).size, 1, `${key} sent the same body each time`);
      }
    } finally {
      http.close();
      server.close();
    }
  });

  it('gives up after a bounded number of sends with a transient error', async () => {
    const { server, url, seen } = await throttlingServer(1000);
    const http = transport(url);
    try {
      await assert.rejects(
        http.json({ method: 'GET', path: '/api/v1/p' }),
        (error: { status?: number; transient?: boolean }) => error.status === 429 && error.transient === true,
      );
      assert.equal(seen.get('GET /api/v1/p')?.length, MAX_THROTTLED_SENDS);
    } finally {
      http.close();
      server.close();
    }
  });
});
