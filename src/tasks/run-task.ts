import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { connectionOf, loadConfig, resolveOneCluster, type ResolvedEnvironment } from '../config/index.js';
import { createSecretsRenderer, selectorOf } from '../apply/index.js';
import { during, Informer, KubeApiError, KubeClient } from '../kube/index.js';
import {
  acquireLock,
  LockHeldError,
  readReleases,
  type DeployLock,
  type ReleaseRecord,
} from '../release/index.js';
import { managedLabels, podTemplateOf, renderEnvironment } from '../render/index.js';
import { Redactor, secretValues } from '../secrets/index.js';
import { CapstanError, mapLimit, type KubeObject } from '../shared/index.js';
import { followJobLogs } from './job-logs.js';
import {
  containerImageOf,
  findDeployment,
  planTaskJob,
  TASK_LABEL,
  taskLockName,
  taskNameOf,
} from './plan-task.js';
import { podProblem, terminatedExitCode } from './pod-outcome.js';

export interface RunTaskOptions {
  readonly cwd: string;
  readonly env: string;
  /** The cluster to run in: required for a multi-cluster environment (a task runs in one). */
  readonly cluster?: string;
  /** `deployment/NAME`; default: the first Deployment rendered for the environment. */
  readonly from?: string;
  /** Copy the pod spec from the live Deployment instead of the rendered one. */
  readonly live?: boolean;
  readonly container?: string;
  /** Default: the image of the last successful release, else the live Deployment's, else capstan.yaml's. */
  readonly image?: string;
  readonly envPairs?: readonly string[];
  readonly command: readonly string[];
  readonly timeoutMs: number;
  readonly detach?: boolean;
  readonly keep?: boolean;
  /** `forbid`: one run of the task at a time, guarded by a Lease; default: capstan.yaml `tasks.<name>.concurrency`, else allow. */
  readonly concurrency?: 'allow' | 'forbid';
  /** The task's name (Job name, label, Lease, capstan.yaml `tasks` key); default: the command's first word. */
  readonly task?: string;
  /** Who runs the task, written on its Lease: e.g. `alice@laptop (pid 4242)`. */
  readonly holder?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly signal: AbortSignal;
  readonly envVars: NodeJS.ProcessEnv;
  /** Each line of the task's log, with the environment's secret values redacted. */
  readonly onLine: (line: string) => void;
  readonly onStatus: (message: string) => void;
  /**
   * Learns the environment's secret values (rendered, or with `live` those of the Secrets the pod
   * spec names); every log line is redacted with it. The CLI passes its own for what it prints.
   */
  readonly redactor?: Redactor;
  /** How long a pod may stay unschedulable before the task is given up. */
  readonly unschedulableGraceMs?: number;
}

export interface RunTaskResult {
  readonly jobName: string;
  readonly namespace: string;
  /** The task's exit code, or Capstan's (3 timed out, 4 already running, 130 interrupted, 1 could not run). */
  readonly exitCode: number;
  readonly outcome: 'succeeded' | 'failed' | 'timed-out' | 'interrupted' | 'detached';
  readonly message?: string;
}

function parseFrom(from: string | undefined): string | undefined {
  if (from === undefined) return undefined;
  const match = /^(?:deployment|deploy|deployments)\/(.+)$/i.exec(from);
  if (!match) throw new CapstanError('ERR_CAPSTAN_USAGE', `--from "${from}" must look like deployment/NAME`);
  return match[1];
}

/** The Secrets a pod spec reads: env, envFrom and volumes. */
export function referencedSecrets(podSpec: unknown): string[] {
  type Container = {
    env?: Array<{ valueFrom?: { secretKeyRef?: { name?: string } } }>;
    envFrom?: Array<{ secretRef?: { name?: string } }>;
  };
  const spec = (podSpec ?? {}) as {
    containers?: Container[];
    initContainers?: Container[];
    volumes?: Array<{
      secret?: { secretName?: string };
      projected?: { sources?: Array<{ secret?: { name?: string } }> };
    }>;
  };
  const names = [
    ...[...(spec.containers ?? []), ...(spec.initContainers ?? [])].flatMap((c) => [
      ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
      ...(c.envFrom ?? []).map((e) => e.secretRef?.name),
    ]),
    ...(spec.volumes ?? []).flatMap((v) => [
      v.secret?.secretName,
      ...(v.projected?.sources ?? []).map((p) => p.secret?.name),
    ]),
  ];
  return [...new Set(names.filter((n): n is string => !!n))].sort();
}

export interface LearnReferencedSecretsOptions {
  /** Workloads (or Pods) whose pod templates name the Secrets; each is read in its own namespace. */
  readonly objects: readonly KubeObject[];
  /** Namespace of objects that name none. */
  readonly namespace: string;
  /** `NAMESPACE/NAME` of Secrets whose values are known already (rendered ones): not read. */
  readonly skip?: ReadonlySet<string>;
  readonly redactor: Redactor;
  readonly signal?: AbortSignal;
}

/**
 * Teaches the redactor the values of the live Secrets that pod templates read (env, envFrom,
 * volumes), so that a container printing one never gets it shown. Returns the Secrets it could
 * not read, with why (e.g. forbidden): their values cannot be redacted.
 */
export async function learnReferencedSecrets(
  client: KubeClient,
  options: LearnReferencedSecretsOptions,
): Promise<string[]> {
  const wanted = new Map<string, { namespace: string; name: string }>();
  for (const object of options.objects) {
    const namespace = object.metadata.namespace ?? options.namespace;
    const spec = (podTemplateOf(object) as { spec?: unknown } | undefined)?.spec;
    for (const name of referencedSecrets(spec)) {
      const key = `${namespace}/${name}`;
      if (!options.skip?.has(key)) wanted.set(key, { namespace, name });
    }
  }
  const unreadable: string[] = [];
  await mapLimit([...wanted.values()], 8, async ({ namespace, name }) => {
    try {
      const secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace, name }, options.signal);
      if (secret) options.redactor.add(secretValues([secret]));
    } catch (error) {
      unreadable.push(
        `Secret/${name} (${error instanceof KubeApiError && error.forbidden ? 'forbidden' : (error as Error).message})`,
      );
    }
  });
  return unreadable.sort();
}

/** Teaches the redactor the values of the live Secrets a copied pod spec reads. */
async function learnLiveSecrets(
  client: KubeClient,
  namespace: string,
  deployment: KubeObject,
  redactor: Redactor,
  warn: (message: string) => void,
): Promise<void> {
  const unreadable = await learnReferencedSecrets(client, { objects: [deployment], namespace, redactor });
  if (unreadable.length > 0)
    warn(`could not read ${unreadable.join(', ')} to keep their values out of the task's output`);
}

/** The image and build of the environment's last successful release, for the Deployment a task copies. */
async function lastReleased(
  client: KubeClient,
  env: ResolvedEnvironment,
  options: RunTaskOptions,
  wanted: string | undefined,
): Promise<{ deployment?: string; image?: string; commit?: string; branch?: string }> {
  let records: ReleaseRecord[];
  try {
    records = await readReleases(client, {
      namespace: env.namespace,
      app: env.app,
      env: env.name,
      signal: options.signal,
      onDamaged: (error) => options.onStatus(`skipped a damaged release record: ${error.message}`),
    });
  } catch (error) {
    if (error instanceof KubeApiError) {
      options.onStatus(
        `could not read the release history for the image (${error.message}); using the live Deployment's`,
      );
      return {};
    }
    throw error;
  }
  const record = records.find((r) => r.outcome === 'succeeded');
  if (!record) return {};
  const deployment = findDeployment(record.manifests, wanted);
  return {
    deployment: deployment?.metadata.name,
    image: containerImageOf(deployment, options.container),
    commit: record.gitCommit,
    branch: record.gitBranch,
  };
}

/** The only Deployment of the environment in the cluster, when there is exactly one and none is named. */
async function liveDeployment(
  client: KubeClient,
  env: ResolvedEnvironment,
  wanted: string | undefined,
): Promise<KubeObject | undefined> {
  if (wanted !== undefined)
    return client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: env.namespace, name: wanted });
  const list = await client.list('apps/v1', 'Deployment', {
    namespace: env.namespace,
    labelSelector: selectorOf(env.app, env.name),
  });
  return list.items.length === 1 ? list.items[0] : undefined;
}

async function sourceDeployment(
  client: KubeClient,
  env: ResolvedEnvironment,
  options: RunTaskOptions,
  redactor: Redactor,
): Promise<KubeObject> {
  const wanted = parseFrom(options.from);
  if (options.live) {
    if (!wanted) throw new CapstanError('ERR_CAPSTAN_USAGE', '--live needs --from deployment/NAME');
    const live = await liveDeployment(client, env, wanted);
    if (!live)
      throw new CapstanError(
        'ERR_CAPSTAN_NOT_FOUND',
        `Deployment/${wanted} does not exist in namespace ${env.namespace}`,
      );
    await learnLiveSecrets(client, env.namespace, live, redactor, options.onStatus);
    return live;
  }
  // The rendered Deployment with the image that runs now: --image, else the last successful
  // release's, else the live Deployment's, else capstan.yaml's.
  let image = options.image;
  let build: { commit?: string; branch?: string } = {};
  let imageOf: string | undefined;
  if (!image) {
    const released = await lastReleased(client, env, options, wanted);
    build = released;
    if (released.image) [image, imageOf] = [released.image, released.deployment];
  }
  if (!image) {
    const live = await liveDeployment(client, env, wanted);
    const liveImage = containerImageOf(live, options.container);
    if (liveImage) [image, imageOf] = [liveImage, live?.metadata.name];
  }
  image ??= env.image;
  const renderSecrets = createSecretsRenderer({
    app: env.app,
    env: env.name,
    envVars: options.envVars,
    warn: options.onStatus,
  });
  const phases = await renderEnvironment({
    env,
    image,
    deployId: 'task',
    ...build,
    envVars: options.envVars,
    renderSecrets: (file, ns) => renderSecrets(file, ns, client),
  });
  const rendered = phases.flatMap((p) => p.objects.map((o) => o.object));
  redactor.add(secretValues(rendered));
  const found = findDeployment(rendered, wanted);
  if (!found) {
    const deployments = rendered.filter((o) => o.kind === 'Deployment');
    throw new CapstanError(
      'ERR_CAPSTAN_NOT_FOUND',
      wanted
        ? `environment ${env.name} renders no Deployment/${wanted}`
        : `environment ${env.name} renders no Deployment`,
      {
        hint: deployments.length
          ? `rendered Deployments: ${deployments.map((d) => d.metadata.name).join(', ')}`
          : undefined,
      },
    );
  }
  // Fail closed: an image found for another Deployment than the one copied would run the wrong code.
  if (imageOf !== undefined && imageOf !== found.metadata.name) {
    throw new CapstanError(
      'ERR_CAPSTAN_NO_IMAGE',
      `the image found (${image}) is Deployment/${imageOf}'s, but the task copies Deployment/${found.metadata.name}`,
      {
        hint: `pass --image, or --from deployment/${found.metadata.name}`,
      },
    );
  }
  return found;
}

/** A task's name: `--task`, else the command's first word; it keys capstan.yaml `tasks` and the Lease. */
function resolveTaskName(options: RunTaskOptions): string {
  if (options.task === undefined) return taskNameOf(options.command);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.task) || options.task.length > 30) {
    throw new CapstanError('ERR_CAPSTAN_USAGE', `--task "${options.task}" is not a task name`, {
      hint: "use lowercase letters, digits and '-', starting and ending with a letter or digit (at most 30)",
    });
  }
  return options.task;
}

/** Runs a one-off task as a Job built from the app's Deployment and follows it to its end. */
export async function runTask(options: RunTaskOptions): Promise<RunTaskResult> {
  if (options.command.length === 0) {
    throw new CapstanError('ERR_CAPSTAN_USAGE', 'no command given', {
      hint: 'put the command after --, e.g. capstan run production -- bin/rails db:seed',
    });
  }
  const taskName = resolveTaskName(options);
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveOneCluster(loaded, options.env, { cluster: options.cluster, command: 'run' });
  const concurrency = options.concurrency ?? env.tasks[taskName]?.concurrency ?? 'allow';
  const client = await KubeClient.connect({
    ...connectionOf(env, { kubeconfig: options.kubeconfig, context: options.context }),
    env: options.envVars,
  });
  const redactor = options.redactor ?? new Redactor();
  const jobName = `${env.app}-task-${taskName}-${randomBytes(3).toString('hex')}`
    .slice(0, 63)
    .replace(/-+$/, '');
  let lock: DeployLock | undefined;
  try {
    const deployment = await during('reading the Deployment the task copies needs it', () =>
      sourceDeployment(client, env, options, redactor),
    );
    const job = planTaskJob({
      from: { ...deployment, metadata: { ...deployment.metadata, namespace: env.namespace } },
      name: jobName,
      taskName,
      command: options.command,
      container: options.container,
      image: options.image,
      env: options.envPairs,
      labels: managedLabels(env.app, env.name),
      activeDeadlineSeconds: Math.ceil(options.timeoutMs / 1000),
    });
    if (concurrency === 'forbid') {
      // The Lease makes "is one running? then start" atomic between runs; the Job list still
      // catches runs that hold no Lease (detached, or started with allow).
      const taken = await takeTaskLock(client, env, taskName, options);
      if (!('release' in taken)) return { jobName, namespace: env.namespace, ...taken };
      lock = taken;
      const jobs = await during(`finding running Jobs of task "${taskName}" needs it`, () =>
        client.list('batch/v1', 'Job', {
          namespace: env.namespace,
          labelSelector: `${TASK_LABEL}=${taskName},${selectorOf(env.app, env.name)}`,
        }),
      );
      const running = jobs.items.find((j) => !isJobFinished(j));
      if (running) {
        return {
          jobName,
          namespace: env.namespace,
          exitCode: 4,
          outcome: 'failed',
          message: `task "${taskName}" is still running as Job/${running.metadata.name} (--concurrency forbid)`,
        };
      }
    }
    await during(`starting the task's Job/${jobName} needs it`, () =>
      client.create(job, { fieldManager: 'capstan' }),
    );
    const where = env.cluster === undefined ? '' : ` of cluster ${env.cluster}`;
    options.onStatus(`started Job/${jobName} in namespace ${env.namespace}${where}`);
    if (options.detach) return { jobName, namespace: env.namespace, exitCode: 0, outcome: 'detached' };
    const followed = await during(`following the task's Job/${jobName}, its pods and log needs it`, () =>
      followTask(client, env.namespace, jobName, job, {
        ...options,
        onLine: (line) => options.onLine(redactor.text(line)),
        onStatus: (message) => options.onStatus(redactor.text(message)),
      }),
    );
    return followed.message === undefined
      ? followed
      : { ...followed, message: redactor.text(followed.message) };
  } finally {
    await lock?.release();
    client.close();
  }
}

/** Takes the task's Lease, or says who holds it (exit 4). */
async function takeTaskLock(
  client: KubeClient,
  env: ResolvedEnvironment,
  taskName: string,
  options: RunTaskOptions,
): Promise<DeployLock | Pick<RunTaskResult, 'exitCode' | 'outcome' | 'message'>> {
  const name = taskLockName(env.app, env.name, taskName);
  try {
    return await acquireLock(client, {
      namespace: env.namespace,
      app: env.app,
      env: env.name,
      name,
      holder: options.holder ?? `capstan-task-${randomBytes(4).toString('hex')}`,
      signal: options.signal,
      onWarning: options.onStatus,
    });
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    return {
      exitCode: 4,
      outcome: 'failed',
      message: `task "${taskName}" of ${env.app}/${env.name} is already running: Lease/${name} is held by ${error.holder} since ${error.since ?? 'an unknown time'} (--concurrency forbid)`,
    };
  }
}

export function isJobFinished(job: KubeObject): boolean {
  const conditions =
    (job as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
  return conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** A pod's exit code once it ended: its container's, else 0 for Succeeded and 1 for Failed (pure). */
function endedExitCode(pod: KubeObject, container: string): number | undefined {
  const phase = (pod as { status?: { phase?: string } }).status?.phase;
  if (phase !== 'Succeeded' && phase !== 'Failed') return undefined;
  return terminatedExitCode(pod, container) ?? (phase === 'Succeeded' ? 0 : 1);
}

/** "Job failed: REASON MESSAGE" when the Job's Failed condition is true, else undefined (pure). */
function jobFailure(job: KubeObject | undefined): string | undefined {
  const conditions =
    (
      job as
        | {
            status?: {
              conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
            };
          }
        | undefined
    )?.status?.conditions ?? [];
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  return failed ? `Job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() : undefined;
}

async function followTask(
  client: KubeClient,
  namespace: string,
  jobName: string,
  job: KubeObject,
  options: RunTaskOptions,
): Promise<RunTaskResult> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const abort = () => controller.abort();
  options.signal.addEventListener('abort', abort, { once: true });
  const deadline = Date.now() + options.timeoutMs;
  const container = (
    job as unknown as { spec: { template: { spec: { containers: Array<{ name: string }> } } } }
  ).spec.template.spec.containers[0].name;
  let wake = () => {};
  // Pod and Job changes wake the loop; the timer only serves the deadline.
  const logs = followJobLogs({
    client,
    namespace,
    jobName,
    container,
    signal: controller.signal,
    onLine: (line) => options.onLine(line),
    onPodChange: () => wake(),
  });
  const jobInformer = new Informer(client, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace,
    fieldSelector: `metadata.name=${jobName}`,
    signal: controller.signal,
    onChange: () => wake(),
  });
  const result = (exitCode: number, outcome: RunTaskResult['outcome'], message?: string): RunTaskResult => ({
    jobName,
    namespace,
    exitCode,
    outcome,
    message,
  });
  let unschedulableSince: number | undefined;
  try {
    for (;;) {
      const pods = logs.pods.values();
      const finished = pods.find((p) => endedExitCode(p, container) !== undefined);
      if (finished) {
        await logs.drained();
        const code = endedExitCode(finished, container) ?? 1;
        return result(
          code,
          code === 0 ? 'succeeded' : 'failed',
          code === 0 ? undefined : `task exited with code ${code}`,
        );
      }
      const jobFailed = jobFailure(jobInformer.get(namespace, jobName));
      if (jobFailed) return await giveUp(result(1, 'failed', jobFailed));
      for (const pod of pods) {
        const problem = podProblem(pod);
        if (problem?.kind === 'hopeless') return await giveUp(result(1, 'failed', problem.message));
        if (problem?.kind === 'unschedulable') {
          unschedulableSince ??= Date.now();
          if (Date.now() - unschedulableSince >= (options.unschedulableGraceMs ?? 10_000))
            return await giveUp(result(1, 'failed', problem.message));
        } else unschedulableSince = undefined;
      }
      if (options.signal.aborted) return await giveUp(result(130, 'interrupted', 'interrupted'));
      if (Date.now() >= deadline)
        return await giveUp(
          result(3, 'timed-out', `timed out after ${Math.round(options.timeoutMs / 1000)}s`),
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    options.signal.removeEventListener('abort', abort);
    controller.abort();
  }

  async function giveUp(r: RunTaskResult): Promise<RunTaskResult> {
    if (!options.keep) {
      await client
        .delete(
          { apiVersion: 'batch/v1', kind: 'Job', namespace, name: jobName },
          { propagationPolicy: 'Background' },
        )
        .catch(() => false);
      options.onStatus(
        `deleted Job/${jobName}${r.outcome === 'interrupted' ? '' : ' (pass --keep to keep it for debugging)'}`,
      );
    }
    return r;
  }
}
