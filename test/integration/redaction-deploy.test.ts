// Secrets whose values are ordinary words and numbers (`false`, `5432`, the environment's name, the
// app's and namespace's names, a PEM key) deployed through the CLI: the deploy succeeds, its JSON
// events keep their real fields and the deploy's names, and nothing printed, in any mode, or sent
// as a notification, contains one of the values, but those equal to a public name (the
// environment's, the app's, the namespace's), which cannot be kept secret (docs/redaction.md).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encryptEjson, generateKeyPair, MIN_REDACTED_LENGTH, REDACTED } from '../../src/secrets/index.js';
import { capstan, writeApp, type CliRun } from './cli-helpers.js';
import { freshNamespace, getJson, webhookReceiver } from './helpers.js';

const migrate = `apiVersion: batch/v1
kind: Job
metadata: { name: db-migrate-<%= deployId %> }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: <%= image %>, envFrom: [{ secretRef: { name: app-secrets } }] }]
`;

const web = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: <%= image %>
          envFrom: [{ secretRef: { name: app-secrets } }]
`;

/** Where `value` shows in `text` outside the redaction markers (which are Capstan's own). */
function leakIn(text: string, value: string): boolean {
  return text.split(REDACTED).some((part) => part.includes(value));
}

/**
 * Every string of a JSON document, keys excluded, but the values docs/redaction.md keeps: an
 * event's `type`, `outcome`, `action` and `time`, a diff's `action` and `change`, a webhook's `source`,
 * `event` and `timestamp` (Capstan's own).
 */
function jsonStrings(value: unknown, path: readonly (string | number)[] = []): string[] {
  const last = String(path.at(-1));
  if (typeof value === 'string') {
    const kept =
      path.length === 1
        ? ['type', 'outcome', 'action', 'time', 'source', 'event', 'timestamp']
        : ['action', 'change'];
    return kept.includes(last) ? [] : [value];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => jsonStrings(v, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => jsonStrings(v, [...path, k]));
  return [];
}

/** `-o json` output: one document (diff) or one per line (events). */
function jsonOutput(stdout: string): unknown[] {
  try {
    return [JSON.parse(stdout)];
  } catch {
    return stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
  }
}

describe('ordinary secret values in a deploy', () => {
  it('deploys false, 5432, the env/app/namespace names and a PEM key, and prints none of them but the public names', async () => {
    const ns = await freshNamespace('redact');
    const hook = await webhookReceiver();
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const secrets = {
      FEATURE_X: 'false',
      DEBUG: 'true',
      DB_PORT: '5432',
      RAILS_ENV: 'production',
      APP_NAME: 'shop',
      NAMESPACE: ns.name,
      QUOTED: '"}]\\',
      TLS_KEY: pem,
      // What every fake container logs: hook Job logs and `capstan run` must hide it.
      LOG_WORDS: 'fake container',
      // Too short to redact: the deploy says so, naming the key, not the value.
      SHORT: 'on',
    };
    const keys = generateKeyPair();
    const keydir = mkdtempSync(join(tmpdir(), 'capstan-keys-'));
    writeFileSync(join(keydir, keys.publicKey), keys.privateKey, { mode: 0o600 });
    const doc = {
      _public_key: keys.publicKey,
      kubernetes_secrets: { 'app-secrets': { _type: 'Opaque', data: secrets } },
    };
    const app = writeApp({
      '.deploy/capstan.yaml': `app: shop\nenvironments:\n  production:\n    namespace: ${ns.name}\nnotifications:\n  - type: webhook\n    urlEnv: HOOK_URL\n`,
      '.deploy/production/10-configuration/secrets.ejson': encryptEjson(JSON.stringify(doc, null, 2) + '\n'),
      '.deploy/production/20-predeployment/migrate.yaml.ejs': migrate,
      '.deploy/production/30-deployment/web.yaml.ejs': web,
    });
    const env = { EJSON_KEYDIR: keydir, HOOK_URL: hook.url };
    const runs: Array<{ args: string[]; run: CliRun }> = [];
    const run = async (args: string[]) => {
      const r = await capstan(args, { cwd: app.dir, env });
      runs.push({ args, run: r });
      return r;
    };
    try {
      const dry = await run(['deploy', 'production', '--image', 'shop:1', '--dry-run', '-o', 'json']);
      assert.equal(dry.code, 0, dry.stdout + dry.stderr);
      const first = await run(['deploy', 'production', '--image', 'shop:1', '-o', 'json']);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const stored = await getJson(['get', 'secret', 'app-secrets', '-n', ns.name]);
      assert.equal(
        Buffer.from(stored.data.FEATURE_X, 'base64').toString(),
        'false',
        'the cluster has the real value',
      );

      // The events' own fields are intact: booleans, numbers, names other than the values.
      const started = first.events.find((e) => e.type === 'deploy-started')!;
      assert.equal(started.dryRun, false);
      assert.deepEqual([started.app, started.env, started.namespace], ['shop', 'production', ns.name]);
      assert.deepEqual(started.phases, ['10-configuration', '20-predeployment', '30-deployment']);
      assert.ok(
        first.events.some(
          (e) =>
            e.type === 'warning' &&
            /Secret\/app-secrets key SHORT is shorter than 4 characters/.test(e.message),
        ),
        'a value too short to redact is named in a warning',
      );
      const logs = first.events.filter((e) => e.type === 'log');
      assert.ok(
        logs.some((e) => e.line.includes(`capstan ${REDACTED}: log line`)),
        'the hook Job log streamed, redacted',
      );
      const finished = first.events.find((e) => e.type === 'deploy-finished')!;
      assert.equal(finished.outcome, 'succeeded');
      assert.equal(finished.exitCode, 0);
      assert.equal(typeof finished.durationMs, 'number');
      assert.ok(
        first.events.filter((e) => e.type === 'phase-finished').every((e) => Number.isFinite(e.durationMs)),
      );
      assert.ok(
        first.events.some(
          (e) => e.type === 'object-applied' && e.object.kind === 'Deployment' && e.object.name === 'web',
        ),
      );

      const second = await run(['deploy', 'production', '--image', 'shop:2']);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.match(second.stdout, /deploy succeeded/);
      const task = await run(['run', 'production', '--image', 'shop:2', '--', 'rake', 'db:status']);
      assert.equal(task.code, 0, task.stdout + task.stderr);
      assert.match(task.stdout, /^capstan \[redacted\]: log line 30$/m);
      const diff = await run(['diff', 'production', '--image', 'shop:3']);
      assert.equal(diff.code, 0, diff.stdout + diff.stderr);
      assert.match(diff.stdout, /~ change Deployment\/web/);
      const diffJson = await run(['diff', 'production', '--image', 'shop:3', '-o', 'json']);
      assert.equal(diffJson.code, 0, diffJson.stderr);
      assert.equal(typeof JSON.parse(diffJson.stdout).hasChanges, 'boolean');
      const back = await run(['rollback', 'production', '-o', 'json']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.equal(back.events.at(-1)?.type, 'deploy-finished');
      assert.equal(typeof back.events.at(-1)?.durationMs, 'number');
      const backPlain = await run(['rollback', 'production', '--to', '2']);
      assert.equal(backPlain.code, 0, backPlain.stdout + backPlain.stderr);
      const history = await run(['history', 'production']);
      assert.equal(history.code, 0, history.stderr);
      assert.match(history.stdout, /rollback to 2/);
      const historyJson = await run(['history', 'production', '-o', 'json']);
      assert.equal(historyJson.code, 0, historyJson.stderr);
      assert.equal(JSON.parse(historyJson.stdout)[0].outcome, 'rolled-back');
      assert.ok(hook.texts.length >= 4, `notifications were sent (${hook.texts.length})`);

      // Each value long enough to redact, and each long enough line of the PEM key; not the
      // environment's, app's and namespace's names, which are public.
      const publicNames = new Set(['production', 'shop', ns.name]);
      const values = Object.values(secrets)
        .filter((v) => v.trim().length >= MIN_REDACTED_LENGTH && !publicNames.has(v))
        .flatMap((v) => [
          v,
          ...v
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l.length >= MIN_REDACTED_LENGTH),
        ]);
      for (const { args, run: r } of runs) {
        const json = args.includes('-o');
        for (const value of values) {
          // JSON output is read as JSON: `false` the boolean and 5432 the number are fields, not the secret.
          const printed = json ? jsonOutput(r.stdout).flatMap((doc) => jsonStrings(doc)) : [r.stdout];
          for (const text of [...printed, r.stderr]) {
            assert.ok(
              !leakIn(text, value),
              `capstan ${args.join(' ')} printed ${JSON.stringify(value)}: ${text.slice(0, 400)}`,
            );
          }
        }
      }
      for (const body of hook.texts) {
        for (const text of jsonStrings(JSON.parse(body))) {
          for (const value of values)
            assert.ok(!leakIn(text, value), `a notification holds ${JSON.stringify(value)}: ${text}`);
        }
      }
    } finally {
      await hook.close();
      app.cleanup();
      await ns.remove();
    }
  });

  it('a Secret value equal to the environment name: -o json keeps the name, a warning names the key', async () => {
    const ns = await freshNamespace('redact-env');
    const app = writeApp({
      '.deploy/capstan.yaml': `app: shop\nenvironments:\n  staging:\n    namespace: ${ns.name}\n`,
      '.deploy/staging/10-configuration/app-secrets.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata: { name: app-secrets }\nstringData: { TIER: staging, PASSWORD: hunter2-staging-pw }\n',
      '.deploy/staging/10-configuration/config.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: staging-settings }\ndata: { MODE: fast }\n',
    });
    try {
      const run = await capstan(['deploy', 'staging', '--image', 'shop:1', '-o', 'json'], { cwd: app.dir });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const started = run.events.find((e) => e.type === 'deploy-started')!;
      assert.equal(started.env, 'staging');
      assert.equal(started.namespace, ns.name);
      assert.deepEqual(started.phases, ['10-configuration']);
      const applied = run.events.filter((e) => e.type === 'object-applied').map((e) => e.object.name);
      assert.deepEqual(applied.sort(), ['app-secrets', 'staging-settings']);
      assert.doesNotMatch(run.stdout, /"(app|env|namespace|kind|name|phase)":"[^"]*\[redacted\]/);
      const warnings = run.events.filter((e) => e.type === 'warning').map((e) => e.message as string);
      assert.ok(
        warnings.some((w) => /^Secret\/app-secrets key TIER equals a name Capstan prints anyway/.test(w)),
        warnings.join('\n'),
      );
      assert.ok(
        warnings.every((w) => !/\bstaging\b/.test(w)),
        'the warning does not say which name',
      );
      assert.ok(!leakIn(run.stdout + run.stderr, 'hunter2-staging-pw'), 'the password stays hidden');
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
