import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main.js';
import { loadConnection, resolveKubeconfigSource } from '../../../src/kube/config.js';

const dir = mkdtempSync(join(tmpdir(), 'capstan-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(name: string, server: string, current: string | undefined, context = name): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      current ? `current-context: ${current}` : '',
      `clusters: [{name: ${name}, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: ${name}, user: {token: t-${name}}}]`,
      `contexts: [{name: ${context}, context: {cluster: ${name}, user: ${name}, namespace: ns-${name}}}]`,
      '',
    ].join('\n'),
  );
  return path;
}

function emptyHome(): string {
  const home = mkdtempSync(join(dir, 'home-'));
  return home;
}

describe('kubeconfig source', () => {
  it('follows kubectl: --kubeconfig, then KUBECONFIG (a list), then ~/.kube/config', () => {
    const yes = () => true;
    assert.deepEqual(resolveKubeconfigSource({ kubeconfig: '/a', env: { KUBECONFIG: '/b' } }, yes), {
      kind: 'files',
      files: ['/a'],
      origin: 'option',
    });
    assert.deepEqual(resolveKubeconfigSource({ env: { KUBECONFIG: `/b${delimiter}${delimiter}/c` } }, yes), {
      kind: 'files',
      files: ['/b', '/c'],
      origin: 'KUBECONFIG',
    });
    assert.deepEqual(resolveKubeconfigSource({ env: { HOME: '/h' } }, yes), {
      kind: 'files',
      files: ['/h/.kube/config'],
      origin: 'home',
    });
  });

  it('never falls back to an address: no file and no ServiceAccount is "none"', () => {
    assert.deepEqual(
      resolveKubeconfigSource({ env: { HOME: '/h' } }, () => false),
      { kind: 'none', home: '/h/.kube/config' },
    );
    assert.deepEqual(
      resolveKubeconfigSource({ env: { HOME: '/h', KUBERNETES_SERVICE_HOST: '10.0.0.1' } }, () => false),
      { kind: 'none', home: '/h/.kube/config' },
    );
    assert.deepEqual(
      resolveKubeconfigSource({ env: { HOME: '/h', KUBERNETES_SERVICE_HOST: '10.0.0.1' } }, (p) =>
        p.endsWith('/token'),
      ),
      { kind: 'in-cluster' },
    );
  });
});

describe('loadConnection', () => {
  it('refuses to run without a kubeconfig, naming what it looked for', async () => {
    await assert.rejects(
      loadConnection({ env: { HOME: emptyHome() } }),
      (error: Error & { code?: string; hint?: string }) => {
        assert.equal(error.code, 'ERR_CAPSTAN_KUBECONFIG');
        assert.equal(
          error.message,
          'no kubeconfig found: KUBECONFIG is unset and ~/.kube/config does not exist',
        );
        assert.match(error.hint ?? '', /--kubeconfig/);
        return true;
      },
    );
  });

  it('merges the files KUBECONFIG lists from the env option, the first one winning, never process.env', async () => {
    const a = kubeconfig('first', 'https://127.0.0.1:1', 'first');
    const b = kubeconfig('second', 'https://127.0.0.1:2', 'second');
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = '/nonexistent/should-not-be-read';
    try {
      const env = { KUBECONFIG: [a, b].join(delimiter), HOME: emptyHome() };
      const first = await loadConnection({ env });
      assert.equal(first.server, 'https://127.0.0.1:1');
      assert.equal(first.context, 'first');
      const second = await loadConnection({ env, context: 'second' });
      assert.equal(second.server, 'https://127.0.0.1:2');
      assert.equal(second.namespace, 'ns-second');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('takes the current context from a later file when the first sets none', async () => {
    const a = kubeconfig('noctx', 'https://127.0.0.1:3', undefined);
    const b = kubeconfig('withctx', 'https://127.0.0.1:4', 'withctx');
    const connection = await loadConnection({ env: { KUBECONFIG: [a, b].join(delimiter) } });
    assert.equal(connection.server, 'https://127.0.0.1:4');
  });

  it('names an unknown context and the known ones', async () => {
    const a = kubeconfig('known', 'https://127.0.0.1:5', 'known');
    await assert.rejects(
      loadConnection({ kubeconfig: a, context: 'prod' }),
      (error: Error & { code?: string; hint?: string }) => {
        assert.equal(error.code, 'ERR_CAPSTAN_KUBECONFIG');
        assert.match(error.message, /kube context "prod" not found/);
        assert.equal(error.hint, 'known contexts: known');
        return true;
      },
    );
  });
});

describe('capstan deploy without a usable kubeconfig', () => {
  const app = mkdtempSync(join(dir, 'app-'));
  mkdirSync(join(app, '.deploy', 'test', '10-config'), { recursive: true });
  writeFileSync(
    join(app, '.deploy', 'capstan.yaml'),
    'app: shop\nenvironments:\n  test:\n    namespace: shop-test\n',
  );
  writeFileSync(
    join(app, '.deploy', 'test', '10-config', 'app.configmap.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n',
  );

  async function run(args: string[], env: NodeJS.ProcessEnv) {
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (c: Buffer) => (stdout += c.toString()));
    err.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await runCli(['--cwd', app, ...args], {
      stdout: out,
      stderr: err,
      stdin: new PassThrough(),
      env,
      cwd: app,
      signal: new AbortController().signal,
    });
    return { code, stdout, stderr };
  }

  it('exits 2 with one clear message when there is no kubeconfig at all', async () => {
    const { code, stdout, stderr } = await run(['deploy', 'test', '--image', 'shop:1'], {
      HOME: emptyHome(),
    });
    assert.equal(code, 2);
    const all = stdout + stderr;
    assert.doesNotMatch(all, /unexpected error|this is a bug|at .*\.ts:\d+/);
    assert.equal(
      all.split('no kubeconfig found: KUBECONFIG is unset and ~/.kube/config does not exist').length - 1,
      1,
      all,
    );
    assert.match(stderr, /hint: pass --kubeconfig/);
  });

  it('exits 2 for an unreadable kubeconfig and for an unknown context', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'clusters: [unclosed\n');
    const bad = await run(['--kubeconfig', broken, 'deploy', 'test', '--image', 'shop:1'], {
      HOME: emptyHome(),
    });
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.equal(
      (bad.stdout + bad.stderr).split('cannot read kubeconfig').length - 1,
      1,
      bad.stdout + bad.stderr,
    );
    const good = kubeconfig('ctx', 'https://127.0.0.1:6', 'ctx');
    const unknown = await run(
      ['--kubeconfig', good, '--context', 'nope', 'deploy', 'test', '--image', 'shop:1'],
      { HOME: emptyHome() },
    );
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /kube context "nope" not found/);
  });
});
