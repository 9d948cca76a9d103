// What `capstan rollback` passes to a rollback of one cluster and of several alike: the release,
// the deadlines, the environment's settings, who rolls back, and where its events and secrets go.
import type { ResolvedEnvironment } from '../config/index.js';
import type { DeployEventSink } from '../events/index.js';
import type { CliIo, CommandResult } from './options.js';
import { currentActor, localProcess } from './session.js';

export interface RollbackFlags {
  to?: number;
  timeout?: number;
  progressDeadline?: number;
}

export function rollbackSettings(
  env: ResolvedEnvironment,
  opts: RollbackFlags,
  io: CliIo,
  result: CommandResult,
  onEvent: DeployEventSink,
) {
  const actor = currentActor(io);
  return {
    app: env.app,
    env: env.name,
    to: opts.to,
    timeoutMs: opts.timeout ?? env.timeoutMs,
    progressDeadlineMs: opts.progressDeadline,
    keep: env.releasesKeep,
    concurrency: env.concurrency,
    user: actor.user,
    host: actor.host,
    holder: actor.holder,
    process: localProcess(),
    signal: io.signal,
    onEvent,
    notifications: env.notifications,
    envVars: io.env,
    redactor: result.redactor,
  };
}
