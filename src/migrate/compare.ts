// The pure half of verification: inventories of A and B, and each copy against what A says it should be.
import { objectKey, type KubeObject } from '../shared/index.js';
import { groupKind, refKey, refOf, type MigrateObjectRef } from './json.js';
import { diffPaths, normalizeForCompare } from './normalize.js';
import { indexCluster, objectSkipReason } from './rules.js';
import type { HealthProblem, MigrationPlan, ObjectDifference, Verification, VerifyKindRow } from './types.js';

export interface CompareInput {
  readonly plan: MigrationPlan;
  /** B's live objects of the kinds read from A, in the same namespaces. */
  readonly target: readonly KubeObject[];
  /** Whether an object of B is in the migration's scope (namespaces, selector, kinds). */
  readonly inScope: (object: KubeObject) => boolean;
  /** Per planned key: B's answer to a server-side dry run of A's stripped object, or why there is none. */
  readonly expected: ReadonlyMap<string, KubeObject | Error>;
  readonly unhealthy?: readonly HealthProblem[];
}

function kindLabel(ref: MigrateObjectRef): string {
  return groupKind(ref.group, ref.kind);
}

/** Missing, extra and different objects and unhealthy workloads; `ok` only when there is none. */
export function compareClusters(input: CompareInput): Verification {
  const { plan } = input;
  const live = new Map(input.target.map((o) => [objectKey(o), o]));
  const known = new Set([...plan.objects.map((o) => o.key), ...plan.skipped.map((s) => refKey(s.ref))]);
  const targetIndex = indexCluster(input.target);
  const missing: MigrateObjectRef[] = [];
  const different: ObjectDifference[] = [];
  for (const planned of plan.objects) {
    const current = live.get(planned.key);
    if (!current) {
      missing.push(planned.ref);
      continue;
    }
    const expected = input.expected.get(planned.key);
    if (expected === undefined) continue;
    if (expected instanceof Error) {
      different.push({ ref: planned.ref, paths: [`(B refuses A's object: ${expected.message})`] });
      continue;
    }
    const paths = diffPaths(normalizeForCompare(expected), normalizeForCompare(current));
    if (paths.length > 0) different.push({ ref: planned.ref, paths });
  }
  const extra = input.target
    .filter((o) => !known.has(objectKey(o)) && input.inScope(o) && !objectSkipReason(o, targetIndex))
    .map(refOf);
  const unhealthy = input.unhealthy ?? [];

  const rows = new Map<
    string,
    { source: number; target: number; missing: number; extra: number; different: number; unhealthy: number }
  >();
  const row = (ref: MigrateObjectRef) => {
    const label = kindLabel(ref);
    const found = rows.get(label) ?? {
      source: 0,
      target: 0,
      missing: 0,
      extra: 0,
      different: 0,
      unhealthy: 0,
    };
    rows.set(label, found);
    return found;
  };
  for (const planned of plan.objects) {
    const r = row(planned.ref);
    r.source++;
    if (live.has(planned.key)) r.target++;
  }
  for (const ref of missing) row(ref).missing++;
  for (const ref of extra) {
    const r = row(ref);
    r.extra++;
    r.target++;
  }
  for (const d of different) row(d.ref).different++;
  for (const u of unhealthy) row(u.ref).unhealthy++;
  const order = new Map(plan.counts.map((c, i) => [c.kind, i]));
  const rank = (kind: string) => order.get(kind) ?? order.size;
  const kinds: VerifyKindRow[] = [...rows.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : 1))
    .map(([kind, counts]) => ({ kind, ...counts }));
  const ok =
    missing.length === 0 &&
    extra.length === 0 &&
    different.length === 0 &&
    unhealthy.length === 0 &&
    plan.unsupported.length === 0;
  const { leftOut } = plan;
  const complete = ok && leftOut.volumes.length === 0 && leftOut.runningJobs.length === 0;
  return {
    ok,
    complete,
    leftOut,
    missing,
    extra,
    unsupported: plan.unsupported,
    different,
    unhealthy,
    kinds,
  };
}
