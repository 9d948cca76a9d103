// Resolves a render's Vault references: one login, one read per secret (path and version), the
// token revoked; every missing secret or key is reported at once, naming path and key, never a value.
import type { ResolvedVaultConfig } from '../config/index.js';
import type { Issue } from '../shared/index.js';
import { ConfigError } from '../shared/index.js';
import { resolveVaultSettings } from './vault-auth.js';
import { VaultClient, type VaultAnswer, type VaultClientOptions, type VaultMount } from './vault-client.js';
import { formatVaultReference, vaultSecretId, type VaultReferenceSite } from './vault-reference.js';

export interface ResolveVaultOptions extends VaultClientOptions {
  /** The environment's `vault:` settings from capstan.yaml, if any. */
  readonly config: ResolvedVaultConfig | undefined;
  readonly configFile: string;
  readonly env: NodeJS.ProcessEnv;
  readonly warn?: (message: string) => void;
}

/** What one secret read gave: its key/values, or why there are none (a message naming no value). */
type ReadResult = { readonly data: Record<string, unknown> } | { readonly problem: string };

/**
 * The value of every site, in order. Throws a ConfigError listing every missing secret or key, and
 * a CapstanError when Vault cannot be reached or refuses the login. Nothing is written here.
 */
export async function resolveVaultReferences(
  sites: readonly VaultReferenceSite[],
  options: ResolveVaultOptions,
): Promise<string[]> {
  if (sites.length === 0) return [];
  const settings = resolveVaultSettings(options.config, options.env, { configFile: options.configFile });
  const client = new VaultClient(settings, options);
  const reads = new Map<string, ReadResult>();
  try {
    await client.login();
    const mounts: VaultMount[] = [];
    for (const { reference } of sites) {
      const id = vaultSecretId(reference);
      if (!reads.has(id)) reads.set(id, await readSecret(client, mounts, reference.path, reference.version));
    }
  } finally {
    const warning = await client.close();
    if (warning) options.warn?.(warning);
  }
  const issues: Issue[] = [];
  const values = sites.map((site) => {
    const read = reads.get(vaultSecretId(site.reference))!;
    const problem = 'problem' in read ? read.problem : keyProblem(read.data, site.reference.key);
    if (problem === undefined && 'data' in read) return scalarText(read.data[site.reference.key]);
    issues.push({
      ...site.source,
      path: `${site.field}.${site.key}`,
      message: `Secret/${site.object.metadata.name ?? ''}: ${formatVaultReference(site.reference)}: ${problem}`,
    });
    return '';
  });
  if (issues.length > 0)
    throw new ConfigError(issues, {
      hint: 'nothing was applied; every reference is resolved before anything is written',
    });
  return values;
}

/** The secret at `path` (its mount found once per mount), or the reason it cannot be read. */
async function readSecret(
  client: VaultClient,
  mounts: VaultMount[],
  path: string,
  version: number | undefined,
): Promise<ReadResult> {
  // Mounts do not nest, so a known mount that prefixes the path is its mount.
  let mount = mounts.find((m) => `${path}/`.startsWith(m.path));
  if (!mount) {
    const found = await client.mountOf(path);
    // Vault answers 403 both when the policy denies the path and when nothing is mounted there.
    if ('status' in found)
      return { problem: refusal(client, found, path, 'no secrets engine is mounted at this path') };
    mount = found;
    mounts.push(found);
  }
  if (mount.type !== 'kv' || mount.version !== '2')
    return {
      problem: `the mount ${mount.path} is ${mount.type === 'kv' ? `KV version ${mount.version ?? '1'}` : `a ${mount.type || 'non-KV'} engine`}; Capstan reads KV version 2`,
    };
  const rest = path.slice(mount.path.length);
  if (rest === '') return { problem: `names the mount ${mount.path} itself, not a secret in it` };
  const read = await client.readKv2(mount.path, rest, version);
  if ('status' in read)
    return {
      problem: refusal(
        client,
        read,
        path,
        version === undefined
          ? 'no such secret (or its latest version is deleted)'
          : `no version ${version} of this secret (or it is deleted)`,
      ),
    };
  return read;
}

function refusal(client: VaultClient, answer: VaultAnswer, path: string, notFound: string): string {
  if (answer.status === 404) return notFound;
  if (answer.status === 403)
    return 'permission denied, or no secrets engine is mounted there (the policy needs "read" on MOUNT/data/PATH)';
  // Other answers (sealed, 5xx) are not the user's input: the deploy fails, not refuses.
  throw client.failure(`the read of ${path}`, answer);
}

function keyProblem(data: Record<string, unknown>, key: string): string | undefined {
  if (!Object.hasOwn(data, key)) return `the secret has no key "${key}"`;
  const value = data[key];
  if (value === null || typeof value === 'object')
    return `the key "${key}" holds ${value === null ? 'null' : 'a map or list'}, not a text value`;
  return undefined;
}

/** Strings as they are; numbers and booleans as JSON writes them. */
function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
