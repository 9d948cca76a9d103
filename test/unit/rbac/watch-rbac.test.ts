import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planWatchRbac, rbacObjects } from '../../../src/rbac/index.js';

describe('planWatchRbac', () => {
  const plan = planWatchRbac({ app: 'shop', env: 'production', namespace: 'shop-prod' });

  it("reads what a watcher judges and writes only its ConfigMap and Lease, in the environment's namespace", () => {
    assert.equal(plan.name, 'capstan-watch:shop-production');
    assert.deepEqual(plan.clusterRules, []);
    assert.deepEqual(
      plan.roles.map((r) => r.namespace),
      ['shop-prod'],
    );
    const verbs = new Map<string, string[]>();
    for (const rule of plan.roles[0].rules)
      for (const group of rule.apiGroups)
        for (const resource of rule.resources) verbs.set(`${group}/${resource}`, [...rule.verbs]);
    for (const read of [
      'apps/deployments',
      'apps/statefulsets',
      'apps/daemonsets',
      'apps/replicasets',
      'batch/jobs',
      'batch/cronjobs',
      '/pods',
      '/events',
    ])
      assert.deepEqual(verbs.get(read), ['get', 'list', 'watch'], read);
    assert.deepEqual(verbs.get('/pods/log'), ['get']);
    assert.deepEqual(verbs.get('/secrets'), ['list']);
    assert.deepEqual(verbs.get('/configmaps'), ['get', 'create', 'patch']);
    assert.deepEqual(verbs.get('coordination.k8s.io/leases'), ['get', 'create', 'update']);
    assert.ok(![...verbs.values()].flat().includes('delete'));
  });

  it('binds the Role to a subject when one is given', () => {
    const objects = rbacObjects(plan, { kind: 'ServiceAccount', namespace: 'shop-prod', name: 'watcher' });
    assert.deepEqual(
      objects.map((o) => o.kind),
      ['Role', 'RoleBinding'],
    );
  });
});
