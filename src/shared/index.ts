// Errors, the logger interface and common types; imports nothing else of Capstan.
export { CapstanError, ConfigError, formatIssue, isCapstanError, isInputError } from './errors.js';
export type { CapstanErrorOptions, Issue } from './errors.js';
export { silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { objectKey, objectRef, REDACTED } from './types.js';
export type { KubeObject, ObjectMeta, SourceLocation } from './types.js';
export { mapLimit, settleLimit, sleep } from './concurrency.js';
export { backoffDelay, retry } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { at, isRecord, list, num, record, sortKeys, str } from './json.js';
export type { Json, SortKeysOptions } from './json.js';
export { mapStrings } from './map-strings.js';
export type { ValuePath } from './map-strings.js';
export { parseQuantity } from './quantity.js';
export { matchesSelector } from './label-selector.js';
export type { LabelSelector } from './label-selector.js';
