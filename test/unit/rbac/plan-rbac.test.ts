import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSubject, planRbac, rbacObjects, type RbacResource } from '../../../src/rbac/index.js';

const type = (group: string, resource: string, kind: string, namespaced = true): RbacResource => ({
  group,
  resource,
  kind,
  namespaced,
});
const deployment = type('apps', 'deployments', 'Deployment');
const configMap = type('', 'configmaps', 'ConfigMap');
const service = type('', 'services', 'Service');
const namespace = type('', 'namespaces', 'Namespace', false);
const widget = type('example.com', 'widgets', 'Widget');

const base = { app: 'shop', env: 'staging', namespace: 'shop-staging' };

function rulesOf(plan: ReturnType<typeof planRbac>, ns = 'shop-staging') {
  return plan.roles.find((r) => r.namespace === ns)!.rules;
}

function verbsFor(rules: ReturnType<typeof rulesOf>, group: string, resource: string): readonly string[] {
  return rules
    .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource))
    .flatMap((r) => r.verbs);
}

describe('planRbac', () => {
  it("grants apply, wait and prune verbs on rendered kinds and Capstan's own needs, nothing cluster-wide", () => {
    const plan = planRbac({ ...base, objects: [{ type: deployment }, { type: configMap }] });
    const rules = rulesOf(plan);
    assert.deepEqual(verbsFor(rules, 'apps', 'deployments'), [
      'get',
      'list',
      'watch',
      'create',
      'patch',
      'delete',
    ]);
    assert.deepEqual(verbsFor(rules, 'coordination.k8s.io', 'leases'), ['get', 'create', 'update', 'delete']);
    assert.deepEqual(verbsFor(rules, '', 'pods/log'), ['get']);
    assert.deepEqual(verbsFor(rules, '', 'secrets'), ['get', 'list', 'create', 'patch', 'delete']);
    assert.deepEqual(verbsFor(rules, 'apps', 'replicasets'), ['list', 'watch']);
    assert.deepEqual(verbsFor(rules, 'discovery.k8s.io', 'endpointslices'), [], 'no Service, no endpoints');
    assert.deepEqual(plan.clusterRules, []);
    assert.equal(plan.name, 'capstan-deploy:shop-staging');
  });

  it('never grants update, deletecollection or wildcards', () => {
    const plan = planRbac({ ...base, objects: [{ type: deployment }, { type: service }, { type: widget }] });
    for (const rule of rulesOf(plan)) {
      assert.ok(!rule.verbs.includes('deletecollection') && !rule.verbs.includes('*'), JSON.stringify(rule));
      assert.ok(!rule.resources.includes('*') && !rule.apiGroups.includes('*'));
      if (rule.verbs.includes('update')) assert.deepEqual(rule.resources, ['leases']);
    }
    assert.deepEqual(verbsFor(rulesOf(plan), 'discovery.k8s.io', 'endpointslices'), ['list', 'watch']);
    assert.deepEqual(verbsFor(rulesOf(plan), 'example.com', 'widgets'), [
      'get',
      'list',
      'watch',
      'create',
      'patch',
      'delete',
    ]);
  });

  it('merges resources of one group with the same verbs into one rule, with both reasons', () => {
    const plan = planRbac({
      ...base,
      objects: [{ type: configMap }, { type: service }, { type: deployment }],
    });
    const core = rulesOf(plan).find((r) => r.resources.includes('configmaps'))!;
    assert.deepEqual(core.resources, ['configmaps', 'services']);
    const deployments = rulesOf(plan).find((r) => r.resources.includes('deployments'))!;
    assert.match(deployments.why, /capstan run/);
    assert.match(deployments.why, /rendered by the environment/);
  });

  it('puts cluster-scoped kinds in a ClusterRole (Namespaces are never deleted) and other namespaces in their own Role', () => {
    const plan = planRbac({
      ...base,
      objects: [{ type: namespace }, { type: configMap, namespace: 'shop-shared' }],
    });
    assert.deepEqual(plan.clusterRules, [
      {
        apiGroups: [''],
        resources: ['namespaces'],
        verbs: ['get', 'list', 'watch', 'create', 'patch'],
        why: 'rendered by the environment: server-side apply and its dry run, waiting, prune',
      },
    ]);
    assert.deepEqual(
      plan.roles.map((r) => r.namespace),
      ['shop-staging', 'shop-shared'],
    );
    assert.deepEqual(
      rulesOf(plan, 'shop-shared').length,
      1,
      'only the rendered kind; locks live in the first',
    );
    const objects = rbacObjects(plan, parseSubject('group:oidc:deployers'));
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}`),
      [
        'Role/shop-staging',
        'RoleBinding/shop-staging',
        'Role/shop-shared',
        'RoleBinding/shop-shared',
        'ClusterRole/',
        'ClusterRoleBinding/',
      ],
    );
    assert.deepEqual((objects[1] as any).subjects, [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'oidc:deployers' },
    ]);
  });

  it('is the same whatever order the objects come in', () => {
    const objects = [{ type: configMap }, { type: deployment }, { type: service }, { type: widget }];
    assert.deepEqual(planRbac({ ...base, objects }), planRbac({ ...base, objects: [...objects].reverse() }));
  });
});

describe('parseSubject', () => {
  it('reads group, user and serviceaccount subjects', () => {
    assert.deepEqual(parseSubject('group:oidc:deployers'), { kind: 'Group', name: 'oidc:deployers' });
    assert.deepEqual(parseSubject('user:alice@example.com'), { kind: 'User', name: 'alice@example.com' });
    assert.deepEqual(parseSubject('serviceaccount:ci/jenkins'), {
      kind: 'ServiceAccount',
      namespace: 'ci',
      name: 'jenkins',
    });
    assert.deepEqual(
      rbacObjects(planRbac({ ...base, objects: [] }), parseSubject('serviceaccount:ci/jenkins'))[1].subjects,
      [{ kind: 'ServiceAccount', name: 'jenkins', namespace: 'ci' }],
    );
  });

  for (const bad of ['deployers', 'group:', 'team:x', 'serviceaccount:jenkins', 'serviceaccount:ci/'])
    it(`refuses "${bad}" as a usage error`, () => {
      assert.throws(() => parseSubject(bad), { code: 'ERR_CAPSTAN_USAGE' });
    });
});
