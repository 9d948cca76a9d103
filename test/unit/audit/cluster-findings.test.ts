// The audit of a multi-cluster environment as one list (SARIF, CI annotations): each finding once,
// saying which clusters have it unless all do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeClusterFindings, type Finding, type RunAuditResult } from '../../../src/audit/index.js';

const finding = (check: Finding['check'], namespace: string, line: number): Finding => ({
  check,
  severity: 'warning',
  object: { kind: 'Deployment', name: 'web', namespace },
  file: '/app/.deploy/production/30-deployment/web.deployment.yaml.ejs',
  line,
  message: `Deployment/web: ${check}`,
  hint: 'fix it',
});

const audit = (cluster: string, namespace: string, findings: Finding[], reasons: string[] = []) =>
  ({
    cluster,
    namespace,
    findings,
    skipped: reasons.map((reason) => ({ check: 'scheduling' as const, reason })),
    rendered: [],
  }) satisfies RunAuditResult;

describe('mergeClusterFindings', () => {
  it('lists a finding of every cluster once, as it is, whatever namespace each cluster uses', () => {
    const merged = mergeClusterFindings([
      audit('eu', 'shop', [finding('run-as-root', 'shop', 10)]),
      audit('us', 'shop-us', [finding('run-as-root', 'shop-us', 10)]),
    ]);
    assert.deepEqual(merged.findings, [finding('run-as-root', 'shop', 10)]);
  });

  it('says which clusters have a finding that not all have, in first-seen order', () => {
    const merged = mergeClusterFindings([
      audit('eu', 'shop', [finding('pdb-missing', 'shop', 5), finding('run-as-root', 'shop', 10)]),
      audit('us', 'shop', [finding('run-as-root', 'shop', 10)]),
      audit('ap', 'shop', [finding('pdb-missing', 'shop', 5), finding('run-as-root', 'shop', 10)]),
    ]);
    assert.deepEqual(
      merged.findings.map((f) => f.message),
      ['Deployment/web: pdb-missing (in clusters eu, ap)', 'Deployment/web: run-as-root'],
    );
  });

  it('keeps findings at other lines apart, and merges skipped checks the same way', () => {
    const merged = mergeClusterFindings([
      audit('eu', 'shop', [finding('run-as-root', 'shop', 10)], ['offline', 'no nodes']),
      audit('us', 'shop', [finding('run-as-root', 'shop', 12)], ['offline']),
    ]);
    assert.deepEqual(
      merged.findings.map((f) => [f.line, f.message]),
      [
        [10, 'Deployment/web: run-as-root (in cluster eu)'],
        [12, 'Deployment/web: run-as-root (in cluster us)'],
      ],
    );
    assert.deepEqual(
      merged.skipped.map((s) => s.reason),
      ['offline', 'cluster eu: no nodes'],
    );
  });
});
