import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { CapstanError } from '../shared/index.js';

/** Where a proxy setting came from, for messages. */
export interface ProxySetting {
  readonly url: URL;
  readonly from: 'proxy-url' | 'HTTPS_PROXY' | 'HTTP_PROXY';
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name] || env[name.toLowerCase()] || undefined;
}

/**
 * Whether NO_PROXY exempts the host: `*`, a host name (also matching its subdomains, with or
 * without a leading dot), an IP address, each optionally with `:port`.
 */
export function bypassesProxy(server: URL, noProxy: string | undefined): boolean {
  const host = server.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = server.port || (server.protocol === 'https:' ? '443' : '80');
  for (const raw of (noProxy ?? '').split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const [name, entryPort] = bracketed
      ? [bracketed[1], bracketed[2]]
      : isIP(entry)
        ? [entry, undefined]
        : (entry.split(':') as [string, string | undefined]);
    if (entryPort && entryPort !== port) continue;
    const bare = name.replace(/^\*?\./, '');
    if (host === bare || (!isIP(host) && host.endsWith(`.${bare}`))) return true;
  }
  return false;
}

/**
 * Whether the server is this machine (`localhost`, 127.0.0.0/8, ::1): as in kubectl (Go's
 * ProxyFromEnvironment), a proxy from the environment is never used for it; a `proxy-url` is.
 */
export function isLoopbackServer(server: URL): boolean {
  const host = server.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/**
 * The proxy for requests to `server`, as kubectl chooses it: the cluster's `proxy-url`, else
 * HTTPS_PROXY (HTTP_PROXY for an http server) unless the server is loopback or NO_PROXY exempts
 * it; none otherwise.
 */
export function resolveProxy(
  server: URL,
  options: { proxyUrl?: string; env?: NodeJS.ProcessEnv },
): ProxySetting | undefined {
  const env = options.env ?? {};
  const chosen: (Omit<ProxySetting, 'url'> & { text: string }) | undefined = options.proxyUrl
    ? { text: options.proxyUrl, from: 'proxy-url' }
    : isLoopbackServer(server) || bypassesProxy(server, envValue(env, 'NO_PROXY'))
      ? undefined
      : server.protocol === 'https:'
        ? withText(envValue(env, 'HTTPS_PROXY'), 'HTTPS_PROXY')
        : withText(envValue(env, 'HTTP_PROXY'), 'HTTP_PROXY');
  if (!chosen) return undefined;
  let url: URL;
  try {
    url = new URL(chosen.text.includes('://') ? chosen.text : `http://${chosen.text}`);
  } catch (error) {
    throw new CapstanError('ERR_CAPSTAN_KUBECONFIG', `${chosen.from} "${chosen.text}" is not a URL`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:')
    throw new CapstanError(
      'ERR_CAPSTAN_KUBECONFIG',
      `${chosen.from} ${url.protocol}// proxies are not supported (only http:// proxies that tunnel with CONNECT)`,
      { hint: `use an http:// proxy address in ${chosen.from}` },
    );
  return { url, from: chosen.from };
}

function withText(
  text: string | undefined,
  from: ProxySetting['from'],
): (Omit<ProxySetting, 'url'> & { text: string }) | undefined {
  return text ? { text, from } : undefined;
}

/**
 * An HTTPS agent whose connections are tunnels through an HTTP proxy (CONNECT host:port), TLS
 * to the API server inside; keep-alive and pooling as any agent.
 */
export class TunnelAgent extends Agent {
  constructor(
    private readonly proxy: ProxySetting,
    options: AgentOptions,
  ) {
    super(options);
  }

  // Node's agents accept a connection given to the callback later (the tunnel takes a round trip).
  override createConnection(
    requestOptions: RequestOptions,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): undefined {
    const options = requestOptions as ConnectionOptions & RequestOptions;
    // Node calls back with no stream on failure.
    const done = (error: Error | null, stream?: Duplex) => callback?.(error, stream as Duplex);
    const host = options.host ?? 'localhost';
    const port = options.port ?? 443;
    const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const { url } = this.proxy;
    const auth = url.username
      ? {
          'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`,
        }
      : {};
    const connect = httpRequest({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || 80,
      method: 'CONNECT',
      path: target,
      headers: { Host: target, ...auth },
      agent: false,
    });
    const fail = (why: string, cause?: Error) =>
      done(
        new Error(`cannot tunnel to ${target} through the proxy ${url.host} (${this.proxy.from}): ${why}`, {
          cause,
        }),
      );
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(`it answered ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim());
        return;
      }
      const servername = options.servername ?? (isIP(host) ? undefined : host);
      done(null, tlsConnect({ ...options, socket, ...(servername ? { servername } : {}) }));
    });
    connect.once('error', (error) => fail(error.message, error));
    connect.end();
    return undefined;
  }
}
