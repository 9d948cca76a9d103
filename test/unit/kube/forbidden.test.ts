import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { currentActivity, during } from '../../../src/kube/activity.js';
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

  it("retold again, the caller's account of what it was doing wins and the identity stays", () => {
    const identity = { username: 'oidc:alice@example.com', groups: ['oidc:deployers'] };
    const original = new KubeApiError(403, 'Forbidden', messages.lease);
    const first = explainRefusal(original, { identity, doing: 'waiting needs it' }) as RefusalError;
    const again = explainRefusal(first, { doing: 'the deploy lock needs it' }) as RefusalError;
    assert.equal(
      again.message,
      'cannot get leases.coordination.k8s.io in namespace shop-staging as oidc:alice@example.com (groups: oidc:deployers): the deploy lock needs it',
    );
    assert.equal(again.cause, original);
    assert.equal(explainRefusal(first), first, 'nothing new to say: unchanged');
  });
});

describe('during', () => {
  it('says what Capstan is doing for everything awaited inside, the innermost winning', async () => {
    assert.equal(currentActivity(), undefined);
    const seen: Array<string | undefined> = [];
    await during('the deploy lock needs it', async () => {
      seen.push(currentActivity());
      await during('reading the release history needs it', async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push(currentActivity());
      });
      // Timers set inside (Lease renewals) keep the activity they were set in.
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(currentActivity());
          resolve();
        }, 1),
      );
    });
    assert.deepEqual(seen, [
      'the deploy lock needs it',
      'reading the release history needs it',
      'the deploy lock needs it',
    ]);
    assert.equal(currentActivity(), undefined);
  });
});
