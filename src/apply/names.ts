// Names that deploys, rollbacks, diffs and tasks share: the per-deploy id, the label selector, event objects.
import { randomBytes } from 'node:crypto';
import type { EventObject } from '../events/index.js';
import { managedLabels } from '../render/index.js';
import type { KubeObject } from '../shared/index.js';

/** The id of one deploy (not the release number): a UTC time stamp and 4 random hex digits. */
export function newDeployId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** How events name an object. */
export function eventObject(object: KubeObject): EventObject {
  return { kind: object.kind, name: object.metadata.name ?? '', namespace: object.metadata.namespace };
}

/** The label selector of everything Capstan applied for one app and environment. */
export function selectorOf(app: string, env: string): string {
  return Object.entries(managedLabels(app, env))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
