// `capstan diff`: render an environment, dry-run every object, compare with the live objects.
import { setMaxListeners } from 'node:events';
import {
  connectionOf,
  eachCluster,
  loadConfig,
  resolveOneCluster,
  type ResolvedEnvironment,
} from '../config/index.js';
import { createSecretsRenderer, createVaultResolver, newDeployId, selectorOf } from '../apply/index.js';
import { during, KubeClient, withRetry } from '../kube/index.js';
import { renderEnvironment } from '../render/index.js';
import { Redactor, secretValues } from '../secrets/index.js';
import { settleLimit, type KubeObject } from '../shared/index.js';
import {
  computeObjectDiff,
  computePruneDiff,
  hasChanges,
  redactDiffs,
  type ObjectDiff,
} from '../release/index.js';
import { selectHelmHooks } from './helm-hooks-step.js';
import { validateDeploy } from './validate.js';

export interface DiffEnvironmentOptions {
  readonly cwd: string;
  readonly env: string;
  readonly image?: string;
  readonly set?: readonly string[];
  /** One cluster of a multi-cluster environment (diffClusters: only that one). */
  readonly cluster?: string;
  readonly commit?: string;
  readonly branch?: string;
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
  /**
   * Learns the environment's secret values once rendered; the diffs are redacted with it (a
   * ConfigMap may repeat a Secret's value). The CLI passes its own for what else it prints.
   */
  readonly redactor?: Redactor;
}

export interface EnvironmentDiff {
  readonly app: string;
  readonly env: string;
  /** The cluster diffed, for a multi-cluster environment. */
  readonly cluster?: string;
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
    const live = await during(`reading the live ${kind}/${metadata.name ?? ''} to compare needs it`, () =>
      withRetry(
        () =>
          client.get(
            { apiVersion, kind, name: metadata.name ?? '', namespace: metadata.namespace },
            options.signal,
          ),
        { signal: options.signal },
      ),
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

/**
 * What `capstan deploy` would change now in one cluster: nothing is modified (server-side dry run
 * only). A multi-cluster environment needs `cluster` (diffClusters diffs each).
 */
export async function diffEnvironment(options: DiffEnvironmentOptions): Promise<EnvironmentDiff> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveOneCluster(loaded, options.env, {
    set: options.set,
    cluster: options.cluster,
    command: 'diff',
  });
  return diffView(env, options);
}

/**
 * What a deploy would change in each cluster of the environment (only `cluster`, if given), each
 * against its own live objects, in capstan.yaml's order; one diff for a single-cluster environment.
 * An error in one cluster fails the whole, naming the cluster.
 */
export async function diffClusters(options: DiffEnvironmentOptions): Promise<EnvironmentDiff[]> {
  const loaded = await loadConfig({ cwd: options.cwd });
  return eachCluster(loaded, options.env, { set: options.set, cluster: options.cluster }, (env) =>
    diffView(env, options),
  );
}

/** One view of the environment (one cluster) against its live objects. */
async function diffView(env: ResolvedEnvironment, options: DiffEnvironmentOptions): Promise<EnvironmentDiff> {
  const client = await KubeClient.connect({
    ...connectionOf(env, { kubeconfig: options.kubeconfig, context: options.context }),
    env: options.envVars,
  });
  try {
    const warn = options.onWarning ?? (() => {});
    const renderSecrets =
      options.renderSecrets ??
      createSecretsRenderer({ app: env.app, env: env.name, envVars: options.envVars ?? {}, warn });
    const deployId = newDeployId();
    const rendered = await renderEnvironment({
      env,
      image: options.image ?? env.image,
      deployId,
      commit: options.commit,
      branch: options.branch,
      envVars: options.envVars ?? {},
      renderSecrets: (file, ns) => renderSecrets(file, ns, client),
      resolveVaultReferences: createVaultResolver(env, {
        envVars: options.envVars ?? {},
        warn,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    });
    const phases = await selectHelmHooks(client, env, rendered, options.signal);
    const redactor = options.redactor ?? new Redactor();
    redactor.add(secretValues(phases.flatMap((p) => p.objects.map((o) => o.object))));
    const concurrency = options.concurrency ?? env.concurrency;
    const signal = options.signal ?? new AbortController().signal;
    // Every in-flight request listens to the signal; dozens at once are expected.
    setMaxListeners(0, signal);
    // The same validation a deploy makes, so the diff shows exactly what a deploy would do.
    const validation = await validateDeploy(client, env, phases, {
      deployId,
      selector: selectorOf(env.app, env.name),
      concurrency,
      forceConflicts: options.forceConflicts,
      listExisting: true,
      readHistory: true,
      signal,
      warn,
    });
    // A namespace this deploy creates is among the validated objects, so it shows as created.
    const diffs = [
      ...(await collectDiffs(client, {
        desired: validation.validated.map((v) => v.desired),
        prune: validation.toPrune,
        concurrency,
        signal,
      })),
      // Custom resources whose CRD is not served yet cannot be dry-run: they show as rendered.
      ...validation.deferred.map((o) => computeObjectDiff(undefined, o.object)),
    ];
    return {
      app: env.app,
      env: env.name,
      ...(env.cluster === undefined ? {} : { cluster: env.cluster }),
      namespace: env.namespace,
      diffs: redactDiffs(diffs, redactor.text),
      hasChanges: hasChanges(diffs),
    };
  } finally {
    client.close();
  }
}
