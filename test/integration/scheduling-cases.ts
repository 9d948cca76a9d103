// The differential test's random cases: a small cluster, running pods and identical pods to place.
import fc from 'fast-check';
import type { KubeObject } from '../../src/shared/index.js';

export const CASE_LABEL = 'capstan.test/case';
const ZONE = 'topology.kubernetes.io/zone';

const taintArb = fc.record({
  key: fc.constantFrom('dedicated', 'gpu'),
  value: fc.constantFrom('x', 'y'),
  effect: fc.constantFrom('NoSchedule', 'NoExecute', 'PreferNoSchedule'),
});

export const caseArb = fc.record({
  nodes: fc.array(
    fc.record({
      cpu: fc.constantFrom('1', '2', '4', '1500m'),
      memory: fc.constantFrom('1Gi', '2Gi', '4Gi'),
      pods: fc.constantFrom('2', '4', '110', '110'),
      zone: fc.constantFrom('dz-a', 'dz-b', 'dz-c', undefined),
      disk: fc.constantFrom('ssd', 'hdd'),
      taint: fc.option(taintArb, { freq: 3, nil: undefined }),
      cordon: fc.integer({ min: 0, max: 9 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  running: fc.array(
    fc.record({
      node: fc.nat(),
      cpu: fc.constantFrom(undefined, '250m', '500m', '1'),
      memory: fc.constantFrom(undefined, '256Mi', '1Gi'),
      app: fc.constantFrom('db', 'cache'),
      hostPort: fc.option(fc.constant(8080), { freq: 4, nil: undefined }),
      antiAffinity: fc.option(fc.constantFrom('kubernetes.io/hostname', ZONE), { freq: 4, nil: undefined }),
    }),
    { maxLength: 6 },
  ),
  workload: fc.record({
    replicas: fc.integer({ min: 1, max: 6 }),
    cpu: fc.constantFrom(undefined, '100m', '500m', '1', '1500m', '3'),
    memory: fc.constantFrom(undefined, '128Mi', '512Mi', '1536Mi', '3Gi'),
    initCpu: fc.option(fc.constantFrom('2', '4'), { freq: 5, nil: undefined }),
    nodeSelector: fc.option(fc.constantFrom('ssd', 'hdd'), { freq: 3, nil: undefined }),
    tolerate: fc.option(fc.constantFrom('dedicated', 'gpu', '*'), { freq: 3, nil: undefined }),
    spread: fc.option(
      fc.record({
        key: fc.constantFrom('kubernetes.io/hostname', ZONE),
        maxSkew: fc.constantFrom(1, 2),
        when: fc.constantFrom('DoNotSchedule', 'DoNotSchedule', 'ScheduleAnyway'),
        minDomains: fc.option(fc.constantFrom(2, 3, 4), { freq: 3, nil: undefined }),
      }),
      { freq: 2, nil: undefined },
    ),
    antiSelf: fc.option(fc.constantFrom('kubernetes.io/hostname', ZONE), { freq: 4, nil: undefined }),
    affinityTo: fc.option(fc.constantFrom('db', 'cache'), { freq: 5, nil: undefined }),
    hostPort: fc.option(fc.constant(8080), { freq: 5, nil: undefined }),
  }),
});

export type DifferentialCase = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const resources = (cpu?: string, memory?: string) => ({
  requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) },
});

/** The case's objects: nodes, running pods (bound by nodeName) and the pods to schedule, in order. */
export function caseObjects(c: DifferentialCase, id: string, namespace: string) {
  const nodes: KubeObject[] = c.nodes.map((n, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `${id}-${i}`,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': `${id}-${i}`,
        type: 'kwok',
        disk: n.disk,
        [CASE_LABEL]: id,
        ...(n.zone ? { [ZONE]: n.zone } : {}),
      },
    },
    spec: {
      ...(n.taint ? { taints: [n.taint] } : {}),
      ...(n.cordon === 0 ? { unschedulable: true } : {}),
    },
    status: {
      allocatable: { cpu: n.cpu, memory: n.memory, pods: n.pods, 'ephemeral-storage': '10Gi' },
      capacity: { cpu: n.cpu, memory: n.memory, pods: n.pods, 'ephemeral-storage': '10Gi' },
    },
  }));
  const running: KubeObject[] = c.running.map((r, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `running-${i}`, namespace, labels: { app: r.app } },
    spec: {
      nodeName: `${id}-${r.node % c.nodes.length}`,
      tolerations: [{ operator: 'Exists' }],
      ...(r.antiAffinity
        ? {
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  { topologyKey: r.antiAffinity, labelSelector: { matchLabels: { app: 'web' } } },
                ],
              },
            },
          }
        : {}),
      containers: [
        {
          name: 'c',
          image: 'x',
          resources: resources(r.cpu, r.memory),
          ...(r.hostPort ? { ports: [{ containerPort: 80, hostPort: r.hostPort }] } : {}),
        },
      ],
    },
  }));
  const w = c.workload;
  const affinity: Record<string, unknown> = {};
  if (w.antiSelf)
    affinity.podAntiAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { topologyKey: w.antiSelf, labelSelector: { matchLabels: { app: 'web' } } },
      ],
    };
  if (w.affinityTo)
    affinity.podAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { topologyKey: ZONE, labelSelector: { matchLabels: { app: w.affinityTo } } },
      ],
    };
  const pods: KubeObject[] = Array.from({ length: w.replicas }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${i}`, namespace, labels: { app: 'web' } },
    spec: {
      nodeSelector: { [CASE_LABEL]: id, ...(w.nodeSelector ? { disk: w.nodeSelector } : {}) },
      ...(w.tolerate
        ? {
            tolerations: [
              w.tolerate === '*' ? { operator: 'Exists' } : { key: w.tolerate, operator: 'Exists' },
            ],
          }
        : {}),
      ...(Object.keys(affinity).length ? { affinity } : {}),
      ...(w.spread
        ? {
            topologySpreadConstraints: [
              {
                topologyKey: w.spread.key,
                maxSkew: w.spread.maxSkew,
                whenUnsatisfiable: w.spread.when,
                labelSelector: { matchLabels: { app: 'web' } },
                ...(w.spread.minDomains && w.spread.when === 'DoNotSchedule'
                  ? { minDomains: w.spread.minDomains }
                  : {}),
              },
            ],
          }
        : {}),
      ...(w.initCpu
        ? { initContainers: [{ name: 'init', image: 'x', resources: resources(w.initCpu) }] }
        : {}),
      containers: [
        {
          name: 'c',
          image: 'x',
          resources: resources(w.cpu, w.memory),
          ...(w.hostPort ? { ports: [{ containerPort: 80, hostPort: w.hostPort }] } : {}),
        },
      ],
    },
  }));
  return { nodes, running, pods };
}
