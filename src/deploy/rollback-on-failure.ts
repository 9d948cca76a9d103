// `--rollback-on-failure` (Helm's --atomic): a deploy that failed or timed out after changing the
// cluster puts back the newest release before it that succeeded. The deploy still fails (its exit
// code is kept); the rollback is reported as its own operation after it.
import type { ResolvedEnvironment } from '../config/index.js';
import type { DeployOutcome } from '../events/index.js';
import type { KubeClient } from '../kube/index.js';
import { readReleases, rollback, type ReleaseRecord, type RollbackEvent } from '../release/index.js';
import type { DeployOptions } from './deploy-types.js';

/** What the rollback after a failed deploy did. */
export interface RollbackAfterFailure {
  readonly outcome: DeployOutcome | 'not-rolled-back';
  /** The release put back, when there was one. */
  readonly target?: number;
  readonly message?: string;
}

/** Outcomes after which the cluster may hold a half-done release worth taking back. */
const ROLLED_BACK_AFTER: ReadonlySet<DeployOutcome> = new Set(['failed', 'timed-out']);

/** Whether a deploy that ended so is rolled back (pure): it failed or timed out after recording a release and applying. */
export function wantsRollback(
  outcome: DeployOutcome,
  release: number | undefined,
  appliedCount: number,
): release is number {
  return ROLLED_BACK_AFTER.has(outcome) && release !== undefined && appliedCount > 0;
}

/** The newest succeeded release before `failed` (pure), or undefined. */
export function rollbackTargetBefore(records: readonly ReleaseRecord[], failed: number): number | undefined {
  return records
    .filter((r) => r.release < failed && r.outcome === 'succeeded')
    .reduce<number | undefined>(
      (best, r) => (best === undefined || r.release > best ? r.release : best),
      undefined,
    );
}

/**
 * Rolls the environment back to the newest succeeded release before `failed`. Never throws: a
 * rollback that cannot run (nothing to go back to, the lock taken meanwhile) is a warning.
 */
export async function rollbackAfterFailure(
  client: KubeClient,
  env: ResolvedEnvironment,
  failed: number,
  options: DeployOptions & { readonly emit: (event: RollbackEvent) => void },
): Promise<RollbackAfterFailure> {
  const { emit } = options;
  const scope = { namespace: env.namespace, app: env.app, env: env.name, signal: options.signal };
  const warn = (message: string): RollbackAfterFailure => {
    emit({ type: 'warning', message });
    return { outcome: 'not-rolled-back', message };
  };
  try {
    const target = rollbackTargetBefore(
      await readReleases(client, { ...scope, onDamaged: () => {} }),
      failed,
    );
    if (target === undefined)
      return warn(
        `--rollback-on-failure: no release before ${failed} succeeded, so there is nothing to roll back to`,
      );
    const actor = options.actor ?? { user: 'unknown', host: 'unknown', holder: 'capstan' };
    const result = await rollback(client, {
      ...scope,
      to: target,
      timeoutMs: options.timeoutMs ?? env.timeoutMs,
      progressDeadlineMs: options.progressDeadlineMs,
      keep: env.releasesKeep,
      concurrency: options.concurrency ?? env.concurrency,
      user: actor.user,
      host: actor.host,
      holder: actor.holder,
      process: options.process,
      onEvent: emit,
      notifications: env.notifications,
      envVars: options.envVars,
      fetch: options.fetch,
      redactor: options.redactor,
    });
    return { outcome: result.outcome, target, ...(result.message ? { message: result.message } : {}) };
  } catch (error) {
    return warn(`--rollback-on-failure: release ${failed} was not rolled back: ${(error as Error).message}`);
  }
}
