// The only importer of @kubernetes/client-node: connection, apply, dry run, get/list/watch, logs.
export { during } from './activity.js';
export { KubeClient } from './client.js';
export type {
  ApplyOptions,
  DeleteOptions,
  ListOptions,
  LogOptions,
  ObjectId,
  ObjectList,
  WatchEvent,
  WatchOptions,
} from './client.js';
export { loadConnection } from './config.js';
export type { KubeConnection, KubeConnectionOptions } from './config.js';
export { Discovery, splitApiVersion } from './discovery.js';
export type { ResourceType } from './discovery.js';
export { KubeApiError, isKubeApiError } from './errors.js';
export type { StatusCause } from './errors.js';
export { explainRefusal, formatRefusal, parseRefusal, RefusalError } from './forbidden.js';
export type { Identity, Refusal } from './forbidden.js';
export { Informer } from './informer.js';
export type { InformerClient, InformerHealth, InformerOptions } from './informer.js';
export { withRetry } from './retry.js';
export type { RetryOptions } from './retry.js';
export type { KnownManifest } from './types.js';
