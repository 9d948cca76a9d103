// `capstan audit` (the CLI path, so whatever audit runs is in it) of 1,000 rendered workloads
// against a 500-node kwok cluster, beside kube-score (built from its Go module) scoring the same
// rendered YAML (static checks only). Both run as separate processes, interleaved; time and peak
// RSS (GNU time) are printed with the ratio.
//   CAPSTAN_TEST_CLUSTER="$(tail -1 /tmp/<name>-cluster.json)" node --import tsx bench/audit.bench.ts
// Without CAPSTAN_TEST_CLUSTER it starts (and stops) a cluster named audit-bench. Env: RUNS=3,
// WORKLOADS=1000, NODES=500, KUBE_SCORE_VERSION=v1.20.0.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectl, startCluster, stopCluster, type ClusterInfo } from '../test/cluster/cluster.js';
import { prepareCapstanCli } from './capstan-cli.js';
import { compare, timeCommand } from './harness.js';

const runs = Number(process.env.RUNS ?? 3);
const workloads = Number(process.env.WORKLOADS ?? 1000);
const nodeTarget = Number(process.env.NODES ?? 500);
const kubeScoreVersion = process.env.KUBE_SCORE_VERSION ?? 'v1.20.0';
const root = fileURLToPath(new URL('..', import.meta.url));
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const NODE_LABEL = 'capstan.bench/audit';

function log(line: string): void {
  console.log(line);
}

/** kwok nodes (kwok keeps them Ready), labelled so they can be deleted afterwards. */
function benchNodes(count: number): string {
  return Array.from(
    { length: count },
    (_, i) => `apiVersion: v1
kind: Node
metadata:
  name: audit-bench-${i}
  annotations: { kwok.x-k8s.io/node: fake }
  labels: { ${NODE_LABEL}: "true", kubernetes.io/hostname: audit-bench-${i}, type: kwok, topology.kubernetes.io/zone: ${ZONES[i % ZONES.length]} }
status:
  allocatable: { cpu: "16", memory: 64Gi, pods: "110" }
  capacity: { cpu: "16", memory: 64Gi, pods: "110" }
`,
  ).join('---\n');
}

/** One workload as teams write them: a Deployment, its Service and ConfigMap; every fifth one cuts corners. */
function workload(i: number): string {
  const name = `app-${String(i).padStart(4, '0')}`;
  const careless = i % 5 === 0;
  return `apiVersion: v1
kind: ConfigMap
metadata: { name: ${name} }
data: { MODE: bench }
---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${careless ? 1 : 2}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name} }
      annotations: { prometheus.io/scrape: "true", prometheus.io/port: "${careless ? 9100 : 8080}" }
    spec:
      securityContext: { runAsNonRoot: true, runAsUser: 10001 }
      topologySpreadConstraints:
        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { app: ${name} } } }
      containers:
        - name: web
          image: registry.example/${name}:${careless ? 'latest' : '1.4.2'}
          ports: [{ name: http, containerPort: 8080 }]
          envFrom: [{ configMapRef: { name: ${name} } }]
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }
${careless ? '' : '          readinessProbe: { httpGet: { path: /ready, port: http } }\n          livenessProbe: { httpGet: { path: /healthz, port: http } }\n'}          resources: { requests: { cpu: 50m, memory: 64Mi }, limits: { memory: 128Mi${careless ? '' : ', cpu: 500m'} } }
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: ${name} }
spec: { maxUnavailable: 1, selector: { matchLabels: { app: ${name} } } }
`;
}

function writeBenchApp(dir: string): void {
  const phase = join(dir, '.deploy', 'bench', '30-deployment');
  mkdirSync(phase, { recursive: true });
  writeFileSync(
    join(dir, '.deploy', 'capstan.yaml'),
    'app: bench\nenvironments:\n  bench:\n    namespace: audit-bench\n',
  );
  const perFile = 100;
  for (let f = 0; f * perFile < workloads; f++) {
    const docs: string[] = [];
    for (let i = f * perFile; i < Math.min(workloads, (f + 1) * perFile); i++) docs.push(workload(i));
    writeFileSync(join(phase, `apps-${String(f).padStart(2, '0')}.yaml`), docs.join('---\n'));
  }
}

async function main(): Promise<void> {
  const given = process.env.CAPSTAN_TEST_CLUSTER;
  const cluster: ClusterInfo = given
    ? (JSON.parse(given) as ClusterInfo)
    : await startCluster({ name: 'audit-bench', log });
  const existing = Number(
    (await kubectl(cluster, ['get', 'nodes', '-o', 'name'])).split('\n').filter(Boolean).length,
  );
  const extra = Math.max(0, nodeTarget - existing);
  const dir = mkdtempSync(join(tmpdir(), 'capstan-audit-bench-'));
  try {
    log(`adding ${extra} kwok nodes to the ${existing} of the cluster (${nodeTarget} in all)`);
    if (extra > 0) await kubectl(cluster, ['apply', '-f', '-'], benchNodes(extra));
    writeBenchApp(dir);
    const cli = prepareCapstanCli(root, log);
    const env = { ...cli.env, KUBECONFIG: cluster.kubeconfig, GIT_COMMIT: 'bench', GIT_BRANCH: 'bench' };
    const rendered = join(dir, 'rendered.yaml');
    writeFileSync(
      rendered,
      execFileSync(process.execPath, [cli.script, '--cwd', dir, 'render', 'bench'], {
        env,
        maxBuffer: 1 << 28,
        encoding: 'utf8',
      }),
    );
    const kubeScore = execFileSync(
      join(root, 'test', 'cluster', 'go-tool.sh'),
      [
        'kube-score',
        'github.com/zegl/kube-score',
        kubeScoreVersion,
        'github.com/zegl/kube-score/cmd/kube-score',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    ).trim();
    const findings = execFileSync(
      'sh',
      ['-c', `"$0" "$1" --cwd "$2" audit bench -o json | wc -l`, process.execPath, cli.script, dir],
      { env, encoding: 'utf8' },
    ).trim();
    log(`capstan: ${cli.description}; kube-score ${kubeScoreVersion}: ${kubeScore}`);
    log(`${workloads} workloads (${workloads * 4} objects), capstan audit found ${findings} findings`);
    // Both exit 1 when they find an error (CRITICAL): sh -c keeps the timing and ignores the code.
    await compare(
      `capstan audit vs kube-score score, ${workloads} workloads, ${nodeTarget} nodes`,
      [
        {
          name: 'capstan audit',
          run: () =>
            timeCommand(
              'sh',
              [
                '-c',
                `"$0" "$1" --cwd "$2" audit bench -o json > /dev/null; true`,
                process.execPath,
                cli.script,
                dir,
              ],
              {
                env,
                measureMemory: true,
              },
            ),
        },
        {
          name: 'kube-score score',
          run: () =>
            timeCommand('sh', ['-c', `"$0" score "$1" > /dev/null; true`, kubeScore, rendered], {
              measureMemory: true,
            }),
        },
      ],
      runs,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (extra > 0) await kubectl(cluster, ['delete', 'nodes', '-l', `${NODE_LABEL}=true`, '--wait=false']);
    if (!given) await stopCluster('audit-bench');
  }
}

await main();
