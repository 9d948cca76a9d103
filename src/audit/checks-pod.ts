/** Checks of one pod template: probes, resources, security context, host access, images, env. */
import { isRecord, list, str } from '../shared/index.js';
import { containersOf, dig, type Json, type Workload } from './pods.js';
import type { RawFinding } from './raw.js';

/** Runtime sockets and the folders that hold them: a pod mounting one controls the node. */
const RUNTIME_SOCKETS = [
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/var/run/containerd/containerd.sock',
  '/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock',
  '/run/crio/crio.sock',
  '/var/run/cri-dockerd.sock',
  '/run/cri-dockerd.sock',
];

function isRuntimeSocket(path: string): boolean {
  const clean = path.replace(/\/+$/, '') || '/';
  return RUNTIME_SOCKETS.some(
    (socket) => socket === clean || socket.startsWith(clean === '/' ? '/' : `${clean}/`),
  );
}

/** `name:tag`, `name@sha256:...`: the tag, undefined without one, null when pinned by digest. */
export function imageTag(image: string): string | undefined | null {
  if (image.includes('@')) return null;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon < 0 ? undefined : last.slice(colon + 1);
}

function jobLike(workload: Workload): boolean {
  return workload.object.kind === 'Job' || workload.object.kind === 'CronJob';
}

/** Every finding of the pod-level checks for one workload; `served` when a rendered Service selects its pods. */
export function checkPod(workload: Workload, served: boolean): RawFinding[] {
  const out: RawFinding[] = [];
  const target = workload.rendered;
  const podSpec = [...workload.podPath, 'spec'];
  const podSecurity = isRecord(workload.spec['securityContext']) ? workload.spec['securityContext'] : {};
  const add = (finding: Omit<RawFinding, 'target'>) => out.push({ target, ...finding });

  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (workload.spec[field] !== true) continue;
    add({
      check: field === 'hostNetwork' ? 'host-network' : 'host-pid-ipc',
      path: [...podSpec, field],
      message: `${field}: true puts the pod in the node's ${field === 'hostNetwork' ? 'network' : field === 'hostPID' ? 'process' : 'IPC'} namespace: it sees (and can disturb) everything on the node`,
      hint: `remove ${field} unless this is a node agent that needs it (then ignore the check for it)`,
    });
  }
  (Array.isArray(workload.spec['volumes']) ? (workload.spec['volumes'] as unknown[]) : []).forEach(
    (volume, index) => {
      const path = str(dig(volume, ['hostPath', 'path']));
      if (path === undefined) return;
      const socket = isRuntimeSocket(path);
      add({
        check: 'host-path',
        path: [...podSpec, 'volumes', String(index), 'hostPath', 'path'],
        ...(socket ? { severity: 'error' as const, blocking: true } : {}),
        message: socket
          ? `volume ${str(dig(volume, ['name'])) ?? index} mounts the container runtime's socket (${path}): whoever runs in the pod controls every container on the node`
          : `volume ${str(dig(volume, ['name'])) ?? index} mounts ${path} of the node: the pod depends on that node's files and can change them`,
        hint: socket
          ? 'read what you need through the Kubernetes API or a log/metrics agent that does not need the runtime socket'
          : 'use an emptyDir, a ConfigMap or a PersistentVolumeClaim instead of a node path',
      });
    },
  );

  for (const { container, path, init } of containersOf(workload)) {
    const name = str(container['name']) ?? '?';
    const security = isRecord(container['securityContext']) ? container['securityContext'] : {};
    if (!init && !jobLike(workload) && (served || list(container['ports']).length > 0)) {
      const missing = (['readinessProbe', 'livenessProbe'] as const).filter((p) => !isRecord(container[p]));
      if (missing.length > 0)
        add({
          check: 'probes-missing',
          path: [...path, 'name'],
          message: `container ${name} serves traffic but has no ${missing.join(' and no ')}: ${missing.includes('readinessProbe') ? 'it gets requests before it is ready' : 'a hung process is never restarted'}`,
          hint: `add ${missing.join(' and ')} (e.g. httpGet on a health endpoint of the serving port)`,
        });
    }
    const resources = isRecord(container['resources']) ? container['resources'] : {};
    const missingResources = [
      ['requests', 'cpu'],
      ['requests', 'memory'],
      ['limits', 'memory'],
    ].filter(([group, key]) => dig(resources, [group, key]) === undefined);
    if (missingResources.length > 0)
      add({
        check: 'resources-missing',
        path: [...path, isRecord(container['resources']) ? 'resources' : 'name'],
        message: `container ${name} has no ${missingResources.map((r) => r.join('.')).join(', ')}: the scheduler cannot place it by its needs${missingResources.some((r) => r[0] === 'limits') ? ' and it may use all the memory of its node' : ''}`,
        hint: 'set resources.requests.cpu, resources.requests.memory and resources.limits.memory',
      });
    const runAsUser = security['runAsUser'] ?? podSecurity['runAsUser'];
    const nonRoot = security['runAsNonRoot'] ?? podSecurity['runAsNonRoot'];
    if (runAsUser === 0) {
      add({
        check: 'run-as-root',
        path:
          security['runAsUser'] === 0
            ? [...path, 'securityContext', 'runAsUser']
            : [...podSpec, 'securityContext', 'runAsUser'],
        message: `container ${name} runs as root (runAsUser: 0): a breakout from it starts as root on the node`,
        hint: 'run as an unprivileged user (runAsUser > 0, runAsNonRoot: true)',
      });
    } else if (nonRoot !== true && !(typeof runAsUser === 'number' && runAsUser > 0)) {
      add({
        check: 'run-as-root',
        path: nonRoot === false ? [...path, 'securityContext', 'runAsNonRoot'] : [...path, 'name'],
        message: `container ${name} may run as root: nothing sets runAsNonRoot: true or a non-zero runAsUser`,
        hint: 'set securityContext.runAsNonRoot: true (pod or container) and make the image run as a non-root user',
      });
    }
    if (security['privileged'] === true)
      add({
        check: 'privileged',
        path: [...path, 'securityContext', 'privileged'],
        message: `container ${name} is privileged: it has every device and capability of the node`,
        hint: 'remove privileged: true; add only the capabilities it needs',
      });
    if (security['allowPrivilegeEscalation'] !== false)
      add({
        check: 'privilege-escalation',
        path:
          security['allowPrivilegeEscalation'] === true
            ? [...path, 'securityContext', 'allowPrivilegeEscalation']
            : [...path, 'name'],
        message: `container ${name} allows privilege escalation: a setuid binary in it can gain more privileges than the process started with`,
        hint: 'set securityContext.allowPrivilegeEscalation: false',
      });
    const added = (
      Array.isArray(dig(security, ['capabilities', 'add']))
        ? (dig(security, ['capabilities', 'add']) as unknown[])
        : []
    ).map(String);
    if (added.length > 0)
      add({
        check: 'capabilities-added',
        path: [...path, 'securityContext', 'capabilities', 'add'],
        message: `container ${name} adds capabilities ${added.join(', ')}: each widens what a compromised process can do on the node`,
        hint: 'drop the added capabilities (and drop ALL) unless the program needs one; then ignore the check for this object with the reason',
      });
    const image = str(container['image']);
    const policy = str(container['imagePullPolicy']);
    if (image !== undefined) {
      const tag = imageTag(image);
      const mutable = tag === undefined || tag === 'latest';
      if (mutable)
        add({
          check: 'image-tag-mutable',
          path: [...path, 'image'],
          message: `container ${name} uses ${image}, ${tag === undefined ? 'without a tag' : 'tagged latest'}: what runs changes without a deploy, and a rollback cannot bring the old image back`,
          hint: 'pin the image by a version tag or a digest (image@sha256:...)',
        });
      if (policy === 'Never' || (mutable && policy === 'IfNotPresent'))
        add({
          check: 'image-pull-policy',
          path: [...path, 'imagePullPolicy'],
          message:
            policy === 'Never'
              ? `container ${name} has imagePullPolicy: Never: it starts only on nodes that already hold ${image}`
              : `container ${name} pulls ${image} IfNotPresent: each node keeps running whichever image it pulled first under that tag`,
          hint:
            policy === 'Never'
              ? 'remove imagePullPolicy (or set IfNotPresent with a pinned tag)'
              : 'pin the tag, or set imagePullPolicy: Always',
        });
    }
    const seen = new Set<string>();
    (Array.isArray(container['env']) ? (container['env'] as unknown[]) : []).forEach((entry, index) => {
      const envName = str(dig(entry, ['name']));
      if (envName === undefined) return;
      if (seen.has(envName))
        add({
          check: 'env-duplicate',
          path: [...path, 'env', String(index), 'name'],
          message: `container ${name} defines ${envName} twice: only the last value counts, and server-side apply may refuse the list`,
          hint: `keep one ${envName} entry`,
        });
      seen.add(envName);
    });
  }
  return out;
}

export function checkCronJob(workload: Workload): RawFinding[] {
  const spec = dig(workload.object, ['spec']) as Json | undefined;
  if (workload.object.kind !== 'CronJob' || spec?.['startingDeadlineSeconds'] !== undefined) return [];
  return [
    {
      check: 'cronjob-deadline',
      target: workload.rendered,
      path: ['spec', 'schedule'],
      message: `CronJob ${workload.object.metadata.name ?? ''} has no startingDeadlineSeconds: after 100 missed schedules (a controller outage) it stops starting jobs for good`,
      hint: 'set spec.startingDeadlineSeconds (e.g. 300)',
    },
  ];
}
