import { createHash } from 'node:crypto';
import type { KubeObject } from '../shared/index.js';
import { isRecord } from '../shared/index.js';

export const CHECKSUM_ANNOTATION = 'capstan.dev/config-checksum';

type Json = Record<string, unknown>;

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function nameIn(value: unknown, field = 'name'): string | undefined {
  return isRecord(value) && typeof value[field] === 'string' ? value[field] : undefined;
}

function dig(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

/** Where each workload kind keeps its pod template. */
export const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** The pod template of a workload (a bare Pod is its own template). */
export function podTemplateOf(object: KubeObject): Json | undefined {
  if (object.kind === 'Pod') return object;
  const path = TEMPLATE_PATHS[object.kind];
  const template = path ? dig(object, path) : undefined;
  return isRecord(template) ? template : undefined;
}

/** `ConfigMap/<name>` and `Secret/<name>` referenced by a pod spec through env, envFrom and volumes. */
export function referencedConfig(podSpec: unknown): Set<string> {
  const refs = new Set<string>();
  const add = (kind: 'ConfigMap' | 'Secret', name: string | undefined): void => {
    if (name) refs.add(`${kind}/${name}`);
  };
  const containers = [...list(dig(podSpec, ['containers'])), ...list(dig(podSpec, ['initContainers']))];
  for (const container of containers) {
    for (const env of list(container['env'])) {
      add('ConfigMap', nameIn(dig(env, ['valueFrom', 'configMapKeyRef'])));
      add('Secret', nameIn(dig(env, ['valueFrom', 'secretKeyRef'])));
    }
    for (const from of list(container['envFrom'])) {
      add('ConfigMap', nameIn(from['configMapRef']));
      add('Secret', nameIn(from['secretRef']));
    }
  }
  for (const volume of list(dig(podSpec, ['volumes']))) {
    add('ConfigMap', nameIn(volume['configMap']));
    add('Secret', nameIn(volume['secret'], 'secretName'));
    for (const source of list(dig(volume, ['projected', 'sources']))) {
      add('ConfigMap', nameIn(source['configMap']));
      add('Secret', nameIn(source['secret']));
    }
  }
  return refs;
}

function sortedEntries(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
}

/** Stable text of a ConfigMap's or Secret's content: fields and keys in sorted order. */
function contentOf(object: KubeObject): unknown {
  return ['binaryData', 'data', 'stringData'].map((field) => [field, sortedEntries(object[field])]);
}

/**
 * Annotate every pod template that references ConfigMaps or Secrets among `objects` (same namespace)
 * with a sha256 of their content, so its pods roll exactly when that content changes. Templates that
 * reference none are left alone.
 */
export function applyConfigChecksums(objects: KubeObject[]): void {
  const config = new Map<string, KubeObject>();
  for (const object of objects) {
    if ((object.kind === 'ConfigMap' || object.kind === 'Secret') && object.apiVersion === 'v1') {
      config.set(`${object.metadata.namespace ?? ''}/${object.kind}/${object.metadata.name ?? ''}`, object);
    }
  }
  if (config.size === 0) return;
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const namespace = object.metadata.namespace ?? '';
    const used = [...referencedConfig(template['spec'])]
      .sort()
      .map((ref) => [ref, config.get(`${namespace}/${ref}`)] as const)
      .filter((entry): entry is readonly [string, KubeObject] => entry[1] !== undefined);
    if (used.length === 0) continue;
    const text = JSON.stringify(used.map(([ref, found]) => [ref, contentOf(found)]));
    const metadata = isRecord(template['metadata']) ? template['metadata'] : (template['metadata'] = {});
    const annotations = isRecord(metadata['annotations'])
      ? metadata['annotations']
      : (metadata['annotations'] = {});
    annotations[CHECKSUM_ANNOTATION] = createHash('sha256').update(text).digest('hex');
  }
}
