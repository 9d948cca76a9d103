#!/usr/bin/env node
// What users install: packs this checkout with `npm pack` (whose prepare step builds dist/),
// installs the tarball into an empty prefix with npm, and runs the installed capstan from there:
// an offline `capstan render` of an application with a typed template and no node_modules, and,
// when CAPSTAN_TEST_CLUSTER describes a cluster (JSON with `kubeconfig` and optionally `binDir`
// holding kubectl, as the integration tests take it), a `capstan deploy` into a fresh namespace,
// deleted afterwards. Exits 1 naming the step that failed.
//   node scripts/pack-smoke.mjs [--keep]    (--keep leaves the temp folder for a look)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const started = Date.now();

class SmokeFailure extends Error {}

function step(what) {
  console.log(`# ${what} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

/** Runs a command to its end within `timeoutMs`; a failure carries its output. */
function run(command, args, { cwd, timeoutMs = 300_000, env = process.env } = {}) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
  const shown = `${command} ${args.join(' ')}`;
  if (result.error) throw new SmokeFailure(`${shown}: ${result.error.message}`, { cause: result.error });
  if (result.status !== 0) {
    const output = `${result.stdout}${result.stderr}`.trim();
    throw new SmokeFailure(`${shown} exited with ${result.status ?? result.signal}\n${output}`);
  }
  return result.stdout;
}

function writeFiles(dir, files) {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** An application as users keep one: no package.json and no node_modules, so the .ts module reads as CommonJS. */
function writeApp(dir, namespace) {
  writeFiles(dir, {
    '.deploy/capstan.yaml': [
      'app: pack-smoke',
      'values:',
      '  replicas: 1',
      'environments:',
      '  smoke:',
      `    namespace: ${namespace}`,
      'deploy:',
      '  timeout: 3m',
      '',
    ].join('\n'),
    '.deploy/smoke/10-configuration/settings.configmap.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: settings',
      'data:',
      '  GREETING: hello from the packed capstan',
      '',
    ].join('\n'),
    '.deploy/smoke/30-deployment/web.ts': [
      "import { defineTemplate, type Deployment } from 'capstan';",
      '',
      'export default defineTemplate<{ replicas: number }>(({ app, image, values }): Deployment => ({',
      "  apiVersion: 'apps/v1',",
      "  kind: 'Deployment',",
      "  metadata: { name: 'web' },",
      '  spec: {',
      '    replicas: values.replicas,',
      "    selector: { matchLabels: { 'app.kubernetes.io/name': app } },",
      '    template: {',
      "      metadata: { labels: { 'app.kubernetes.io/name': app } },",
      '      spec: {',
      "        containers: [{ name: 'web', image, envFrom: [{ configMapRef: { name: 'settings' } }] }],",
      '      },',
      '    },',
      '  },',
      '}));',
      '',
    ].join('\n'),
  });
}

/** `npm pack` into `dir`: the tarball's path, after checking it holds what the installed command runs. */
function pack(dir) {
  step('npm pack (prepare builds dist/)');
  mkdirSync(dir, { recursive: true });
  const stdout = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root });
  // The build's own output comes first on stdout; npm's JSON report is the rest.
  const report = JSON.parse(stdout.slice(stdout.search(/^\[/m)))[0];
  const files = new Set(report.files.map((f) => f.path));
  const needed = [
    'LICENSE',
    'README.md',
    'package.json',
    'bin/capstan.js',
    'dist/bundle/capstan.js',
    'dist/index.js',
    'dist/index.d.ts',
    'schema/capstan.schema.json',
    'schema/helm-chart.schema.json',
  ];
  const missing = needed.filter((path) => !files.has(path));
  if (missing.length > 0) throw new SmokeFailure(`the tarball lacks ${missing.join(', ')}`);
  const stray = [...files].filter((path) => /^(src|test|bench|scripts)\//.test(path));
  if (stray.length > 0) throw new SmokeFailure(`the tarball holds ${stray.slice(0, 5).join(', ')}`);
  console.log(`  ${report.filename}: ${files.size} files, ${(report.size / 1e6).toFixed(1)} MB`);
  return join(dir, report.filename);
}

/**
 * Installs the tarball as a user's npm would, with no install scripts run (npm 11 asks before it
 * runs any): the package must work without its own (dist/ is in the tarball) and without esbuild's.
 */
function install(prefix, tarball) {
  step(`npm install --ignore-scripts --prefix ${prefix} ${tarball}`);
  mkdirSync(prefix, { recursive: true });
  run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--ignore-scripts', tarball], {
    cwd: prefix,
  });
  const bin = join(prefix, 'node_modules', '.bin', 'capstan');
  if (!existsSync(bin)) throw new SmokeFailure(`npm installed no ${bin}`);
  if (existsSync(join(prefix, 'node_modules', 'capstan', 'src')))
    throw new SmokeFailure(
      'the installed package holds src/: the command could run the sources, not the build',
    );
  const version = JSON.parse(
    readFileSync(join(prefix, 'node_modules', 'capstan', 'package.json'), 'utf8'),
  ).version;
  console.log(`  capstan ${version} at ${bin}`);
  return bin;
}

function render(capstan, app) {
  step(`capstan render smoke, in ${app} (no node_modules there, no cluster)`);
  const yaml = capstan(['--cwd', app, 'render', 'smoke', '--image', 'registry.example/pack-smoke:1'], app);
  for (const expected of [/kind: ConfigMap/, /kind: Deployment/, /image: registry\.example\/pack-smoke:1/])
    if (!expected.test(yaml))
      throw new SmokeFailure(`capstan render printed no match for ${expected}:\n${yaml}`);
  console.log('  rendered the ConfigMap and the typed-template Deployment');
}

function deploy(capstan, app, namespace, cluster) {
  const kubectl = cluster.binDir ? join(cluster.binDir, 'kubectl') : 'kubectl';
  const kube = (args) => run(kubectl, ['--kubeconfig', cluster.kubeconfig, ...args], { timeoutMs: 60_000 });
  step(`capstan deploy smoke into the new namespace ${namespace}`);
  try {
    capstan(
      [
        '--kubeconfig',
        cluster.kubeconfig,
        '--cwd',
        app,
        'deploy',
        'smoke',
        '--image',
        'registry.example/pack-smoke:1',
      ],
      app,
    );
    const ready = kube([
      'get',
      'deployment',
      'web',
      '-n',
      namespace,
      '-o',
      'jsonpath={.status.readyReplicas}',
    ]);
    if (ready.trim() !== '1')
      throw new SmokeFailure(`deployment web has ${ready.trim() || 0} ready replicas, not 1`);
    kube(['get', 'configmap', 'settings', '-n', namespace]);
    console.log('  deployed: ConfigMap settings, Deployment web with 1 ready replica');
  } finally {
    step(`kubectl delete namespace ${namespace}`);
    try {
      kube(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    } catch (error) {
      console.error(`  could not delete namespace ${namespace}: ${error.message}`);
    }
  }
}

const work = mkdtempSync(join(tmpdir(), 'capstan-pack-smoke-'));
let failed = false;
try {
  const cluster = process.env.CAPSTAN_TEST_CLUSTER ? JSON.parse(process.env.CAPSTAN_TEST_CLUSTER) : undefined;
  if (cluster && typeof cluster.kubeconfig !== 'string')
    throw new SmokeFailure('CAPSTAN_TEST_CLUSTER has no "kubeconfig" field');
  const tarball = pack(join(work, 'pack'));
  const bin = install(join(work, 'prefix'), tarball);
  // The Node that runs this script runs the installed command, so `node24 scripts/pack-smoke.mjs` checks Node 24.
  const capstan = (args, cwd) => run(process.execPath, [bin, ...args], { cwd, timeoutMs: 240_000 });
  const namespace = `capstan-pack-smoke-${randomBytes(3).toString('hex')}`;
  const app = join(work, 'app');
  writeApp(app, namespace);
  render(capstan, app);
  if (cluster) deploy(capstan, app, namespace, cluster);
  else console.log('# no CAPSTAN_TEST_CLUSTER: deploy skipped');
  step(`pack smoke passed on Node ${process.version}`);
} catch (error) {
  failed = true;
  console.error(
    `pack smoke FAILED: ${error instanceof SmokeFailure ? error.message : (error?.stack ?? error)}`,
  );
} finally {
  if (keep) console.log(`# kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
