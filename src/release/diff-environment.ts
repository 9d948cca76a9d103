// `capstan diff`: render an environment, dry-run every object, compare with the live objects.
import { setMaxListeners } from 'node:events';
import { loadConfig, resolveEnvironment } from '../config/index.js';
import {
  applyAll,
  createSecretsRenderer,
  issuesFromApplyError,
  listLabelled,
  newRevision,
  prunableTypes,
  selectorOf,
} from '../deploy/index.js';
import { KubeApiError, KubeClient } from '../kube/index.js';
import { managedLabels, renderEnvironment, type RenderedObject } from '../render/index.js';
import { ConfigError, objectKey, settleLimit, type Issue, type KubeObject } from '../shared/index.js';
import { computeObjectDiff, computePruneDiff, hasChanges, type ObjectDiff } from './diff.js';
import { withRetry } from './retry.js';

export interface DiffEnvironmentOptions {
  readonly cwd: string;
  readonly env: string;
  readonly image?: string;
  readonly set?: readonly string[];
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly concurrency?: number;
  readonly forceConflicts?: boolean;
  readonly signal?: AbortSignal;
  readonly envVars?: NodeJS.ProcessEnv;
  /** Overrides how secrets.ejson files become Secrets (default: as deploy does). */
  readonly renderSecrets?: (
    file: string,
    namespace: string,
    client: KubeClient,
  ) => Promise<readonly KubeObject[]>;
  readonly onWarning?: (message: string) => void;
}

export interface EnvironmentDiff {
  readonly app: string;
  readonly env: string;
  readonly namespace: string;
  /** Rendered objects in phase order, then the objects a deploy would prune. */
  readonly diffs: readonly ObjectDiff[];
  readonly hasChanges: boolean;
}

/** The live object of each desired one (dry-run results), diffed; plus the objects to prune. */
export async function collectDiffs(
  client: KubeClient,
  options: {
    desired: readonly KubeObject[];
    prune?: readonly KubeObject[];
    concurrency?: number;
    signal?: AbortSignal;
  },
): Promise<ObjectDiff[]> {
  const results = await settleLimit(options.desired, options.concurrency ?? 8, async (desired) => {
    const { apiVersion, kind, metadata } = desired;
    const live = await withRetry(
      () =>
        client.get(
          { apiVersion, kind, name: metadata.name ?? '', namespace: metadata.namespace },
          options.signal,
        ),
      { signal: options.signal },
    );
    return computeObjectDiff(live, desired);
  });
  const diffs: ObjectDiff[] = [];
  for (const r of results) {
    if (!r.ok) throw r.error;
    diffs.push(r.value);
  }
  return [...diffs, ...(options.prune ?? []).map(computePruneDiff)];
}

async function namespaceExists(client: KubeClient, name: string, signal?: AbortSignal): Promise<boolean> {
  try {
    return (await client.get({ apiVersion: 'v1', kind: 'Namespace', name }, signal)) !== undefined;
  } catch (error) {
    if (error instanceof KubeApiError && error.forbidden) return true;
    throw error;
  }
}

/** What `capstan deploy` would change now: nothing is modified (server-side dry run only). */
export async function diffEnvironment(options: DiffEnvironmentOptions): Promise<EnvironmentDiff> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveEnvironment(loaded, options.env, { set: options.set });
  const client = await KubeClient.connect({
    kubeconfig: options.kubeconfig,
    context: options.context ?? env.context,
    env: options.envVars,
  });
  try {
    const renderSecrets =
      options.renderSecrets ??
      createSecretsRenderer({
        app: env.app,
        env: env.name,
        envVars: options.envVars ?? {},
        warn: options.onWarning ?? (() => {}),
      });
    const phases = await renderEnvironment({
      env,
      image: options.image ?? env.image,
      revision: newRevision(),
      renderSecrets: (file, ns) => renderSecrets(file, ns, client),
    });
    const rendered = phases.flatMap((p) => p.objects);
    const concurrency = options.concurrency ?? env.concurrency;
    const signal = options.signal;
    // Every in-flight request listens to the signal; dozens at once are expected.
    if (signal) setMaxListeners(0, signal);
    const nsMissing = !(await namespaceExists(client, env.namespace, signal));
    const selector = selectorOf(env.app, env.name);

    // Custom resources whose CRD is not served yet cannot be dry-run: they show as rendered.
    const toDryRun: RenderedObject[] = [];
    const originals: KubeObject[] = [];
    const undiscovered: KubeObject[] = [];
    for (const o of rendered) {
      if (!(await client.discovery.find(o.object.apiVersion, o.object.kind))) undiscovered.push(o.object);
      else if (nsMissing && o.object.metadata.namespace === env.namespace) {
        // As in deploy: validated against `default` while the namespace does not exist yet.
        toDryRun.push({
          ...o,
          object: { ...o.object, metadata: { ...o.object.metadata, namespace: 'default' } },
        });
        originals.push(o.object);
      } else {
        toDryRun.push(o);
        originals.push(o.object);
      }
    }
    const [dryRuns, existing] = await Promise.all([
      applyAll(client, toDryRun, { concurrency, dryRun: true, force: options.forceConflicts, signal }),
      nsMissing
        ? Promise.resolve([] as KubeObject[])
        : client.discovery
            .all()
            .then((types) =>
              listLabelled(
                client,
                prunableTypes(types.filter((t) => t.namespaced || t.kind !== 'Namespace')),
                { namespace: env.namespace, selector, signal },
              ),
            ),
    ]);
    const issues: Issue[] = dryRuns.flatMap((r) =>
      r.error === undefined ? [] : issuesFromApplyError(r.source, r.error),
    );
    if (issues.length > 0)
      throw new ConfigError(issues, { hint: 'the API server refused these objects in a dry run' });

    const renderedKeys = new Set(rendered.map((o) => objectKey(o.object)));
    const prune = existing.filter(
      (o) =>
        !renderedKeys.has(objectKey(o)) &&
        !(o.kind === 'Job' && o.metadata.labels?.['capstan.dev/hook'] !== undefined),
    );
    // Objects of a namespace that does not exist yet are all to create; the rest are compared.
    const created: ObjectDiff[] = [];
    const compared: KubeObject[] = [];
    dryRuns.forEach((r, i) => {
      const original = originals[i];
      if (nsMissing && original.metadata.namespace === env.namespace) {
        created.push(
          computeObjectDiff(undefined, {
            ...r.live!,
            metadata: { ...r.live!.metadata, namespace: env.namespace },
          }),
        );
      } else compared.push(r.live!);
    });
    if (
      nsMissing &&
      !rendered.some((o) => o.object.kind === 'Namespace' && o.object.metadata.name === env.namespace)
    ) {
      created.unshift(
        computeObjectDiff(undefined, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: env.namespace, labels: managedLabels(env.app, env.name) },
        }),
      );
    }
    const diffs = [
      ...created,
      ...(await collectDiffs(client, { desired: compared, prune, concurrency, signal })),
    ];
    diffs.push(...undiscovered.map((o) => computeObjectDiff(undefined, o)));
    return { app: env.app, env: env.name, namespace: env.namespace, diffs, hasChanges: hasChanges(diffs) };
  } finally {
    client.close();
  }
}
