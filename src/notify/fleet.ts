// The notifications of a multi-cluster deploy: one as it starts and one as it ends, for the
// environment, listing its clusters (each cluster's own deploy sends none: recorder `notify: false`).
import type { NotificationConfig } from '../config/index.js';
import type { FleetEvent } from '../events/index.js';
import { notify, type NotifyOptions } from './notify.js';
import type { NotifyCluster, NotifyEvent } from './payload.js';

export interface FleetNotice {
  /** The multi-cluster deploy's first event or its last. */
  readonly event: Extract<FleetEvent, { type: 'fleet-started' | 'fleet-finished' }>;
  readonly app: string;
  readonly env: string;
  readonly image?: string;
  /** Who deployed, and the commit and branch deployed, when known. */
  readonly user?: string;
  readonly commit?: string;
  readonly branch?: string;
}

/**
 * The notification of a multi-cluster deploy: `started` with each cluster's wave (and those left
 * out with --skip-cluster), or `succeeded`/`failed` with each cluster's outcome, the shared
 * release number and the fleet's message as the summary.
 */
export function fleetNotifyEvent(notice: FleetNotice): NotifyEvent {
  const { event } = notice;
  const base = {
    app: notice.app,
    env: notice.env,
    deployId: event.deployId,
    ...(notice.image === undefined ? {} : { image: notice.image }),
    ...(notice.user === undefined ? {} : { user: notice.user }),
    ...(notice.commit === undefined ? {} : { commit: notice.commit }),
    ...(notice.branch === undefined ? {} : { branch: notice.branch }),
  };
  if (event.type === 'fleet-started') {
    const skipped = new Set(event.skipped);
    const waveOf = (cluster: string) => event.waves.findIndex((wave) => wave.includes(cluster)) + 1;
    const names = [...event.clusters, ...event.skipped.filter((c) => !event.clusters.includes(c))];
    const clusters = names.map((cluster): NotifyCluster =>
      skipped.has(cluster)
        ? { cluster, outcome: 'skipped' }
        : { cluster, outcome: 'pending', ...(waveOf(cluster) > 0 ? { wave: waveOf(cluster) } : {}) },
    );
    return { kind: 'started', ...base, clusters };
  }
  return {
    kind: event.outcome === 'succeeded' ? 'succeeded' : 'failed',
    ...base,
    ...(event.release === undefined ? {} : { release: event.release }),
    durationMs: event.durationMs,
    ...(event.message === undefined ? {} : { summary: event.message }),
    clusters: event.clusters.map((c) => ({
      cluster: c.cluster,
      outcome: c.outcome,
      ...(c.wave === undefined ? {} : { wave: c.wave }),
      ...(c.release === undefined ? {} : { release: c.release }),
      ...(c.message === undefined ? {} : { message: c.message }),
      ...(c.rolledBack === undefined ? {} : { rolledBack: { ...c.rolledBack } }),
    })),
  };
}

/**
 * Sends a multi-cluster deploy's notification to every configuration that wants it: call it with
 * `fleet-started` once the deploy starts (not for a dry run) and with `fleet-finished` once it
 * ended. Never throws: failures are warnings, as with notify().
 */
export function notifyFleet(
  configs: readonly NotificationConfig[],
  notice: FleetNotice,
  options: NotifyOptions,
): Promise<void> {
  return notify(configs, fleetNotifyEvent(notice), options).then(() => undefined);
}
