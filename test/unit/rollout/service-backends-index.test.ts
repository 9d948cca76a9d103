import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { podLabelIndex, serviceBackends } from '../../../src/rollout/ownership.js';
import type { KubeObject } from '../../../src/shared/index.js';

// Few keys and values, so that selectors often match, partly match and miss.
const labels = fc.dictionary(
  fc.constantFrom('app', 'tier', 'app.kubernetes.io/name', 'track'),
  fc.constantFrom('web', 'api', 'canary', '1', 'true', ''),
  { maxKeys: 3 },
);

const workload = fc.record({
  kind: fc.constantFrom('Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'Pod'),
  name: fc.constantFrom('a', 'b.c', 'd-e'),
  namespace: fc.constantFrom('shop', 'other'),
  labels,
  replicas: fc.option(fc.nat(3), { nil: undefined }),
});

function toObject(w: {
  kind: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  replicas?: number;
}): KubeObject {
  if (w.kind === 'Pod')
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: w.name, namespace: w.namespace, labels: w.labels },
    };
  return {
    apiVersion: w.kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind: w.kind,
    metadata: { name: w.name, namespace: w.namespace },
    spec: {
      ...(w.replicas === undefined ? {} : { replicas: w.replicas }),
      template: { metadata: { labels: w.labels } },
    },
  };
}

describe('podLabelIndex', () => {
  it('a Service finds the same backends among its candidates as among every workload', () => {
    fc.assert(
      fc.property(
        fc.array(workload, { maxLength: 12 }),
        labels,
        fc.constantFrom('shop', 'other'),
        (ws, selector, namespace) => {
          const workloads = ws.map(toObject);
          const service: KubeObject = {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web', namespace },
            spec: { selector },
          };
          const candidates = podLabelIndex(workloads)(service);
          assert.deepEqual(serviceBackends(service, candidates), serviceBackends(service, workloads));
        },
      ),
      { numRuns: 500 },
    );
  });
});
