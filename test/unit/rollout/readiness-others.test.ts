import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assessReadiness } from '../../../src/rollout/readiness.js';
import type { Readiness, ReadinessContext } from '../../../src/rollout/types.js';
import type { KubeObject } from '../../../src/shared/index.js';

const load = (name: string): Record<string, KubeObject> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rollout/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    KubeObject
  >;
const pods = load('pods');
const services = load('services');
const others = load('others');

function get(map: Record<string, KubeObject>, key: string): KubeObject {
  const object = map[key];
  assert.ok(object, `fixture ${key}`);
  return object;
}

type Case = [name: string, object: KubeObject, expected: Readiness, context?: ReadinessContext];

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const [name, object, expected, context] of cases) {
      it(name, () => assert.deepEqual(assessReadiness(object, context), expected));
    }
  });
}

table('bare Pod readiness', [
  ['running and ready', get(pods, 'runningReady'), { status: 'ready', message: 'pod is running and ready' }],
  ['succeeded', get(pods, 'succeeded'), { status: 'ready', message: 'pod succeeded' }],
  [
    'failed with a pod-level reason',
    get(pods, 'evicted'),
    {
      status: 'failed',
      message: `Evicted: ${String((get(pods, 'evicted').status as { message: string }).message)}`,
    },
  ],
  [
    'failed by its container exit code',
    get(pods, 'jobFailedExit'),
    { status: 'failed', message: 'container app exited: exit code 2 (Error)' },
  ],
  [
    'CrashLoopBackOff after a crash was seen',
    get(pods, 'crashLoop'),
    { status: 'failed', message: 'container app: CrashLoopBackOff (exit code 1, 3 restarts)' },
  ],
  [
    'CrashLoopBackOff before any crash was recorded',
    get(pods, 'crashLoopUnconfirmed'),
    { status: 'pending', message: 'container app: CrashLoopBackOff' },
  ],
  [
    // The back-off message does not say why: only the pull error (an event) tells if it is permanent.
    'ImagePullBackOff without its pull error',
    get(pods, 'imagePullBackOff'),
    { status: 'pending', message: 'container app: ImagePullBackOff' },
  ],
  [
    'ErrImagePull',
    get(pods, 'errImagePull'),
    {
      status: 'failed',
      message:
        'container app: ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/web:nope": not found',
    },
  ],
  [
    'CreateContainerConfigError',
    get(pods, 'configError'),
    {
      status: 'failed',
      message: 'container app: CreateContainerConfigError: configmap "web-config" not found',
    },
  ],
  [
    'CreateContainerConfigError while the kubelet cache syncs',
    get(pods, 'configErrorCacheSync'),
    { status: 'pending', message: 'container app: CreateContainerConfigError' },
  ],
  [
    'unschedulable',
    get(pods, 'unschedulable'),
    {
      status: 'pending',
      message:
        'not scheduled: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
    },
  ],
  [
    'creating containers',
    get(pods, 'containerCreating'),
    { status: 'pending', message: 'container app: ContainerCreating' },
  ],
  [
    'running, not ready',
    get(pods, 'runningNotReady'),
    { status: 'pending', message: '0 of 1 containers ready' },
  ],
  [
    'crashing init container',
    get(pods, 'initCrashing'),
    { status: 'failed', message: 'container wait-for-db: CrashLoopBackOff (exit code 1, 4 restarts)' },
  ],
  ['being deleted', get(pods, 'terminating'), { status: 'pending', message: 'pod is terminating' }],
]);

const web = get(services, 'web');
table('Service readiness', [
  ['ExternalName', get(services, 'externalName'), { status: 'ready', message: 'ExternalName service' }],
  [
    'without selector',
    get(services, 'noSelector'),
    { status: 'ready', message: 'no selector: its endpoints are managed outside Kubernetes' },
  ],
  ['no EndpointSlices yet', web, { status: 'pending', message: 'waiting for endpoints' }, {}],
  [
    'empty EndpointSlice',
    web,
    { status: 'pending', message: 'waiting for endpoints' },
    { endpoints: [get(services, 'sliceEmpty')] },
  ],
  [
    'only not-ready endpoints',
    web,
    { status: 'pending', message: 'waiting for endpoints (1 not ready)' },
    { endpoints: [get(services, 'sliceNotReady')] },
  ],
  [
    'ready endpoints of another Service do not count',
    web,
    { status: 'pending', message: 'waiting for endpoints' },
    { endpoints: [get(services, 'sliceOtherService')] },
  ],
  [
    'one ready endpoint',
    web,
    { status: 'ready', message: '1 ready endpoint' },
    { endpoints: [get(services, 'sliceReady')] },
  ],
  [
    'endpoints summed over slices',
    web,
    { status: 'ready', message: '1 ready endpoint' },
    { endpoints: [get(services, 'sliceReady'), get(services, 'sliceNotReady')] },
  ],
  [
    'legacy Endpoints object',
    web,
    { status: 'ready', message: '1 ready endpoint' },
    { endpoints: [get(services, 'legacyEndpoints')] },
  ],
  [
    'LoadBalancer does not wait for an address',
    get(services, 'webLoadBalancer'),
    { status: 'ready', message: '1 ready endpoint (load balancer address not awaited)' },
    { endpoints: [get(services, 'sliceReady')] },
  ],
]);

table('PersistentVolumeClaim readiness', [
  ['Bound', get(others, 'pvcBound'), { status: 'ready', message: 'Bound' }],
  ['Pending', get(others, 'pvcPending'), { status: 'pending', message: 'waiting for the claim to be bound' }],
  [
    'Pending with WaitForFirstConsumer',
    get(others, 'pvcPending'),
    { status: 'ready', message: 'Pending until a pod uses it (WaitForFirstConsumer)' },
    { storageClassBindingMode: 'WaitForFirstConsumer' },
  ],
  [
    'Pending with Immediate binding',
    get(others, 'pvcPending'),
    { status: 'pending', message: 'waiting for the claim to be bound' },
    { storageClassBindingMode: 'Immediate' },
  ],
  [
    'Lost',
    get(others, 'pvcLost'),
    { status: 'failed', message: 'Lost: its PersistentVolume no longer exists' },
  ],
]);

table('CustomResourceDefinition readiness', [
  ['Established', get(others, 'crdEstablished'), { status: 'ready', message: 'Established' }],
  [
    'not yet established',
    get(others, 'crdNew'),
    { status: 'pending', message: 'waiting for the Established condition' },
  ],
  [
    'established as the waiter learned',
    get(others, 'crdNew'),
    { status: 'ready', message: 'Established' },
    { crdEstablished: true },
  ],
  [
    'names refused',
    get(others, 'crdNameConflict'),
    { status: 'failed', message: 'ShortNamesConflict: "svc" is already in use' },
  ],
]);

table('custom resource readiness', [
  ['Ready True', get(others, 'certificateReady'), { status: 'ready', message: 'Ready' }],
  [
    'Ready False stays pending with its reason',
    get(others, 'certificateIssuing'),
    {
      status: 'pending',
      message: 'Ready is False: DoesNotExist: Issuing certificate as Secret does not exist',
    },
  ],
  [
    'a condition about an older generation',
    get(others, 'certificateStale'),
    { status: 'pending', message: 'waiting for Ready to reflect generation 3' },
  ],
  ['Available True', get(others, 'databaseAvailable'), { status: 'ready', message: 'Available' }],
  [
    'status.observedGeneration behind',
    get(others, 'databaseUnobserved'),
    { status: 'pending', message: 'waiting for the controller to observe generation 2' },
  ],
  [
    'no conditions: ready once applied',
    get(others, 'widgetNoStatus'),
    { status: 'ready', message: 'applied (no Ready or Available condition to wait for)' },
  ],
  [
    'CRD not established yet',
    get(others, 'certificateReady'),
    { status: 'pending', message: 'waiting for its CustomResourceDefinition to be established' },
    { crdEstablished: false },
  ],
  [
    'a k8s.io group that is not built in is a custom resource',
    get(others, 'gatewayRoute'),
    { status: 'ready', message: 'applied (no Ready or Available condition to wait for)' },
  ],
  [
    'a custom kind named Service is not a Service',
    get(others, 'crService'),
    { status: 'ready', message: 'Ready' },
  ],
]);

table('kinds ready once applied', [
  [
    'Ingress',
    get(others, 'ingress'),
    { status: 'ready', message: 'applied (load balancer status is not required)' },
  ],
  ['ConfigMap', get(others, 'configMap'), { status: 'ready', message: 'applied' }],
]);
