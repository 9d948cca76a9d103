import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditObjects, CHECK_IDS, type CheckId, type ClusterSnapshot } from '../../../src/audit/index.js';
import { planPreflight, schedulingProblems } from '../../../src/audit/scheduling/index.js';
import { deployment, PROBES, renderedYaml, service } from './fixtures.js';

const ZONES = (n: number): ClusterSnapshot['nodes'] =>
  Array.from({ length: n * 2 }, (_, i) => ({
    name: `node-${i}`,
    labels: { 'topology.kubernetes.io/zone': `zone-${i % n}` },
  }));

function snapshot(parts: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    namespace: 'shop',
    nodes: ZONES(3),
    storageClasses: [{ name: 'standard', isDefault: true, volumeBindingMode: 'WaitForFirstConsumer' }],
    live: {
      configMaps: [],
      secrets: [],
      persistentVolumeClaims: [],
      serviceAccounts: ['default'],
      services: [],
      podLabels: [],
    },
    ...parts,
  };
}

function checksOf(yaml: string, snap: ClusterSnapshot | undefined = snapshot()): CheckId[] {
  const { findings } = auditObjects(renderedYaml(yaml), {
    namespace: 'shop',
    ...(snap ? { snapshot: snap } : {}),
  });
  return findings.map((f) => f.check);
}

const PDB = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web }
spec: { maxUnavailable: 1, selector: { matchLabels: { app: web } } }
`;
const SPREAD = `      topologySpreadConstraints:
        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { app: web } } }
`;
const HARD_SPREAD = (extra: string) => `      topologySpreadConstraints:
        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: web } }${extra} }
`;
const replicated = (o: Parameters<typeof deployment>[0] = {}) =>
  [deployment({ replicas: 3, pod: SPREAD, ...o }), PDB].join('---\n');

/** For each check: a fixture on which it fires, and the fixed version on which it stays quiet. */
/** `scheduling` comes from the preflight (its own tests, and one below), not from a fixture alone. */
const CASES: Record<
  Exclude<CheckId, 'scheduling'>,
  { bad: string; good: string; snapshot?: ClusterSnapshot }
> = {
  'probes-missing': {
    bad: deployment({ container: '          ports: [{ containerPort: 8080 }]\n' }),
    good: deployment({ container: '          ports: [{ containerPort: 8080 }]\n' + PROBES }),
  },
  'resources-missing': {
    bad: deployment().replace(/ {10}resources: .*\n/, ''),
    good: deployment(),
  },
  'run-as-root': {
    bad: deployment({
      container: '          securityContext: { runAsUser: 0, allowPrivilegeEscalation: false }\n',
    }).replace(/\n {10}securityContext: \{ allowPrivilegeEscalation: false \}/, ''),
    good: deployment(),
  },
  privileged: {
    bad: deployment().replace(
      '{ allowPrivilegeEscalation: false }',
      '{ allowPrivilegeEscalation: false, privileged: true }',
    ),
    good: deployment(),
  },
  'privilege-escalation': {
    bad: deployment().replace('{ allowPrivilegeEscalation: false }', '{ }'),
    good: deployment(),
  },
  'host-path': {
    bad: deployment({ pod: '      volumes: [{ name: logs, hostPath: { path: /var/log } }]\n' }),
    good: deployment({ pod: '      volumes: [{ name: logs, emptyDir: {} }]\n' }),
  },
  'host-network': {
    bad: deployment({ pod: '      hostNetwork: true\n' }),
    good: deployment({ pod: '      hostNetwork: false\n' }),
  },
  'host-pid-ipc': {
    bad: deployment({ pod: '      hostPID: true\n' }),
    good: deployment(),
  },
  'capabilities-added': {
    bad: deployment().replace(
      '{ allowPrivilegeEscalation: false }',
      '{ allowPrivilegeEscalation: false, capabilities: { add: [NET_ADMIN] } }',
    ),
    good: deployment().replace(
      '{ allowPrivilegeEscalation: false }',
      '{ allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }',
    ),
  },
  'image-tag-mutable': {
    bad: deployment({ image: 'registry.example/web:latest' }),
    good: deployment({ image: 'registry.example:5000/web@sha256:0123456789abcdef' }),
  },
  'image-pull-policy': {
    bad: deployment({ container: '          imagePullPolicy: Never\n' }),
    good: deployment({ container: '          imagePullPolicy: IfNotPresent\n' }),
  },
  'single-replica': {
    bad: [deployment({ container: PROBES }), service()].join('---\n'),
    good: [deployment({ container: PROBES, replicas: 2, pod: SPREAD }), service(), PDB].join('---\n'),
  },
  'pdb-missing': {
    bad: deployment({ replicas: 3, pod: SPREAD }),
    good: replicated(),
  },
  'zone-spread': {
    bad: deployment({ replicas: 3 }) + '---\n' + PDB,
    good: replicated(),
  },
  'pvc-zone-binding': {
    bad: [
      replicated({
        pod: SPREAD + '      volumes: [{ name: data, persistentVolumeClaim: { claimName: data } }]\n',
      }),
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: { name: data }\nspec: { storageClassName: fast, accessModes: [ReadWriteOnce] }\n',
    ].join('---\n'),
    good: [
      replicated({
        pod: SPREAD + '      volumes: [{ name: data, persistentVolumeClaim: { claimName: data } }]\n',
      }),
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: { name: data }\nspec: { accessModes: [ReadWriteOnce] }\n',
    ].join('---\n'),
    snapshot: snapshot({
      storageClasses: [
        { name: 'standard', isDefault: true, volumeBindingMode: 'WaitForFirstConsumer' },
        { name: 'fast', isDefault: false },
      ],
    }),
  },
  'scrape-annotations': {
    bad: deployment({
      annotations: '{ prometheus.io/scrape: "true", prometheus.io/port: "9090" }',
      container: '          ports: [{ name: metrics, containerPort: 9102 }]\n' + PROBES,
    }),
    good: deployment({
      annotations: '{ prometheus.io/scrape: "true", prometheus.io/port: "9102" }',
      container: '          ports: [{ name: metrics, containerPort: 9102 }]\n' + PROBES,
    }),
  },
  'service-selects-nothing': {
    bad: service('api', '{ app: api }'),
    good: service('api', '{ app: api }'),
    snapshot: undefined,
  },
  'ingress-backend-missing': {
    bad: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules: [{ http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { name: https } } } }] } }]
---
${service()}`,
    good: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules: [{ http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { name: http } } } }] } }]
---
${service()}`,
    snapshot: snapshot({ live: { ...snapshot().live!, podLabels: [{ app: 'web' }] } }),
  },
  'reference-missing': {
    bad: deployment({ container: '          envFrom: [{ configMapRef: { name: web-config } }]\n' }),
    good: deployment({
      container: '          envFrom: [{ configMapRef: { name: web-config, optional: true } }]\n',
    }),
  },
  'env-duplicate': {
    bad: deployment({ container: '          env: [{ name: A, value: "1" }, { name: A, value: "2" }]\n' }),
    good: deployment({ container: '          env: [{ name: A, value: "1" }, { name: B, value: "2" }]\n' }),
  },
  'cronjob-deadline': {
    bad: `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  schedule: "0 3 * * *"
  jobTemplate: { spec: { template: { spec: { restartPolicy: Never, securityContext: { runAsNonRoot: true }, containers: [{ name: c, image: "r/c:1", securityContext: { allowPrivilegeEscalation: false }, resources: { requests: { cpu: 1m, memory: 1Mi }, limits: { memory: 1Mi } } }] } } } }
`,
    good: `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  schedule: "0 3 * * *"
  startingDeadlineSeconds: 300
  jobTemplate: { spec: { template: { spec: { restartPolicy: Never, securityContext: { runAsNonRoot: true }, containers: [{ name: c, image: "r/c:1", securityContext: { allowPrivilegeEscalation: false }, resources: { requests: { cpu: 1m, memory: 1Mi }, limits: { memory: 1Mi } } }] } } } }
`,
  },
};

describe('every check fires on a small fixture and stays quiet once it is fixed', () => {
  for (const id of CHECK_IDS) {
    if (id === 'scheduling') continue;
    it(id, () => {
      const { bad, good } = CASES[id];
      const snap = 'snapshot' in CASES[id] ? CASES[id].snapshot : snapshot();
      // service-selects-nothing: the fixed version is the same Service with a live pod to select.
      const goodSnap =
        id === 'service-selects-nothing'
          ? snapshot({ live: { ...snapshot().live!, podLabels: [{ app: 'api' }] } })
          : snap;
      const badSnap = id === 'service-selects-nothing' ? snapshot() : snap;
      assert.deepEqual(checksOf(bad, badSnap), [id], 'fires alone on the bad fixture');
      assert.deepEqual(checksOf(good, goodSnap), [], 'quiet on the fixed one');
    });
  }
});

describe('severities and the certainly broken', () => {
  const findingsOf = (yaml: string, snap?: ClusterSnapshot) =>
    auditObjects(renderedYaml(yaml), { namespace: 'shop', ...(snap ? { snapshot: snap } : {}) }).findings;

  it('the runtime socket is an error that blocks a deploy; another host path is a warning', () => {
    const [socket] = findingsOf(
      deployment({ pod: '      volumes: [{ name: s, hostPath: { path: /var/run/docker.sock } }]\n' }),
    );
    assert.equal(socket.severity, 'error');
    assert.equal(socket.blocking, true);
    assert.equal(socket.line, 14);
    const [logs] = findingsOf(
      deployment({ pod: '      volumes: [{ name: s, hostPath: { path: /var/log } }]\n' }),
    );
    assert.equal(logs.severity, 'warning');
    assert.equal(logs.blocking, undefined);
  });

  it('more zones asked for than the nodes carry is an error; without the nodes it is skipped', () => {
    const yaml = replicated({ replicas: 5, pod: HARD_SPREAD(', minDomains: 4') });
    const [impossible] = findingsOf(yaml, snapshot({ nodes: ZONES(2) }));
    assert.equal(impossible.check, 'zone-spread');
    assert.equal(impossible.severity, 'error');
    assert.equal(impossible.blocking, true);
    assert.match(
      impossible.message,
      /minDomains: 4 .* \(2: zone-0, zone-1\).* 3 of 5 pods can never be placed/,
    );
    assert.deepEqual(findingsOf(yaml, snapshot({ nodes: ZONES(4) })), []);
    const offline = auditObjects(renderedYaml(yaml), { namespace: 'shop' });
    assert.deepEqual(offline.findings, []);
    assert.deepEqual(
      offline.skipped.map((s) => s.check),
      ['zone-spread'],
    );
    const noZones = findingsOf(
      deployment({ replicas: 2, pod: HARD_SPREAD('') }) + '---\n' + PDB,
      snapshot({ nodes: [{ name: 'n', labels: {} }] }),
    );
    assert.match(noZones[0].message, /no node carries topology.kubernetes.io\/zone/);
    const anti = `      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - { topologyKey: topology.kubernetes.io/zone, labelSelector: { matchLabels: { app: web } } }
`;
    const [antiFinding] = findingsOf(replicated({ replicas: 4, pod: anti }), snapshot({ nodes: ZONES(3) }));
    assert.match(antiFinding.message, /1 of 4 pods can never be placed/);
  });

  it('a missing reference blocks with the cluster read, and is skipped without it', () => {
    const yaml = deployment({
      container: '          env: [{ name: P, valueFrom: { secretKeyRef: { name: db, key: p } } }]\n',
      pod: '      serviceAccountName: builder\n',
    });
    const found = findingsOf(yaml, snapshot());
    assert.deepEqual(
      found.map((f) => [f.check, f.blocking, f.line]),
      [
        ['reference-missing', true, 14],
        ['reference-missing', true, 20],
      ],
    );
    assert.deepEqual(
      findingsOf(
        yaml,
        snapshot({ live: { ...snapshot().live!, secrets: ['db'], serviceAccounts: ['builder'] } }),
      ),
      [],
    );
    const offline = auditObjects(renderedYaml(yaml), {
      namespace: 'shop',
      snapshot: { namespace: 'shop', unavailable: { live: 'not allowed to list pods' } },
    });
    assert.deepEqual(offline.findings, []);
    assert.deepEqual(offline.skipped, [
      {
        check: 'reference-missing',
        reason: 'not allowed to list pods: references to objects that are not rendered were not looked up',
      },
    ]);
  });
});

describe('the scheduling preflight in the audit', () => {
  const alloc = { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  const nodes = ['n1', 'n2'].map((name) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: { allocatable: alloc, capacity: alloc },
  }));
  const cluster = { nodes, pods: [], resourceQuotas: [], limitRanges: [], workloads: [], replicaSets: [] };
  const problemsOf = (yaml: string) =>
    schedulingProblems(
      planPreflight(
        renderedYaml(yaml).map((r) => r.object),
        cluster,
      ),
    );

  it('a workload that finds no node is a `scheduling` error at its source line; one that fits is quiet', () => {
    const big = deployment().replace(/cpu: [^,}]+/, 'cpu: "7"');
    const rendered = renderedYaml(big);
    const findings = auditObjects(rendered, {
      namespace: 'shop',
      scheduling: problemsOf(big),
    }).findings.filter((f) => f.check === 'scheduling');
    assert.equal(findings.length, 1);
    assert.equal(findings[0].severity, 'error');
    assert.match(findings[0].message, /0\/2 nodes are available: 2 Insufficient cpu/);
    assert.ok(findings[0].line >= 1);
    const fits = auditObjects(renderedYaml(deployment()), {
      namespace: 'shop',
      scheduling: problemsOf(deployment()),
    }).findings;
    assert.deepEqual(
      fits.filter((f) => f.check === 'scheduling'),
      [],
    );
  });

  it('says when the preflight was skipped, and the config can turn it off', () => {
    const skipped = auditObjects(renderedYaml(deployment()), {
      namespace: 'shop',
      schedulingSkipped: 'not allowed to list nodes',
    }).skipped;
    assert.deepEqual(
      skipped.filter((s) => s.check === 'scheduling'),
      [{ check: 'scheduling', reason: 'not allowed to list nodes' }],
    );
    const big = deployment().replace(/cpu: [^,}]+/, 'cpu: "7"');
    const off = auditObjects(renderedYaml(big), {
      namespace: 'shop',
      scheduling: problemsOf(big),
      config: { checks: { scheduling: 'off' }, ignore: [] },
    }).findings;
    assert.deepEqual(
      off.filter((f) => f.check === 'scheduling'),
      [],
    );
  });
});
