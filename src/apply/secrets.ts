import { readFile } from 'node:fs/promises';
import type { ResolvedEnvironment } from '../config/index.js';
import type { KubeClient } from '../kube/index.js';
import { KubeApiError } from '../kube/index.js';
import { managedLabels } from '../render/index.js';
import {
  decryptEjsonFile,
  defaultKeyProviders,
  findUnencryptedValues,
  isSopsFileName,
  loadAgeIdentities,
  planSecretsFromEjson,
  readSopsObjects,
  type AgeIdentity,
  resolveVaultReferences,
  type KeyProvider,
  type VaultReferenceSite,
} from '../secrets/index.js';
import { ConfigError, type KubeObject } from '../shared/index.js';

export const EJSON_KEYS_SECRET = 'ejson-keys';

/** Private keys kept in the target namespace's `ejson-keys` Secret, keyed by public key (as krane does). */
export function namespaceKeyProvider(client: KubeClient, namespace: string): KeyProvider {
  let loaded: Promise<Record<string, string>> | undefined;
  return {
    description: `the Secret ${EJSON_KEYS_SECRET} in namespace ${namespace}`,
    async findPrivateKey(publicKeyHex: string) {
      loaded ??= client
        .get({ apiVersion: 'v1', kind: 'Secret', namespace, name: EJSON_KEYS_SECRET })
        .then((s) => (s as { data?: Record<string, string> } | undefined)?.data ?? {})
        .catch((error: unknown) => {
          if (error instanceof KubeApiError && (error.forbidden || error.notFound)) return {};
          throw error;
        });
      const data = await loaded;
      const value = data[publicKeyHex];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8').trim();
    },
  };
}

export interface SecretsRendererOptions {
  readonly app: string;
  readonly env: string;
  readonly envVars: NodeJS.ProcessEnv;
  readonly warn: (message: string) => void;
}

/**
 * Turns a phase's secrets files into objects. A secrets.ejson: refuses plaintext values, decrypts
 * with the key from the environment, the key directory or the namespace's ejson-keys Secret. A
 * `*.sops.yaml`/`*.sops.json`: decrypts with the user's age identities (looked up once per
 * renderer, as sops looks for them), checks the MAC, and keeps encrypted values inside Secrets.
 */
export function createSecretsRenderer(options: SecretsRendererOptions) {
  let identities: Promise<AgeIdentity[]> | undefined;
  return async (
    file: string,
    namespace: string,
    client: KubeClient | undefined,
  ): Promise<readonly KubeObject[]> => {
    if (isSopsFileName(file)) {
      identities ??= loadAgeIdentities({ env: options.envVars });
      return (await readSopsObjects(file, {
        identities: await identities,
        env: options.envVars,
      })) as KubeObject[];
    }
    const source = await readFile(file);
    const plaintext = findUnencryptedValues(source, { file });
    if (plaintext.length > 0) {
      throw new ConfigError(plaintext, { hint: `encrypt it first: capstan secrets encrypt ${file}` });
    }
    const providers = defaultKeyProviders({ env: options.envVars, warn: options.warn });
    if (client) providers.push(namespaceKeyProvider(client, namespace));
    const decrypted = await decryptEjsonFile(file, { keyProviders: providers });
    const doc = JSON.parse(Buffer.from(decrypted.output).toString('utf8')) as unknown;
    return planSecretsFromEjson(doc, {
      file,
      namespace,
      labels: managedLabels(options.app, options.env),
      warn: options.warn,
    });
  };
}

/**
 * Resolves the environment's `ref+vault://` references with the `vault:` settings of capstan.yaml
 * and the environment variables: one login and one read per secret for each render.
 */
export function createVaultResolver(
  env: ResolvedEnvironment,
  options: { envVars: NodeJS.ProcessEnv; warn: (message: string) => void; signal?: AbortSignal },
): (sites: readonly VaultReferenceSite[]) => Promise<string[]> {
  return (sites) =>
    resolveVaultReferences(sites, {
      config: env.vault,
      configFile: env.configFile,
      env: options.envVars,
      warn: options.warn,
      ...(options.signal ? { signal: options.signal } : {}),
    });
}
