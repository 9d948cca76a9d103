// What deploys and rollbacks report while they run: the event stream's types (docs/events.md).
export type { DeployEvent, DeployEventSink, DeployOutcome, EventObject, RollbackEvent } from './events.js';
