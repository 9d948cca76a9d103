// A live Helm 3/4 release as Helm stores it: a Secret (or ConfigMap, with HELM_DRIVER=configmap)
// per revision, labelled owner=helm,name=RELEASE,version=N, whose `release` field holds the
// release as JSON, gzipped, then base64-encoded (a Secret's data is base64 once more on top).
import { gunzipSync } from 'node:zlib';
import { CapstanError, isRecord, type KubeObject } from '../shared/index.js';

export interface HelmHook {
  readonly name: string;
  readonly kind: string;
  /** The chart template it came from (`podinfo/templates/tests/jwt.yaml`). */
  readonly path: string;
  readonly manifest: string;
  /** `pre-install`, `post-upgrade`, `test`, ... */
  readonly events: readonly string[];
  readonly weight: number;
}

export interface HelmRelease {
  readonly name: string;
  readonly namespace: string;
  /** The release's revision (Helm's "version"). */
  readonly revision: number;
  /** `deployed`, `failed`, `pending-upgrade`, ... */
  readonly status: string;
  readonly chart: { readonly name: string; readonly version: string; readonly appVersion?: string };
  /** The rendered templates, `---`-separated, each document after a `# Source: PATH` comment. */
  readonly manifest: string;
  readonly hooks: readonly HelmHook[];
}

/** The label selector of every stored revision of a release. */
export function helmStorageSelector(release: string): string {
  return `owner=helm,name=${release}`;
}

/** The stored object of the newest revision (by its `version` label). */
export function latestRevision(stored: readonly KubeObject[]): KubeObject | undefined {
  let latest: KubeObject | undefined;
  let highest = -1;
  for (const object of stored) {
    const version = Number(object.metadata.labels?.['version']);
    if (Number.isInteger(version) && version > highest) {
      highest = version;
      latest = object;
    }
  }
  return latest;
}

function damaged(object: KubeObject, why: string, cause?: unknown): CapstanError {
  return new CapstanError(
    'ERR_CAPSTAN_HELM_RELEASE',
    `${object.kind}/${object.metadata.name ?? ''} does not hold a Helm release Capstan can read: ${why}`,
    cause === undefined ? {} : { cause },
  );
}

/** The release's JSON text out of a stored object (Secret or ConfigMap). */
function releaseJson(object: KubeObject): string {
  const field = isRecord(object['data']) ? object['data']['release'] : undefined;
  if (typeof field !== 'string') throw damaged(object, 'it has no data.release');
  // A Secret's data is base64 once more than a ConfigMap's.
  const encoded = object.kind === 'Secret' ? Buffer.from(field, 'base64').toString('latin1') : field;
  const bytes = Buffer.from(encoded, 'base64');
  const gzipped = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  try {
    return (gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    throw damaged(object, 'its gzip stream is broken', error);
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Decodes one stored revision; what Capstan cannot read is an error naming the object. */
export function decodeHelmRelease(object: KubeObject): HelmRelease {
  let parsed: unknown;
  try {
    parsed = JSON.parse(releaseJson(object));
  } catch (error) {
    if (error instanceof CapstanError) throw error;
    throw damaged(object, 'its release is not JSON', error);
  }
  if (!isRecord(parsed)) throw damaged(object, 'its release is not a JSON object');
  const info = isRecord(parsed['info']) ? parsed['info'] : {};
  const chart =
    isRecord(parsed['chart']) && isRecord(parsed['chart']['metadata']) ? parsed['chart']['metadata'] : {};
  const hooks = Array.isArray(parsed['hooks']) ? parsed['hooks'].filter(isRecord) : [];
  if (typeof parsed['manifest'] !== 'string') throw damaged(object, 'its release has no manifest');
  return {
    name: text(parsed['name']),
    namespace: text(parsed['namespace']),
    revision: typeof parsed['version'] === 'number' ? parsed['version'] : 0,
    status: text(info['status']) || 'unknown',
    chart: {
      name: text(chart['name']),
      version: text(chart['version']),
      ...(typeof chart['appVersion'] === 'string' ? { appVersion: chart['appVersion'] } : {}),
    },
    manifest: parsed['manifest'],
    hooks: hooks.map((h) => ({
      name: text(h['name']),
      kind: text(h['kind']),
      path: text(h['path']),
      manifest: text(h['manifest']),
      events: Array.isArray(h['events']) ? h['events'].filter((e): e is string => typeof e === 'string') : [],
      weight: typeof h['weight'] === 'number' ? h['weight'] : 0,
    })),
  };
}

/**
 * Why a release in this state cannot be adopted, or undefined when it can: only a release whose
 * last operation finished (`deployed`) describes what is live.
 */
export function adoptionRefusal(release: HelmRelease): string | undefined {
  if (release.status === 'deployed') return undefined;
  const what = `Helm release ${release.name} (revision ${release.revision}) is ${release.status}`;
  if (release.status.startsWith('pending-'))
    return `${what}: a helm operation is in progress or died half-way; let it finish, or roll it back with helm first`;
  if (release.status === 'failed')
    return `${what}: its last operation failed, so what is live may not be its manifest; fix it with helm (upgrade or rollback) first`;
  return `${what}: only a deployed release can be adopted`;
}
