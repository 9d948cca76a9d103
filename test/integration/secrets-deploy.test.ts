// secrets.ejson in a deploy: decrypted into Secrets, rolled into pod checksums, pruned when
// removed, refused when plaintext; and no byte Capstan prints contains a secret value.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encryptEjson, generateKeyPair } from '../../src/secrets/index.js';
import { capstan, capstanYaml, writeApp } from './cli-helpers.js';
import { freshNamespace, getJson } from './helpers.js';

const PLAINTEXTS = [
  's3cr3t-database-password-93',
  'sk_live_capstan_api_key_7781',
  'second-secret-value-4412',
];

function ejsonFile(publicKey: string, secrets: Record<string, Record<string, string>>): string {
  const doc = {
    _public_key: publicKey,
    kubernetes_secrets: Object.fromEntries(
      Object.entries(secrets).map(([name, data]) => [name, { _type: 'Opaque', data }]),
    ),
  };
  return encryptEjson(JSON.stringify(doc, null, 2) + '\n');
}

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

describe('secrets in a deploy', () => {
  it('deploys ejson secrets, rolls pods on a change, prunes removed ones, never prints a value', async () => {
    const ns = await freshNamespace('secrets');
    const keys = generateKeyPair();
    const keydir = mkdtempSync(join(tmpdir(), 'capstan-keys-'));
    writeFileSync(join(keydir, keys.publicKey), keys.privateKey, { mode: 0o600 });
    const env = { EJSON_KEYDIR: keydir };
    const secretsPath = '.deploy/test/10-configuration/secrets.ejson';
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('vault', ns.name),
      [secretsPath]: ejsonFile(keys.publicKey, {
        'app-secrets': { DATABASE_PASSWORD: PLAINTEXTS[0], API_KEY: PLAINTEXTS[1] },
        'other-secrets': { TOKEN: PLAINTEXTS[2] },
      }),
      '.deploy/test/30-deployment/web.yaml.ejs': web,
    });
    const printed: string[] = [];
    const run = async (args: string[]) => {
      const r = await capstan(args, { cwd: app.dir, env });
      printed.push(r.stdout, r.stderr);
      return r;
    };
    try {
      const first = await run(['deploy', 'test', '--image', 'x:1', '-o', 'json']);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const secret = await getJson(['get', 'secret', 'app-secrets', '-n', ns.name]);
      assert.equal(Buffer.from(secret.data.DATABASE_PASSWORD, 'base64').toString(), PLAINTEXTS[0]);
      assert.equal(secret.metadata.labels['app.kubernetes.io/managed-by'], 'capstan');
      const checksum1 = (await getJson(['get', 'deployment', 'web', '-n', ns.name])).spec.template.metadata
        .annotations['capstan.dev/config-checksum'];
      assert.ok(checksum1, 'the pod template carries the checksum of the Secret it uses');

      const rendered = await run(['render', 'test', '--image', 'x:1']);
      assert.equal(rendered.code, 0, rendered.stderr);
      assert.match(rendered.stdout, /\[redacted\]/);

      // Change one value and drop the other Secret: pods roll, the dropped Secret is pruned.
      app.write(
        secretsPath,
        ejsonFile(keys.publicKey, {
          'app-secrets': { DATABASE_PASSWORD: 'rotated-password-5521', API_KEY: PLAINTEXTS[1] },
        }),
      );
      PLAINTEXTS.push('rotated-password-5521');
      const second = await run(['deploy', 'test', '--image', 'x:1']);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      const checksum2 = (await getJson(['get', 'deployment', 'web', '-n', ns.name])).spec.template.metadata
        .annotations['capstan.dev/config-checksum'];
      assert.notEqual(checksum2, checksum1);
      const secrets = await getJson<{ items: any[] }>(['get', 'secrets', '-n', ns.name]);
      assert.equal(
        secrets.items.some((s) => s.metadata.name === 'other-secrets'),
        false,
        'the removed Secret was pruned',
      );

      // A crashing deploy prints diagnosis, events and logs: still no secret value.
      app.write(
        '.deploy/test/30-deployment/web.yaml.ejs',
        web.replace(
          'labels: { app: web } }\n    spec',
          'labels: { app: web, capstan.test/scenario: crashloop } }\n    spec',
        ),
      );
      const failing = await run(['deploy', 'test', '--image', 'x:1', '--timeout', '60s', '-o', 'json']);
      assert.equal(failing.code, 1, failing.stdout);
      assert.ok(failing.events.some((e) => e.type === 'object-failed' && e.diagnosis));

      for (const text of printed) {
        for (const value of PLAINTEXTS) {
          assert.ok(!text.includes(value), `a secret value was printed: ${value}`);
          assert.ok(
            !text.includes(Buffer.from(value).toString('base64')),
            'a base64 secret value was printed',
          );
        }
      }
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });

  it('refuses a plaintext value and a missing key, applying nothing', async () => {
    const ns = await freshNamespace('secrets-bad');
    const keys = generateKeyPair();
    const plain = JSON.stringify(
      {
        _public_key: keys.publicKey,
        kubernetes_secrets: { s: { _type: 'Opaque', data: { PASSWORD: 'not-encrypted-value' } } },
      },
      null,
      2,
    );
    const app = writeApp({
      '.deploy/capstan.yaml': capstanYaml('vault', ns.name),
      '.deploy/test/10-configuration/secrets.ejson': plain,
      '.deploy/test/10-configuration/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n',
    });
    try {
      const plaintext = await capstan(['deploy', 'test', '--image', 'x:1'], {
        cwd: app.dir,
        env: { EJSON_KEYDIR: '/nonexistent' },
      });
      assert.equal(plaintext.code, 2);
      assert.match(plaintext.stderr, /secrets\.ejson:\d+:\d+/);
      assert.ok(!plaintext.stderr.includes('not-encrypted-value'));

      app.write(
        '.deploy/test/10-configuration/secrets.ejson',
        ejsonFile(keys.publicKey, { s: { PASSWORD: 'x-value-1234' } }),
      );
      const missing = await capstan(['deploy', 'test', '--image', 'x:1'], {
        cwd: app.dir,
        env: { EJSON_KEYDIR: '/nonexistent' },
      });
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, new RegExp(keys.publicKey));
      assert.match(missing.stderr, /\/nonexistent/);
      assert.match(missing.stderr, /ejson-keys/);
      const cms = await getJson<{ items: any[] }>([
        'get',
        'configmaps',
        '-n',
        ns.name,
        '-l',
        'app.kubernetes.io/managed-by=capstan',
      ]);
      assert.equal(cms.items.length, 0);
    } finally {
      app.cleanup();
      await ns.remove();
    }
  });
});
