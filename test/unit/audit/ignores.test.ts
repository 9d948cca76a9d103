import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  auditObjects,
  blockingFindings,
  CHECK_IDS,
  resolveAuditConfig,
  runAudit,
} from '../../../src/audit/index.js';
import { parseConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/shared/index.js';
import { deployment, renderedYaml } from './fixtures.js';
import { runCli } from '../../../src/cli/main.js';

const APP_DIR = fileURLToPath(new URL('../../../examples/demo-app', import.meta.url));
const MUTABLE = deployment({ image: 'registry.example/web:latest', pod: '      hostNetwork: true\n' });

describe('ignores and severity overrides', () => {
  it('capstan.dev/audit-ignore on the object or its pod template drops those checks', () => {
    const onObject = MUTABLE.replace(
      '  name: web\n',
      '  name: web\n  annotations: { capstan.dev/audit-ignore: "image-tag-mutable, host-network" }\n',
    );
    assert.deepEqual(auditObjects(renderedYaml(onObject), { namespace: 'shop' }).findings, []);
    const onTemplate = deployment({
      image: 'registry.example/web:latest',
      annotations: '{ capstan.dev/audit-ignore: image-tag-mutable }',
    });
    assert.deepEqual(auditObjects(renderedYaml(onTemplate), { namespace: 'shop' }).findings, []);
  });

  it('an unknown check id in the annotation is an input error at its line', () => {
    const yaml = MUTABLE.replace(
      '  name: web\n',
      '  name: web\n  annotations: { capstan.dev/audit-ignore: "image-tag-mutabel" }\n',
    );
    assert.throws(
      () => auditObjects(renderedYaml(yaml), { namespace: 'shop' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues, [
          {
            file: 'app.yaml',
            line: 5,
            path: 'metadata.annotations.capstan.dev/audit-ignore',
            message: 'Deployment/web: unknown check "image-tag-mutabel" in capstan.dev/audit-ignore',
          },
        ]);
        return true;
      },
    );
  });

  it('the config changes severities, turns checks off and ignores objects by Kind/name (with *)', () => {
    const config = resolveAuditConfig({
      checks: { 'image-tag-mutable': 'error', 'host-network': 'off' },
      ignore: [],
    });
    const findings = auditObjects(renderedYaml(MUTABLE), { namespace: 'shop', config }).findings;
    assert.deepEqual(
      findings.map((f) => [f.check, f.severity]),
      [['image-tag-mutable', 'error']],
    );
    const ignored = resolveAuditConfig({
      checks: {},
      ignore: [{ checks: ['image-tag-mutable', 'host-network'], objects: ['Deployment/w*'] }],
    });
    assert.deepEqual(
      auditObjects(renderedYaml(MUTABLE), { namespace: 'shop', config: ignored }).findings,
      [],
    );
    const other = resolveAuditConfig({
      checks: {},
      ignore: [{ checks: ['host-network'], objects: ['StatefulSet/web'] }],
    });
    assert.equal(
      auditObjects(renderedYaml(MUTABLE), { namespace: 'shop', config: other }).findings.length,
      2,
    );
  });

  it('an override to warning takes a blocking finding out of the deploy gate', () => {
    const socket = deployment({
      pod: '      volumes: [{ name: s, hostPath: { path: /run/containerd/containerd.sock } }]\n',
    });
    const [blocking] = auditObjects(renderedYaml(socket), { namespace: 'shop' }).findings;
    assert.equal(blocking.blocking, true);
    const config = resolveAuditConfig({ checks: { 'host-path': 'warning' }, ignore: [] });
    const [relaxed] = auditObjects(renderedYaml(socket), { namespace: 'shop', config }).findings;
    assert.equal(relaxed.severity, 'warning');
    assert.equal(relaxed.blocking, undefined);
    // The deploy gate asks only for what blocks: the same findings, the rest never located.
    const mixed =
      socket +
      '---\n' +
      deployment({ name: 'logs', pod: '      volumes: [{ name: s, hostPath: { path: /var/log } }]\n' });
    const all = auditObjects(renderedYaml(mixed), { namespace: 'shop' }).findings;
    assert.ok(all.length > blockingFindings(all).length);
    assert.deepEqual(
      auditObjects(renderedYaml(mixed), { namespace: 'shop', blockingOnly: true }).findings,
      blockingFindings(all),
    );
    assert.deepEqual(
      auditObjects(renderedYaml(socket), { namespace: 'shop', config, blockingOnly: true }).findings,
      [],
    );
  });

  it('capstan.yaml: unknown check ids and severities are config errors with file, line and field', () => {
    const text = `app: shop
environments:
  staging:
    namespace: shop
audit:
  checks:
    image-tag-mutabel: error
    host-path: fatal
  ignore:
    - { checks: [pdb-missin], objects: [Deployment/web], reason: one replica only }
`;
    const { issues } = parseConfig(text, 'capstan.yaml');
    assert.deepEqual(
      issues.map((i) => [i.line, i.path, i.message]),
      [
        [
          7,
          'audit.checks.image-tag-mutabel',
          'unknown field "image-tag-mutabel"; did you mean "image-tag-mutable"?',
        ],
        [8, 'audit.checks.host-path', 'must be one of "error", "warning", "info", "off", not "fatal"'],
        [10, 'audit.ignore.0.checks.0', issues[2]?.message],
      ],
    );
    assert.match(issues[2].message, /must be one of "probes-missing"/);
  });

  it("the schema's check ids are the audit's", () => {
    const schema = JSON.parse(
      readFileSync(new URL('../../../schema/capstan.schema.json', import.meta.url), 'utf8'),
    ) as {
      definitions: {
        auditCheckId: { enum: string[] };
        audit: { properties: { checks: { properties: object } } };
      };
    };
    assert.deepEqual(schema.definitions.auditCheckId.enum, [...CHECK_IDS]);
    assert.deepEqual(Object.keys(schema.definitions.audit.properties.checks.properties), [...CHECK_IDS]);
  });
});

describe('the example app passes its own audit', () => {
  for (const env of ['staging', 'production']) {
    it(env, async () => {
      const result = await runAudit({ cwd: APP_DIR, env, offline: true, commit: 'c', branch: 'b' });
      assert.deepEqual(result.findings, []);
      assert.ok(result.rendered.length >= 8);
    });
  }

  it('capstan audit exits 0 on it (warnings alone too) and 2 for an unknown output format', async () => {
    const run = async (args: string[]) => {
      let out = '';
      let err = '';
      const io = {
        stdout: { write: (s: string) => ((out += s), true) },
        stderr: { write: (s: string) => ((err += s), true) },
        stdin: process.stdin,
        env: { GIT_COMMIT: 'c', GIT_BRANCH: 'b' },
        cwd: APP_DIR,
        signal: new AbortController().signal,
      } as unknown as Parameters<typeof runCli>[1];
      const code = await runCli(args, io);
      return { code, out, err };
    };
    const ok = await run(['audit', 'staging', '--offline', '-o', 'json']);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.out, '');
    const bad = await run([
      'audit',
      'staging',
      '--offline',
      '--image',
      'registry.example/demo:latest',
      '--set',
      'web.replicas=1',
    ]);
    assert.equal(bad.code, 0, 'warnings only');
    assert.match(bad.out, /image-tag-mutable/);
    const usage = await run(['audit', 'staging', '--offline', '-o', 'xml']);
    assert.equal(usage.code, 2);
  });
});
