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

const HOPELESS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** Why a task's pod cannot get anywhere, if it cannot (pure). */
export function podProblem(
  pod: KubeObject,
): { kind: 'hopeless' | 'unschedulable'; message: string } | undefined {
  const status = (pod as { status?: PodStatus }).status ?? {};
  for (const c of status.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && HOPELESS.has(waiting.reason)) {
      const image = (
        pod as { spec?: { containers?: Array<{ name: string; image?: string }> } }
      ).spec?.containers?.find((x) => x.name === c.name)?.image;
      const what = waiting.reason.includes('Image')
        ? `the image ${image ?? ''} cannot be pulled`
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
