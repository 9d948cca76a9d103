// krane's `kubernetes_secrets` layout turned into Secret objects, and the deploy's plaintext guard.
import { ConfigError } from '../shared/index.js';
import type { Issue, KubeObject } from '../shared/index.js';
import { isBoxedMessage } from './boxed-message.js';
import { formatJsonPath, scanJson } from './json-scanner.js';
import { locate, unquoteJsonString } from './json-string.js';

export const KUBERNETES_SECRETS_FIELD = 'kubernetes_secrets';
/** Marks Secrets generated from an ejson file. */
export const EJSON_SECRET_ANNOTATION = 'capstan.dev/ejson-secret';

export interface PlanSecretsOptions {
  /** The ejson file, for issues. */
  readonly file: string;
  readonly namespace: string;
  /** Added to every Secret (Capstan's ownership labels). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Told when the file defines no Secrets. */
  readonly warn?: (message: string) => void;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Builds one Secret per entry of `kubernetes_secrets` in a decrypted ejson document (as parsed
 * by `JSON.parse`): `_type` is the Secret type; each `data` key, with one leading `_` dropped,
 * holds its value base64-encoded in `data` (not `stringData`, so content checksums are stable).
 * Every problem is collected and thrown once as a ConfigError.
 */
export function planSecretsFromEjson(decryptedDoc: unknown, options: PlanSecretsOptions): KubeObject[] {
  const { file } = options;
  const issues: Issue[] = [];
  const problem = (path: string, message: string): void => void issues.push({ file, path, message });

  if (!isPlainObject(decryptedDoc)) {
    throw new ConfigError([{ file, message: 'an EJSON file must hold a JSON object' }]);
  }
  const entries = decryptedDoc[KUBERNETES_SECRETS_FIELD];
  if (entries === undefined || (isPlainObject(entries) && Object.keys(entries).length === 0)) {
    options.warn?.(`${file} has no "${KUBERNETES_SECRETS_FIELD}": no Secrets will be created from it`);
    return [];
  }
  if (!isPlainObject(entries)) {
    throw new ConfigError([
      { file, path: KUBERNETES_SECRETS_FIELD, message: 'must be an object of Secret names' },
    ]);
  }

  const secrets: KubeObject[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    const at = formatJsonPath([KUBERNETES_SECRETS_FIELD, name]);
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      problem(
        at,
        'is not a valid Secret name (lowercase letters, digits, "-" and ".", at most 253 characters)',
      );
    }
    if (!isPlainObject(entry)) {
      problem(at, 'must be an object with "_type" and "data"');
      continue;
    }
    for (const field of Object.keys(entry)) {
      if (field !== 'data' && !field.startsWith('_'))
        problem(`${at}.${field}`, 'unknown field (expected "_type" and "data")');
    }
    const type = entry._type;
    if (typeof type !== 'string' || type === '')
      problem(`${at}._type`, 'the Secret type is missing (e.g. "Opaque")');
    const data = entry.data;
    if (!isPlainObject(data)) {
      problem(`${at}.data`, data === undefined ? 'no data provided' : 'must be an object of string values');
      continue;
    }
    const encoded: Array<[string, string]> = [];
    const seen = new Map<string, string>();
    for (const [rawKey, value] of Object.entries(data)) {
      const keyPath = formatJsonPath([KUBERNETES_SECRETS_FIELD, name, 'data', rawKey]);
      const key = rawKey.startsWith('_') ? rawKey.slice(1) : rawKey;
      if (typeof value !== 'string') problem(keyPath, 'must be a string');
      if (!SECRET_KEY.test(key))
        problem(keyPath, 'is not a valid Secret key (letters, digits, "-", "_" and ".")');
      const clash = seen.get(key);
      if (clash !== undefined) problem(keyPath, `becomes key "${key}", as "${clash}" does`);
      seen.set(key, rawKey);
      if (typeof value === 'string') encoded.push([key, Buffer.from(value, 'utf8').toString('base64')]);
    }
    secrets.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: options.namespace,
        labels: { ...options.labels },
        annotations: { [EJSON_SECRET_ANNOTATION]: 'true' },
      },
      type: typeof type === 'string' ? type : 'Opaque',
      data: Object.fromEntries(encoded),
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return secrets;
}

export interface FindUnencryptedValuesOptions {
  readonly file: string;
}

/**
 * Every value ejson would encrypt that is not encrypted, as issues (file, line, column, path;
 * never the value), so a deploy can refuse the file. Malformed JSON is reported as an issue too.
 */
export function findUnencryptedValues(
  source: string | Uint8Array,
  options: FindUnencryptedValuesOptions,
): Issue[] {
  const bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source;
  let scan;
  try {
    scan = scanJson(bytes, { file: options.file });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  const issues: Issue[] = [];
  for (const literal of scan.strings) {
    if (!literal.encryptable || isBoxedMessage(unquoteJsonString(bytes, literal.start, literal.end)))
      continue;
    const { line, column } = locate(bytes, literal.start);
    issues.push({
      file: options.file,
      line,
      column,
      path: formatJsonPath(literal.path),
      message: `value is not encrypted; run "capstan secrets encrypt ${options.file}" before deploying`,
    });
  }
  return issues;
}
