// Runs the integration test files several at a time: most share one local cluster, where each test
// keeps to namespaces of its own; the files in OWN_CLUSTER each get a cluster of their own. Every
// file is its own `node --test` process; its output is printed whole when it ends, and the totals
// of all of them at the end.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * Files that change the control plane as a whole, and why: each runs against a cluster started
 * for it alone. A new file that stops or restarts a component, adds nodes, or changes what every
 * request meets (API Priority and Fairness, admission) belongs here.
 */
export const OWN_CLUSTER = new Map([
  [
    'test/integration/faults.test.ts',
    'stops the API server and etcd; its FlowSchema throttles the restricted identity everywhere',
  ],
  ['test/integration/deploy-unreachable.test.ts', 'stops the API server for 25 s'],
  ['test/integration/watch-outage.test.ts', 'stops the API server for 20 s'],
  [
    'test/integration/skip-unchanged.test.ts',
    "counts the API server's APPLY requests from /metrics, which other files' deploys would add to",
  ],
  ['test/integration/deploy-releases.test.ts', 'restarts the API server mid-deploy'],
  [
    'test/integration/soak-short.test.ts',
    'the seeded soak restarts the API server and etcd at random moments',
  ],
  [
    'test/integration/scheduling-differential.test.ts',
    "adds and deletes nodes of random shapes, where other files' pods would land",
  ],
  [
    'test/integration/audit.test.ts',
    'adds tainted nodes, which every scheduler message counts ("0/8 nodes are available")',
  ],
]);

/** A file's own deadline, beyond the per-test timeout: a hung process is ended and counted failed. */
const FILE_DEADLINE_MS = 20 * 60_000;
const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];

const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;

function cacheRoot(env) {
  return env.CAPSTAN_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'capstan');
}

/** Each file's duration in the last run on this machine: the longest start first. */
function readDurations(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

function writeDurations(file, durations) {
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, JSON.stringify(durations, null, 2) + '\n');
  } catch {
    // Only an ordering hint for the next run.
  }
}

/** `it-4242-3-faults`: cluster names are at most 41 characters (test/cluster/cluster.ts). */
function ownClusterName(base, index, file) {
  return `${base}-${index}-${basename(file, '.test.ts')}`.slice(0, 41).replace(/-+$/, '');
}

/** Runs a command to its end, collecting its output; `deadlineMs` ends its whole process group. */
function collect(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      kill(child.pid, 'SIGKILL');
    }, options.deadlineMs);
    options.onSpawn?.(child);
    child.on('error', (error) => {
      stderr += `${error.message}\n`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, signal, stdout, stderr, timedOut });
    });
  });
}

function kill(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** The totals a spec reporter prints at its end (`ℹ tests 5`); undefined if it never got there. */
export function parseCounts(text) {
  const counts = {};
  for (const name of COUNTS) {
    const match = new RegExp(`^(?:ℹ|#) ${name} (\\d+)$`, 'm').exec(text);
    if (!match) return undefined;
    counts[name] = Number(match[1]);
  }
  return counts;
}

/**
 * Starts, runs and stops: `files` with at most `concurrency` at once (a file with its own cluster
 * counts as one, its cluster's start included). Returns the exit status (0 when every file passed).
 */
export async function runIntegrationFiles({ root, files, concurrency, clusterName, env = process.env }) {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    console.error(
      `# integration tests: concurrency must be a whole number of at least 1, not ${concurrency}`,
    );
    return 1;
  }
  const cli = ['--import', 'tsx', 'test/cluster/cli.ts'];
  const node = process.execPath;
  const children = new Set();
  const clusters = new Set();
  const startCluster = async (name) => {
    clusters.add(name);
    const started = Date.now();
    const run = await collect(node, [...cli, 'start', '--name', name, '--json'], {
      cwd: root,
      env,
      deadlineMs: 40 * 60_000, // the first build of the binaries happens here when nothing built them yet
    });
    const info = run.stdout.trim().split('\n').pop();
    if (run.code !== 0 || !info) {
      throw new Error(`the local control plane "${name}" did not start:\n${run.stderr}`);
    }
    return { info, seconds: seconds(Date.now() - started) };
  };
  const stopCluster = async (name) => {
    await collect(node, [...cli, 'stop', '--name', name], { cwd: root, env, deadlineMs: 60_000 });
    clusters.delete(name);
  };
  const onSignal = () => {
    for (const child of children) kill(child.pid, 'SIGTERM');
    void Promise.all([...clusters].map(stopCluster)).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const durationsFile = join(cacheRoot(env), 'integration-durations.json');
  const previous = readDurations(durationsFile);
  const expected = (file) => previous[file] ?? (OWN_CLUSTER.has(file) ? 1e9 : 1e8);
  const queue = [...files].sort((a, b) => expected(b) - expected(a));
  const shared = files.some((file) => !OWN_CLUSTER.has(file));
  const results = [];
  const began = Date.now();
  let sharedCluster;
  try {
    if (shared) {
      const { info, seconds: took } = await startCluster(clusterName);
      sharedCluster = info;
      console.log(`# local control plane "${clusterName}" up in ${took}`);
    }
    console.log(
      `# integration tests: ${files.length} files, ${concurrency} at once; on clusters of their own: ${
        files.filter((f) => OWN_CLUSTER.has(f)).join(', ') || 'none'
      }`,
    );
    const runFile = async (file, index) => {
      const started = Date.now();
      const own = OWN_CLUSTER.has(file);
      const name = own ? ownClusterName(clusterName, index, file) : clusterName;
      let header = '';
      let run;
      try {
        let info = sharedCluster;
        if (own) {
          const cluster = await startCluster(name);
          info = cluster.info;
          header = ` (own cluster, up in ${cluster.seconds})`;
        }
        run = await collect(
          node,
          ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=600000', file],
          {
            cwd: root,
            env: { ...env, CAPSTAN_TEST_CLUSTER: info },
            deadlineMs: FILE_DEADLINE_MS,
            onSpawn: (child) => {
              children.add(child);
              child.on('close', () => children.delete(child));
            },
          },
        );
      } catch (error) {
        run = { code: 1, stdout: '', stderr: `${error.message}\n`, timedOut: false };
      } finally {
        if (own) await stopCluster(name);
      }
      const ms = Date.now() - started;
      const counts = parseCounts(run.stdout);
      const ok = run.code === 0 && counts !== undefined;
      const note = run.timedOut ? `, ended after ${seconds(FILE_DEADLINE_MS)}` : '';
      console.log(`\n# ${ok ? 'passed' : 'FAILED'}: ${file} in ${seconds(ms)}${header}${note}`);
      process.stdout.write(run.stdout);
      if (run.stderr) process.stdout.write(run.stderr);
      results.push({ file, ms, ok, counts });
    };
    let next = 0;
    const worker = async () => {
      while (next < queue.length) {
        const index = next++;
        console.log(`# started: ${queue[index]}`);
        await runFile(queue[index], index);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  } catch (error) {
    console.error(`# ${error instanceof Error ? error.message : String(error)}`);
    results.push({ file: '(cluster)', ms: 0, ok: false, counts: undefined });
  } finally {
    if (sharedCluster) await stopCluster(clusterName);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  writeDurations(durationsFile, {
    ...previous,
    ...Object.fromEntries(results.filter((r) => r.ok).map((r) => [r.file, r.ms])),
  });
  printSummary(results, Date.now() - began);
  // Every file must have run and passed: a file that never ran is a failure, not a pass.
  return results.length === files.length && results.every((r) => r.ok) ? 0 : 1;
}

function printSummary(results, ms) {
  console.log(`\n# integration test files, longest first (all done in ${seconds(ms)}):`);
  for (const r of [...results].sort((a, b) => b.ms - a.ms)) {
    const counts = r.counts ? `${r.counts.pass}/${r.counts.tests} passed` : 'no totals (crashed or ended)';
    console.log(`#   ${seconds(r.ms).padStart(7)}  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.file}  ${counts}`);
  }
  const total = Object.fromEntries(COUNTS.map((name) => [name, 0]));
  for (const r of results) for (const name of COUNTS) total[name] += r.counts?.[name] ?? 0;
  const broken = results.filter((r) => !r.counts).length;
  for (const name of COUNTS) console.log(`# ${name} ${total[name]}`);
  if (broken) console.log(`# files without totals ${broken}`);
  console.log(`# duration_ms ${ms}`);
}
