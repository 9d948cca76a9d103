// The reliability soak (issue 31; docs/guarantees.md): a seeded random sequence of deploys,
// failing deploys, rollbacks, tasks, `jobs clean` and racing deploys, run by the real CLI through
// toxiproxy, under faults the seed picks; after every operation the invariants are checked against
// the cluster's real state. Not part of `npm test`; test/integration/soak-short.test.ts runs a short one.
//   node --import tsx test/soak/soak.ts --seed N --ops M [--clusters 1] [--fault-rate 0.5] [--keep-going] [--built]
// The cluster: CAPSTAN_TEST_CLUSTER (as the integration tests have it), else one started here.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, stopCluster, type ClusterInfo } from '../cluster/cluster.js';
import { kubeconfigThrough, startToxiproxy, type Proxy, type Toxiproxy } from '../fixtures/toxiproxy.js';
import { KubeClient } from '../../src/kube/index.js';
import { lockName, lockStateOf } from '../../src/release/index.js';
import { alive } from '../cluster/processes.js';
import { APP, ENV, appTree, type AppTree, type Desired } from './app.js';
import { crashOf, startCapstan, type CliRun } from './cli.js';
import { FAULT_KINDS, pickFault, startToxics, strike, type Fault } from './faults.js';
import { checkAll, DECOYS, type Expectation } from './invariants.js';
import { pickOperation, type Operation } from './operations.js';
import { Prng } from './prng.js';

interface Options {
  readonly seed: number;
  readonly ops: number;
  readonly faultRate: number;
  readonly keepGoing: boolean;
  /** Run dist/ (`npm run build`) instead of the sources: the CLI starts in a fraction of the time. */
  readonly built: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      ops: { type: 'string', default: '50' },
      clusters: { type: 'string', default: '1' },
      'fault-rate': { type: 'string', default: '0.5' },
      'keep-going': { type: 'boolean', default: false },
      built: { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const ops = Number(values.ops);
  const faultRate = Number(values['fault-rate']);
  if (!Number.isInteger(seed) || !Number.isInteger(ops) || ops < 1 || !(faultRate >= 0 && faultRate <= 1))
    throw new Error('usage: soak.ts --seed N --ops M [--clusters 1] [--fault-rate 0..1] [--keep-going]');
  if (values.clusters !== '1') throw new Error('--clusters: only 1 is supported (see docs/guarantees.md)');
  return { seed, ops, faultRate, keepGoing: values['keep-going'] ?? false, built: values.built ?? false };
}

/** Everything one soak run holds. */
interface Soak {
  readonly options: Options;
  readonly info: ClusterInfo;
  readonly admin: KubeClient;
  readonly toxiproxy: Toxiproxy;
  readonly proxy: Proxy;
  readonly proxied: string;
  readonly namespace: string;
  readonly secret: string;
  readonly tree: AppTree;
  readonly killed: Set<number>;
  readonly log: string[];
  readonly faults: Map<string, number>;
  readonly violations: string[];
  readonly crashes: string[];
  readonly codes: Map<string, number>;
  /** Faults picked for a moment after their operation had ended: not injected. */
  missed: number;
  slowestRecoveryMs: number;
  slowestRecoveryAt: string;
  unrecoveredSince: number | undefined;
  current: Desired;
  readonly counter: { image: number; config: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The API server answers the admin (after a restart it takes a few seconds). */
async function apiReady(admin: KubeClient): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await admin.list('v1', 'Namespace', { limit: 1 } as never);
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`the API server did not come back in 180 s: ${(error as Error).message}`);
      await sleep(500);
    }
  }
}

async function setUp(options: Options): Promise<Soak> {
  let info: ClusterInfo;
  if (process.env.CAPSTAN_TEST_CLUSTER) info = JSON.parse(process.env.CAPSTAN_TEST_CLUSTER) as ClusterInfo;
  else {
    info = await startCluster({
      name: `soak-${process.pid}`,
      log: (line) => console.error(`[cluster] ${line}`),
    });
    startedCluster = info.name;
  }
  const admin = await KubeClient.connect({ kubeconfig: info.kubeconfig });
  const toxiproxy = await startToxiproxy();
  const proxy = await toxiproxy.createProxy('apiserver', info.server);
  const proxied = kubeconfigThrough(
    info.kubeconfig,
    proxy.url,
    join(mkdtempSync(join(tmpdir(), 'soak-kube-')), 'kubeconfig'),
  );
  const namespace = `soak-${options.seed}-${randomBytes(3).toString('hex')}`;
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const labels = {
    'app.kubernetes.io/managed-by': 'capstan',
    'capstan.dev/app': 'other',
    'capstan.dev/env': ENV,
  };
  await admin.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: DECOYS[0], namespace, labels },
    data: { k: 'v' },
  });
  await admin.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: DECOYS[1], namespace },
    data: { k: 'v' },
  });
  // Distinctive and random: found anywhere outside a Secret, it leaked.
  const secret = `soak-secret-${randomBytes(12).toString('hex')}`;
  const current: Desired = { image: 0, config: 0, extras: [], mode: 'ok' };
  const tree = appTree(namespace, secret);
  tree.write(current);
  return {
    options,
    info,
    admin,
    toxiproxy,
    proxy,
    proxied,
    namespace,
    secret,
    tree,
    killed: new Set(),
    log: [],
    faults: new Map(),
    violations: [],
    crashes: [],
    codes: new Map(),
    missed: 0,
    slowestRecoveryMs: 0,
    slowestRecoveryAt: '-',
    unrecoveredSince: undefined,
    current,
    counter: { image: 0, config: 0 },
  };
}

let startedCluster: string | undefined;

/**
 * A Lease left by a SIGKILLed deploy is given a 3 s duration, as a holder with a short lease would
 * have written it (as test/integration/faults.test.ts does), instead of the default 60 s.
 */
async function shortenDeadLease(soak: Soak): Promise<void> {
  const id = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: soak.namespace,
    name: lockName(APP, ENV),
  };
  const lease = await soak.admin.get(id);
  const pid = lease ? lockStateOf(lease)?.process?.pid : undefined;
  if (!lease || pid === undefined || !soak.killed.has(pid) || alive(pid)) return;
  (lease as any).spec.leaseDurationSeconds = 3;
  await soak.admin.replace(lease).catch(() => undefined);
}

/** Starts the operation's runs, strikes its fault, and waits for all of it to be over. */
async function execute(
  soak: Soak,
  op: Operation,
  fault: Fault | undefined,
  index: number,
): Promise<{ runs: CliRun[]; struck: boolean }> {
  // A task copies the rendered Deployment: the tree says what the cluster should run, not a failed attempt.
  soak.tree.write(op.desired ?? soak.current);
  await startToxics(fault, soak.proxy);
  const running = op.commands.map((args, k) =>
    startCapstan(args, {
      cwd: soak.tree.dir,
      kubeconfig: soak.proxied,
      user: `soak-${index}-${k}`,
      deadlineMs: 5 * 60_000,
      built: soak.options.built,
    }),
  );
  const over = Promise.all(running.map((r) => r.done));
  const target = {
    proxy: soak.proxy,
    runDir: soak.info.runDir,
    admin: soak.admin,
    namespace: soak.namespace,
    kill: () => {
      soak.killed.add(running[0].pid);
      running[0].kill();
    },
  };
  const striking = strike(fault, target, over).catch((error: Error) => {
    soak.violations.push(
      `op ${index}: the fault ${fault?.describe()} could not be injected: ${error.message}`,
    );
    return false;
  });
  const runs = await over;
  const struck = await striking;
  await soak.toxiproxy.reset();
  await apiReady(soak.admin);
  return { runs, struck };
}

/** The exit codes of a clean operation, and what an exit 0 promises. */
function judgeRuns(
  op: Operation,
  runs: readonly CliRun[],
  fault: Fault | undefined,
): { problems: string[]; expectation: Expectation } {
  const problems: string[] = [];
  for (const run of runs)
    if (run.hung) problems.push(`\`capstan ${run.args.join(' ')}\` did not end within 5 minutes`);
  const succeeded = runs.some((r) => r.code === 0);
  if (!fault) {
    const odd = runs.filter((r) => r.code === null || !op.cleanCodes.has(r.code));
    if (odd.length > 0 || (op.kind === 'race' && !succeeded))
      problems.push(
        `without a fault, ${op.kind} exited ${runs.map((r) => r.code).join(' and ')} (expected ${[...op.cleanCodes].join(' or ')}):\n${runs.map((r) => r.stderr.slice(-2000)).join('\n---\n')}`,
      );
  }
  return { problems, expectation: succeeded ? op.expectation : { kind: 'none' } };
}

async function step(soak: Soak, prng: Prng, index: number): Promise<boolean> {
  const op = await pickOperation(prng, soak.current, soak.counter, soak.admin, soak.namespace);
  const fault = pickFault(prng, soak.options.faultRate);
  const started = Date.now();
  const { runs, struck } = await execute(soak, op, fault, index);
  if (fault && struck) soak.faults.set(fault.kind, (soak.faults.get(fault.kind) ?? 0) + 1);
  if (fault && !struck) soak.missed++;
  const judged = judgeRuns(op, runs, fault);
  const crashes = runs.map(crashOf).filter((c): c is string => c !== undefined);
  const violations = [
    ...judged.problems,
    ...(await checkAll({
      client: soak.admin,
      namespace: soak.namespace,
      secret: soak.secret,
      killed: soak.killed,
      expectation: judged.expectation,
      runs,
    })),
  ];
  if (index % 10 === 0 || index === soak.options.ops) violations.push(...(await historyReadable(soak)));
  await shortenDeadLease(soak);
  for (const run of runs) {
    const code = run.signal ?? String(run.code);
    soak.codes.set(`${op.kind}:${code}`, (soak.codes.get(`${op.kind}:${code}`) ?? 0) + 1);
  }
  const succeeded = runs.some((r) => r.code === 0) && op.kind !== 'jobs-clean';
  if (succeeded && op.desired?.mode === 'ok') soak.current = op.desired;
  trackRecovery(soak, fault, started, succeeded, index);
  soak.log.push(
    `${index}\t${op.kind}\t${fault ? `${fault.describe()}${struck ? '' : ' (after the end: not injected)'}` : '-'}\t${runs.map((r) => r.signal ?? r.code).join(',')}\t${Date.now() - started}ms${violations.length + crashes.length ? '\tVIOLATION' : ''}`,
  );
  const where = `op ${index} (${op.kind}, ${fault?.describe() ?? 'no fault'})`;
  soak.violations.push(...violations.map((v) => `${where}: ${v}`));
  soak.crashes.push(...crashes.map((c) => `${where}: ${c}`));
  // As they happen too: a long run stopped early still shows them.
  console.error(
    [
      soak.log.at(-1),
      ...violations.map((v) => `  violation: ${v}`),
      ...crashes.map((c) => `  crash: ${c}`),
    ].join('\n'),
  );
  return violations.length === 0 && crashes.length === 0;
}

/**
 * Recovery: once faults stop, how long the first clean operation that succeeds takes (waiting out
 * a dead deploy's lock, converging pods deleted or left crash-looping). A streak of faulty
 * operations is not counted: it measures the seed, not Capstan.
 */
function trackRecovery(
  soak: Soak,
  fault: Fault | undefined,
  started: number,
  succeeded: boolean,
  index: number,
): void {
  if (fault) {
    soak.unrecoveredSince = started;
    return;
  }
  if (!succeeded || soak.unrecoveredSince === undefined) return;
  const ms = Date.now() - started;
  if (ms > soak.slowestRecoveryMs) {
    soak.slowestRecoveryMs = ms;
    soak.slowestRecoveryAt = `op ${index}`;
  }
  soak.unrecoveredSince = undefined;
}

/** `capstan history` itself (the CLI, with the admin identity) reads every record. */
async function historyReadable(soak: Soak): Promise<string[]> {
  const run = await startCapstan(['history', ENV, '-o', 'json'], {
    cwd: soak.tree.dir,
    kubeconfig: soak.info.kubeconfig,
    user: 'soak-history',
    deadlineMs: 120_000,
    built: soak.options.built,
  }).done;
  if (run.code !== 0) return [`capstan history exited ${run.code}: ${run.stderr.slice(-2000)}`];
  try {
    JSON.parse(run.stdout);
  } catch {
    return ['capstan history -o json printed no JSON'];
  }
  return run.stdout.includes(soak.secret) ? ['the secret value appears in capstan history'] : [];
}

function report(soak: Soak, ran: number, startedAt: number): void {
  const { seed, ops, faultRate } = soak.options;
  const lines = [
    `# soak: seed ${seed}, ${ran} of ${ops} operations, fault rate ${faultRate}, ${((Date.now() - startedAt) / 60_000).toFixed(1)} min`,
    `# replay: node --import tsx test/soak/soak.ts --seed ${seed} --ops ${ops} --fault-rate ${faultRate}${soak.options.built ? ' --built' : ''}`,
    `operations run: ${ran}`,
    `faults injected: ${[...soak.faults.values()].reduce((a, b) => a + b, 0)} (${FAULT_KINDS.map((k) => `${k} ${soak.faults.get(k) ?? 0}`).join(', ')}); ${soak.missed} more were due after their operation had ended`,
    `exit codes: ${[...soak.codes]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `violations: ${soak.violations.length}`,
    `crashes: ${soak.crashes.length}`,
    `slowest recovery: ${(soak.slowestRecoveryMs / 1000).toFixed(1)} s (${soak.slowestRecoveryAt})`,
  ];
  if (soak.violations.length + soak.crashes.length > 0) {
    lines.push('# operation log (index, operation, fault, exit codes, time):', ...soak.log);
    lines.push('# violations:', ...soak.violations, '# crashes:', ...soak.crashes);
  }
  console.log(lines.join('\n'));
}

async function tearDown(soak: Soak | undefined): Promise<void> {
  if (soak) {
    await soak.admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: soak.namespace }).catch(() => false);
    await soak.toxiproxy.stop();
    soak.admin.close();
    soak.tree.cleanup();
  }
  if (startedCluster) await stopCluster(startedCluster);
}

/** Ctrl-C or SIGTERM: stop after the operation under way, report, and clean up (a second one ends at once). */
let stopRequested = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    console.error(`soak: ${signal}: stopping after the operation under way`);
  });

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = Date.now();
  let soak: Soak | undefined;
  let ran = 0;
  try {
    soak = await setUp(options);
    const prng = new Prng(options.seed);
    for (let i = 1; i <= options.ops && !stopRequested; i++) {
      const ok = await step(soak, prng, i);
      ran = i;
      if (!ok && !options.keepGoing) break;
    }
    report(soak, ran, startedAt);
    return soak.violations.length + soak.crashes.length === 0 ? 0 : 1;
  } catch (error) {
    if (soak) report(soak, ran, startedAt);
    console.error(`soak: seed ${options.seed}: ${(error as Error).stack ?? String(error)}`);
    return 1;
  } finally {
    await tearDown(soak);
  }
}

process.exitCode = await main();
