// What a release record holds, and its encoding into Secrets: gzip, split, checksummed (pure).
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CapstanError, sortKeys, type KubeObject } from '../shared/index.js';

export type ReleaseOutcome = 'succeeded' | 'failed' | 'interrupted' | 'rolled-back' | 'running' | 'lock-lost';

export interface InventoryEntry {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /**
   * What the apply left, for a later deploy to tell that nothing changed since (docs/apply-order.md,
   * "What a redeploy skips"): the digest of the object sent (never of a Secret), and the object's
   * uid, resourceVersion and generation as the API server answered.
   */
  digest?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
}

export interface PhaseRecord {
  name: string;
  startedAt: string;
  finishedAt?: string;
  outcome: string;
}

export interface ReleaseRecord {
  app: string;
  env: string;
  namespace: string;
  release: number;
  deployId: string;
  images: string[];
  gitCommit?: string;
  gitBranch?: string;
  user: string;
  host: string;
  startedAt: string;
  finishedAt?: string;
  phases: PhaseRecord[];
  outcome: ReleaseOutcome;
  rolledBackTo?: number;
  inventory: InventoryEntry[];
  /** The rendered objects of that deploy, Secrets included: what rollback re-applies. */
  manifests: KubeObject[];
  hookJobs: string[];
  /** Finished hook Jobs of earlier deploys that this deploy deleted to run them again. */
  replacedJobs?: ReplacedJobRecord[];
  /** For a deploy that died holding the lock: when it last renewed its lock (its own clock), as the Lease said. */
  lockRenewedAt?: string;
  /** For a deploy that died holding the lock: the holder that took the expired lock over and marked it `interrupted`. */
  interruptedBy?: string;
  /** In a multi-cluster environment: the cluster this record is of (`release` is the environment's, shared by its clusters). */
  cluster?: string;
  /** In a multi-cluster environment: the clusters the release left out with --skip-cluster. */
  skippedClusters?: string[];
}

/** A hook Job deleted so that its name could run again, with the end of its log (redacted). */
export interface ReplacedJobRecord {
  name: string;
  uid: string;
  outcome: 'Complete' | 'Failed';
  startedAt?: string;
  finishedAt?: string;
  /** The last lines of each of its pods' logs, each line prefixed `[pod] `. */
  logs: string[];
}

export const RELEASE_LABEL = 'capstan.dev/release';
export const APP_LABEL = 'capstan.dev/app';
export const ENV_LABEL = 'capstan.dev/env';
/** The release number. The label keeps its first name so that records written before the rename still list. */
export const RELEASE_NUMBER_LABEL = 'capstan.dev/revision';
export const CHUNK_LABEL = 'capstan.dev/release-chunk';
export const OUTCOME_LABEL = 'capstan.dev/release-outcome';
const CHUNKS_ANNOTATION = 'capstan.dev/release-chunks';
const SHA_ANNOTATION = 'capstan.dev/release-sha256';
export const RELEASE_SECRET_TYPE = 'capstan.dev/release.v1';
/** A Secret holds at most 1 MiB; the rest is room for metadata. */
export const DEFAULT_CHUNK_BYTES = 900 * 1024;

const OUTCOMES: ReadonlySet<string> = new Set([
  'succeeded',
  'failed',
  'interrupted',
  'rolled-back',
  'running',
  'lock-lost',
]);

/** Raised when a record cannot be read back; names its Secrets so a person can inspect or delete them. */
export class DamagedReleaseError extends CapstanError {
  readonly release: number;
  readonly secrets: readonly string[];

  constructor(
    scope: { app: string; env: string; namespace: string },
    release: number,
    secrets: readonly string[],
    reason: string,
    cause?: unknown,
  ) {
    super(
      'ERR_CAPSTAN_RELEASE_DAMAGED',
      `release record ${release} of ${scope.app}/${scope.env} (Secret ${secrets.join(', ') || '?'} in ${scope.namespace}) is damaged: ${reason}`,
      {
        cause,
        hint: `inspect it, or delete it with: kubectl delete secret -n ${scope.namespace} -l ${releaseSelector(scope)},${RELEASE_NUMBER_LABEL}=${release}`,
      },
    );
    this.name = 'DamagedReleaseError';
    this.release = release;
    this.secrets = secrets;
  }
}

/** The label selector of every release Secret of one app and environment. */
export function releaseSelector(scope: { app: string; env: string }): string {
  return `${RELEASE_LABEL}=true,${APP_LABEL}=${scope.app},${ENV_LABEL}=${scope.env}`;
}

function dnsName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function releaseSecretName(
  scope: { app: string; env: string },
  release: number,
  chunk: number,
): string {
  const base = `capstan-release-${dnsName(scope.app)}-${dnsName(scope.env)}-v${release}`;
  return chunk === 0 ? base : `${base}-${chunk}`;
}

/** The Secrets holding one record: gzip of its JSON, split in `chunkBytes` pieces, each carrying count and checksum. */
export function encodeRelease(record: ReleaseRecord, options: { chunkBytes?: number } = {}): KubeObject[] {
  const chunkBytes = Math.max(1, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  // `revision` repeats `release` for Capstan versions before the rename, which read only that field.
  const payload = gzipSync(JSON.stringify({ ...record, revision: record.release }));
  const sha = createHash('sha256').update(payload).digest('hex');
  const count = Math.max(1, Math.ceil(payload.length / chunkBytes));
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: RELEASE_SECRET_TYPE,
    metadata: {
      name: releaseSecretName(record, record.release, i),
      namespace: record.namespace,
      labels: {
        [RELEASE_LABEL]: 'true',
        [APP_LABEL]: record.app,
        [ENV_LABEL]: record.env,
        [RELEASE_NUMBER_LABEL]: String(record.release),
        [CHUNK_LABEL]: String(i),
        [OUTCOME_LABEL]: record.outcome,
      },
      annotations: { [CHUNKS_ANNOTATION]: String(count), [SHA_ANNOTATION]: sha },
    },
    data: { release: payload.subarray(i * chunkBytes, (i + 1) * chunkBytes).toString('base64') },
  }));
}

export function releaseNumberOf(secret: KubeObject): number | undefined {
  const text = secret.metadata.labels?.[RELEASE_NUMBER_LABEL];
  const n = text === undefined ? NaN : Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function chunkOf(secret: KubeObject): number {
  return Number(secret.metadata.labels?.[CHUNK_LABEL] ?? '0');
}

/** Release Secrets by release number; Secrets without a valid release number label are ignored. */
export function groupByRelease(secrets: readonly KubeObject[]): Map<number, KubeObject[]> {
  const groups = new Map<number, KubeObject[]>();
  for (const secret of secrets) {
    const release = releaseNumberOf(secret);
    if (release === undefined) continue;
    groups.set(release, [...(groups.get(release) ?? []), secret]);
  }
  return groups;
}

/** Reassembles and checks one record from its Secrets; throws DamagedReleaseError saying what is wrong. */
export function decodeRelease(
  secrets: readonly KubeObject[],
  scope: { app: string; env: string; namespace: string },
): ReleaseRecord {
  const sorted = [...secrets].sort((a, b) => chunkOf(a) - chunkOf(b));
  const names = sorted.map((s) => s.metadata.name ?? '?');
  const release = sorted.length > 0 ? (releaseNumberOf(sorted[0]) ?? 0) : 0;
  const fail = (reason: string, cause?: unknown): never => {
    throw new DamagedReleaseError(scope, release, names, reason, cause);
  };
  const annotations = sorted[0]?.metadata.annotations ?? {};
  const count = Number(annotations[CHUNKS_ANNOTATION]);
  const sha = annotations[SHA_ANNOTATION];
  if (!Number.isSafeInteger(count) || count < 1 || !sha)
    fail('its chunk count or checksum annotation is missing');
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const secret = sorted.find((s) => chunkOf(s) === i);
    if (!secret) fail(`chunk ${i} of ${count} is missing`);
    if (secret!.metadata.annotations?.[SHA_ANNOTATION] !== sha)
      fail(`chunk ${i} belongs to another write of this release`);
    const data = (secret as { data?: Record<string, string> }).data?.release;
    if (typeof data !== 'string') fail(`chunk ${i} has no data`);
    parts.push(Buffer.from(data!, 'base64'));
  }
  const payload = Buffer.concat(parts);
  if (createHash('sha256').update(payload).digest('hex') !== sha)
    fail('its checksum does not match its content');
  let value: unknown;
  try {
    value = JSON.parse(gunzipSync(payload).toString('utf8'));
  } catch (error) {
    fail('its content is not gzip-compressed JSON', error);
  }
  const upgraded = upgradeRecord(value);
  const problem = checkRecord(upgraded);
  if (problem) fail(problem);
  const record = upgraded as ReleaseRecord;
  if (record.release !== release) fail(`it holds release ${record.release}, its labels say ${release}`);
  return record;
}

/**
 * A decoded record in today's shape: records written before the rename carry the release number
 * as `revision` only; newer ones carry both, and `revision` is dropped either way.
 */
export function upgradeRecord(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('revision' in value))
    return value;
  const { revision, ...rest } = value as Record<string, unknown>;
  return 'release' in rest ? rest : { ...rest, release: revision };
}

/** What is wrong with a decoded value, or undefined when it has the shape of a ReleaseRecord. */
export function checkRecord(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  for (const field of ['app', 'env', 'namespace', 'deployId', 'user', 'host', 'startedAt']) {
    if (typeof r[field] !== 'string') return `field ${field} is missing or not a string`;
  }
  if (!Number.isSafeInteger(r.release) || (r.release as number) < 1)
    return 'field release is not a positive integer';
  if (typeof r.outcome !== 'string' || !OUTCOMES.has(r.outcome))
    return `unknown outcome ${JSON.stringify(r.outcome)}`;
  for (const field of ['images', 'phases', 'inventory', 'manifests', 'hookJobs']) {
    if (!Array.isArray(r[field])) return `field ${field} is missing or not a list`;
  }
  const manifests = r.manifests as unknown[];
  if (
    manifests.some((m) => typeof m !== 'object' || m === null || typeof (m as KubeObject).kind !== 'string')
  ) {
    return 'a manifest is not a Kubernetes object';
  }
  return undefined;
}

/** What a deploy that took over an expired lock knows of the deploy that held it. */
export interface Takeover {
  /** The dead deploy's id, from its Lease. */
  readonly deployId: string;
  /** Its Lease's last renewTime (its clock). */
  readonly renewedAt?: string;
  /** The new holder. */
  readonly by: string;
  readonly at: Date;
}

/**
 * The record of the deploy whose lock was taken over, completed as `interrupted` (pure): its
 * running phases end with it. Undefined unless `record` is that deploy's and still `running`.
 */
export function interruptedRecord(record: ReleaseRecord, takeover: Takeover): ReleaseRecord | undefined {
  if (record.deployId !== takeover.deployId || record.outcome !== 'running') return undefined;
  const at = takeover.at.toISOString();
  return {
    ...record,
    outcome: 'interrupted',
    finishedAt: at,
    phases: record.phases.map((p) =>
      p.outcome === 'running' ? { ...p, outcome: 'interrupted', finishedAt: at } : p,
    ),
    ...(takeover.renewedAt ? { lockRenewedAt: takeover.renewedAt } : {}),
    interruptedBy: takeover.by,
  };
}

/**
 * The digest of an object as Capstan sends it: SHA-256 of its JSON with sorted keys. Undefined for a
 * Secret: an unsalted digest of its values could be checked against guesses.
 */
export function appliedDigest(object: KubeObject): string | undefined {
  if (object.kind === 'Secret' && !object.apiVersion.includes('/')) return undefined;
  return createHash('sha256')
    .update(JSON.stringify(sortKeys(object)))
    .digest('hex');
}

/** The inventory entry of an object applied as `sent`, with what tells a later deploy it is unchanged. */
export function appliedEntry(live: KubeObject, sent: KubeObject | undefined): InventoryEntry {
  const digest = sent && appliedDigest(sent);
  const { uid, resourceVersion, generation } = live.metadata;
  return {
    ...inventoryEntry(live),
    ...(digest === undefined ? {} : { digest }),
    ...(typeof uid === 'string' ? { uid } : {}),
    ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
    ...(typeof generation === 'number' ? { generation } : {}),
  };
}

/** The inventory entry of an object. */
export function inventoryEntry(object: KubeObject): InventoryEntry {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
    name: object.metadata.name ?? '',
  };
}
