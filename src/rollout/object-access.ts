// Typed reads of untyped object JSON: live objects come from the API server as plain data, so every
// field is checked rather than trusted.
import type { KubeObject } from '../shared/index.js';
import { at, list, num, record, str, type Json } from '../shared/index.js';
export { at, list, num, record, str };
export type { Json };

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
