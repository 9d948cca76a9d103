// Typed reads of untyped object JSON: live objects come from the API server as plain data, so every
// field is checked rather than trusted.
import type { KubeObject } from '../shared/index.js';

export type Json = Record<string, unknown>;

export function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The value at a path of property names, or undefined when any step is missing. */
export function at(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const object = record(current);
    if (object === undefined) return undefined;
    current = object[key];
  }
  return current;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(record).filter((item): item is Json => item !== undefined) : [];
}

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

export function conditions(object: unknown): Condition[] {
  return list(at(object, 'status', 'conditions')).flatMap((item) => {
    const type = str(item.type);
    const status = str(item.status);
    if (type === undefined || status === undefined) return [];
    return [
      {
        type,
        status,
        reason: str(item.reason),
        message: str(item.message),
        observedGeneration: num(item.observedGeneration),
      },
    ];
  });
}

export function condition(object: unknown, type: string): Condition | undefined {
  return conditions(object).find((c) => c.type === type);
}

export function isTrue(object: unknown, type: string): boolean {
  return condition(object, type)?.status === 'True';
}

/** `Reason: message`, or whichever of the two exists. */
export function reasonAndMessage(reason: string | undefined, message: string | undefined): string {
  const text = message?.trim();
  if (reason && text) return `${reason}: ${text}`;
  return reason ?? text ?? '';
}

/**
 * Why the controller has not caught up yet, or undefined when it has. An object without a generation
 * (not from the API server) counts as observed: there is nothing to compare.
 */
export function unobservedGeneration(object: KubeObject): string | undefined {
  const generation = object.metadata.generation;
  if (generation === undefined) return undefined;
  const observed = num(at(object, 'status', 'observedGeneration'));
  if (observed !== undefined && observed >= generation) return undefined;
  return `waiting for the controller to observe generation ${generation}`;
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
