import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  planPreflight,
  scaledValue,
  schedulingProblems,
  type ClusterSnapshot,
} from '../../../src/audit/scheduling/index.js';
import { podRequests } from '../../../src/audit/scheduling/pod-info.js';
import { podForPlacement } from '../../../src/audit/scheduling/read-snapshot.js';
import type { KubeObject } from '../../../src/shared/index.js';

const NS = 'shop';

function node(
  name: string,
  o: {
    cpu?: string;
    memory?: string;
    pods?: string;
    labels?: Record<string, string>;
    taints?: unknown[];
    unschedulable?: boolean;
  } = {},
): KubeObject {
  const alloc = {
    cpu: o.cpu ?? '8',
    memory: o.memory ?? '32Gi',
    pods: o.pods ?? '110',
    'ephemeral-storage': '100Gi',
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: alloc, capacity: alloc },
  };
}

function pod(
  name: string,
  nodeName: string,
  o: {
    cpu?: string;
    labels?: Record<string, string>;
    owner?: { kind: string; name: string };
    namespace?: string;
    spec?: Record<string, unknown>;
  } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? NS,
      labels: o.labels ?? {},
      ...(o.owner
        ? { ownerReferences: [{ ...o.owner, controller: true, apiVersion: 'apps/v1', uid: 'u' }] }
        : {}),
    },
    spec: {
      nodeName,
      containers: [{ name: 'c', image: 'x', resources: { requests: o.cpu ? { cpu: o.cpu } : {} } }],
      ...o.spec,
    },
  };
}

function deployment(
  name: string,
  o: {
    replicas?: number;
    cpu?: string;
    strategy?: unknown;
    spec?: Record<string, unknown>;
    container?: Record<string, unknown>;
  } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'c', image: 'x', resources: { requests: o.cpu ? { cpu: o.cpu } : {} }, ...o.container },
          ],
          ...o.spec,
        },
      },
    },
  };
}

function snapshot(o: Partial<ClusterSnapshot>): ClusterSnapshot {
  return { nodes: [], pods: [], resourceQuotas: [], limitRanges: [], workloads: [], replicaSets: [], ...o };
}

const SIX = Array.from({ length: 6 }, (_, i) => node(`n${i}`));
const suffix = (n: number, helpful = 0) =>
  ` no new claims to deallocate, preemption: 0/${n} nodes are available: ${[helpful ? `${helpful} No preemption victims found for incoming pod` : '', n - helpful ? `${n - helpful} Preemption is not helpful for scheduling` : ''].filter(Boolean).sort().join(', ')}.`;

describe("scheduling preflight: the scheduler's verdict", () => {
  it('fits when every pod finds a node', () => {
    const [v] = planPreflight([deployment('web', { replicas: 6, cpu: '7' })], snapshot({ nodes: SIX }));
    assert.equal(v.fits, true);
  });

  it("says why no node fits, in the scheduler's words and sort order", () => {
    const nodes = [
      ...Array.from({ length: 10 }, (_, i) => node(`a${i}`, { cpu: '1' })),
      node('t', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
      node('t2', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }),
      node('u', { unschedulable: true }),
    ];
    const [v] = planPreflight([deployment('web', { cpu: '2' })], snapshot({ nodes }));
    assert.equal(v.fits, false);
    // "10 ..." sorts before "2 ...", as Go's sort.Strings does.
    assert.equal(
      v.reason,
      '0/13 nodes are available: 1 node(s) were unschedulable, 10 Insufficient cpu, 2 node(s) had untolerated taint(s).' +
        suffix(13),
    );
    assert.match(v.message!, /^Deployment\/web: 1 of 1 pod would not schedule: 0\/13 nodes/);
    assert.match(v.message!, /Free: 1 cpu per node; each pod requests 2\.$/);
  });

  it('counts too many pods and several short resources on one node', () => {
    const nodes = [node('n0', { cpu: '1', memory: '1Gi', pods: '1' })];
    const pods = [pod('p', 'n0', { cpu: '500m' })];
    const w = deployment('web', { container: { resources: { requests: { cpu: '1', memory: '2Gi' } } } });
    const [v] = planPreflight([w], snapshot({ nodes, pods }));
    assert.equal(
      v.reason,
      '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods.' + suffix(1),
    );
  });

  // Regressions (differential seeds 20261201 and 1, 75 cases, all in the preemption part): a node
  // short of a resource the pod asks for more of than the node's whole allocatable is
  // UnschedulableAndUnresolvable ("Preemption is not helpful"); a node merely full, or with a host
  // port taken, is searched for victims and none of equal priority is found, pods or not.
  it('tells nodes no eviction could help from full ones in the preemption message', () => {
    const nodes = [node('small', { cpu: '1500m' }), node('full', { cpu: '4' }), node('empty', { cpu: '1' })];
    const pods = [pod('p', 'full', { cpu: '1', namespace: 'other' })];
    const [v] = planPreflight(
      [
        deployment('web', {
          cpu: '3',
          spec: { initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '4' } } }] },
        }),
      ],
      snapshot({ nodes, pods }),
    );
    assert.equal(v.reason, '0/3 nodes are available: 3 Insufficient cpu.' + suffix(3, 1));
    const [w] = planPreflight(
      [deployment('web', { cpu: '1' })],
      snapshot({
        nodes: [node('a', { cpu: '2' })],
        pods: [pod('p', 'a', { cpu: '1500m', namespace: 'other' })],
      }),
    );
    assert.equal(w.reason, '0/1 nodes are available: 1 Insufficient cpu.' + suffix(1, 1));
  });

  it('searches nodes with a taken host port for victims', () => {
    const nodes = [node('n0', { cpu: '1' }), node('n1', { cpu: '1' }), node('n2', { cpu: '1500m' })];
    const pods = [
      pod('p', 'n1', {
        cpu: '1',
        namespace: 'other',
        spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 1, hostPort: 8080 }] }] },
      }),
    ];
    const w = deployment('web', { cpu: '4', container: { ports: [{ containerPort: 80, hostPort: 8080 }] } });
    const [v] = planPreflight([w], snapshot({ nodes, pods }));
    assert.equal(
      v.reason,
      "0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 2 Insufficient cpu." +
        suffix(3, 1),
    );
  });

  it('matches nodeSelector and required node affinity', () => {
    const nodes = [node('n0', { labels: { disk: 'ssd' } }), node('n1', { labels: { disk: 'hdd' } })];
    const w = deployment('web', {
      replicas: 1,
      spec: {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['nvme'] }] }],
            },
          },
        },
      },
    });
    const [v] = planPreflight([w], snapshot({ nodes }));
    assert.equal(
      v.reason,
      "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector." + suffix(2),
    );
  });

  it('takes the larger of the containers and an init container, sidecars added', () => {
    const r = podRequests(
      {
        containers: [{ resources: { requests: { cpu: '1' } } }],
        initContainers: [
          { resources: { requests: { cpu: '500m' } }, restartPolicy: 'Always' },
          { resources: { requests: { cpu: '3' } } },
        ],
        overhead: { cpu: '100m' },
      },
      (c) => (c.resources as { requests: Record<string, unknown> }).requests,
    );
    assert.equal(r.milliCpu, 3600);
  });

  it('places pods with host ports on different nodes', () => {
    const w = deployment('web', { replicas: 3, container: { ports: [{ containerPort: 80, hostPort: 80 }] } });
    const [v] = planPreflight([w], snapshot({ nodes: [node('n0'), node('n1')] }));
    assert.equal(v.unschedulable, 1);
    assert.equal(
      v.reason,
      "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports." + suffix(2, 2),
    );
  });

  it('honours required anti-affinity and topology spread with minDomains', () => {
    const zones = ['a', 'a', 'b'].map((z, i) =>
      node(`n${i}`, { labels: { 'topology.kubernetes.io/zone': z } }),
    );
    const anti = deployment('web', {
      replicas: 3,
      spec: {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'web' } } },
            ],
          },
        },
      },
    });
    const [a] = planPreflight([anti], snapshot({ nodes: zones }));
    assert.equal(a.unschedulable, 1);
    assert.equal(
      a.reason,
      "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules." + suffix(3, 3),
    );
    const spread = deployment('web', {
      replicas: 2,
      spec: {
        topologySpreadConstraints: [
          {
            topologyKey: 'topology.kubernetes.io/zone',
            maxSkew: 1,
            minDomains: 3,
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app: 'web' } },
          },
        ],
      },
    });
    // Two zones < minDomains 3: the global minimum is 0, so each zone takes one pod at most.
    const [s] = planPreflight([spread], snapshot({ nodes: zones.slice(0, 1) }));
    assert.equal(s.unschedulable, 1);
    assert.equal(
      s.reason,
      "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints." + suffix(1, 1),
    );
  });
});

describe('scheduling preflight: rollouts', () => {
  const live = (replicas: number, cpu: string) => {
    const d = deployment('web', { replicas, cpu });
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-old', namespace: NS, ownerReferences: [{ kind: 'Deployment', name: 'web' }] },
    } as unknown as KubeObject;
    const pods = SIX.map((n, i) =>
      pod(`web-old-${i}`, n.metadata.name!, {
        cpu,
        labels: { app: 'web', 'pod-template-hash': 'old' },
        owner: { kind: 'ReplicaSet', name: 'web-old' },
      }),
    );
    return { d, rs, pods };
  };

  it('judges the same from pods trimmed for placement (no status, no managedFields) as from whole pods', () => {
    const { d, rs, pods } = live(6, '7500m');
    const whole = pods.map((p) => ({
      ...p,
      metadata: { ...p.metadata, managedFields: [{ manager: 'kubelet', operation: 'Update' }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], hostIP: '10.0.0.1' },
    })) as KubeObject[];
    const trimmed = whole.map(podForPlacement);
    assert.ok(trimmed.every((p) => !('status' in p) && !('managedFields' in p.metadata)));
    for (const cpu of ['7', '500m']) {
      const next = deployment('web', {
        replicas: 6,
        cpu,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } },
      });
      const judge = (list: KubeObject[]) =>
        planPreflight([next], snapshot({ nodes: SIX, pods: list, workloads: [d], replicaSets: [rs] }));
      assert.deepEqual(judge(trimmed), judge(whole));
    }
  });

  it("refuses surge pods that do not fit while the old pods run (the issue's case)", () => {
    const { d, rs, pods } = live(6, '7500m');
    const next = deployment('web', {
      replicas: 6,
      cpu: '7',
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } },
    });
    const [v] = planPreflight([next], snapshot({ nodes: SIX, pods, workloads: [d], replicaSets: [rs] }));
    assert.equal(v.fits, false);
    assert.equal(
      v.message,
      'Deployment/web: 2 surge pods of the rolling update would not schedule: 0/6 nodes are available: 6 Insufficient cpu.' +
        suffix(6, 6) +
        ' Free: 0.5 cpu per node; each pod requests 7.',
    );
    assert.equal(v.hint, 'Set maxUnavailable >= 1, or add capacity.');
    assert.deepEqual(schedulingProblems([v]), [
      {
        object: { kind: 'Deployment', name: 'web', namespace: NS },
        severity: 'error',
        message: v.message,
        hint: v.hint,
      },
    ]);
  });

  it('lets the rollout through when old pods make room (maxUnavailable) or go first (Recreate)', () => {
    const { d, rs, pods } = live(6, '7500m');
    for (const strategy of [
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } },
      { type: 'Recreate' },
    ]) {
      const next = deployment('web', { replicas: 6, cpu: '7', strategy });
      const [v] = planPreflight([next], snapshot({ nodes: SIX, pods, workloads: [d], replicaSets: [rs] }));
      assert.equal(v.fits, true, JSON.stringify(strategy));
    }
  });

  it('sees no rollout when the template is unchanged', () => {
    const { d, rs, pods } = live(6, '7500m');
    const [v] = planPreflight([d], snapshot({ nodes: SIX, pods, workloads: [d], replicaSets: [rs] }));
    assert.equal(v.fits, true);
  });

  it('rounds maxSurge up and maxUnavailable down, as the controller does', () => {
    assert.equal(scaledValue('25%', 10, true, '25%'), 3);
    assert.equal(scaledValue('25%', 10, false, '25%'), 2);
    assert.equal(scaledValue(undefined, 1, false, '25%'), 0);
    assert.equal(scaledValue(2, 10, true, '25%'), 2);
  });

  it("replaces StatefulSet pods one at a time, each in its old pod's room", () => {
    const sts = (cpu: string) =>
      ({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: NS },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu } } }] },
          },
        },
      }) as unknown as KubeObject;
    const nodes = [node('n0', { cpu: '4' }), node('n1', { cpu: '4' })];
    const pods = [0, 1].map((i) =>
      pod(`db-${i}`, `n${i}`, {
        cpu: '3',
        labels: { app: 'db' },
        owner: { kind: 'StatefulSet', name: 'db' },
      }),
    );
    assert.equal(planPreflight([sts('4')], snapshot({ nodes, pods, workloads: [sts('3')] }))[0].fits, true);
    const [v] = planPreflight([sts('5')], snapshot({ nodes, pods, workloads: [sts('3')] }));
    assert.equal(v.fits, false);
    assert.match(
      v.message!,
      /^StatefulSet\/db: 2 of 2 pods would not schedule: 0\/2 nodes are available: 2 Insufficient cpu\./,
    );
  });

  it('checks a DaemonSet pod on each node it must run on', () => {
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '1' } } }] },
        },
      },
    } as unknown as KubeObject;
    const nodes = [
      node('n0', { cpu: '1' }),
      node('n1'),
      node('n2', { taints: [{ key: 'k', effect: 'NoSchedule' }] }),
    ];
    const [v] = planPreflight(
      [ds],
      snapshot({ nodes, pods: [pod('x', 'n0', { cpu: '500m', namespace: 'other' })] }),
    );
    assert.equal(v.unschedulable, 1);
    assert.equal(
      v.reason,
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]." +
        suffix(3, 1),
    );
  });
});

describe('scheduling preflight: quota and LimitRange', () => {
  it('applies LimitRange default requests to containers without them', () => {
    const limitRanges = [
      {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'lr', namespace: NS },
        spec: { limits: [{ type: 'Container', defaultRequest: { cpu: '3' }, default: { cpu: '3' } }] },
      },
    ] as unknown as KubeObject[];
    const [v] = planPreflight(
      [deployment('web', { replicas: 3 })],
      snapshot({ nodes: [node('n0', { cpu: '8' })], limitRanges }),
    );
    assert.equal(v.unschedulable, 1);
    assert.match(v.reason!, /1 Insufficient cpu/);
  });

  it('admits pods without requests into a compute quota when a LimitRange gives them defaults', () => {
    // The LimitRanger writes the defaults into the pod before the quota admission looks at it (a
    // preview namespace: quota plus LimitRange, containers naming no resources).
    const limitRanges = [
      {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'lr', namespace: NS },
        spec: {
          limits: [
            {
              type: 'Container',
              defaultRequest: { cpu: '50m', memory: '64Mi' },
              default: { cpu: '500m', memory: '256Mi' },
            },
          ],
        },
      },
    ] as unknown as KubeObject[];
    const hard = { 'requests.cpu': '2', 'limits.memory': '2Gi' };
    const resourceQuotas = [
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'preview', namespace: NS },
        spec: { hard },
        status: { hard, used: { 'requests.cpu': '0', 'limits.memory': '0' } },
      },
    ] as unknown as KubeObject[];
    const web = deployment('web', { replicas: 2, container: { resources: {} } });
    const [admitted] = planPreflight([web], snapshot({ nodes: SIX, resourceQuotas, limitRanges }));
    assert.equal(admitted.unschedulable, 0, admitted.reason);
    // Without the LimitRange the quota admission refuses them, as the API server would.
    const [refused] = planPreflight([web], snapshot({ nodes: SIX, resourceQuotas }));
    assert.equal(
      refused.reason,
      'failed quota: preview: must specify limits.memory for: c; requests.cpu for: c',
    );
  });

  it("refuses pods over the namespace quota in the API server's words", () => {
    const resourceQuotas = [
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'compute', namespace: NS },
        spec: { hard: { 'requests.cpu': '4', pods: '10' } },
        status: { hard: { 'requests.cpu': '4', pods: '10' }, used: { 'requests.cpu': '3500m', pods: '1' } },
      },
    ] as unknown as KubeObject[];
    const [v] = planPreflight(
      [deployment('web', { replicas: 2, cpu: '500m' })],
      snapshot({ nodes: SIX, resourceQuotas }),
    );
    assert.equal(v.unschedulable, 1);
    assert.equal(
      v.reason,
      'exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=4, limited: requests.cpu=4',
    );
  });
});
