// `capstan preview list`, `delete` and `gc`: the previews of an app as their namespaces say. Only
// namespaces `capstan preview deploy` created for this app are ever deleted (readPreview): a
// look-alike is not a preview, and a preview whose marks cannot be read is kept and reported.
import { connectionOf, loadConfig, type LoadedConfig } from '../config/index.js';
import { KubeClient, withRetry } from '../kube/index.js';
import { CapstanError, type KubeObject } from '../shared/index.js';
import {
  isExpired,
  isUnreadable,
  previewSelector,
  readPreview,
  type PreviewState,
  type UnreadablePreview,
} from './namespace.js';
import { previewNames } from './names.js';
import { previewsOf } from './resolve.js';

export interface PreviewClientOptions {
  readonly cwd: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly envVars?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/** One preview as `list` shows it. */
export interface PreviewListing extends PreviewState {
  readonly host: string;
  readonly url: string;
  /** deleting, pinned, expired (gc will delete it) or active. */
  readonly status: 'deleting' | 'pinned' | 'expired' | 'active';
}

export interface PreviewList {
  readonly previews: readonly PreviewListing[];
  readonly unreadable: readonly UnreadablePreview[];
}

/** Default deadline of waiting for a namespace to be gone. */
export const DEFAULT_DELETE_TIMEOUT_MS = 5 * 60_000;
const POLL_MS = 1000;

async function connect(options: PreviewClientOptions): Promise<{ loaded: LoadedConfig; client: KubeClient }> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const previews = previewsOf(loaded);
  const from = loaded.config.environments[previews.from];
  const client = await KubeClient.connect({
    ...connectionOf(from ?? {}, { kubeconfig: options.kubeconfig, context: options.context }),
    env: options.envVars,
  });
  return { loaded, client };
}

function statusOf(state: PreviewState, now: Date): PreviewListing['status'] {
  if (state.terminating) return 'deleting';
  if (state.pinned) return 'pinned';
  return isExpired(state, now) ? 'expired' : 'active';
}

async function readAll(
  client: KubeClient,
  loaded: LoadedConfig,
  options: PreviewClientOptions,
  now: Date,
): Promise<PreviewList> {
  const { app } = loaded.config;
  const host = previewsOf(loaded).host;
  const list = await withRetry(
    () => client.list('v1', 'Namespace', { labelSelector: previewSelector(app), signal: options.signal }),
    { signal: options.signal },
  );
  const previews: PreviewListing[] = [];
  const unreadable: UnreadablePreview[] = [];
  for (const namespace of list.items) {
    const state = readPreview(namespace, app);
    if (!state) continue;
    if (isUnreadable(state)) {
      unreadable.push(state);
      continue;
    }
    const previewHost = host.replace('{slug}', state.slug);
    previews.push({
      ...state,
      host: previewHost,
      url: `https://${previewHost}`,
      status: statusOf(state, now),
    });
  }
  previews.sort((a, b) => a.branch.localeCompare(b.branch));
  return { previews, unreadable };
}

/** Every preview of this app, with those that claim to be one but cannot be read. */
export async function listPreviews(options: PreviewClientOptions & { now?: Date }): Promise<PreviewList> {
  const { loaded, client } = await connect(options);
  try {
    return await readAll(client, loaded, options, options.now ?? new Date());
  } finally {
    client.close();
  }
}

/** Why a namespace is still there: its finalizers and the namespace controller's conditions. */
export function whatHolds(namespace: KubeObject): string {
  const { spec, status, metadata } = namespace as KubeObject & {
    spec?: { finalizers?: string[] };
    status?: { conditions?: { type: string; status: string; message?: string }[] };
    metadata: { finalizers?: string[] };
  };
  // `kubernetes` is the namespace controller's own: it goes once the content is gone.
  const finalizers = [...(spec?.finalizers ?? []), ...(metadata.finalizers ?? [])].map((f) =>
    f === 'kubernetes' ? 'kubernetes (the namespace controller, still deleting its content)' : f,
  );
  const conditions = (status?.conditions ?? [])
    .filter((c) => c.status === 'True' && c.message)
    .map((c) => `${c.type}: ${c.message}`);
  const parts = [...(finalizers.length > 0 ? [`finalizers ${finalizers.join(', ')}`] : []), ...conditions];
  return parts.length > 0
    ? parts.join('; ')
    : 'nothing the namespace reports (its controller may not be running)';
}

/** Deletes a namespace and waits until it is gone; past the deadline, an error naming what holds it. */
export async function deleteNamespace(
  client: KubeClient,
  name: string,
  options: { timeoutMs: number; signal?: AbortSignal; onWaiting?: (holds: string) => void },
): Promise<void> {
  const id = { apiVersion: 'v1', kind: 'Namespace', name };
  await withRetry(() => client.delete(id, { propagationPolicy: 'Background' }), { signal: options.signal });
  const deadline = Date.now() + options.timeoutMs;
  let last: KubeObject | undefined;
  let told = '';
  for (;;) {
    last = await withRetry(() => client.get(id, options.signal), { signal: options.signal });
    if (!last) return;
    const holds = whatHolds(last);
    if (holds !== told) options.onWaiting?.((told = holds));
    if (Date.now() >= deadline) break;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_MS, Math.max(deadline - Date.now(), 0))),
    );
    options.signal?.throwIfAborted();
  }
  throw new CapstanError(
    'ERR_CAPSTAN_TIMEOUT',
    `namespace ${name} is still there after ${Math.round(options.timeoutMs / 1000)} s: held by ${whatHolds(last)}`,
    {
      hint: 'remove the finalizers named (or what owns them), then run the command again; the deletion goes on meanwhile',
    },
  );
}

/** `capstan preview delete --branch B`: that branch's preview, once it is sure it is one. */
export async function deletePreview(
  options: PreviewClientOptions & { branch: string; timeoutMs?: number; onWaiting?: (holds: string) => void },
): Promise<PreviewState | undefined> {
  const { loaded, client } = await connect(options);
  try {
    const names = previewNames(loaded.config.app, options.branch, previewsOf(loaded).host);
    const live = await withRetry(
      () => client.get({ apiVersion: 'v1', kind: 'Namespace', name: names.namespace }, options.signal),
      { signal: options.signal },
    );
    if (!live) return undefined;
    const state = readPreview(live, loaded.config.app);
    if (!state || isUnreadable(state) || state.branch !== options.branch)
      throw new CapstanError(
        'ERR_CAPSTAN_PREVIEW_NAMESPACE',
        `namespace ${names.namespace} is not the preview of branch ${JSON.stringify(options.branch)}${state && isUnreadable(state) ? ` (${state.reason})` : ''}: it was left alone`,
        { hint: 'capstan preview list shows the previews; delete anything else by hand' },
      );
    await deleteNamespace(client, names.namespace, {
      timeoutMs: options.timeoutMs ?? DEFAULT_DELETE_TIMEOUT_MS,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onWaiting ? { onWaiting: options.onWaiting } : {}),
    });
    return state;
  } finally {
    client.close();
  }
}

export interface GcResult {
  readonly deleted: readonly PreviewListing[];
  readonly kept: readonly PreviewListing[];
  readonly unreadable: readonly UnreadablePreview[];
  /** Deletions that did not finish in time, with what holds them. */
  readonly stuck: readonly { readonly namespace: string; readonly message: string }[];
}

/** `capstan preview gc [--dry-run]`: deletes every expired, unpinned preview of this app. */
export async function gcPreviews(
  options: PreviewClientOptions & { dryRun?: boolean; now?: Date; timeoutMs?: number },
): Promise<GcResult> {
  const { loaded, client } = await connect(options);
  try {
    const { previews, unreadable } = await readAll(client, loaded, options, options.now ?? new Date());
    const expired = previews.filter((p) => p.status === 'expired');
    const kept = previews.filter((p) => p.status !== 'expired');
    const stuck: { namespace: string; message: string }[] = [];
    if (!options.dryRun)
      await Promise.all(
        expired.map((p) =>
          deleteNamespace(client, p.namespace, {
            timeoutMs: options.timeoutMs ?? DEFAULT_DELETE_TIMEOUT_MS,
            ...(options.signal ? { signal: options.signal } : {}),
          }).catch((error: unknown) => {
            stuck.push({ namespace: p.namespace, message: (error as Error).message });
          }),
        ),
      );
    const stuckNames = new Set(stuck.map((s) => s.namespace));
    return { deleted: expired.filter((p) => !stuckNames.has(p.namespace)), kept, unreadable, stuck };
  } finally {
    client.close();
  }
}
