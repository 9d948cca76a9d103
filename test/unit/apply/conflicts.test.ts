// Which server-side apply conflicts a deploy takes back: a person's kubectl change of a field
// Capstan renders (drift), never another tool's or a controller's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflictManagers, ownedOnlyByPeople } from '../../../src/apply/apply.js';
import { KubeApiError } from '../../../src/kube/index.js';

const conflict = (...managers: string[]) =>
  new KubeApiError(
    409,
    'Conflict',
    `Apply failed with ${managers.length} conflicts`,
    managers.map((m, i) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${m}" using apps/v1`,
      field: `.spec.field${i}`,
    })),
  );

describe('apply conflicts', () => {
  it('names the managers a conflict is with', () => {
    assert.deepEqual(conflictManagers(conflict('kubectl-edit', 'helm')), ['kubectl-edit', 'helm']);
  });

  it("takes back a person's kubectl changes only", () => {
    for (const m of [
      'kubectl',
      'kubectl-edit',
      'kubectl-set',
      'kubectl-scale',
      'kubectl-patch',
      'kubectl-label',
      'kubectl-client-side-apply',
    ])
      assert.equal(ownedOnlyByPeople(conflict(m)), true, m);
    assert.equal(ownedOnlyByPeople(conflict('kubectl-edit', 'kubectl-scale')), true);
    for (const m of [
      'kube-controller-manager',
      'helm',
      'argocd-controller',
      'capstan-migrate',
      'kubectl-editor',
      'Kubectl',
    ])
      assert.equal(ownedOnlyByPeople(conflict(m)), false, m);
    assert.equal(
      ownedOnlyByPeople(conflict('kubectl-edit', 'helm')),
      false,
      'one other manager keeps the refusal',
    );
    assert.equal(
      ownedOnlyByPeople(new KubeApiError(409, 'Conflict', 'Operation cannot be fulfilled')),
      false,
    );
  });
});
