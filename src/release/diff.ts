// What a deploy would change in one object, as a readable unified diff without server noise (pure).
import { stringify } from 'yaml';
import { summarizeSecretDiff, type SecretKeyDiff } from '../secrets/index.js';
import { isRecord, mapStrings, objectRef, sortKeys, type KubeObject } from '../shared/index.js';
import { managedFieldSet, mergeFieldSets, pickFields, type FieldSet } from './field-set.js';
import { unifiedDiff } from './text-diff.js';

export type DiffAction = 'create' | 'change' | 'unchanged' | 'prune';

export interface ObjectDiff {
  readonly action: DiffAction;
  readonly object: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly name: string;
    readonly namespace?: string;
  };
  /** Unified diff of live against desired ('' when unchanged or pruned); never holds a Secret value. */
  readonly text: string;
  /** For Secrets: how each key changes, without values. */
  readonly secretKeys?: readonly SecretKeyDiff[];
}

const NOISY_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];
const NOISY_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
];
const HIDDEN = '(hidden)';
const HIDDEN_CHANGED = '(hidden, changed)';

function identity(object: KubeObject): ObjectDiff['object'] {
  const { apiVersion, kind, metadata } = object;
  return {
    apiVersion,
    kind,
    name: metadata.name ?? '',
    ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
  };
}

/** The comparable view of an object: only `set`'s fields when known, identity kept, noise and status removed. */
function viewOf(object: KubeObject, set: FieldSet | undefined): Record<string, unknown> {
  const picked = (set ? pickFields(object, set) : structuredClone(object)) as Record<string, unknown>;
  const metadata = isRecord(picked.metadata) ? { ...picked.metadata } : {};
  for (const field of NOISY_METADATA) delete metadata[field];
  if (isRecord(metadata.annotations)) {
    const annotations = { ...metadata.annotations };
    for (const a of NOISY_ANNOTATIONS) delete annotations[a];
    metadata.annotations = annotations;
  }
  for (const field of ['labels', 'annotations'])
    if (isRecord(metadata[field]) && Object.keys(metadata[field]).length === 0) delete metadata[field];
  metadata.name = object.metadata.name;
  if (object.metadata.namespace !== undefined) metadata.namespace = object.metadata.namespace;
  const view: Record<string, unknown> = {
    ...picked,
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata,
  };
  delete view.status;
  return view;
}

/** A Secret's keys and base64 values, `stringData` folded into `data` as the API server does. */
function secretData(view: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!view) return undefined;
  const data: Record<string, string> = {};
  if (isRecord(view.data)) for (const [k, v] of Object.entries(view.data)) data[k] = String(v);
  if (isRecord(view.stringData))
    for (const [k, v] of Object.entries(view.stringData))
      data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  return data;
}

function fieldNames(set: FieldSet | undefined): string[] {
  return Object.keys(set ?? {})
    .filter((k) => k.startsWith('f:'))
    .map((k) => k.slice(2));
}

function toText(view: Record<string, unknown> | undefined): string {
  return view
    ? // apiVersion/kind/metadata and name/namespace first, as people expect.
      stringify(
        sortKeys(view, {
          first: ['apiVersion', 'kind', 'metadata'],
          firstUnder: { metadata: ['name', 'namespace'] },
        }),
        {
          aliasDuplicateObjects: false,
          lineWidth: 0,
        },
      )
    : '';
}

/**
 * The change from `live` (undefined: absent) to `desired`, the server-side dry-run result of applying it.
 * Only fields the field manager sets (now or before) are compared, so server defaults and other
 * controllers' fields stay out; Secrets show per key whether it changes, never a value.
 */
export function computeObjectDiff(
  live: KubeObject | undefined,
  desired: KubeObject,
  options: { fieldManager?: string } = {},
): ObjectDiff {
  const manager = options.fieldManager ?? 'capstan';
  const desiredSet = managedFieldSet(desired, manager);
  const liveSet = managedFieldSet(live, manager);
  const set = desiredSet && liveSet ? mergeFieldSets(desiredSet, liveSet) : desiredSet;
  const before = live ? viewOf(live, set) : undefined;
  const after = viewOf(desired, set);
  let secretKeys: SecretKeyDiff[] | undefined;
  if (desired.kind === 'Secret') {
    // The API server turns stringData into data: keys set through either are compared in `data`.
    const owned = set
      ? new Set([...fieldNames(set['f:data']), ...fieldNames(set['f:stringData'])])
      : undefined;
    const restrict = (object: KubeObject) => {
      const data = secretData(object) ?? {};
      return owned ? Object.fromEntries(Object.entries(data).filter(([k]) => owned.has(k))) : data;
    };
    const oldData = live ? restrict(live) : undefined;
    const newData = restrict(desired);
    secretKeys = summarizeSecretDiff(oldData, newData);
    const changes = new Map(secretKeys.map((k) => [k.key, k.change]));
    const mask = (
      view: Record<string, unknown>,
      data: Record<string, string>,
      marker: (key: string) => string,
    ) => {
      delete view.stringData;
      delete view.data;
      const keys = Object.keys(data).sort();
      if (keys.length > 0) view.data = Object.fromEntries(keys.map((k) => [k, marker(k)]));
    };
    if (before) mask(before, oldData ?? {}, () => HIDDEN);
    mask(after, newData, (k) => (changes.get(k) === 'changed' ? HIDDEN_CHANGED : HIDDEN));
  }
  const ref = objectRef(desired);
  const text = unifiedDiff(toText(before), toText(after), {
    fromLabel: live ? `${ref} (live)` : '/dev/null',
    toLabel: `${ref} (after deploy)`,
  });
  const action: DiffAction = !live ? 'create' : text ? 'change' : 'unchanged';
  return { action, object: identity(desired), text, ...(secretKeys ? { secretKeys } : {}) };
}

/** A live object a deploy would delete. */
export function computePruneDiff(live: KubeObject): ObjectDiff {
  return { action: 'prune', object: identity(live), text: '' };
}

export function summarizeDiffs(diffs: readonly ObjectDiff[]): Record<DiffAction, number> {
  const counts: Record<DiffAction, number> = { create: 0, change: 0, unchanged: 0, prune: 0 };
  for (const d of diffs) counts[d.action]++;
  return counts;
}

/**
 * Diffs (or a document holding them) with every string redacted but what changes (`action`, a
 * Secret key's `change`): Capstan's vocabulary, which tells nothing about a secret.
 */
export function redactDiffs<T>(value: T, redact: (text: string) => string): T {
  return mapStrings(value, redact, (path) => path.at(-1) === 'action' || path.at(-1) === 'change');
}

export function hasChanges(diffs: readonly ObjectDiff[]): boolean {
  return diffs.some((d) => d.action !== 'unchanged');
}

/** Every object that changes with its diff, then a summary line; ANSI colours when asked. */
export function formatDiff(diffs: readonly ObjectDiff[], options: { color: boolean }): string {
  const paint = (code: string) => (text: string) =>
    options.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  const green = paint('32');
  const red = paint('31');
  const yellow = paint('33');
  const cyan = paint('36');
  const bold = paint('1');
  const out: string[] = [];
  for (const d of diffs) {
    if (d.action === 'unchanged') continue;
    const where = d.object.namespace ? ` (namespace ${d.object.namespace})` : '';
    const ref = `${d.object.kind}/${d.object.name}${where}`;
    if (d.action === 'create') out.push(bold(green(`+ create ${ref}`)));
    else if (d.action === 'change') out.push(bold(yellow(`~ change ${ref}`)));
    else out.push(bold(red(`- prune ${ref}`)));
    if (d.secretKeys && d.secretKeys.length > 0) {
      out.push(`  Secret keys: ${d.secretKeys.map((k) => `${k.key} ${k.change}`).join(', ')}`);
    }
    for (const line of d.text.split('\n').filter((l) => l !== '')) {
      if (line.startsWith('+++') || line.startsWith('---')) out.push(bold(line));
      else if (line.startsWith('@@')) out.push(cyan(line));
      else if (line.startsWith('+')) out.push(green(line));
      else if (line.startsWith('-')) out.push(red(line));
      else out.push(line);
    }
    out.push('');
  }
  const n = summarizeDiffs(diffs);
  out.push(
    hasChanges(diffs)
      ? `${n.create} to create, ${n.change} to change, ${n.prune} to prune, ${n.unchanged} unchanged`
      : `no changes (${n.unchanged} objects unchanged)`,
  );
  return out.join('\n') + '\n';
}
