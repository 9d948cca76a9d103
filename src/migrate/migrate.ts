// The migration as one call: read A and B, plan, apply to B wave by wave, verify. A is only read.
import { setMaxListeners } from 'node:events';
import { during, KubeClient, type KubeConnectionOptions } from '../kube/index.js';
import { CapstanError, objectKey, type KubeObject } from '../shared/index.js';
import { applyPlan } from './apply.js';
import { refuseLiveTarget } from './cutover-store.js';
import { at, groupKind, str } from './json.js';
import { chooseKinds, type KindChoice } from './kinds.js';
import { planMigration, scopePredicate, selectKinds, type KindSelection } from './plan.js';
import { discoverTypes, readObjects } from './read.js';
import { describeVolumes } from './format.js';
import type {
  ApplySummary,
  MigrateEvent,
  MigrateOutcome,
  MigrationPlan,
  MigrationPlanSummary,
  MigrationScope,
  Verification,
} from './types.js';
import { verifyMigration } from './verify.js';

export type ClusterAccess = Pick<KubeConnectionOptions, 'kubeconfig' | 'context'>;

export interface MigrateOptions {
  /** Cluster A, the source: only ever read. */
  readonly from: ClusterAccess;
  /** Cluster B, the target. */
  readonly to: ClusterAccess;
  readonly scope: MigrationScope;
  /** `dry-run` plans only; `verify-only` plans and verifies without applying. */
  readonly mode?: 'migrate' | 'dry-run' | 'verify-only';
  /** Verify after migrating (default true). */
  readonly verify?: boolean;
  /** Parallel API requests per cluster (default 32). */
  readonly concurrency?: number;
  /**
   * Succeed although claimed volumes in scope are copied as empty volumes in B (their data stays in
   * A). Without it such a run copies and verifies, then fails with the list: B is not a copy of A.
   */
  readonly allowEmptyVolumes?: boolean;
  /** How long to wait for B's workloads, claims and CRDs to become healthy (default 2 minutes). */
  readonly healthTimeoutMs?: number;
  /** KUBECONFIG and friends; the library reads no globals. */
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: MigrateEvent) => void;
}

export interface MigrateResult {
  readonly outcome: MigrateOutcome;
  readonly exitCode: number;
  /** Undefined only when the run was interrupted before planning finished. */
  readonly plan?: MigrationPlan;
  readonly apply?: ApplySummary;
  readonly verification?: Verification;
}

export const MIGRATE_EXIT = { ok: 0, failed: 1, interrupted: 130 } as const;

export function summarizePlan(plan: MigrationPlan): MigrationPlanSummary {
  const { counts, skipped, skippedKinds, unsupported, leftOut } = plan;
  return { counts, skipped, skippedKinds, unsupported, leftOut, total: plan.objects.length };
}

function crdKinds(crds: readonly KubeObject[]): Set<string> {
  return new Set(
    crds.map((c) => groupKind(str(at(c, 'spec', 'group')) ?? '', str(at(c, 'spec', 'names', 'kind')) ?? '')),
  );
}

export async function connectCluster(
  access: ClusterAccess,
  env: NodeJS.ProcessEnv | undefined,
  side: string,
): Promise<KubeClient> {
  try {
    return await KubeClient.connect({ ...access, env, maxSockets: 64 });
  } catch (error) {
    if (error instanceof CapstanError)
      throw new CapstanError(error.code, `cluster ${side}: ${error.message}`, {
        hint: error.hint,
        cause: error,
      });
    throw error;
  }
}

/** Copies the scope's objects from A to B and verifies the copy; see MigrateOptions for the modes. */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const started = Date.now();
  const emit = options.onEvent ?? (() => {});
  const mode = options.mode ?? 'migrate';
  const concurrency = options.concurrency ?? 32;
  const { scope, signal } = options;
  // Every request in flight listens to the signal: hundreds at once are expected.
  if (signal) setMaxListeners(0, signal);
  const connected = await Promise.allSettled([
    connectCluster(options.from, options.env, 'A'),
    connectCluster(options.to, options.env, 'B'),
  ]);
  const failed = connected.find((c) => c.status === 'rejected');
  if (failed) {
    for (const c of connected) if (c.status === 'fulfilled') c.value.close();
    throw failed.reason;
  }
  const [source, target] = connected.map((c) => (c as PromiseFulfilledResult<KubeClient>).value) as [
    KubeClient,
    KubeClient,
  ];
  const finish = (
    outcome: MigrateOutcome,
    exitCode: number,
    rest: Omit<MigrateResult, 'outcome' | 'exitCode'>,
    message?: string,
  ): MigrateResult => {
    emit({
      type: 'migrate-finished',
      outcome,
      exitCode,
      durationMs: Date.now() - started,
      ...(message ? { message } : {}),
    });
    return { outcome, exitCode, ...rest };
  };
  try {
    if (source.connection.server === target.connection.server) {
      throw new CapstanError(
        'ERR_CAPSTAN_USAGE',
        `A and B are the same cluster (${source.connection.server})`,
        {
          hint: 'pass the kube context (--from/--to) or kubeconfig (--from-kubeconfig/--to-kubeconfig) of two different clusters',
        },
      );
    }
    // After a cutover B is live: copying into it again would undo the cutover (docs/migrate.md).
    if (mode === 'migrate') await refuseLiveTarget(target, signal);
    emit({ type: 'migrate-started', from: source.connection.server, to: target.connection.server, mode });
    const [servedA, servedB, crds] = await Promise.all([
      discoverTypes(source, signal),
      discoverTypes(target, signal),
      source.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition', { signal }),
    ]);
    const readErrors = [...servedA.errors.map((e) => `A: ${e}`), ...servedB.errors.map((e) => `B: ${e}`)];
    const choices = chooseKinds(servedA, servedB, crdKinds(crds.items));
    const selection = selectKinds(choices.chosen, scope);
    const selected: KindSelection = { ...selection, skipped: [...choices.skipped, ...selection.skipped] };
    const servedByB = new Set(servedB.types.map((t) => `${t.apiVersion}/${t.kind}`));
    const [readA, readB] = await Promise.all([
      during('reading what to copy from cluster A needs it', () =>
        readObjects(source, selected.read, scope, { concurrency, signal }),
      ),
      during('reading what cluster B already holds needs it', () =>
        readObjects(target, selected.read, scope, {
          concurrency,
          signal,
          served: (c: KindChoice) => servedByB.has(`${c.type.apiVersion}/${c.type.kind}`),
        }),
      ),
    ]);
    readErrors.push(...readA.errors.map((e) => `A: ${e}`), ...readB.errors.map((e) => `B: ${e}`));
    if (scope.namespaces && selected.read.some((c) => c.group === '' && c.kind === 'Namespace')) {
      const found = new Set(readA.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
      const absent = scope.namespaces.filter((ns) => !found.has(ns));
      if (absent.length > 0)
        throw new CapstanError(
          'ERR_CAPSTAN_USAGE',
          `namespace${absent.length > 1 ? 's' : ''} not found in A: ${absent.join(', ')}`,
        );
    }
    const plan = planMigration({
      source: readA.objects,
      target: new Map(readB.objects.map((o) => [objectKey(o), o])),
      scope,
      kinds: choices.chosen,
      selection: selected,
    });
    for (const message of readErrors) emit({ type: 'warning', message });
    // Capstan deploys to B take fields over from capstan-migrate by themselves (src/apply/apply.ts).
    emit({ type: 'plan', ...summarizePlan(plan) });
    if (mode === 'dry-run') return finish('planned', MIGRATE_EXIT.ok, { plan });

    let apply: ApplySummary | undefined;
    if (mode === 'migrate') {
      apply = await during('writing the copy into cluster B needs it', () =>
        applyPlan(target, plan, { concurrency, signal, onEvent: emit }),
      );
      const seconds = Math.max(apply.durationMs, 1) / 1000;
      emit({
        type: 'apply-finished',
        ...apply,
        objectsPerSecond: Math.round((plan.objects.length / seconds) * 10) / 10,
      });
    }
    if (signal?.aborted) return finish('interrupted', MIGRATE_EXIT.interrupted, { plan, apply });
    let verification: Verification | undefined;
    if (mode === 'verify-only' || options.verify !== false) {
      const verifyStarted = Date.now();
      const verified = await verifyMigration(target, {
        plan,
        kinds: selected.read,
        scope,
        inScope: scopePredicate(scope, selected),
        concurrency,
        healthTimeoutMs: options.healthTimeoutMs ?? 120_000,
        signal,
      });
      const { errors, ...rest } = verified;
      for (const message of errors) emit({ type: 'warning', message: `B: ${message}` });
      verification = rest;
      emit({ type: 'verify-finished', durationMs: Date.now() - verifyStarted, ...verification });
    }
    if (signal?.aborted)
      return finish('interrupted', MIGRATE_EXIT.interrupted, { plan, apply, verification });
    const result = { plan, apply, verification };
    if ((apply?.failed ?? 0) > 0)
      return finish(
        'failed',
        MIGRATE_EXIT.failed,
        result,
        `${apply!.failed} objects could not be applied to B`,
      );
    if (readErrors.length > 0)
      return finish(
        'failed',
        MIGRATE_EXIT.failed,
        result,
        `${readErrors.length} kinds could not be read: the inventory is incomplete`,
      );
    if (verification && !verification.ok)
      return finish('differences', MIGRATE_EXIT.failed, result, 'B differs from A');
    const { volumes } = plan.leftOut;
    if (volumes.length > 0 && !options.allowEmptyVolumes) {
      return finish(
        'incomplete',
        MIGRATE_EXIT.failed,
        result,
        `${describeVolumes(volumes)}: copy their data to B, then pass --allow-empty-volumes`,
      );
    }
    return finish('succeeded', MIGRATE_EXIT.ok, result);
  } catch (error) {
    // Requests cut short by an interruption fail in many ways; the interruption is what to report.
    if (signal?.aborted) return finish('interrupted', MIGRATE_EXIT.interrupted, {});
    throw error;
  } finally {
    source.close();
    target.close();
  }
}
