// Deploy step 3's scheduling preflight: after the server-side dry run, before any write.
import { readSnapshot, runPreflight } from '../audit/scheduling/index.js';
import type { KubeClient } from '../kube/index.js';
import type { DeployEvent } from '../events/index.js';
import type { Validation } from './validate.js';

/**
 * Judges the dry-run objects against the live cluster and reports it; returns the refusal (every
 * workload that cannot be placed, one per line) or undefined. A 403 on the nodes is a warning.
 */
export async function checkScheduling(
  client: KubeClient,
  validation: Pick<Validation, 'validated'>,
  options: {
    namespace: string;
    skip?: boolean;
    signal?: AbortSignal;
    emit: (event: DeployEvent) => void;
    /** The cluster read started beforehand (readPreflightSnapshot), if any. */
    snapshot?: ReturnType<typeof readSnapshot>;
  },
): Promise<string | undefined> {
  if (options.skip) return undefined;
  const started = Date.now();
  const outcome = await runPreflight(
    client,
    validation.validated.map((v) => v.desired),
    { namespace: options.namespace, signal: options.signal, snapshot: options.snapshot },
  );
  if (outcome.skipped) {
    options.emit({ type: 'warning', message: outcome.skipped });
    return undefined;
  }
  options.emit({
    type: 'preflight-finished',
    workloads: outcome.verdicts.length,
    problems: outcome.problems.map((p) => ({ ...p, object: { ...p.object } })),
    durationMs: Date.now() - started,
  });
  if (outcome.problems.length === 0) return undefined;
  return `scheduling preflight: ${outcome.problems.map((p) => sentence(p.message, p.hint)).join('\n')}\nNothing was applied; --skip-preflight deploys anyway.`;
}

/**
 * Starts the preflight's read of the cluster (nodes, pods, quotas, workloads) so that it runs beside
 * the dry run; checkScheduling judges against it. Undefined when the preflight is skipped.
 */
export function readPreflightSnapshot(
  client: KubeClient,
  options: { namespace: string; skip?: boolean; signal?: AbortSignal },
): ReturnType<typeof readSnapshot> | undefined {
  if (options.skip) return undefined;
  const read = readSnapshot(client, { namespace: options.namespace, signal: options.signal });
  read.catch(() => {}); // awaited by checkScheduling
  return read;
}

/** A problem and its hint as one readable line: `... pods=1. Add capacity, or ...`. */
function sentence(message: string, hint: string): string {
  if (!hint) return message;
  const ended = /[.!?]$/.test(message) ? message : `${message}.`;
  return `${ended} ${hint.charAt(0).toUpperCase()}${hint.slice(1)}`;
}
