import { CapstanError, type KubeObject } from '../shared/index.js';

export const TASK_LABEL = 'capstan.dev/task';
export const HOOK_LABEL = 'capstan.dev/hook';

export interface TaskJobOptions {
  /** The Deployment whose pod template the task copies. */
  readonly from: KubeObject;
  readonly name: string;
  readonly taskName: string;
  readonly command: readonly string[];
  readonly container?: string;
  readonly image?: string;
  readonly env?: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly activeDeadlineSeconds?: number;
  readonly ttlSecondsAfterFinished?: number;
}

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  [key: string]: unknown;
}

interface PodSpec {
  containers: Container[];
  [key: string]: unknown;
}

/** Pod-spec fields a one-off task keeps from its Deployment; the rest (probes, ports, init) are for servers. */
const KEPT_POD_FIELDS = [
  'volumes',
  'serviceAccountName',
  'automountServiceAccountToken',
  'nodeSelector',
  'tolerations',
  'affinity',
  'imagePullSecrets',
  'securityContext',
  'priorityClassName',
  'runtimeClassName',
  'dnsPolicy',
  'dnsConfig',
  'hostAliases',
  'topologySpreadConstraints',
  'enableServiceLinks',
];
const KEPT_CONTAINER_FIELDS = [
  'image',
  'imagePullPolicy',
  'env',
  'envFrom',
  'volumeMounts',
  'resources',
  'securityContext',
  'workingDir',
];

export function parseEnvPairs(pairs: readonly string[]): Array<{ name: string; value: string }> {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CapstanError('ERR_CAPSTAN_USAGE', `--env "${pair}" is not KEY=VALUE`);
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

/** Builds the Job of a one-off task from a Deployment's pod template (pure). */
export function planTaskJob(options: TaskJobOptions): KubeObject {
  if (options.command.length === 0) {
    throw new CapstanError('ERR_CAPSTAN_USAGE', 'no command given', {
      hint: 'put the command after --, e.g. capstan run production -- bin/rails db:seed',
    });
  }
  const from = options.from;
  if (from.kind !== 'Deployment')
    throw new CapstanError('ERR_CAPSTAN_USAGE', `--from must name a Deployment, not a ${from.kind}`);
  const template = (
    from as {
      spec?: {
        template?: {
          metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
          spec?: PodSpec;
        };
        selector?: { matchLabels?: Record<string, string> };
      };
    }
  ).spec;
  const podSpec = template?.template?.spec;
  if (!podSpec?.containers?.length)
    throw new CapstanError('ERR_CAPSTAN_USAGE', `Deployment/${from.metadata.name} has no containers`);
  const wanted = options.container ?? podSpec.containers[0].name;
  const source = podSpec.containers.find((c) => c.name === wanted);
  if (!source) {
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `Deployment/${from.metadata.name} has no container "${wanted}"`,
      {
        hint: `its containers: ${podSpec.containers.map((c) => c.name).join(', ')}`,
      },
    );
  }
  const container: Container = { name: source.name };
  for (const field of KEPT_CONTAINER_FIELDS)
    if (source[field] !== undefined) container[field] = structuredClone(source[field]);
  if (options.image) container.image = options.image;
  container.command = [...options.command];
  const extraEnv = parseEnvPairs(options.env ?? []);
  if (extraEnv.length) {
    const env = (container.env ?? []).filter((e) => !extraEnv.some((x) => x.name === e.name));
    container.env = [...env, ...extraEnv];
  }
  const spec: Record<string, unknown> = { restartPolicy: 'Never', containers: [container] };
  for (const field of KEPT_POD_FIELDS)
    if (podSpec[field] !== undefined) spec[field] = structuredClone(podSpec[field]);

  // Template labels minus the Deployment's selector: the task's pod must not join the
  // Deployment's ReplicaSets or its Services.
  const selector = template?.selector?.matchLabels ?? {};
  const podLabels = Object.fromEntries(
    Object.entries(template?.template?.metadata?.labels ?? {}).filter(([k]) => !(k in selector)),
  );
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: options.name,
      namespace: from.metadata.namespace,
      labels: { ...options.labels, [TASK_LABEL]: options.taskName },
    },
    spec: {
      backoffLimit: 0,
      ...(options.activeDeadlineSeconds ? { activeDeadlineSeconds: options.activeDeadlineSeconds } : {}),
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 86_400,
      template: {
        metadata: {
          labels: { ...podLabels, ...options.labels, [TASK_LABEL]: options.taskName },
          annotations: { ...(template?.template?.metadata?.annotations ?? {}) },
        },
        spec,
      },
    },
  };
}

/** A Kubernetes name for a task: its first word, sanitized, plus a unique suffix. */
export function taskNameOf(command: readonly string[]): string {
  const word = (command[0] ?? 'task').split('/').pop() ?? 'task';
  const clean = word
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30);
  return clean || 'task';
}

/** The Lease that lets one run of a task at a time: per app, environment and task. */
export function taskLockName(app: string, env: string, task: string): string {
  return `capstan-task-${app}-${env}-${task}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .slice(0, 253);
}

/** The Deployment a task copies: the one named, else the first. */
export function findDeployment(objects: readonly KubeObject[], name?: string): KubeObject | undefined {
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  return name === undefined ? deployments[0] : deployments.find((d) => d.metadata.name === name);
}

/** The image of a Deployment's container (the named one, else the first), if it has one. */
export function containerImageOf(deployment: KubeObject | undefined, container?: string): string | undefined {
  const containers =
    (deployment as { spec?: { template?: { spec?: { containers?: Container[] } } } } | undefined)?.spec
      ?.template?.spec?.containers ?? [];
  const found = container === undefined ? containers[0] : containers.find((c) => c.name === container);
  return typeof found?.image === 'string' && found.image !== '' ? found.image : undefined;
}
