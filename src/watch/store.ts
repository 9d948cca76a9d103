// The watcher's ConfigMap: its record (written by the leading watcher) and the silences (written by
// `capstan watch silence`), each under its own key and field manager so neither overwrites the other.
import { withRetry, type KubeClient } from '../kube/index.js';
import { lockName } from '../release/index.js';
import type { KubeObject } from '../shared/index.js';
import { parseWatchRecord, type WatchRecord } from './outbox.js';
import { parseSilences, type Silence } from './silence.js';

const RECORD_KEY = 'state.json';
const SILENCES_KEY = 'silences.json';

export interface WatchScope {
  readonly namespace: string;
  readonly app: string;
  readonly env: string;
  readonly signal?: AbortSignal;
}

/** The ConfigMap that holds the watchers' record of one environment. */
export function watchRecordName(app: string, env: string): string {
  return lockName(app, env)
    .replace(/^capstan-lock-/, 'capstan-watch-')
    .slice(0, 253);
}

function recordId(scope: WatchScope) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: scope.namespace,
    name: watchRecordName(scope.app, scope.env),
  };
}

/** The record and the silences as stored (empty when there is no ConfigMap yet). */
export async function readWatchStore(
  client: KubeClient,
  scope: WatchScope,
): Promise<{ record: WatchRecord; silences: Silence[] }> {
  const map = await withRetry(() => client.get(recordId(scope), scope.signal), { signal: scope.signal });
  const data = (map?.data ?? {}) as Record<string, string>;
  return { record: parseWatchRecord(data[RECORD_KEY]), silences: parseSilences(data[SILENCES_KEY]) };
}

function configMap(scope: WatchScope, key: string, text: string): KubeObject {
  const id = recordId(scope);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: id.name,
      namespace: id.namespace,
      labels: {
        'app.kubernetes.io/managed-by': 'capstan',
        'capstan.dev/app': scope.app,
        'capstan.dev/env': scope.env,
      },
    },
    data: { [key]: text },
  };
}

async function applyKey(
  client: KubeClient,
  scope: WatchScope,
  key: string,
  text: string,
  fieldManager: string,
) {
  await withRetry(
    () => client.apply(configMap(scope, key, text), { fieldManager, force: true, signal: scope.signal }),
    { signal: scope.signal },
  );
}

export function writeWatchRecord(client: KubeClient, scope: WatchScope, text: string): Promise<void> {
  return applyKey(client, scope, RECORD_KEY, text, 'capstan-watch');
}

export function writeSilences(
  client: KubeClient,
  scope: WatchScope,
  silences: readonly Silence[],
): Promise<void> {
  return applyKey(client, scope, SILENCES_KEY, JSON.stringify(silences), 'capstan-watch-silence');
}
