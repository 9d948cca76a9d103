import { Agent, request, type RequestOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { KubeConnection } from './config.js';
import type { KubeCredentials } from './credentials.js';
import { CapstanError } from '../shared/index.js';
import { KubeApiError, type StatusCause } from './errors.js';
import { TunnelAgent } from './proxy.js';
import { sendHonouringRetryAfter } from './retry-after.js';

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** Per-request deadline; watches and log follows pass 0 (none) and rely on the signal. */
  readonly timeoutMs?: number;
}

export function buildPath(path: string, query?: HttpRequest['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export const DEFAULT_USER_AGENT = 'capstan';

/** A small HTTP transport to one API server, with a shared keep-alive pool. */
export class HttpTransport {
  private readonly url: URL;
  private readonly base: RequestOptions;
  private readonly agent: Agent | HttpAgent;
  private readonly credentials: KubeCredentials;

  constructor(
    connection: Pick<KubeConnection, 'server' | 'requestOptions' | 'credentials' | 'proxy'>,
    maxSockets = 64,
    /** Names the client in the API server's audit log and metrics, as kubectl's does. */
    private readonly userAgent = DEFAULT_USER_AGENT,
  ) {
    this.url = new URL(connection.server);
    // One TLS context for every connection: else each new socket parses the CA and key again.
    const tls = pickTls(connection.requestOptions);
    const secureContext =
      'ca' in tls || 'cert' in tls || 'key' in tls || 'pfx' in tls ? createSecureContext(tls) : undefined;
    // (node passes secureContext through to tls.connect; its RequestOptions type does not list it.)
    this.base = secureContext
      ? ({ ...connection.requestOptions, secureContext } as RequestOptions)
      : connection.requestOptions;
    this.credentials = connection.credentials;
    const secure = this.url.protocol === 'https:';
    const { proxy } = connection;
    if (proxy && !secure)
      throw new CapstanError(
        'ERR_CAPSTAN_KUBECONFIG',
        `${proxy.from} is set, but ${connection.server} is not an https:// server: only TLS connections tunnel through a proxy`,
        { hint: 'reach the API server over https, or exempt it with NO_PROXY' },
      );
    const options = { keepAlive: true, maxSockets, ...tls, ...(secureContext ? { secureContext } : {}) };
    this.agent = proxy
      ? new TunnelAgent(proxy, options)
      : secure
        ? new Agent(options)
        : new HttpAgent({ keepAlive: true, maxSockets });
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Sends a request and returns the raw response stream (status not checked except 401 and 429).
   * 429s are waited out as `Retry-After` says. The auth headers are asked for before each send; on
   * a 401 a fresh credential is obtained and the request is sent once more, so expiring tokens,
   * rotated token files and watches that reconnect keep working.
   */
  open(req: HttpRequest): Promise<IncomingMessage> {
    return sendHonouringRetryAfter(() => this.sendOnce(req), { signal: req.signal });
  }

  private async sendOnce(req: HttpRequest): Promise<IncomingMessage> {
    const body =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const auth = await this.credentials.headers();
    const res = await this.send(req, body, auth);
    if (res.statusCode !== 401) return res;
    res.resume();
    const fresh = await this.credentials.refresh(auth);
    return this.send(req, body, fresh);
  }

  private send(
    req: HttpRequest,
    body: string | undefined,
    auth: Readonly<Record<string, string>>,
  ): Promise<IncomingMessage> {
    const headers: Record<string, string | number> = {
      Accept: 'application/json',
      'User-Agent': this.userAgent,
      ...auth,
    };
    if (body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const secure = this.url.protocol === 'https:';
    const send = secure ? request : httpRequest;
    return new Promise((resolve, reject) => {
      const r = send(
        {
          ...this.base,
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          method: req.method,
          path: (this.url.pathname === '/' ? '' : this.url.pathname) + buildPath(req.path, req.query),
          headers,
          agent: this.agent,
          signal: req.signal,
        },
        resolve,
      );
      if (req.timeoutMs) {
        r.setTimeout(req.timeoutMs, () =>
          r.destroy(new Error(`no answer from ${this.url.host} within ${req.timeoutMs} ms`)),
        );
      }
      r.on('error', (error) => reject(toApiError(error, req)));
      r.end(body);
    });
  }

  /** Sends a request and parses the JSON answer; non-2xx becomes a KubeApiError. */
  async json<T>(req: HttpRequest): Promise<T> {
    const res = await this.open({ timeoutMs: 60_000, ...req });
    const text = await readAll(res, req.signal);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T;
    throw statusError(status, text, req);
  }
}

function pickTls(options: RequestOptions): Record<string, unknown> {
  const { ca, cert, key, rejectUnauthorized, servername, pfx, passphrase } = options;
  return Object.fromEntries(
    Object.entries({ ca, cert, key, rejectUnauthorized, servername, pfx, passphrase }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

export function readAll(res: IncomingMessage, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onAbort = () => reject(signal?.reason as Error);
    // The listener must go when the answer is complete: a shared signal sees thousands of requests.
    const done = () => signal?.removeEventListener('abort', onAbort);
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      done();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (error) => {
      done();
      reject(error);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  details?: { causes?: StatusCause[] };
}

export function statusError(
  status: number,
  text: string,
  req: Pick<HttpRequest, 'method' | 'path'>,
): KubeApiError {
  let body: StatusBody = {};
  try {
    body = JSON.parse(text) as StatusBody;
  } catch {
    // not a Status object: keep the text
  }
  const message = body.message ?? (text.trim().slice(0, 500) || `HTTP ${status}`);
  return new KubeApiError(status, body.reason ?? String(status), message, body.details?.causes ?? [], {
    method: req.method,
    path: req.path,
  });
}

function toApiError(error: Error, req: HttpRequest): Error {
  if (error.name === 'AbortError') return error;
  return new KubeApiError(
    0,
    'Unreachable',
    `cannot reach the Kubernetes API (${req.method} ${req.path}): ${error.message}`,
    [],
    error,
  );
}
