// The local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok on loopback, with fake nodes in three zones. Several clusters can run
// at once, each under its own name, run folder and free ports.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  authenticationConfigYaml,
  OIDC_DEPLOYERS,
  startIssuer,
  writeExecKubeconfig,
  type IssuerInfo,
} from './identity.js';
import { createIssuerPki, createPki } from './pki.js';
import { startProcess, stopProcesses } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);

export interface ClusterInfo {
  readonly name: string;
  readonly runDir: string;
  readonly binDir: string;
  /** Admin kubeconfig (system:masters). */
  readonly kubeconfig: string;
  /** The restricted deployer identity: no cluster-scoped rights; bind ClusterRole capstan:deployer per namespace. */
  readonly restrictedKubeconfig: string;
  /** Reads everything cluster-wide (Secrets included), writes nothing: the source side of a migration. */
  readonly readOnlyKubeconfig: string;
  /** The test OpenID issuer that kube-apiserver trusts (usernames and groups prefixed `oidc:`). */
  readonly oidc: IssuerInfo;
  /** An exec-plugin user alice@example.com in OIDC group `deployers` (bound per namespace like capstan:deployers), 10-minute tokens. */
  readonly oidcKubeconfig: string;
  readonly server: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly startedAt: string;
}

export const RESTRICTED_USER = 'capstan-deployer';
export const RESTRICTED_CLUSTER_ROLE = 'capstan:deployer';
export const NODE_COUNT = 6;
export const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;

export function runDirOf(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(name)) throw new Error(`invalid cluster name "${name}"`);
  return join(process.env.CAPSTAN_CLUSTER_DIR ?? join(tmpdir(), 'capstan-clusters'), name);
}

/** Builds the binaries when missing (cold: tens of minutes) and returns their folder. */
export function ensureBinaries(log: (line: string) => void = () => {}): string {
  log('checking the control plane binaries (the first build takes 15-30 minutes)');
  try {
    const out = execFileSync(join(here, 'build.sh'), {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    return out.trim().split('\n').pop() ?? '';
  } catch (error) {
    throw new Error('building the local control plane failed; the lines above say what is missing', {
      cause: error,
    });
  }
}

async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port > 0 && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

function kubeconfigYaml(server: string, pki: string, user: string, certName: string): string {
  const b64 = (file: string) => readFileSync(join(pki, file)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: capstan-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(`${certName}.crt`)}`,
    `    client-key-data: ${b64(`${certName}.key`)}`,
    'contexts:',
    `- name: ${user}@capstan-test`,
    '  context:',
    '    cluster: capstan-test',
    `    user: ${user}`,
    '    namespace: default',
    `current-context: ${user}@capstan-test`,
    '',
  ].join('\n');
}

function httpsGet(url: string, pki: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(
  what: string,
  deadlineMs: number,
  check: () => Promise<boolean>,
  runDir: string,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  throw new Error(
    `local cluster: ${what} not ready within ${deadlineMs / 1000}s` +
      (lastError instanceof Error ? ` (last error: ${lastError.message})` : '') +
      `; component logs are in ${join(runDir, 'logs')}`,
  );
}

function nodesYaml(from = 0, to = NODE_COUNT): string {
  const docs: string[] = [];
  for (let i = from; i < to; i++) {
    const zone = ZONES[i % ZONES.length];
    docs.push(`apiVersion: v1
kind: Node
metadata:
  name: kwok-node-${i}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-${i}
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
    topology.kubernetes.io/zone: ${zone}
    topology.kubernetes.io/region: local
spec: {}
status:
  allocatable: { cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi }
  capacity: { cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi }
`);
  }
  return docs.join('---\n');
}

/**
 * kwok reads per-pod `Logs` objects from the API (see env-logs.ts); a CRD of our own, schema left
 * open, is all it needs to serve them.
 */
const LOGS_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: logs.kwok.x-k8s.io }
spec:
  group: kwok.x-k8s.io
  names: { kind: Logs, listKind: LogsList, plural: logs, singular: logs }
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;

/** kwok's config: our stages plus fake container logs, current and previous, in CRI format. */
function writeKwokConfig(runDir: string): void {
  const line = (i: number, stream: string, text: string) =>
    `2026-01-01T00:00:${String(i).padStart(2, '0')}.000000000Z ${stream} F ${text}`;
  const current: string[] = [];
  for (let i = 1; i <= 30; i++) current.push(line(i, 'stdout', `capstan fake container: log line ${i}`));
  const previous = [
    line(1, 'stdout', 'capstan fake container (previous): starting'),
    line(2, 'stderr', 'capstan fake container (previous): fatal: cannot connect to database'),
    line(3, 'stderr', 'capstan fake container (previous): exiting with code 1'),
  ];
  const logsFile = join(runDir, 'fake-container.log');
  const previousLogsFile = join(runDir, 'fake-container-previous.log');
  writeFileSync(logsFile, current.join('\n') + '\n');
  writeFileSync(previousLogsFile, previous.join('\n') + '\n');
  const logs = `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: capstan-fake-logs
spec:
  selector: {}
  logs:
    - containers: []
      logsFile: ${logsFile}
      previousLogsFile: ${previousLogsFile}
      follow: false
`;
  writeFileSync(join(runDir, 'kwok.yaml'), readFileSync(join(here, 'kwok-stages.yaml'), 'utf8') + logs);
}

export async function kubectl(
  info: Pick<ClusterInfo, 'binDir' | 'kubeconfig'>,
  args: string[],
  input?: string,
): Promise<string> {
  const child = execFileAsync(join(info.binDir, 'kubectl'), ['--kubeconfig', info.kubeconfig, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

/** Adds fake nodes (same shape, zones in turn) until the cluster has `count`: benchmarks at scale need room for every pod. */
export async function addFakeNodes(info: ClusterInfo, count: number): Promise<void> {
  if (count > NODE_COUNT) await kubectl(info, ['apply', '-f', '-'], nodesYaml(NODE_COUNT, count));
}

export function readClusterInfo(name: string): ClusterInfo | undefined {
  const file = join(runDirOf(name), 'cluster.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
}

export interface StartClusterOptions {
  readonly name: string;
  readonly binDir?: string;
  readonly log?: (line: string) => void;
  readonly readyTimeoutMs?: number;
  /**
   * Opt-in: kube-apiserver writes an audit log (one JSON line per request, at the Metadata level,
   * stage ResponseComplete) to this file; the benchmarks count requests by user agent with it.
   */
  readonly auditLog?: string;
}

/** Every request once, without bodies: who (user agent), what (verb, resource), no secret values. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted, Panic]
rules:
  - level: Metadata
`;

function auditArgs(runDir: string, auditLog: string | undefined): string[] {
  if (!auditLog) return [];
  const policy = join(runDir, 'audit-policy.yaml');
  writeFileSync(policy, AUDIT_POLICY);
  // Never rotated (kube-apiserver rotates at 100 MB by default): the benchmarks read one file, and
  // at 1,500 objects a run's requests went to a rotated file and were counted as none.
  return [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-maxsize=0'];
}

/**
 * The OpenID issuer runs before kube-apiserver (which fetches its JWKS on start) and for as long
 * as it does; its CA, serving cert and signing key are its own, apart from the cluster's PKI.
 */
async function startIdentity(
  runDir: string,
  pki: string,
  port: number,
  log: (line: string) => void,
): Promise<{ issuer: IssuerInfo; authenticationConfig: string }> {
  createIssuerPki(pki);
  log(`starting the test OpenID issuer on https://127.0.0.1:${port}`);
  const issuer = await startIssuer(runDir, port);
  const authenticationConfig = join(runDir, 'authentication-config.yaml');
  writeFileSync(authenticationConfig, authenticationConfigYaml(issuer));
  return { issuer, authenticationConfig };
}

export async function startCluster(options: StartClusterOptions): Promise<ClusterInfo> {
  const log = options.log ?? (() => {});
  const runDir = runDirOf(options.name);
  // Whatever a crashed earlier run left behind: end it by its pid files, then start clean.
  const leftovers = await stopProcesses(runDir);
  if (leftovers > 0) log(`ended ${leftovers} processes left by an earlier run of cluster "${options.name}"`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const binDir = options.binDir ?? ensureBinaries(log);
  const bin = (name: string) => join(binDir, name);

  const stopOnSignal = () => {
    void stopProcesses(runDir).finally(() => {
      rmSync(runDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const pki = join(runDir, 'pki');
    mkdirSync(pki);
    createPki(pki);
    const taken = new Set<number>();
    const ports = {
      etcd: await freePort(taken),
      etcdPeer: await freePort(taken),
      apiserver: await freePort(taken),
      controllerManager: await freePort(taken),
      scheduler: await freePort(taken),
      kwok: await freePort(taken),
      oidc: await freePort(taken),
    };
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfig = join(runDir, 'admin.kubeconfig');
    const restrictedKubeconfig = join(runDir, 'restricted.kubeconfig');
    const readOnlyKubeconfig = join(runDir, 'read-only.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, pki, 'capstan-test-admin', 'admin'), { mode: 0o600 });
    writeFileSync(restrictedKubeconfig, kubeconfigYaml(server, pki, RESTRICTED_USER, 'deployer'), {
      mode: 0o600,
    });
    writeFileSync(readOnlyKubeconfig, kubeconfigYaml(server, pki, 'capstan-reader', 'reader'), {
      mode: 0o600,
    });

    const identity = await startIdentity(runDir, pki, ports.oidc, log);

    const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    log(`starting etcd on ${etcdUrl}`);
    startProcess({
      runDir,
      name: 'etcd',
      command: bin('etcd'),
      args: [
        '--name=capstan',
        `--data-dir=${join(runDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=capstan=${peerUrl}`,
        '--unsafe-no-fsync=true',
        '--auto-compaction-retention=1',
        '--quota-backend-bytes=4294967296',
        '--log-level=warn',
        '--listen-metrics-urls=',
      ],
    });
    await waitUntil('etcd', 30_000, async () => (await fetch(`${etcdUrl}/health`)).ok, runDir);

    log(`starting kube-apiserver on ${server}`);
    startProcess({
      runDir,
      name: 'kube-apiserver',
      command: bin('kube-apiserver'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--cert-dir=${join(runDir, 'apiserver-certs')}`,
        `--tls-cert-file=${join(pki, 'admin.crt')}`,
        `--tls-private-key-file=${join(pki, 'admin.key')}`,
        `--client-ca-file=${join(pki, 'ca.crt')}`,
        '--authorization-mode=Node,RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--allow-privileged=true',
        '--kubelet-preferred-address-types=Hostname,InternalIP',
        '--profiling=false',
        '--max-requests-inflight=1000',
        '--max-mutating-requests-inflight=500',
        `--authentication-config=${identity.authenticationConfig}`,
        ...auditArgs(runDir, options.auditLog),
      ],
    });
    await waitUntil(
      'kube-apiserver /readyz',
      options.readyTimeoutMs ?? 90_000,
      async () => {
        const res = await httpsGet(`${server}/readyz`, pki);
        return res.status === 200;
      },
      runDir,
    );

    log('starting kube-controller-manager, kube-scheduler and kwok');
    startProcess({
      runDir,
      name: 'kube-controller-manager',
      command: bin('kube-controller-manager'),
      args: [
        `--kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        '--leader-elect=false',
        `--root-ca-file=${join(pki, 'ca.crt')}`,
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        `--cluster-signing-cert-file=${join(pki, 'ca.crt')}`,
        `--cluster-signing-key-file=${join(pki, 'ca.key')}`,
        '--controllers=*',
        '--profiling=false',
        '--use-service-account-credentials=false',
        '--node-monitor-period=25s',
        '--node-monitor-grace-period=200s',
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
        '--concurrent-deployment-syncs=10',
        '--concurrent-replicaset-syncs=10',
        '--concurrent-job-syncs=10',
        '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
      ],
    });
    startProcess({
      runDir,
      name: 'kube-scheduler',
      command: bin('kube-scheduler'),
      args: [
        `--kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        '--leader-elect=false',
        '--profiling=false',
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
        '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
      ],
    });
    writeKwokConfig(runDir);
    const admin = { binDir, kubeconfig };
    await kubectl(admin, ['apply', '-f', '-'], LOGS_CRD);
    await kubectl(admin, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/logs.kwok.x-k8s.io']);
    startProcess({
      runDir,
      name: 'kwok',
      command: bin('kwok'),
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--config=${join(runDir, 'kwok.yaml')}`,
        '--manage-all-nodes=true',
        '--node-ip=127.0.0.1',
        '--node-name=localhost',
        `--node-port=${ports.kwok}`,
        `--server-address=127.0.0.1:${ports.kwok}`,
        `--tls-cert-file=${join(pki, 'admin.crt')}`,
        `--tls-private-key-file=${join(pki, 'admin.key')}`,
        '--node-lease-duration-seconds=200',
        '--cidr=10.244.0.0/16',
        '--enable-crds=Logs',
      ],
    });
    // The env-logs process is named by its run folder, as every process here (see processes.ts).
    startProcess({
      runDir,
      name: 'env-logs',
      command: process.execPath,
      args: ['--import', import.meta.resolve('tsx'), join(here, 'env-logs.ts'), runDir, server],
    });
    const info: ClusterInfo = {
      name: options.name,
      runDir,
      binDir,
      kubeconfig,
      restrictedKubeconfig,
      readOnlyKubeconfig,
      oidc: identity.issuer,
      oidcKubeconfig: join(runDir, 'oidc-exec.kubeconfig'),
      server,
      ports,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(join(runDir, 'cluster.json'), JSON.stringify(info, null, 2));
    writeExecKubeconfig(info, {
      file: info.oidcKubeconfig,
      email: 'alice@example.com',
      groups: [OIDC_DEPLOYERS],
      lifetimeSeconds: 600,
    });

    log(`registering ${NODE_COUNT} fake nodes and the restricted identity`);
    await kubectl(info, ['apply', '-f', '-'], nodesYaml());
    await kubectl(info, ['apply', '-f', join(here, 'restricted-rbac.yaml')]);
    await waitUntil(
      'fake nodes',
      60_000,
      async () => {
        const out = await kubectl(info, [
          'get',
          'nodes',
          '-o',
          'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}',
        ]);
        return out.split(' ').filter((s) => s === 'True').length === NODE_COUNT;
      },
      runDir,
    );
    await waitUntil(
      'ServiceAccount default/default',
      60_000,
      async () => {
        await kubectl(info, ['get', 'serviceaccount', 'default', '-n', 'default']);
        return true;
      },
      runDir,
    );
    log(`cluster "${options.name}" ready at ${server}`);
    return info;
  } catch (error) {
    await stopProcesses(runDir);
    const logs = join(runDir, 'logs');
    const keep = join(tmpdir(), `capstan-cluster-${options.name}-failed-logs`);
    if (existsSync(logs)) {
      rmSync(keep, { recursive: true, force: true });
      execFileSync('cp', ['-r', logs, keep]);
    }
    rmSync(runDir, { recursive: true, force: true });
    throw new Error(`${error instanceof Error ? error.message : String(error)} (logs kept in ${keep})`, {
      cause: error,
    });
  } finally {
    process.removeListener('SIGINT', stopOnSignal);
    process.removeListener('SIGTERM', stopOnSignal);
  }
}

/** Ends every process of the named cluster and removes its run folder. */
export async function stopCluster(name: string): Promise<number> {
  const runDir = runDirOf(name);
  const count = await stopProcesses(runDir);
  rmSync(runDir, { recursive: true, force: true });
  return count;
}
