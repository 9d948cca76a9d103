// Verification against B: a fresh inventory, a server-side dry run of each of A's objects so B's
// defaults do not count as differences, and the health of the copies.
import type { KubeClient } from '../kube/index.js';
import { objectKey, settleLimit, type KubeObject } from '../shared/index.js';
import { applyOne } from './apply.js';
import { compareClusters } from './compare.js';
import { waitForHealth } from './health.js';
import type { KindChoice } from './kinds.js';
import { readObjects } from './read.js';
import type { MigrationPlan, MigrationScope, Verification } from './types.js';

/** Kinds the API server neither defaults nor mutates: A's stripped object is compared as it is. */
const COMPARED_WITHOUT_DRY_RUN = new Set(['ConfigMap', 'Secret']);

export interface VerifyOptions {
  readonly plan: MigrationPlan;
  readonly kinds: readonly KindChoice[];
  readonly scope: MigrationScope;
  readonly inScope: (object: KubeObject) => boolean;
  readonly concurrency: number;
  readonly healthTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export async function verifyMigration(
  client: KubeClient,
  options: VerifyOptions,
): Promise<Verification & { readonly errors: readonly string[] }> {
  const { plan, signal } = options;
  const read = await readObjects(client, options.kinds, options.scope, {
    concurrency: options.concurrency,
    signal,
  });
  const present = new Set(read.objects.map(objectKey));
  const toCheck = plan.objects.filter((p) => present.has(p.key));
  const [results, unhealthy] = await Promise.all([
    settleLimit(toCheck, options.concurrency, async (planned) =>
      COMPARED_WITHOUT_DRY_RUN.has(planned.object.kind) && planned.ref.group === ''
        ? planned.object
        : applyOne(client, planned, { dryRun: true, signal }),
    ),
    waitForHealth(client, toCheck, {
      timeoutMs: options.healthTimeoutMs,
      concurrency: options.concurrency,
      signal,
    }),
  ]);
  const expected = new Map<string, KubeObject | Error>();
  results.forEach((result, i) => {
    expected.set(
      toCheck[i].key,
      result.ok
        ? result.value
        : result.error instanceof Error
          ? result.error
          : new Error(String(result.error)),
    );
  });
  const verification = compareClusters({
    plan,
    target: read.objects,
    inScope: options.inScope,
    expected,
    unhealthy,
  });
  const readAll = read.errors.length === 0;
  return {
    ...verification,
    ok: verification.ok && readAll,
    complete: verification.complete && readAll,
    errors: read.errors,
  };
}
