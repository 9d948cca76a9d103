import { Informer, type KubeClient } from '../kube/index.js';
import type { KubeObject } from '../shared/index.js';
import { streamLogs } from './logs.js';

interface PodStatus {
  phase?: string;
  containerStatuses?: Array<{
    name: string;
    state?: { running?: unknown; terminated?: unknown; waiting?: unknown };
  }>;
}

function statusOf(pod: KubeObject): PodStatus {
  return (pod as { status?: PodStatus }).status ?? {};
}

/** Whether a pod has started its containers, so that it has a log to read. */
export function hasStarted(pod: KubeObject): boolean {
  const status = statusOf(pod);
  if (status.phase === 'Running' || status.phase === 'Succeeded' || status.phase === 'Failed') return true;
  return (status.containerStatuses ?? []).some(
    (c) => c.state?.running !== undefined || c.state?.terminated !== undefined,
  );
}

export function isFinished(pod: KubeObject): boolean {
  const phase = statusOf(pod).phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export interface FollowJobLogsOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly jobName: string;
  readonly container?: string;
  readonly onLine: (line: string, pod: string) => void;
  /** Called after every change of one of the Job's pods. */
  readonly onPodChange?: () => void;
  readonly signal: AbortSignal;
}

/**
 * Streams the log of every pod of a Job as each one starts, until the signal ends it.
 * Returns a function that resolves once the streams of finished pods have drained.
 */
export function followJobLogs(options: FollowJobLogsOptions): {
  drained: () => Promise<void>;
  pods: Informer;
} {
  const streaming = new Map<string, Promise<void>>();
  const informer: Informer = new Informer(options.client, {
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: options.namespace,
    labelSelector: `batch.kubernetes.io/job-name=${options.jobName}`,
    signal: options.signal,
    onChange: (pod, type) => {
      options.onPodChange?.();
      const name = pod.metadata.name ?? '';
      if (type === 'DELETED' || streaming.has(name) || !hasStarted(pod)) return;
      streaming.set(
        name,
        streamLogs({
          client: options.client,
          namespace: options.namespace,
          pod: name,
          container: options.container,
          signal: options.signal,
          onLine: (line) => options.onLine(line, name),
          stillRunning: () => {
            const live = informer.get(options.namespace, name);
            return live !== undefined && !isFinished(live);
          },
        }),
      );
    },
  });
  return {
    pods: informer,
    drained: async () => {
      await Promise.race([
        Promise.all(streaming.values()),
        new Promise((resolve) => setTimeout(resolve, 5000)),
      ]);
    },
  };
}
