// A decrypted SOPS file's documents as Kubernetes objects, with the checks that keep values secret.
import { ConfigError, isRecord, type Issue } from '../shared/index.js';
import { formatJsonPath } from './json-scanner.js';
import type { DecryptedSops } from './sops-document.js';
import { toPlainData } from './sops-tree.js';

const SECRET_FIELDS = new Set(['data', 'stringData']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function describe(value: unknown): string {
  if (value === null) return 'is null';
  if (Array.isArray(value)) return 'is a list';
  return typeof value === 'object' ? 'is a mapping' : `is a ${typeof value}`;
}

/**
 * The objects of a decrypted SOPS file, as plain data for the render pipeline. Encrypted values
 * may sit only in a Secret's `data` or `stringData`: that is where Capstan learns values to
 * redact and diffs by key only, so a value anywhere else could be printed. Every problem is
 * collected and thrown at once, naming the file and the path (never a value).
 */
export function planObjectsFromSops(decrypted: DecryptedSops, options: { readonly file: string }): unknown[] {
  const { file } = options;
  const issues: Issue[] = [];
  const objects = decrypted.branches.map((branch) => toPlainData(branch));
  const misplaced = new Set<string>();
  for (const { doc, path } of decrypted.decrypted) {
    const object = objects[doc];
    const kind = isRecord(object) ? object.kind : undefined;
    if (kind === 'Secret' && SECRET_FIELDS.has(path[0] ?? '') && path.length === 2) continue;
    const where = formatJsonPath(path);
    if (misplaced.has(`${doc}\0${where}`)) continue;
    misplaced.add(`${doc}\0${where}`);
    issues.push({
      file,
      path: where,
      message:
        kind === 'Secret'
          ? "is encrypted, but only the values of a Secret's data and stringData may be: encrypt with --encrypted-regex '^(data|stringData)$'"
          : `is encrypted in a ${typeof kind === 'string' ? kind : 'document'} that is not a Secret: Capstan would print its value; keep secret values in Secrets`,
    });
  }
  for (const object of objects) {
    if (!isRecord(object) || object.kind !== 'Secret') continue;
    for (const field of SECRET_FIELDS) {
      const values = object[field];
      if (values === undefined || values === null) continue;
      if (!isRecord(values)) {
        issues.push({ file, path: field, message: 'must be a mapping of keys to values' });
        continue;
      }
      for (const [key, value] of Object.entries(values)) {
        const where = formatJsonPath([field, key]);
        if (typeof value !== 'string')
          issues.push({
            file,
            path: where,
            message: `${describe(value)}, not text: quote it in the file, so that it stays exactly what you wrote`,
          });
        else if (field === 'data' && !BASE64.test(value))
          issues.push({ file, path: where, message: 'is not base64: put plain text under stringData' });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return objects;
}
