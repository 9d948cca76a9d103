// `capstan preview deploy`: one branch's preview. Its namespace (the preview's record: labels and
// annotations), then the ResourceQuota and LimitRange, then the access protection, then a normal
// deploy of the `from` environment's tree into it (phases, hook Jobs, secrets, waits, a history of
// its own). A namespace of that name that is not this branch's preview is never touched.
import { connectionOf, loadConfig, type ResolvedEnvironment } from '../config/index.js';
import { ClusterDeploy, EXIT, type DeployOptions, type DeployResult } from '../deploy/index.js';
import { KubeClient, withRetry } from '../kube/index.js';
import { CapstanError, type KubeObject } from '../shared/index.js';
import {
  isUnreadable,
  previewLimits,
  previewNamespace,
  readPreview,
  type PreviewState,
} from './namespace.js';
import { AUTH_SECRET, DEFAULT_USER, generatePassword, htpasswdLine, protectionObjects } from './protect.js';
import { resolvePreview } from './resolve.js';

export const PREVIEW_FIELD_MANAGER = 'capstan-preview';

export interface PreviewDeployOptions extends Omit<DeployOptions, 'env' | 'cluster'> {
  readonly branch: string;
  /** `--pin`: gc never deletes it; `--unpin`: it expires again; undefined keeps what it was. */
  readonly pin?: boolean;
  /** Who deploys, kept on the namespace as its creator on the first deploy. */
  readonly creator: string;
  /** Told the generated basic-auth password, once, when this deploy created it. */
  readonly onPassword?: (user: string, password: string) => void;
  /** The time of this deploy (the expiry counts from it); default now. */
  readonly now?: Date;
}

/** What a preview is and where it answers. */
export interface PreviewSummary {
  readonly app: string;
  readonly branch: string;
  readonly slug: string;
  readonly namespace: string;
  readonly host: string;
  readonly url: string;
  readonly expiresAt: string;
  readonly pinned: boolean;
}

export interface PreviewDeployResult extends DeployResult {
  readonly preview: PreviewSummary;
}

/** The preview's namespace as it is: undefined when absent; refused when it is not this branch's preview. */
async function existingPreview(
  client: KubeClient,
  env: ResolvedEnvironment,
  signal: AbortSignal | undefined,
): Promise<PreviewState | undefined> {
  const namespace = env.namespace;
  const live = await withRetry(
    () => client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }, signal),
    {
      signal,
    },
  );
  if (!live) return undefined;
  const state = readPreview(live, env.app);
  const refuse = (why: string, hint: string) => {
    throw new CapstanError(
      'ERR_CAPSTAN_PREVIEW_NAMESPACE',
      `namespace ${namespace} ${why}: nothing was changed`,
      {
        hint,
      },
    );
  };
  if (!state)
    return refuse(
      `exists and was not created by capstan preview for app ${env.app}`,
      'it is left alone: delete or rename it, or choose another app name or host in capstan.yaml',
    );
  if (isUnreadable(state))
    return refuse(
      `looks like a preview but cannot be read (${state.reason})`,
      'fix or delete the namespace by hand',
    );
  if (state.branch !== env.preview?.branch)
    return refuse(
      `is the preview of branch ${JSON.stringify(state.branch)}`,
      'two branches share a slug only if their hashes agree: delete that preview first',
    );
  if (state.terminating)
    return refuse('is being deleted', 'wait until capstan preview delete has finished, then deploy again');
  return state;
}

/** The namespace (a new expiry), the quota and limits, and the protection's objects. */
async function preparePreview(
  client: KubeClient,
  env: ResolvedEnvironment,
  options: PreviewDeployOptions,
  existing: PreviewState | undefined,
): Promise<boolean> {
  const now = options.now ?? new Date();
  const pinned = options.pin ?? existing?.pinned ?? false;
  const apply = (object: KubeObject) =>
    withRetry(
      () =>
        client.apply(object, { fieldManager: PREVIEW_FIELD_MANAGER, force: true, signal: options.signal }),
      {
        signal: options.signal,
      },
    );
  await apply(
    previewNamespace(env, {
      creator: existing?.creator ?? options.creator,
      now,
      ...(existing ? { createdAt: existing.createdAt } : {}),
      pinned,
    }),
  );
  for (const object of previewLimits(env)) await apply(object);
  const protect = env.preview?.protect;
  if (!protect) return pinned;
  const user = protect.user ?? DEFAULT_USER;
  const given = protect.passwordEnv === undefined ? undefined : options.envVars?.[protect.passwordEnv];
  const secretId = { apiVersion: 'v1', kind: 'Secret', namespace: env.namespace, name: AUTH_SECRET };
  // A generated password is made once per preview and kept: later deploys leave the Secret be.
  let password = given;
  let generated = false;
  if (password === undefined && !(await client.get(secretId, options.signal))) {
    password = generatePassword();
    generated = true;
  }
  const objects = protectionObjects(protect, env.namespace, htpasswdLine(user, password ?? ''));
  for (const object of objects) if (object.kind !== 'Secret' || password !== undefined) await apply(object);
  if (generated && password !== undefined) options.onPassword?.(user, password);
  return pinned;
}

function checkPassword(env: ResolvedEnvironment, options: PreviewDeployOptions): void {
  const name = env.preview?.protect?.passwordEnv;
  if (name !== undefined && !options.envVars?.[name])
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `previews.protect.passwordEnv names ${name}, which is not set`,
      {
        hint: `set ${name} to the preview's basic-auth password, or remove passwordEnv to have one generated`,
      },
    );
}

/** Deploys one branch's preview (see the file's head). */
export async function deployPreview(options: PreviewDeployOptions): Promise<PreviewDeployResult> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolvePreview(loaded, options.branch, {
    ...(options.set ? { set: options.set } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const preview = env.preview!;
  checkPassword(env, options);
  const client = await KubeClient.connect({
    ...connectionOf(env, { kubeconfig: options.kubeconfig, context: options.context }),
    env: options.envVars,
  });
  let pinned: boolean;
  try {
    const existing = await existingPreview(client, env, options.signal);
    pinned = options.dryRun
      ? (existing?.pinned ?? false)
      : await preparePreview(client, env, options, existing);
  } finally {
    client.close();
  }
  const summary: PreviewSummary = {
    app: env.app,
    branch: preview.branch,
    slug: preview.slug,
    namespace: env.namespace,
    host: preview.host,
    url: `https://${preview.host}`,
    expiresAt: preview.expiresAt,
    pinned,
  };
  const one = new ClusterDeploy({ ...options, env: env.name }, options.onEvent);
  try {
    const ended = (await one.prepare(env)) ?? (await one.lock());
    if (ended) return { ...ended, preview: summary };
    const result = await one.execute();
    return { ...(await one.rollBackIfWanted(result)), preview: summary };
  } catch (error) {
    await one.fail(error);
    throw error;
  } finally {
    one.close();
  }
}

export { EXIT };
