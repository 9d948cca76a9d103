// capstan deploy against the fake kubelet's realistic failures (test/cluster/kwok-stages.yaml): for
// each one, the exact "Most likely cause" line Capstan prints; and a container that logs a Secret's
// value through the log-env scenario (test/cluster/env-logs.ts) never gets that value printed.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encryptEjson, generateKeyPair } from '../../src/secrets/index.js';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, kubectl } from './helpers.js';

interface WebOptions {
  readonly image?: string;
  readonly scenario?: string;
  readonly annotations?: Record<string, string>;
  readonly container?: string;
}

const web = ({
  image = 'example.com/web:1',
  scenario,
  annotations = {},
  container = '',
}: WebOptions) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  progressDeadlineSeconds: 120
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: ${JSON.stringify({ app: 'web', ...(scenario ? { 'capstan.test/scenario': scenario } : {}) })}
      annotations: ${JSON.stringify(annotations)}
    spec:
      containers:
        - name: web
          image: ${image}
${container}`;

function causeOf(output: string): string | undefined {
  return /^\s*Most likely cause: (.*)$/m.exec(output)?.[1];
}

async function deployFails(
  prefix: string,
  files: (ns: string) => Record<string, string>,
  extraArgs: readonly string[] = [],
): Promise<{ output: string; ns: string }> {
  const ns = await freshNamespace(prefix);
  const app = writeApp({ '.deploy/capstan.yaml': capstanYaml(prefix, ns.name), ...files(ns.name) });
  try {
    const run = await capstan(['deploy', 'test', '--timeout', '2m', ...extraArgs], { cwd: app.dir });
    const output = run.stdout + run.stderr;
    assert.equal(run.code, 1, output);
    return { output, ns: ns.name };
  } finally {
    app.cleanup();
    await ns.remove();
  }
}

describe('capstan deploy meets the fake kubelet', () => {
  it('ErrImagePull: names the image and the runtime error', async () => {
    const image = 'example.com/web:no-such-tag';
    const { output } = await deployFails('kubelet-pull', () => ({
      '.deploy/test/30-deployment/web.yaml': web({ image, scenario: 'image-pull' }),
    }));
    assert.equal(
      causeOf(output),
      `the image cannot be pulled: ${image} (rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found)`,
      output,
    );
    // ImagePullBackOff too, should Capstan wait out a first failed pull: the cause line is the same.
    assert.match(
      output,
      /web: (ErrImagePull - |ImagePullBackOff - Back-off pulling image "[^"]+": ErrImagePull: )rpc error: code = NotFound/,
    );
  });

  it('ImagePullBackOff: names the image and the error the back-off carries', async () => {
    const image = 'example.com/web:gone';
    const { output } = await deployFails('kubelet-backoff', () => ({
      '.deploy/test/30-deployment/web.yaml': web({ image, scenario: 'image-pull-backoff' }),
    }));
    assert.equal(
      causeOf(output),
      `the image cannot be pulled: ${image} (rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found)`,
      output,
    );
    assert.match(output, /web: ImagePullBackOff/);
  });

  it('CrashLoopBackOff after Running: the exit code and where to look', async () => {
    const { output } = await deployFails('kubelet-crash', () => ({
      '.deploy/test/30-deployment/web.yaml': web({
        scenario: 'crashloop',
        annotations: { 'capstan.test/exit-code': '3' },
      }),
    }));
    assert.equal(
      causeOf(output),
      'container web keeps crashing (exit code 3); see its previous logs',
      output,
    );
    assert.match(
      output,
      /web: CrashLoopBackOff, 1 restart - back-off 10s restarting failed container=web pod=web-[a-z0-9-]+_kubelet-crash-[0-9a-f]+\([0-9a-f-]+\); last exit code 3 \(Error\)/,
    );
  });

  it('OOMKilled: the memory limit', async () => {
    const { output } = await deployFails('kubelet-oom', () => ({
      '.deploy/test/30-deployment/web.yaml': web({
        scenario: 'oom-killed',
        container: '          resources: { limits: { memory: 64Mi } }\n',
      }),
    }));
    assert.equal(causeOf(output), 'container web ran out of memory (limit 64Mi)', output);
    assert.match(output, /last exit code 137 \(OOMKilled\)/);
  });

  it('CreateContainerConfigError: a missing ConfigMap', async () => {
    // The audit would refuse the deploy before the kubelet sees the missing ConfigMap.
    const { output } = await deployFails(
      'kubelet-cm',
      () => ({
        '.deploy/test/30-deployment/web.yaml': web({
          scenario: 'config-error',
          container: '          envFrom: [{ configMapRef: { name: web-config } }]\n',
        }),
      }),
      ['--skip-audit'],
    );
    assert.equal(
      causeOf(output),
      'container web references a missing ConfigMap, Secret or key: configmap "web-config" not found',
      output,
    );
  });

  it('CreateContainerConfigError: a missing key of a Secret', async () => {
    let namespace = '';
    const { output } = await deployFails('kubelet-key', (ns) => {
      namespace = ns;
      return {
        '.deploy/test/10-configuration/db.yaml':
          'apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData: { USER: app }\n',
        '.deploy/test/30-deployment/web.yaml': web({
          scenario: 'config-error',
          container:
            '          env: [{ name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: db, key: PASSWORD } } }]\n',
        }),
      };
    });
    assert.equal(
      causeOf(output),
      `container web references a missing ConfigMap, Secret or key: couldn't find key PASSWORD in Secret ${namespace}/db`,
      output,
    );
  });

  it("a readiness probe's initial delay: the deploy waits it out and succeeds", async () => {
    const ns = await freshNamespace('kubelet-probe');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('kubelet-probe', ns.name),
      '.deploy/test/30-deployment/web.yaml': web({
        container:
          '          readinessProbe: { httpGet: { path: /ready, port: 8080 }, initialDelaySeconds: 4 }\n',
      }),
    });
    try {
      const run = await capstan(['deploy', 'test', '--timeout', '2m', '-o', 'plain'], { cwd: app.dir });
      const output = run.stdout + run.stderr;
      assert.equal(run.code, 0, output);
      assert.match(output, /waiting Deployment\/web: 0 of 1 updated replicas available/);
      // The pod is Ready 4 s after it starts; a lower bound only, 1 s short of it.
      const seconds = Number(/phase 30-deployment done in ([\d.]+)s/.exec(output)?.[1]);
      assert.ok(seconds >= 3, output);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});

describe('no secret value is ever printed, even when a container logs it', () => {
  it("redacts a Secret value from hook-Job logs and from a failed rollout's log tails", async () => {
    const password = 'hunter2-capstan-leak-canary-5150';
    const ns = await freshNamespace('kubelet-leak');
    const keys = generateKeyPair();
    const keydir = mkdtempSync(join(tmpdir(), 'capstan-keys-'));
    writeFileSync(join(keydir, keys.publicKey), keys.privateKey, { mode: 0o600 });
    const secrets = encryptEjson(
      JSON.stringify(
        {
          _public_key: keys.publicKey,
          kubernetes_secrets: { db: { _type: 'Opaque', data: { DB_PASSWORD: password } } },
        },
        null,
        2,
      ) + '\n',
    );
    const fromSecret = '[{ name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: db, key: DB_PASSWORD } } }]';
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('leaky', ns.name),
      '.deploy/test/10-configuration/secrets.ejson': secrets,
      '.deploy/test/20-predeployment/migrate.yaml.ejs': `apiVersion: batch/v1
kind: Job
metadata: { name: migrate-<%= deployId %> }
spec:
  backoffLimit: 0
  template:
    metadata: { annotations: { capstan.test/log-env: DB_PASSWORD } }
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: example.com/web:1, env: ${fromSecret} }]
`,
      '.deploy/test/30-deployment/web.yaml': web({
        scenario: 'crashloop',
        annotations: { 'capstan.test/log-env': 'DB_PASSWORD' },
        container: `          env: ${fromSecret}\n`,
      }),
    });
    try {
      const outputs: string[] = [];
      for (const format of [[], ['-o', 'json']]) {
        const run = await capstan(['deploy', 'test', '--timeout', '2m', ...format], {
          cwd: app.dir,
          env: { EJSON_KEYDIR: keydir },
        });
        const output = run.stdout + run.stderr;
        assert.equal(run.code, 1, output);
        outputs.push(output);
      }
      const all = outputs.join('\n');
      for (const form of [password, Buffer.from(password).toString('base64')]) {
        assert.ok(!all.includes(form), `a secret value was printed:\n${all}`);
      }
      // Each channel did carry the container's line, redacted (else this test would prove nothing).
      const human = outputs[0] ?? '';
      assert.match(
        human,
        /\[migrate-[^\]]+\] capstan fake container: DB_PASSWORD=\[redacted\]\n/,
        "the hook Job's log",
      );
      assert.match(
        human,
        /previous container\):\n(\s+\| .*\n)*\s+\| capstan fake container: DB_PASSWORD=\[redacted\]\n/,
        "the previous container's log tail",
      );
      assert.match(
        human,
        /current container\):\n(\s+\| .*\n)*\s+\| capstan fake container: DB_PASSWORD=\[redacted\]\n/,
        "the current container's log tail",
      );
      assert.match(
        outputs[1] ?? '',
        /"line":"capstan fake container: DB_PASSWORD=\[redacted\]"/,
        'the JSON log event',
      );
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  // The task's log lines pass through the redactor the rendered Secrets taught.
  it('redacts a Secret value from the log of `capstan run`', async () => {
    const password = 'run-task-leak-canary-8086';
    const ns = await freshNamespace('kubelet-run-leak');
    const keys = generateKeyPair();
    const keydir = mkdtempSync(join(tmpdir(), 'capstan-keys-'));
    writeFileSync(join(keydir, keys.publicKey), keys.privateKey, { mode: 0o600 });
    const env = { EJSON_KEYDIR: keydir };
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('runner', ns.name),
      '.deploy/test/10-configuration/secrets.ejson': encryptEjson(
        JSON.stringify(
          {
            _public_key: keys.publicKey,
            kubernetes_secrets: { db: { _type: 'Opaque', data: { DB_PASSWORD: password } } },
          },
          null,
          2,
        ) + '\n',
      ),
      '.deploy/test/30-deployment/web.yaml': web({
        annotations: { 'capstan.test/log-env': 'DB_PASSWORD' },
        container:
          '          env: [{ name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: db, key: DB_PASSWORD } } }]\n',
      }),
    });
    try {
      const deployed = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir, env });
      assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
      const run = await capstan(
        ['run', 'test', '--from', 'deployment/web', '--timeout', '2m', '--', 'true'],
        { cwd: app.dir, env },
      );
      const output = run.stdout + run.stderr;
      assert.equal(run.code, 0, output);
      assert.match(output, /capstan fake container: DB_PASSWORD=/, "the task's log was printed");
      assert.ok(!output.includes(password), `a secret value was printed by capstan run:\n${output}`);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  // A Secret made outside Capstan that a pod template reads: the deploy reads it and redacts its
  // values too (learnReferencedSecrets).
  it('redacts the value of a Secret it did not render but a failing pod logs', async () => {
    const password = 'external-secret-canary-4040';
    const ns = await freshNamespace('kubelet-ext-leak');
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('external', ns.name),
      '.deploy/test/30-deployment/web.yaml': web({
        scenario: 'crashloop',
        annotations: { 'capstan.test/log-env': 'DB_PASSWORD' },
        container:
          '          env: [{ name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: external, key: DB_PASSWORD } } }]\n',
      }),
    });
    try {
      await kubectl([
        'create',
        'secret',
        'generic',
        'external',
        '-n',
        ns.name,
        `--from-literal=DB_PASSWORD=${password}`,
      ]);
      const run = await capstan(['deploy', 'test', '--timeout', '2m'], { cwd: app.dir });
      const output = run.stdout + run.stderr;
      assert.equal(run.code, 1, output);
      assert.match(output, /capstan fake container: DB_PASSWORD=/, "the container's log was shown");
      assert.ok(!output.includes(password), `a secret value was printed:\n${output}`);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
