// What deploys and rollbacks report while they run: the event stream's types (docs/events.md).
export type {
  AnyDeployEvent,
  ClusterOutcome,
  DeployEvent,
  DeployEventSink,
  DeployOutcome,
  EventObject,
  FleetEvent,
  RollbackEvent,
} from './events.js';
