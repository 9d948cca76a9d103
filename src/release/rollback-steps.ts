// Rollback's steps against the cluster: re-apply, prune, record the outcome and notify.
import { applyAll, eventObject, issuesFromApplyError } from '../apply/index.js';
import type { DeployEvent } from '../events/index.js';
import { withRetry, type KubeClient } from '../kube/index.js';
import { notify } from '../notify/index.js';
import { groupByKindOrder, managedLabels, type RenderedObject } from '../render/index.js';
import { createRedactor, secretValues } from '../secrets/index.js';
import { objectKey, settleLimit, type KubeObject } from '../shared/index.js';
import { appliedEntry, type InventoryEntry, type ReleaseOutcome, type ReleaseRecord } from './record.js';
import type { RollbackEvent, RollbackOptions, RollbackResult } from './rollback.js';
import { writeRelease } from './store.js';

export async function applyManifests(
  client: KubeClient,
  manifests: readonly KubeObject[],
  options: RollbackOptions,
  signal: AbortSignal,
  emit: (e: RollbackEvent) => void,
  record: ReleaseRecord,
): Promise<KubeObject[] | string> {
  const before = await settleLimit(manifests, options.concurrency ?? 8, (m) =>
    withRetry(
      () =>
        client.get(
          {
            apiVersion: m.apiVersion,
            kind: m.kind,
            name: m.metadata.name ?? '',
            namespace: m.metadata.namespace,
          },
          signal,
        ),
      { signal },
    ),
  );
  const versions = new Map(
    before.map((r, i) => [objectKey(manifests[i]), r.ok ? r.value?.metadata.resourceVersion : 'unknown']),
  );
  const applied: KubeObject[] = [];
  const rendered: RenderedObject[] = manifests.map((object) => ({
    object,
    source: { file: `release ${record.rolledBackTo}` },
  }));
  for (const group of groupByKindOrder(rendered)) {
    const results = await applyAll(client, group, {
      concurrency: options.concurrency ?? 8,
      force: true,
      signal,
    });
    for (const r of results) {
      if (!r.live) continue;
      applied.push(r.live);
      record.inventory.push(appliedEntry(r.live, r.source.object));
      const rv = versions.get(objectKey(r.live));
      emit({
        type: 'object-applied',
        phase: 'rollback',
        object: eventObject(r.live),
        action:
          rv === undefined ? 'created' : rv === r.live.metadata.resourceVersion ? 'unchanged' : 'configured',
      });
    }
    const failures = results.filter((r) => r.error !== undefined);
    if (failures.length > 0) {
      const lines = failures.flatMap((f) => issuesFromApplyError(f.source, f.error).map((i) => i.message));
      for (const f of failures)
        emit({
          type: 'object-failed',
          phase: 'rollback',
          object: eventObject(f.source.object),
          message: issuesFromApplyError(f.source, f.error)
            .map((i) => i.message)
            .join('; '),
        });
      return `re-applying release ${record.rolledBackTo} failed:\n  ${lines.join('\n  ')}`;
    }
  }
  return applied;
}

export async function pruneAfterRollback(
  client: KubeClient,
  entries: readonly InventoryEntry[],
  options: RollbackOptions,
  signal: AbortSignal,
  emit: (e: RollbackEvent) => void,
): Promise<void> {
  const labels = managedLabels(options.app, options.env);
  for (const entry of entries) {
    try {
      const live = await withRetry(() => client.get(entry, signal), { signal });
      // Only what still carries our labels: an object someone else took over is theirs now.
      if (!live || Object.entries(labels).some(([k, v]) => live.metadata.labels?.[k] !== v)) continue;
      await withRetry(() => client.delete(entry, { propagationPolicy: 'Background', signal }), { signal });
      emit({ type: 'object-pruned', object: eventObject(live), dryRun: false });
    } catch (error) {
      emit({
        type: 'warning',
        message: `could not prune ${entry.kind}/${entry.name}: ${(error as Error).message}`,
      });
    }
  }
}

export async function recordOutcome(
  client: KubeClient,
  record: ReleaseRecord,
  result: RollbackResult,
  options: RollbackOptions,
  now: () => Date,
  emit: (e: RollbackEvent) => void,
): Promise<void> {
  const outcome: ReleaseOutcome =
    result.outcome === 'succeeded'
      ? 'rolled-back'
      : result.outcome === 'interrupted' || result.outcome === 'lock-lost'
        ? result.outcome
        : 'failed';
  const finishedAt = now().toISOString();
  const final: ReleaseRecord = {
    ...record,
    outcome,
    finishedAt,
    phases: record.phases.map((p) => ({ ...p, finishedAt, outcome: result.outcome })),
  };
  try {
    // Not the caller's signal: after an interrupt the record must still be written.
    await writeRelease(client, final, { keep: options.keep });
  } catch (error) {
    emit({
      type: 'warning',
      message: `could not record release ${record.release}: ${(error as Error).message}`,
    });
  }
  await notify(
    options.notifications ?? [],
    {
      kind: result.outcome === 'succeeded' ? 'rolled-back' : 'failed',
      app: options.app,
      env: options.env,
      deployId: record.deployId,
      release: record.release,
      rolledBackTo: record.rolledBackTo,
      user: options.user,
      ...(record.images[0] ? { image: record.images[0] } : {}),
      durationMs: now().getTime() - Date.parse(record.startedAt),
      ...(result.outcome === 'succeeded' ? {} : { summary: result.message ?? result.outcome }),
    },
    {
      env: options.envVars ?? {},
      redact: createRedactor(secretValues(record.manifests)),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      onWarning: (message) => emit({ type: 'warning', message }),
    },
  );
}

export function finishedEvent(
  result: RollbackResult,
  record: ReleaseRecord,
  durationMs: number,
): DeployEvent {
  const applied = record.inventory.map((e) => ({
    kind: e.kind,
    name: e.name,
    ...(e.namespace ? { namespace: e.namespace } : {}),
  }));
  return {
    type: 'deploy-finished',
    outcome: result.outcome,
    exitCode: result.exitCode,
    durationMs,
    deployId: record.deployId,
    release: record.release,
    ...(result.message ? { message: result.message } : {}),
    applied,
    notApplied: [],
  };
}
