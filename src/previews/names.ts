// A preview's names, from its branch (pure): the slug, the namespace `<app>-<slug>` and the host
// from capstan.yaml's `previews.host` pattern. The rules (docs/previews.md):
// - the slug is the branch lower-cased with every run of other characters than [a-z0-9] made one
//   `-`, dashes trimmed at both ends;
// - it is the branch itself only when that changed nothing, fits every budget and does not end
//   like a hashed slug; otherwise it is cut to fit and given `-` and 8 hex digits of the branch's
//   SHA-256. So the same branch always gets the same slug, and two branches get the same slug only
//   if their hashes' first 32 bits agree (a branch kept as it is can never equal a hashed slug);
// - the namespace and each label of the host are at most 63 characters (DNS labels), and the whole
//   host at most 64 bytes (a TLS certificate's common name, which Let's Encrypt limits to 64).
import { createHash } from 'node:crypto';

export const SLUG_PLACEHOLDER = '{slug}';
/** Longest namespace or DNS label. */
export const MAX_LABEL = 63;
/** Longest host: a certificate's common name. */
export const MAX_HOST = 64;
const HASH_LENGTH = 8;
/** The shortest slug budget a configuration may leave: room for a few characters and the hash. */
export const MIN_SLUG_BUDGET = HASH_LENGTH + 5;
const HASHED = new RegExp(`(^|-)[0-9a-f]{${HASH_LENGTH}}$`);

export interface PreviewNames {
  readonly branch: string;
  readonly slug: string;
  readonly namespace: string;
  readonly host: string;
}

/** The lower-case DNS-safe form of a branch, before any cut (may be empty). */
export function cleanBranch(branch: string): string {
  return branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * How long a slug may be for this app and host pattern: the namespace `<app>-<slug>`, the host's
 * label holding `{slug}`, and the whole host must each fit.
 */
export function slugBudget(app: string, hostPattern: string): number {
  const label = hostPattern.split('.').find((part) => part.includes(SLUG_PLACEHOLDER)) ?? SLUG_PLACEHOLDER;
  return Math.min(
    MAX_LABEL - app.length - 1,
    MAX_LABEL - (label.length - SLUG_PLACEHOLDER.length),
    MAX_HOST - (Buffer.byteLength(hostPattern) - SLUG_PLACEHOLDER.length),
  );
}

/** What is wrong with a host pattern for this app, or undefined (checked with capstan.yaml). */
export function checkHostPattern(app: string, hostPattern: string): string | undefined {
  const count = hostPattern.split(SLUG_PLACEHOLDER).length - 1;
  if (count !== 1) return `the host must hold ${SLUG_PLACEHOLDER} exactly once (it holds it ${count} times)`;
  const sample = hostPattern.replace(SLUG_PLACEHOLDER, 'a');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(sample))
    return 'the host must be lower-case DNS labels (a-z, 0-9, -) separated by dots';
  const budget = slugBudget(app, hostPattern);
  if (budget < MIN_SLUG_BUDGET)
    return `the app name and host leave ${Math.max(budget, 0)} characters for a branch's slug (at least ${MIN_SLUG_BUDGET} are needed: namespaces and DNS labels hold 63, a certificate's name 64 bytes)`;
  return undefined;
}

function branchHash(branch: string): string {
  return createHash('sha256').update(branch, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

/** The slug of a branch within `budget` characters (see the file's head). */
export function slugOf(branch: string, budget: number): string {
  if (branch.length === 0) throw new Error('a preview needs a branch name');
  const clean = cleanBranch(branch);
  if (clean === branch && clean.length <= budget && !HASHED.test(clean)) return clean;
  const kept = clean.slice(0, Math.max(budget - HASH_LENGTH - 1, 0)).replace(/-+$/, '');
  return kept ? `${kept}-${branchHash(branch)}` : branchHash(branch);
}

/** The preview's slug, namespace and host; the pattern is assumed checked (`checkHostPattern`). */
export function previewNames(app: string, branch: string, hostPattern: string): PreviewNames {
  const slug = slugOf(branch, slugBudget(app, hostPattern));
  return { branch, slug, namespace: `${app}-${slug}`, host: hostPattern.replace(SLUG_PLACEHOLDER, slug) };
}
