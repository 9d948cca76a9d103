/** The audit's part in a deploy: objects certainly broken stop it before anything is written. */
import type { KubeClient } from '../kube/index.js';
import type { RenderedObject } from '../render/index.js';
import { ConfigError } from '../shared/index.js';
import { auditObjects, blockingFindings } from './audit.js';
import { withObject } from './format.js';
import { readClusterSnapshot } from './read-snapshot.js';
import type { ResolvedAuditConfig } from './types.js';

/**
 * Audits the rendered objects against a snapshot of the cluster and throws a ConfigError (exit 2)
 * naming file and line of each finding that is certainly broken and still an error after the
 * config's overrides and the objects' ignores: a reference to nothing, zones the nodes do not have,
 * the container runtime's socket. What the identity may not read is skipped, not a failure.
 */
export async function refuseBrokenObjects(
  client: KubeClient,
  options: {
    readonly namespace: string;
    readonly rendered: readonly RenderedObject[];
    readonly config: ResolvedAuditConfig;
    readonly signal?: AbortSignal;
  },
): Promise<void> {
  const snapshot = await readClusterSnapshot(client, {
    namespace: options.namespace,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const { findings } = auditObjects(options.rendered, {
    namespace: options.namespace,
    snapshot,
    config: options.config,
    blockingOnly: true,
  });
  const blocking = blockingFindings(findings);
  if (blocking.length === 0) return;
  throw new ConfigError(
    blocking.map((f) => ({ file: f.file, line: f.line, message: `${withObject(f)} [${f.check}]` })),
    {
      hint: `fix them; or, if they are meant, set the check's severity in the audit section of capstan.yaml, add the annotation capstan.dev/audit-ignore: ${blocking[0].check}, or deploy with --skip-audit`,
    },
  );
}
