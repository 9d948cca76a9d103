// `ref+vault://PATH[?version=N]#KEY` references in Secrets: parsing, and finding them in rendered
// objects (a reference outside a Secret's data/stringData is an input error). Pure code.
import type { Issue, KubeObject, SourceLocation } from '../shared/index.js';
import { isRecord } from '../shared/index.js';

export const VAULT_REFERENCE_PREFIX = 'ref+vault://';

/** One parsed reference: the secret's full path (mount included), the key, the version if pinned. */
export interface VaultReference {
  /** `MOUNT/PATH` as written, without leading or trailing `/`; the mount is found by asking Vault. */
  readonly path: string;
  readonly key: string;
  readonly version?: number;
}

/** The reference as users write it (what error messages name; it holds no value). */
export function formatVaultReference(reference: VaultReference): string {
  const version = reference.version === undefined ? '' : `?version=${reference.version}`;
  return `${VAULT_REFERENCE_PREFIX}${reference.path}${version}#${reference.key}`;
}

/** Where one secret lives: a path and a version (latest when undefined); read once per deploy. */
export function vaultSecretId(reference: Pick<VaultReference, 'path' | 'version'>): string {
  return reference.version === undefined ? reference.path : `${reference.path}?version=${reference.version}`;
}

export function isVaultReferenceText(value: string): boolean {
  return value.includes(VAULT_REFERENCE_PREFIX);
}

/**
 * Parses `ref+vault://MOUNT/PATH[?version=N]#KEY`; the whole value must be the reference. `#/KEY`
 * (vals' JSON pointer to a top-level key) is read as `#KEY`. Returns a message (naming no value)
 * when the text is not a valid reference.
 */
export function parseVaultReference(text: string): VaultReference | { readonly error: string } {
  if (!text.startsWith(VAULT_REFERENCE_PREFIX))
    return { error: `a Vault reference must be the whole value, starting with ${VAULT_REFERENCE_PREFIX}` };
  const rest = text.slice(VAULT_REFERENCE_PREFIX.length);
  const hash = rest.indexOf('#');
  if (hash < 0) return { error: 'the Vault reference names no key: end it with #KEY' };
  const [location = '', query] = splitOnce(rest.slice(0, hash), '?');
  let key = rest.slice(hash + 1);
  if (key.startsWith('/')) key = unescapePointer(key.slice(1));
  if (key === '') return { error: 'the Vault reference names no key after #' };
  if (/[\u0000-\u001f]/.test(key)) return { error: 'the key of the Vault reference has control characters' };
  const path = location.replace(/^\/+|\/+$/g, '');
  const segments = path.split('/');
  if (path === '' || segments.length < 2)
    return { error: 'the Vault reference needs a mount and a path: ref+vault://MOUNT/PATH#KEY' };
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    return { error: 'the Vault path has an empty, "." or ".." segment' };
  if (/[\s%\u0000-\u001f]/.test(path))
    return { error: 'the Vault path has whitespace, "%" or control characters' };
  if (query === undefined) return { path, key };
  const version = parseVersion(query);
  return typeof version === 'number' ? { path, key, version } : version;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function unescapePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function parseVersion(query: string): number | { readonly error: string } {
  const params = query.split('&');
  const [name, value] = splitOnce(params[0] ?? '', '=');
  if (params.length !== 1 || name !== 'version')
    return { error: 'the only parameter a Vault reference takes is ?version=N' };
  if (value === undefined || !/^[1-9][0-9]{0,9}$/.test(value))
    return { error: 'the version of a Vault reference is a whole number from 1' };
  return Number(value);
}

/** One reference found in a Secret's data or stringData. */
export interface VaultReferenceSite {
  readonly object: KubeObject;
  readonly field: 'data' | 'stringData';
  /** The key of the Secret's data (not the Vault key). */
  readonly key: string;
  readonly reference: VaultReference;
  readonly source: SourceLocation;
}

/** The rendered object and where it came from, as render keeps them. */
export interface SourcedObject {
  readonly object: KubeObject;
  readonly source: SourceLocation;
  readonly lineOf?: (path: readonly string[]) => number;
}

/**
 * Every Vault reference among `objects`: valid ones in a Secret's data/stringData become sites,
 * any other (malformed, or in another object or field) becomes an issue naming file and field.
 */
export function collectVaultReferences(objects: readonly SourcedObject[]): {
  sites: VaultReferenceSite[];
  issues: Issue[];
} {
  const sites: VaultReferenceSite[] = [];
  const issues: Issue[] = [];
  for (const rendered of objects) {
    const { object } = rendered;
    const isSecret = object.kind === 'Secret' && object.apiVersion === 'v1';
    walkStrings(object, [], (path, value) => {
      if (!isVaultReferenceText(value)) return;
      const at = locate(rendered, path);
      const inData = isSecret && path.length === 2 && (path[0] === 'data' || path[0] === 'stringData');
      if (!inData) {
        issues.push({
          ...at,
          message: `${describe(object)}: a Vault reference is allowed only as a value of a Secret's data or stringData, so that a secret never lands outside a Secret`,
        });
        return;
      }
      const parsed = parseVaultReference(value);
      if ('error' in parsed) {
        issues.push({ ...at, message: `${describe(object)}: ${parsed.error}` });
        return;
      }
      sites.push({
        object,
        field: path[0] as 'data' | 'stringData',
        key: path[1],
        reference: parsed,
        source: at.line === undefined ? { file: at.file } : { file: at.file, line: at.line },
      });
    });
  }
  return { sites, issues };
}

function describe(object: KubeObject): string {
  return `${object.kind}/${object.metadata?.name ?? ''}`;
}

function locate(rendered: SourcedObject, path: readonly string[]): Issue {
  const line = rendered.lineOf?.(path) ?? rendered.source.line;
  return {
    file: rendered.source.file,
    ...(line === undefined ? {} : { line }),
    path: path.map((p) => (/^[A-Za-z0-9_][\w-]*$/.test(p) ? p : JSON.stringify(p))).join('.'),
    message: '',
  };
}

function walkStrings(
  value: unknown,
  path: string[],
  visit: (path: readonly string[], value: string) => void,
): void {
  if (typeof value === 'string') visit(path, value);
  else if (Array.isArray(value)) value.forEach((item, i) => walkStrings(item, [...path, String(i)], visit));
  else if (isRecord(value)) for (const [k, v] of Object.entries(value)) walkStrings(v, [...path, k], visit);
}

/**
 * Writes resolved values into the Secrets: base64 in `data`, text in `stringData`. `values` maps
 * each site to its value, in the order of `sites`.
 */
export function writeVaultValues(sites: readonly VaultReferenceSite[], values: readonly string[]): void {
  sites.forEach((site, i) => {
    const value = values[i];
    if (value === undefined) return;
    const field = site.object[site.field] as Record<string, string>;
    field[site.key] = site.field === 'data' ? Buffer.from(value, 'utf8').toString('base64') : value;
  });
}
