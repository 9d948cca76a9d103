import { containerStates, hopelessReason } from '../rollout/index.js';
import type { KubeObject } from '../shared/index.js';

interface ContainerStatus {
  name: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { exitCode?: number; reason?: string };
  };
}
interface PodStatus {
  phase?: string;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  containerStatuses?: ContainerStatus[];
}

/**
 * Why a task's pod cannot get anywhere, if it cannot (pure). Which waiting container is hopeless is
 * the rollout's judgment, the one a deploy uses; a crash loop is not, as the Job's backoffLimit decides.
 */
export function podProblem(
  pod: KubeObject,
): { kind: 'hopeless' | 'unschedulable'; message: string } | undefined {
  const status = (pod as { status?: PodStatus }).status ?? {};
  for (const c of containerStates(pod)) {
    const waiting = c.waiting;
    if (waiting?.reason && hopelessReason(c, { crashLoopIsFinal: false }) !== undefined) {
      const what = waiting.reason.includes('Image')
        ? `the image ${c.image ?? ''} cannot be pulled`
        : 'the container cannot be created';
      return {
        kind: 'hopeless',
        message: `${what}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`,
      };
    }
  }
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      kind: 'unschedulable',
      message: `the pod cannot be scheduled: ${scheduled.message ?? 'no node fits'}`,
    };
  }
  return undefined;
}

/** The exit code of a finished container, if it finished. */
export function terminatedExitCode(pod: KubeObject, container: string): number | undefined {
  const status = (pod as { status?: PodStatus }).status ?? {};
  const c =
    (status.containerStatuses ?? []).find((x) => x.name === container) ?? status.containerStatuses?.[0];
  return c?.state?.terminated?.exitCode;
}
