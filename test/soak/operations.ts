// The operations the seed picks, each as the Capstan runs it starts and what an exit 0 promises.
import { readReleases } from '../../src/release/index.js';
import type { KubeClient } from '../../src/kube/index.js';
import { APP, ENV, type Desired } from './app.js';
import type { Expectation } from './invariants.js';
import type { Prng } from './prng.js';

export const OPERATION_KINDS = [
  'deploy-image',
  'deploy-config',
  'deploy-fail',
  'deploy-invalid',
  'rollback',
  'run',
  'jobs-clean',
  'race',
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

export interface Operation {
  readonly kind: OperationKind;
  /** The tree to write before the runs start, if the operation deploys. */
  readonly desired?: Desired;
  /** The command lines, started at once (two for a race). */
  readonly commands: string[][];
  /** What an exit 0 of the first command promises. */
  readonly expectation: Expectation;
  /** The exit codes a run may end with when no fault struck. */
  readonly cleanCodes: ReadonlySet<number>;
}

const DEPLOY_TIMEOUT = '90s';

function extras(prng: Prng): number[] {
  return [0, 1, 2, 3, 4].filter(() => prng.chance(0.5));
}

/** Picks the next operation; `current` is what the cluster should run now; `counter` numbers images. */
export async function pickOperation(
  prng: Prng,
  current: Desired,
  counter: { image: number; config: number },
  admin: KubeClient,
  namespace: string,
): Promise<Operation> {
  const kind = prng.weighted<OperationKind>({
    'deploy-image': 24,
    'deploy-config': 18,
    'deploy-fail': 10,
    'deploy-invalid': 4,
    rollback: 16,
    run: 10,
    'jobs-clean': 6,
    race: 12,
  });
  const deploy = () => ['deploy', ENV, '--timeout', DEPLOY_TIMEOUT, '-o', 'json'];
  if (kind === 'deploy-image' || kind === 'deploy-config' || kind === 'race') {
    const desired: Desired = {
      image: kind === 'deploy-config' ? current.image : ++counter.image,
      config: kind === 'deploy-image' ? current.config : ++counter.config,
      extras: extras(prng),
      mode: 'ok',
    };
    const commands = kind === 'race' ? [deploy(), deploy()] : [deploy()];
    return {
      kind,
      desired,
      commands,
      expectation: { kind: 'deployed', desired },
      cleanCodes: new Set(kind === 'race' ? [0, 4] : [0]),
    };
  }
  if (kind === 'deploy-fail' || kind === 'deploy-invalid') {
    const desired: Desired = {
      ...current,
      image: ++counter.image,
      extras: extras(prng),
      mode: kind === 'deploy-fail' ? 'crash' : 'invalid',
    };
    const rollback = kind === 'deploy-fail' && prng.chance(0.5) ? ['--rollback-on-failure'] : [];
    const command = ['deploy', ENV, '--timeout', '20s', ...rollback, '-o', 'json'];
    return {
      kind,
      desired,
      commands: [command],
      expectation: { kind: 'none' },
      cleanCodes: new Set(kind === 'deploy-fail' ? [1, 3] : [2]),
    };
  }
  if (kind === 'rollback') return rollbackOperation(prng, admin, namespace);
  if (kind === 'run')
    return {
      kind,
      commands: [['run', ENV, '--timeout', '60s', '--', 'echo', 'soak']],
      expectation: { kind: 'none' },
      cleanCodes: new Set([0, 2]),
    };
  return {
    kind,
    commands: [['jobs', 'clean', ENV]],
    expectation: { kind: 'none' },
    cleanCodes: new Set([0]),
  };
}

/** A rollback to a release that succeeded, named with --to (chosen by the seed among those recorded). */
async function rollbackOperation(prng: Prng, admin: KubeClient, namespace: string): Promise<Operation> {
  const records = await readReleases(admin, { namespace, app: APP, env: ENV });
  const targets = records.filter((r) => r.outcome === 'succeeded' || r.outcome === 'rolled-back');
  // One draw whatever the history holds, so that the seed's later choices do not depend on it.
  const draw = prng.next();
  const pick = targets.length > 0 ? targets[Math.floor(draw * targets.length)].release : undefined;
  const command = [
    'rollback',
    ENV,
    '--timeout',
    DEPLOY_TIMEOUT,
    ...(pick === undefined ? [] : ['--to', String(pick)]),
    '-o',
    'json',
  ];
  return {
    kind: 'rollback',
    commands: [command],
    expectation: pick === undefined ? { kind: 'none' } : { kind: 'rolled-back', to: pick },
    cleanCodes: new Set(pick === undefined ? [0, 2] : [0]),
  };
}
