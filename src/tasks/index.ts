// One-off tasks and hook Jobs: Jobs built from the app's pod spec, live logs, exit codes, cleanup.
export {
  containerImageOf,
  findDeployment,
  planTaskJob,
  parseEnvPairs,
  taskLockName,
  taskNameOf,
  TASK_LABEL,
  HOOK_LABEL,
} from './plan-task.js';
export type { TaskJobOptions } from './plan-task.js';
export { runTask, isJobFinished, learnReferencedSecrets, referencedSecrets } from './run-task.js';
export type { LearnReferencedSecretsOptions, RunTaskOptions, RunTaskResult } from './run-task.js';
export { followJobLogs, hasStarted, isFinished } from './job-logs.js';
export { LogCursor, streamLogs } from './logs.js';
export { podProblem, terminatedExitCode } from './pod-outcome.js';
export { cleanJobs, keepRecentHookJobs, planHookCleanup } from './clean.js';
