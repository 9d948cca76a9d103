import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError } from '../../../src/kube/errors.js';
import { explainRefusal, formatRefusal, parseRefusal, RefusalError } from '../../../src/kube/forbidden.js';

// Messages as kube-apiserver v1.36.1 wrote them to an OIDC identity of the local control plane.
const messages = {
  lease:
    'leases.coordination.k8s.io "capstan-lock" is forbidden: User "oidc:alice@example.com" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "shop-staging"',
  namespaces:
    'namespaces is forbidden: User "oidc:alice@example.com" cannot list resource "namespaces" in API group "" at the cluster scope',
  logs: 'pods "x" is forbidden: User "oidc:alice@example.com" cannot get resource "pods/log" in API group "" in the namespace "default"',
};

describe('403 refusals', () => {
  it('reads user, verb, resource, group and namespace from the API server message', () => {
    assert.deepEqual(parseRefusal(messages.lease), {
      user: 'oidc:alice@example.com',
      verb: 'get',
      resource: 'leases',
      group: 'coordination.k8s.io',
      namespace: 'shop-staging',
    });
    assert.deepEqual(parseRefusal(messages.namespaces), {
      user: 'oidc:alice@example.com',
      verb: 'list',
      resource: 'namespaces',
      group: '',
      namespace: undefined,
    });
    assert.deepEqual(parseRefusal(messages.logs), {
      user: 'oidc:alice@example.com',
      verb: 'get',
      resource: 'pods/log',
      group: '',
      namespace: 'default',
    });
    assert.equal(parseRefusal('admission webhook "x" denied the request'), undefined);
  });

  it('names identity, verb, resource, namespace and what Capstan was doing', () => {
    const identity = {
      username: 'oidc:alice@example.com',
      groups: ['oidc:deployers', 'system:authenticated'],
    };
    const lease = parseRefusal(messages.lease.replace('get', 'create'));
    assert.ok(lease);
    assert.equal(
      formatRefusal(lease, { identity, doing: 'the deploy lock needs it' }),
      'cannot create leases.coordination.k8s.io in namespace shop-staging as oidc:alice@example.com (groups: oidc:deployers): the deploy lock needs it',
    );
    const logs = parseRefusal(messages.logs);
    assert.ok(logs);
    assert.equal(formatRefusal(logs), 'cannot get pods/log in namespace default as oidc:alice@example.com');
    const namespaces = parseRefusal(messages.namespaces);
    assert.ok(namespaces);
    assert.equal(
      formatRefusal(namespaces, { identity: { username: 'u', groups: ['system:authenticated'] } }),
      'cannot list namespaces at the cluster scope as u (groups: none)',
    );
  });

  it('retells a 403 as a KubeApiError with the missing rule as hint, keeping the original as cause', () => {
    const original = new KubeApiError(403, 'Forbidden', messages.lease);
    const explained = explainRefusal(original, { doing: 'taking the deploy lock' });
    assert.ok(explained instanceof RefusalError);
    assert.ok(explained instanceof KubeApiError && explained.forbidden);
    assert.equal(
      explained.message,
      'cannot get leases.coordination.k8s.io in namespace shop-staging as oidc:alice@example.com: taking the deploy lock',
    );
    assert.equal(
      explained.hint,
      'a cluster admin can grant it with a Role rule: apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get"]',
    );
    assert.equal(explained.cause, original);
    const other = new KubeApiError(404, 'NotFound', 'not found');
    assert.equal(explainRefusal(other, { doing: 'x' }), other);
  });
});
