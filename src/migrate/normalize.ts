// Normalised forms for comparing an object of A with its copy in B: what the server or the cluster
// sets is removed, empty equals absent, quantities and set-like lists are canonical, and Secret
// values are replaced by SHA-256 digests so no comparison or report ever holds one.
import { createHash } from 'node:crypto';
import { parseQuantity, type KubeObject } from '../shared/index.js';
import { record, type Json } from './json.js';
import { stripForCopy } from './strip.js';

export { parseQuantity };

/** Maps whose values are quantities (container resources, quotas, limit ranges, claims). */
const QUANTITY_MAPS = new Set([
  'limits',
  'requests',
  'hard',
  'default',
  'defaultRequest',
  'max',
  'min',
  'maxLimitRequestRatio',
  'capacity',
]);
/** Lists whose order carries no meaning. */
const SET_LISTS = new Set(['finalizers', 'imagePullSecrets']);

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  const obj = record(value);
  return obj !== undefined && Object.keys(obj).length === 0;
}

function canonical(value: unknown, parentKey: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => canonical(v, '')).filter((v) => !isEmpty(v));
    if (SET_LISTS.has(parentKey)) items.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    return items;
  }
  const obj = record(value);
  if (!obj) return value;
  const out: Json = {};
  for (const key of Object.keys(obj).sort()) {
    let item = canonical(obj[key], key);
    if (QUANTITY_MAPS.has(parentKey)) item = parseQuantity(item) ?? item;
    if (!isEmpty(item)) out[key] = item;
  }
  return out;
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

const DIGESTED_KEYS = ['token', 'ca.crt', 'namespace'];

/** Per-key SHA-256 of a Secret's data (decoded bytes); the token keys of service-account tokens are left out. */
export function secretDigests(secret: KubeObject): Record<string, string> {
  const data: Record<string, string> = {};
  const token = secret.type === 'kubernetes.io/service-account-token';
  for (const [key, value] of Object.entries(record(secret.data) ?? {})) {
    if (token && DIGESTED_KEYS.includes(key)) continue;
    data[key] = sha256(Buffer.from(typeof value === 'string' ? value : '', 'base64'));
  }
  for (const [key, value] of Object.entries(record(secret.stringData) ?? {})) {
    data[key] = sha256(Buffer.from(typeof value === 'string' ? value : '', 'utf8'));
  }
  return data;
}

/** The comparable form of an object, from A (stripped) or B (live or dry-run result). */
export function normalizeForCompare(object: KubeObject): Json {
  const stripped = stripForCopy(object);
  const { apiVersion: _v, ...rest } = stripped;
  if (object.kind === 'Secret') {
    delete rest.stringData;
    rest.data = secretDigests(object);
    const annotations = rest.metadata.annotations;
    const applied = annotations?.['kubectl.kubernetes.io/last-applied-configuration'];
    // kubectl's last-applied annotation of a Secret holds its values.
    if (annotations && applied)
      annotations['kubectl.kubernetes.io/last-applied-configuration'] = `sha256:${sha256(applied)}`;
  }
  return canonical(rest, '') as Json;
}

/** Dotted paths where two normalised values differ (at most `limit`), in a stable order. */
export function diffPaths(a: unknown, b: unknown, limit = 20, path = ''): string[] {
  if (a === b) return [];
  const ra = record(a);
  const rb = record(b);
  if (ra && rb) {
    const out: string[] = [];
    for (const key of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
      out.push(...diffPaths(ra[key], rb[key], limit - out.length, path ? `${path}.${key}` : key));
      if (out.length >= limit) break;
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    const out: string[] = [];
    for (let i = 0; i < a.length && out.length < limit; i++)
      out.push(...diffPaths(a[i], b[i], limit - out.length, `${path}[${i}]`));
    return out;
  }
  return [path || '(object)'];
}
