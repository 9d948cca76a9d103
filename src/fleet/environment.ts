// What `capstan deploy ENV` runs: the multi-cluster deploy for an environment with clusters, the
// single-cluster deploy for one without.
import { loadConfig, resolveEnvironment } from '../config/index.js';
import { deploy, type DeployResult } from '../deploy/index.js';
import { CapstanError } from '../shared/index.js';
import { deployFleet, type FleetOptions, type FleetResult } from './deploy-fleet.js';

/** Deploys an environment to its cluster, or to each of its clusters in waves. */
export async function deployEnvironment(options: FleetOptions): Promise<DeployResult | FleetResult> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveEnvironment(loaded, options.env, { set: options.set });
  if (!env.fleet) {
    if (options.skipClusters?.length)
      throw new CapstanError(
        'ERR_CAPSTAN_USAGE',
        `--skip-cluster: environment "${env.name}" has one cluster`,
        { hint: "capstan.yaml names an environment's clusters under clusters:" },
      );
    return deploy(options);
  }
  if (options.context !== undefined)
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `--context: environment "${env.name}" names a context per cluster in capstan.yaml`,
      { hint: 'leave out --context (--skip-cluster leaves a cluster out)' },
    );
  return deployFleet(options, loaded, env);
}
