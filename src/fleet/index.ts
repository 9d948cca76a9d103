// Multi-cluster environments: one environment deployed to several clusters in waves, recorded as
// one release (docs/multicluster.md).
export { deployFleet } from './deploy-fleet.js';
export type { FleetOptions, FleetResult } from './deploy-fleet.js';
export { deployEnvironment } from './environment.js';
export { clustersToRollBack, fleetMessage, fleetOutcome, inParallel, planWaves } from './plan.js';
export type { WavePlan } from './plan.js';
export { restartsOf, soak, soakProblem, soakTargets } from './soak.js';
export {
  chooseFleetTarget,
  formatFleetHistory,
  HISTORY_READ_DEADLINE_MS,
  mergeHistories,
} from './history.js';
export type { ClusterHistory, FleetHistory, FleetHistoryRow } from './history.js';
export { rollbackFleet, rollbackOutcome } from './rollback.js';
export type { FleetCluster, FleetRollbackOptions, FleetRollbackResult } from './rollback.js';
