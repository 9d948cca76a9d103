// `capstan adopt --from-helm`: a live Helm release becomes an environment of Capstan's. The deploy
// tree is written from the release, its objects are applied by Capstan taking over the fields
// Helm managed (pod templates as they are, so no pod restarts), the takeover is Capstan's release
// 1, and Helm's record of the release is deleted so that `helm uninstall` cannot remove them.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import { CONFIG_FILE_NAME, loadConfig, resolveEnvironment } from '../config/index.js';
import { deploy, type DeployOptions, type DeployResult } from '../deploy/index.js';
import { KubeClient, withRetry, KubeApiError, type ObjectId } from '../kube/index.js';
import { readReleases } from '../release/index.js';
import { managedLabels } from '../render/index.js';
import {
  encryptEjson,
  generateKeyPair,
  KUBERNETES_SECRETS_FIELD,
  PUBLIC_KEY_FIELD,
  writePrivateKeyFile,
} from '../secrets/index.js';
import { CapstanError, ConfigError, objectRef, type KubeObject } from '../shared/index.js';
import {
  adoptionRefusal,
  decodeHelmRelease,
  helmStorageSelector,
  latestRevision,
  type HelmRelease,
} from './helm-release.js';
import { planAdoption, SECRETS_FILE, type AdoptionPlan } from './plan-adoption.js';

/** The field manager Helm 3 and 4 write with, and the annotations it adds to what it installs. */
const HELM_MANAGER = 'helm';
const HELM_ANNOTATIONS = ['meta.helm.sh/release-name', 'meta.helm.sh/release-namespace'];

export interface AdoptHelmOptions extends Pick<
  DeployOptions,
  | 'cwd'
  | 'env'
  | 'kubeconfig'
  | 'context'
  | 'timeoutMs'
  | 'skipAudit'
  | 'concurrency'
  | 'lockWaitMs'
  | 'signal'
  | 'onEvent'
  | 'envVars'
  | 'redactor'
  | 'actor'
  | 'process'
> {
  /** The Helm release's name and namespace. */
  readonly release: string;
  readonly namespace: string;
  /** The app name when capstan.yaml is written (default: the release's name). */
  readonly app?: string;
  /** Where the ejson private key goes when the release has Secrets. */
  readonly keydir: string;
  /** Keep Helm's release Secrets (then `helm uninstall` would still delete the objects). */
  readonly keepHelmRelease?: boolean;
}

export interface AdoptHelmResult {
  readonly release: HelmRelease;
  /** The takeover's deploy (Capstan's release 1 when it succeeded). */
  readonly deploy: DeployResult;
  /** The release Capstan recorded for the takeover. */
  readonly capstanRelease?: number;
  /** Files written, relative to cwd; removed again when the takeover failed. */
  readonly files: readonly string[];
  readonly keyFile?: string;
  /** Helm's stored revisions deleted (or kept with keepHelmRelease), as Kind/name. */
  readonly helmRecords: readonly string[];
  readonly helmRecordsDeleted: boolean;
  readonly leftOut: readonly string[];
  readonly rollOnNextDeploy: readonly string[];
}

interface Target {
  readonly app: string;
  readonly deployDir: string;
  readonly envDir: string;
  /** capstan.yaml's text before adoption, undefined when there was none. */
  readonly configBefore?: string;
  /** capstan.yaml's text after adoption (unchanged when the environment was there). */
  readonly configAfter: string;
}

/** Where the environment goes; refuses an environment that has a folder or another namespace. */
async function targetOf(options: AdoptHelmOptions): Promise<Target> {
  const deployDir = join(options.cwd, '.deploy');
  const file = join(deployDir, CONFIG_FILE_NAME);
  const envDir = join(deployDir, options.env);
  if (existsSync(envDir))
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `${relative(options.cwd, envDir)} already exists: adopt writes a new environment and changed nothing`,
      {
        hint: 'adopt into another environment name, or move the folder away',
      },
    );
  if (!existsSync(file)) {
    const app = options.app ?? options.release;
    const context = options.context === undefined ? '' : `    context: ${JSON.stringify(options.context)}\n`;
    return {
      app,
      deployDir,
      envDir,
      configAfter: `app: ${app}\nenvironments:\n  ${options.env}:\n    namespace: ${options.namespace}\n${context}`,
    };
  }
  const loaded = await loadConfig({ cwd: options.cwd });
  const before = await readFile(file, 'utf8');
  if (loaded.config.environments[options.env] !== undefined) {
    const env = resolveEnvironment(loaded, options.env);
    if (env.namespace !== options.namespace)
      throw new ConfigError(
        [
          {
            file,
            path: `environments.${options.env}.namespace`,
            message: `is ${env.namespace}, but Helm release ${options.release} is in ${options.namespace}`,
          },
        ],
        { hint: 'adopt into an environment of that namespace, or a new one' },
      );
    return { app: loaded.config.app, deployDir, envDir, configBefore: before, configAfter: before };
  }
  const doc = parseDocument(before);
  doc.setIn(
    ['environments', options.env],
    doc.createNode({
      namespace: options.namespace,
      ...(options.context === undefined ? {} : { context: options.context }),
    }),
  );
  return { app: loaded.config.app, deployDir, envDir, configBefore: before, configAfter: doc.toString() };
}

/** The newest stored revision of the release: its Secrets, else its ConfigMaps (HELM_DRIVER=configmap). */
async function readHelmRelease(
  client: KubeClient,
  options: AdoptHelmOptions,
): Promise<{ release: HelmRelease; stored: readonly KubeObject[] }> {
  const labelSelector = helmStorageSelector(options.release);
  for (const kind of ['Secret', 'ConfigMap']) {
    const list = await withRetry(
      () => client.list('v1', kind, { namespace: options.namespace, labelSelector, signal: options.signal }),
      { signal: options.signal },
    );
    const latest = latestRevision(list.items);
    if (latest) return { release: decodeHelmRelease(latest), stored: list.items };
  }
  throw new CapstanError(
    'ERR_CAPSTAN_USAGE',
    `no Helm release ${options.release} in namespace ${options.namespace} (no Secret or ConfigMap labelled ${labelSelector})`,
    { hint: 'helm list --all -n NAMESPACE shows the releases there' },
  );
}

/** Refuses, before anything is written, what cannot be adopted. */
async function check(
  client: KubeClient,
  options: AdoptHelmOptions,
  target: Target,
  release: HelmRelease,
  plan: AdoptionPlan,
) {
  const refusal = adoptionRefusal(release);
  if (refusal) throw new CapstanError('ERR_CAPSTAN_USAGE', `${refusal}; adopt changed nothing`);
  if (plan.issues.length > 0) throw new ConfigError(plan.issues, { hint: 'adopt changed nothing' });
  const history = await readReleases(client, {
    namespace: options.namespace,
    app: target.app,
    env: options.env,
    signal: options.signal,
    onDamaged: () => {},
  });
  if (history.length > 0)
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `${target.app}/${options.env} already has ${history.length} Capstan release(s) in ${options.namespace}: adopt takes over a release Capstan has never deployed, and changed nothing`,
    );
}

/** Writes the tree; returns the files written and how to undo it. */
async function writeTree(
  options: AdoptHelmOptions,
  target: Target,
  plan: AdoptionPlan,
): Promise<{ files: string[]; keyFile?: string; undo: () => Promise<void> }> {
  const files: string[] = [];
  const contents = new Map(plan.files);
  let keyFile: string | undefined;
  if (Object.keys(plan.secrets).length > 0) {
    const keyPair = generateKeyPair();
    const doc = { [PUBLIC_KEY_FIELD]: keyPair.publicKey, [KUBERNETES_SECRETS_FIELD]: plan.secrets };
    contents.set(SECRETS_FILE, encryptEjson(`${JSON.stringify(doc, null, 2)}\n`));
    keyFile = await writePrivateKeyFile({ keydir: options.keydir, keyPair });
  }
  for (const [path, content] of contents) {
    const file = join(target.envDir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content, { flag: 'wx' });
    files.push(relative(options.cwd, file));
  }
  const configFile = join(target.deployDir, CONFIG_FILE_NAME);
  if (target.configAfter !== target.configBefore) {
    await writeFile(configFile, target.configAfter);
    files.push(relative(options.cwd, configFile));
  }
  const undo = async () => {
    await rm(target.envDir, { recursive: true, force: true });
    if (target.configBefore === undefined) await rm(configFile, { force: true });
    else await writeFile(configFile, target.configBefore);
    if (keyFile) await rm(keyFile, { force: true });
  };
  return { files, ...(keyFile ? { keyFile } : {}), undo };
}

function idOf(object: KubeObject, namespace?: string): ObjectId {
  const ns = object.metadata.namespace ?? namespace;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name ?? '',
    ...(ns === undefined ? {} : { namespace: ns }),
  };
}

/**
 * Helm's ownership of a live object ends: its field manager's entries and its release annotations
 * go (a conditional JSON patch, retried when a controller changed the object meanwhile).
 */
export async function releaseFromHelm(client: KubeClient, id: ObjectId, signal?: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const live = await client.get(id, signal);
    if (!live) return;
    const fields = (live.metadata.managedFields ?? []) as readonly { manager?: string }[];
    const kept = fields.filter((f) => f.manager !== HELM_MANAGER);
    const annotations = HELM_ANNOTATIONS.filter((a) => live.metadata.annotations?.[a] !== undefined);
    if (kept.length === fields.length && annotations.length === 0) return;
    const operations = [
      { op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion },
      // An empty list would leave the entries as they are; Capstan's own entry is always there.
      ...(kept.length === fields.length || kept.length === 0
        ? []
        : [{ op: 'replace', path: '/metadata/managedFields', value: kept }]),
      ...annotations.map((a) => ({
        op: 'remove',
        path: `/metadata/annotations/${a.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      })),
    ];
    try {
      await client.patchJson(id, operations, { signal });
      return;
    } catch (error) {
      // A failed `test`: the object changed since it was read; read it again.
      const changed = error instanceof KubeApiError && (error.status === 422 || error.status === 409);
      if (!changed || attempt >= 4) throw error;
    }
  }
}

/** Hook objects still live (a Job kept by before-hook-creation) become Capstan's, so a later deploy replaces them. */
async function relabelHooks(
  client: KubeClient,
  options: AdoptHelmOptions,
  target: Target,
  plan: AdoptionPlan,
) {
  for (const object of plan.hookObjects) {
    const id = idOf(object, options.namespace);
    const live = await client.get(id, options.signal);
    if (!live) continue;
    await client.patchMerge(
      id,
      { metadata: { labels: managedLabels(target.app, options.env) } },
      { signal: options.signal },
    );
    await releaseFromHelm(client, id, options.signal);
  }
}

/** Adopts a live Helm release into an environment (see the module comment). */
export async function adoptHelmRelease(options: AdoptHelmOptions): Promise<AdoptHelmResult> {
  const target = await targetOf(options);
  const client = await KubeClient.connect({
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    ...(options.context === undefined ? {} : { context: options.context }),
    env: options.envVars,
  });
  try {
    const { release, stored } = await readHelmRelease(client, options);
    const plan = planAdoption(release, `Helm release ${release.name}`);
    await check(client, options, target, release, plan);
    const written = await writeTree(options, target, plan);
    let result: DeployResult;
    let capstanRelease: number | undefined;
    try {
      result = await deploy({
        ...options,
        onEvent: (event) => {
          if (event.type === 'deploy-finished') capstanRelease = event.release;
          options.onEvent?.(event);
        },
        // The deploy finds the private key where adopt just wrote it.
        envVars: { ...options.envVars, EJSON_KEYDIR: options.keydir },
        takeOver: { phases: plan.takeOverPhases },
        forceConflicts: true,
        // The pods are the ones running: nothing new has to find a node.
        skipPreflight: true,
        prune: false,
      });
    } catch (error) {
      await written.undo();
      throw error;
    }
    const base = {
      release,
      deploy: result,
      files: written.files,
      ...(written.keyFile ? { keyFile: written.keyFile } : {}),
      helmRecords: stored.map(objectRef),
      leftOut: plan.leftOut,
      rollOnNextDeploy: plan.rollOnNextDeploy,
      ...(capstanRelease === undefined ? {} : { capstanRelease }),
    };
    if (result.outcome !== 'succeeded') {
      await written.undo();
      return { ...base, helmRecordsDeleted: false };
    }
    for (const object of result.applied) await releaseFromHelm(client, idOf(object), options.signal);
    await relabelHooks(client, options, target, plan);
    if (!options.keepHelmRelease)
      for (const object of stored) await client.delete(idOf(object), { signal: options.signal });
    return { ...base, helmRecordsDeleted: !options.keepHelmRelease };
  } finally {
    client.close();
  }
}
