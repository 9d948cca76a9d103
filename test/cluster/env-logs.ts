// The part of the fake kubelet kwok cannot play: per-pod container logs.
// - A pod annotated `capstan.test/log-env: NAME[,NAME...]` logs `NAME=<value>` for each name, the
//   value resolved as a kubelet would from the container's env/envFrom (a literal `value`, or a key
//   of a ConfigMap or Secret read through the API).
// - The containers of a pod whose scenario never starts them (image-pull, image-pull-backoff,
//   config-error) have no log: `kubectl logs` fails with 400 Bad Request, as for a real container
//   waiting to start (the message differs: kwok names the missing file).
// Runs beside kwok as its own process:
//   node --import tsx test/cluster/env-logs.ts RUN_DIR SERVER
// It watches every pod, writes CRI-format log files under RUN_DIR/env-logs and creates one kwok
// `Logs` object per annotated pod (kwok serves those to `kubectl logs`, current and --previous).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LOG_ENV_ANNOTATION = 'capstan.test/log-env';
export const LOGS_SERVED_ANNOTATION = 'capstan.test/logs-served';
const NEVER_STARTED = new Set(['image-pull', 'image-pull-backoff', 'config-error']);
const neverStarts = (pod: Json): boolean =>
  NEVER_STARTED.has(String(pod.metadata?.labels?.['capstan.test/scenario'] ?? ''));

type Json = Record<string, any>;

interface Api {
  (
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<{ status: number; body: string }>;
  stream(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<number>;
}

function apiOf(server: string, pki: string): Api {
  const tls = {
    ca: readFileSync(join(pki, 'ca.crt')),
    cert: readFileSync(join(pki, 'admin.crt')),
    key: readFileSync(join(pki, 'admin.key')),
  };
  const call = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, server),
        {
          ...tls,
          method,
          timeout: 10_000,
          headers: payload
            ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
            : {},
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(payload);
    });
  const stream = (path: string, onLine: (line: string) => void, signal: AbortSignal) =>
    new Promise<number>((resolve, reject) => {
      const req = request(new URL(path, server), { ...tls, signal }, (res) => {
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim()) onLine(line);
          }
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  return Object.assign(call, { stream });
}

/** What a kubelet would put in the container's environment for `name`, or undefined. */
export async function resolveEnv(
  container: Json,
  name: string,
  read: (kind: 'configmaps' | 'secrets', object: string) => Promise<Record<string, string> | undefined>,
): Promise<string | undefined> {
  let value: string | undefined;
  for (const source of (container.envFrom ?? []) as Json[]) {
    const prefix = (source.prefix as string | undefined) ?? '';
    if (!name.startsWith(prefix)) continue;
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref?.name) continue;
    const data = await read(source.configMapRef ? 'configmaps' : 'secrets', ref.name as string);
    const found = data?.[name.slice(prefix.length)];
    if (found !== undefined) value = found;
  }
  for (const env of (container.env ?? []) as Json[]) {
    if (env.name !== name) continue;
    if (typeof env.value === 'string') value = env.value;
    const ref = env.valueFrom?.configMapKeyRef ?? env.valueFrom?.secretKeyRef;
    if (ref?.name && ref.key) {
      const data = await read(env.valueFrom.configMapKeyRef ? 'configmaps' : 'secrets', ref.name as string);
      value = data?.[ref.key as string];
    }
  }
  return value;
}

/** CRI log lines ("TIME stdout F text"), one per line of text. */
export function criLines(texts: string[], start: Date): string {
  return (
    texts
      .flatMap((text) => text.split('\n'))
      .map(
        (text, i) =>
          `${new Date(start.getTime() + i).toISOString().replace('Z', '000000Z')} stdout F ${text}`,
      )
      .join('\n') + '\n'
  );
}

async function main(): Promise<void> {
  const [runDir, server] = process.argv.slice(2);
  if (!runDir || !server) throw new Error('usage: env-logs.ts RUN_DIR SERVER');
  const api = apiOf(server, join(runDir, 'pki'));
  const folder = join(runDir, 'env-logs');
  mkdirSync(folder, { recursive: true });
  const done = new Set<string>();
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

  const read = (namespace: string) => async (kind: 'configmaps' | 'secrets', name: string) => {
    const res = await api('GET', `/api/v1/namespaces/${namespace}/${kind}/${name}`);
    if (res.status !== 200) return undefined;
    const data = (JSON.parse(res.body) as Json).data as Record<string, string> | undefined;
    if (kind === 'configmaps') return data ?? {};
    return Object.fromEntries(
      Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
  };

  const serve = async (pod: Json) => {
    const { namespace, name, uid } = pod.metadata as { namespace: string; name: string; uid: string };
    const names = String(pod.metadata.annotations?.[LOG_ENV_ANNOTATION] ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const logs: Json[] = [];
    for (const container of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])] as Json[]) {
      if (neverStarts(pod)) {
        const none = join(folder, 'never-started.log'); // never written: kwok answers 400
        logs.push({ containers: [container.name], logsFile: none, previousLogsFile: none, follow: false });
        continue;
      }
      const lines = ['capstan fake container: starting'];
      for (const env of names) {
        const value = await resolveEnv(container, env, read(namespace));
        lines.push(
          value === undefined
            ? `capstan fake container: ${env} is not set`
            : `capstan fake container: ${env}=${value}`,
        );
      }
      const current = join(folder, `${uid}-${container.name}.log`);
      const previous = join(folder, `${uid}-${container.name}-previous.log`);
      writeFileSync(current, criLines([...lines, 'capstan fake container: ready'], new Date()));
      writeFileSync(
        previous,
        criLines([...lines, 'capstan fake container: exiting with code 1'], new Date(Date.now() - 60_000)),
      );
      logs.push({
        containers: [container.name],
        logsFile: current,
        previousLogsFile: previous,
        follow: false,
      });
    }
    const body = {
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'Logs',
      metadata: { name, namespace },
      spec: { logs },
    };
    const path = `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${namespace}/logs`;
    let res = await api('POST', path, body);
    if (res.status === 409) {
      await api('DELETE', `${path}/${name}`);
      res = await api('POST', path, body);
    }
    if (res.status >= 300)
      throw new Error(`creating Logs ${namespace}/${name}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    if (pod.metadata.annotations?.[LOG_ENV_ANNOTATION]) {
      // The kwok stages hold such a pod in Pending until this annotation says its log is served.
      const served = await api(
        'PATCH',
        `/api/v1/namespaces/${namespace}/pods/${name}`,
        { metadata: { annotations: { [LOGS_SERVED_ANNOTATION]: 'true' } } },
        'application/merge-patch+json',
      );
      if (served.status >= 300 && served.status !== 404)
        throw new Error(
          `annotating pod ${namespace}/${name}: HTTP ${served.status} ${served.body.slice(0, 300)}`,
        );
    }
    log(
      neverStarts(pod)
        ? `no logs for pod ${namespace}/${name}`
        : `serving ${names.join(',')} in the logs of pod ${namespace}/${name}`,
    );
  };

  const forget = async (pod: Json) => {
    const { namespace, name, uid } = pod.metadata as { namespace: string; name: string; uid: string };
    if (!done.delete(uid)) return;
    for (const container of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])] as Json[]) {
      rmSync(join(folder, `${uid}-${container.name}.log`), { force: true });
      rmSync(join(folder, `${uid}-${container.name}-previous.log`), { force: true });
    }
    await api('DELETE', `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${namespace}/logs/${name}`).catch(
      () => undefined,
    );
  };

  const handle = (type: string, pod: Json) => {
    if (!pod?.metadata?.annotations?.[LOG_ENV_ANNOTATION] && !neverStarts(pod)) return;
    const uid = pod.metadata.uid as string;
    if (type === 'DELETED') {
      void forget(pod);
      return;
    }
    if (done.has(uid)) return;
    done.add(uid);
    serve(pod).catch((error: unknown) => {
      done.delete(uid); // the next event for this pod tries again
      log(`error: ${error instanceof Error ? error.message : String(error)}`);
    });
  };

  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  // List, then watch from the list's version; on any failure (API server restarted, 410 Gone) start over.
  while (!stop.signal.aborted) {
    try {
      const list = await api('GET', '/api/v1/pods');
      if (list.status !== 200) throw new Error(`listing pods: HTTP ${list.status}`);
      const parsed = JSON.parse(list.body) as Json;
      for (const pod of parsed.items as Json[]) handle('ADDED', pod);
      const version = parsed.metadata.resourceVersion as string;
      const watch = new AbortController();
      const end = () => watch.abort();
      stop.signal.addEventListener('abort', end);
      try {
        await api.stream(
          `/api/v1/pods?watch=true&resourceVersion=${version}&timeoutSeconds=300`,
          (line) => {
            try {
              const event = JSON.parse(line) as { type: string; object: Json };
              if (event.type === 'ERROR') {
                log(`watch ended: ${event.object?.message ?? 'error'}`);
                watch.abort();
              } else handle(event.type, event.object);
            } catch (error) {
              log(`bad watch line: ${error instanceof Error ? error.message : String(error)}`);
              watch.abort();
            }
          },
          watch.signal,
        );
      } finally {
        stop.signal.removeEventListener('abort', end);
      }
    } catch (error) {
      if (stop.signal.aborted) break;
      log(`retrying after: ${error instanceof Error ? error.message : String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

if (process.argv[1] && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`env-logs: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
