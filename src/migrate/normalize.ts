// Normalised forms for comparing an object of A with its copy in B: what the server or the cluster
// sets is removed, empty equals absent, quantities and set-like lists are canonical, and Secret
// values are replaced by SHA-256 digests so no comparison or report ever holds one.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../shared/index.js';
import { record, type Json } from './json.js';
import { stripForCopy } from './strip.js';

const SUFFIXES: Readonly<Record<string, number>> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A resource quantity (`500m`, `1Gi`, `1e3`) as a number, or undefined when it is not one. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * SUFFIXES[match[2] ?? ''];
}

/** Maps whose values are quantities (container resources, quotas, limit ranges, claims). */
const QUANTITY_MAPS = new Set(['limits', 'requests', 'hard', 'default', 'defaultRequest', 'max', 'min', 'maxLimitRequestRatio', 'capacity']);
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
    if (annotations && applied) annotations['kubectl.kubernetes.io/last-applied-configuration'] = `sha256:${sha256(applied)}`;
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
    for (let i = 0; i < a.length && out.length < limit; i++) out.push(...diffPaths(a[i], b[i], limit - out.length, `${path}[${i}]`));
    return out;
  }
  return [path || '(object)'];
}
