import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesSelector } from '../../../src/shared/index.js';

describe('matchesSelector', () => {
  const labels = { app: 'web', tier: 'front' };
  it('ANDs matchLabels and every expression; an empty selector matches everything', () => {
    assert.equal(matchesSelector({}, labels), true);
    assert.equal(matchesSelector({ matchLabels: { app: 'web' } }, labels), true);
    assert.equal(matchesSelector({ matchLabels: { app: 'web', tier: 'back' } }, labels), false);
    assert.equal(
      matchesSelector(
        { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'mid'] }] },
        labels,
      ),
      true,
    );
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels),
      false,
    );
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels),
      true,
    );
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels), true);
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels),
      false,
    );
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, labels),
      false,
    );
  });

  it('reads only the labels that are set: `constructor` or `toString` are not on every object', () => {
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, labels),
      false,
    );
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }, labels),
      true,
    );
  });
});
