// Helm's hook annotations, read the way Capstan runs them: before-hooks and after-hooks become
// phases of their own around the chart's other objects, one per hook weight; test hooks and the
// delete and rollback hooks (Capstan has no such events) are not deployed.
import type { KubeObject } from '../shared/index.js';

export const HELM_HOOK_ANNOTATION = 'helm.sh/hook';
export const HELM_HOOK_WEIGHT_ANNOTATION = 'helm.sh/hook-weight';
export const HELM_HOOK_DELETE_POLICY_ANNOTATION = 'helm.sh/hook-delete-policy';

/** The deploy events a hook object may run on: install is an environment's first deploy. */
export type HelmEvent = 'install' | 'upgrade';

/** The hooks of one object (`helm.sh/hook`, comma-separated), trimmed; empty for other objects. */
export function helmHooksOf(object: KubeObject): string[] {
  const value = object.metadata.annotations?.[HELM_HOOK_ANNOTATION];
  return value === undefined
    ? []
    : value
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== '');
}

/** Whether a hook object runs on a deploy of this event; objects without hooks always do. */
export function runsOn(object: KubeObject, event: HelmEvent): boolean {
  const hooks = helmHooksOf(object);
  return hooks.length === 0 || hooks.some((h) => h === `pre-${event}` || h === `post-${event}`);
}

/** `helm.sh/hook-delete-policy`, as a list; Helm's default is before-hook-creation. */
export function hookDeletePolicies(object: KubeObject): string[] {
  const value = object.metadata.annotations?.[HELM_HOOK_DELETE_POLICY_ANNOTATION];
  if (value === undefined) return ['before-hook-creation'];
  return value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

export interface HookGroup<T> {
  readonly weight: number;
  readonly items: readonly T[];
}

export interface SplitChart<T> {
  /** pre-install and pre-upgrade hooks, by ascending weight. */
  readonly before: readonly HookGroup<T>[];
  /** The chart's other objects (CRDs included). */
  readonly main: readonly T[];
  /** post-install and post-upgrade hooks, by ascending weight. */
  readonly after: readonly HookGroup<T>[];
  /** Hooks that are not deployed (test, delete, rollback), for a message. */
  readonly skipped: readonly T[];
  /** Hooks Capstan cannot place: before and after at once, or a weight that is not an integer. */
  readonly refused: readonly { readonly item: T; readonly message: string }[];
}

const BEFORE = new Set(['pre-install', 'pre-upgrade']);
const AFTER = new Set(['post-install', 'post-upgrade']);

/** Split a chart's rendered objects by their hooks (pure); `objectOf` reads the object of an item. */
export function splitHelmHooks<T>(items: readonly T[], objectOf: (item: T) => KubeObject): SplitChart<T> {
  const before = new Map<number, T[]>();
  const after = new Map<number, T[]>();
  const main: T[] = [];
  const skipped: T[] = [];
  const refused: { item: T; message: string }[] = [];
  for (const item of items) {
    const object = objectOf(item);
    const hooks = helmHooksOf(object);
    if (hooks.length === 0) {
      main.push(item);
      continue;
    }
    const isBefore = hooks.some((h) => BEFORE.has(h));
    const isAfter = hooks.some((h) => AFTER.has(h));
    if (!isBefore && !isAfter) {
      skipped.push(item);
      continue;
    }
    if (isBefore && isAfter) {
      refused.push({
        item,
        message: `${HELM_HOOK_ANNOTATION} "${hooks.join(',')}" runs both before and after the chart's objects; Capstan runs a hook object in one place only`,
      });
      continue;
    }
    const text = object.metadata.annotations?.[HELM_HOOK_WEIGHT_ANNOTATION] ?? '0';
    const weight = Number(text.trim());
    if (!/^\s*[-+]?\d+\s*$/.test(text) || !Number.isSafeInteger(weight)) {
      refused.push({
        item,
        message: `${HELM_HOOK_WEIGHT_ANNOTATION} must be an integer, not ${JSON.stringify(text)}`,
      });
      continue;
    }
    const groups = isBefore ? before : after;
    groups.set(weight, [...(groups.get(weight) ?? []), item]);
  }
  const ordered = (groups: Map<number, T[]>): HookGroup<T>[] =>
    [...groups.entries()].sort(([a], [b]) => a - b).map(([weight, list]) => ({ weight, items: list }));
  return { before: ordered(before), main, after: ordered(after), skipped, refused };
}
