import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import {
  auditObjects,
  CHECK_IDS,
  formatAuditJson,
  formatAuditSarif,
  formatAuditText,
  type AuditResult,
} from '../../../src/audit/index.js';
import { auditAnnotations } from '../../../src/cli/audit-commands.js';
import { deployment, renderedYaml } from './fixtures.js';

function result(): AuditResult {
  const yaml = deployment({ image: 'registry.example/web:latest', pod: '      hostPID: true\n' });
  return auditObjects(renderedYaml(yaml, '/app/.deploy/staging/30-deployment/web.yaml'), {
    namespace: 'shop',
  });
}

describe('audit output', () => {
  it('-o json: one finding per line, exactly the documented fields in order', () => {
    const lines = formatAuditJson(result(), { cwd: '/app' }).trimEnd().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed), [
        'check',
        'severity',
        'object',
        'file',
        'line',
        'message',
        'hint',
      ]);
      assert.deepEqual(Object.keys(parsed['object'] as object), ['kind', 'name', 'namespace']);
    }
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.deepEqual(first, {
      check: 'host-pid-ipc',
      severity: 'error',
      object: { kind: 'Deployment', name: 'web', namespace: 'shop' },
      file: '.deploy/staging/30-deployment/web.yaml',
      line: 14,
      message: first['message'],
      hint: first['hint'],
    });
    assert.equal(JSON.parse(lines[1]).check, 'image-tag-mutable');
    assert.equal(JSON.parse(lines[1]).line, 17);
  });

  it('-o sarif: a valid SARIF 2.1.0 log with a rule per check and located results', () => {
    const log = JSON.parse(formatAuditSarif(result(), { cwd: '/app' })) as Record<string, unknown>;
    // The parts of the SARIF 2.1.0 schema that code scanning reads.
    const schema = {
      type: 'object',
      required: ['version', 'runs'],
      properties: {
        version: { const: '2.1.0' },
        runs: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['tool', 'results'],
            properties: {
              tool: {
                type: 'object',
                required: ['driver'],
                properties: {
                  driver: {
                    type: 'object',
                    required: ['name', 'rules'],
                    properties: {
                      rules: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['id', 'shortDescription'],
                          properties: { id: { type: 'string' } },
                        },
                      },
                    },
                  },
                },
              },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['ruleId', 'level', 'message', 'locations'],
                  properties: {
                    level: { enum: ['none', 'note', 'warning', 'error'] },
                    message: { type: 'object', required: ['text'] },
                    locations: {
                      type: 'array',
                      minItems: 1,
                      items: {
                        type: 'object',
                        required: ['physicalLocation'],
                        properties: {
                          physicalLocation: {
                            type: 'object',
                            required: ['artifactLocation', 'region'],
                            properties: {
                              artifactLocation: { type: 'object', required: ['uri'] },
                              region: {
                                type: 'object',
                                required: ['startLine'],
                                properties: { startLine: { type: 'integer', minimum: 1 } },
                              },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    };
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    assert.ok(validate(log), JSON.stringify(validate.errors));
    const run = (
      log['runs'] as { tool: { driver: { rules: { id: string }[] } }; results: Record<string, unknown>[] }[]
    )[0];
    assert.deepEqual(
      run.tool.driver.rules.map((r) => r.id),
      [...CHECK_IDS],
    );
    assert.equal(run.results[0]['ruleId'], 'host-pid-ipc');
    assert.equal(run.results[0]['ruleIndex'], CHECK_IDS.indexOf('host-pid-ipc'));
    assert.deepEqual((run.results[0]['locations'] as unknown[])[0], {
      physicalLocation: {
        artifactLocation: { uri: '.deploy/staging/30-deployment/web.yaml' },
        region: { startLine: 14 },
      },
      logicalLocations: [{ name: 'web', kind: 'resource', fullyQualifiedName: 'shop/Deployment/web' }],
    });
  });

  it('text: grouped by file, skipped checks and the counts', () => {
    const text = formatAuditText(result(), { cwd: '/app' });
    const lines = text.split('\n');
    assert.equal(lines[0], '.deploy/staging/30-deployment/web.yaml');
    assert.match(lines[1], /^ {2}14 {2}error {4}host-pid-ipc {2}Deployment\/web: hostPID: true/);
    assert.match(lines[2], /^ {6}fix: /);
    assert.match(text, /skipped: zone-spread|1 error\(s\), 1 warning\(s\), 0 info/);
  });

  it('GitHub annotations: ::error/::warning at the file and line, relative to the workspace', () => {
    const annotations = auditAnnotations(result().findings, { GITHUB_WORKSPACE: '/app' });
    assert.equal(annotations.length, 2);
    assert.match(
      annotations[0],
      /^::error file=.deploy\/staging\/30-deployment\/web.yaml,line=14,title=capstan audit%3A host-pid-ipc::Deployment\/web: hostPID/,
    );
    assert.match(
      annotations[1],
      /^::warning file=.deploy\/staging\/30-deployment\/web.yaml,line=17,title=capstan audit%3A image-tag-mutable::/,
    );
    assert.ok(
      annotations.every((a) => !a.includes('\n')),
      'one line each',
    );
  });
});
