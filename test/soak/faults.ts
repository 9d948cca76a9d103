// Faults the seed picks for an operation: toxics on the proxy between Capstan and the API server,
// and outside it: Capstan SIGKILLed, kube-apiserver or etcd restarted, the app's pods deleted.
import { restartProcess } from '../cluster/processes.js';
import type { Proxy } from '../fixtures/toxiproxy.js';
import type { KubeClient } from '../../src/kube/index.js';
import type { Prng } from './prng.js';

export const FAULT_KINDS = [
  'latency',
  'bandwidth',
  'reset-peer',
  'timeout',
  'proxy-down',
  'sigkill',
  'apiserver-restart',
  'etcd-restart',
  'pod-delete',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  readonly kind: FaultKind;
  /** When it strikes, ms after the operation starts (toxics: from the start, for the whole operation). */
  readonly atMs: number;
  /** Its size: latency ms, bandwidth KB/s, a toxicity in percent, or how long something is down. */
  readonly amount: number;
  describe(): string;
}

/** The fault of one operation, or none (about half the operations run clean). */
export function pickFault(prng: Prng, faultRate: number): Fault | undefined {
  if (!prng.chance(faultRate)) return undefined;
  const kind = prng.weighted<FaultKind>({
    latency: 3,
    bandwidth: 2,
    'reset-peer': 3,
    timeout: 2,
    'proxy-down': 2,
    sigkill: 4,
    'apiserver-restart': 1,
    'etcd-restart': 1,
    'pod-delete': 2,
  });
  const atMs = prng.int(0, 6000);
  const amount = {
    latency: prng.int(50, 800),
    bandwidth: prng.int(20, 200),
    'reset-peer': prng.int(5, 30),
    timeout: prng.int(5, 25),
    'proxy-down': prng.int(1000, 8000),
    sigkill: 0,
    'apiserver-restart': prng.int(0, 4000),
    'etcd-restart': prng.int(0, 2000),
    'pod-delete': 0,
  }[kind];
  return { kind, atMs, amount, describe: () => `${kind}(at ${atMs}ms, ${amount})` };
}

export interface FaultTarget {
  readonly proxy: Proxy;
  readonly runDir: string;
  readonly admin: KubeClient;
  readonly namespace: string;
  /** Kills the operation's (first) Capstan process. */
  readonly kill: () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Toxics go on before the operation starts (toxicity is a share of connections). */
export async function startToxics(fault: Fault | undefined, proxy: Proxy): Promise<void> {
  if (!fault) return;
  if (fault.kind === 'latency')
    await proxy.addToxic({
      type: 'latency',
      attributes: { latency: fault.amount, jitter: Math.round(fault.amount / 4) },
    });
  if (fault.kind === 'bandwidth')
    await proxy.addToxic({ type: 'bandwidth', attributes: { rate: fault.amount } });
  if (fault.kind === 'reset-peer')
    await proxy.addToxic(
      { type: 'reset_peer', attributes: { timeout: 200 } },
      { toxicity: fault.amount / 100 },
    );
  if (fault.kind === 'timeout')
    await proxy.addToxic(
      { type: 'timeout', attributes: { timeout: 3000 } },
      { toxicity: fault.amount / 100 },
    );
}

/**
 * The faults that strike at a moment; resolves once the fault is over (what was down is up), with
 * whether it struck: one due after the operation ended does not (toxics always do).
 */
export async function strike(
  fault: Fault | undefined,
  target: FaultTarget,
  over: Promise<unknown>,
): Promise<boolean> {
  if (!fault) return false;
  if (!['proxy-down', 'sigkill', 'apiserver-restart', 'etcd-restart', 'pod-delete'].includes(fault.kind))
    return true;
  const ended = await Promise.race([sleep(fault.atMs).then(() => false), over.then(() => true)]);
  // Pods are deleted even after the operation: chaoskube strikes between operations too.
  if (ended && fault.kind !== 'pod-delete') return false;
  if (fault.kind === 'sigkill') target.kill();
  if (fault.kind === 'proxy-down') {
    await target.proxy.disable();
    await sleep(fault.amount);
    await target.proxy.enable();
  }
  if (fault.kind === 'apiserver-restart') await restartProcess(target.runDir, 'kube-apiserver', fault.amount);
  if (fault.kind === 'etcd-restart') await restartProcess(target.runDir, 'etcd', fault.amount);
  if (fault.kind === 'pod-delete') await deletePods(target);
  return true;
}

/** As chaoskube would: the app's pods deleted at once (their controllers make new ones). */
async function deletePods(target: FaultTarget): Promise<void> {
  const pods = await target.admin
    .list('v1', 'Pod', { namespace: target.namespace })
    .catch(() => ({ items: [] }));
  for (const pod of pods.items)
    await target.admin
      .delete({ apiVersion: 'v1', kind: 'Pod', namespace: target.namespace, name: pod.metadata.name ?? '' })
      .catch(() => false);
}
