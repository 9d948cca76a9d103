import { stringify } from 'yaml';
import { REDACTED, type KubeObject } from '../shared/index.js';

export { REDACTED };

/** A copy of `objects` where every value of a Secret's data and stringData reads `[redacted]`. */
export function maskSecrets(objects: readonly KubeObject[]): KubeObject[] {
  return objects.map((object) => {
    const copy = structuredClone(object);
    if (copy.kind !== 'Secret') return copy;
    for (const field of ['data', 'stringData']) {
      const content = copy[field];
      if (typeof content !== 'object' || content === null) continue;
      copy[field] = Object.fromEntries(Object.keys(content).map((key) => [key, REDACTED]));
    }
    return copy;
  });
}

/** Multi-document YAML, one document per object, no anchors and no line folding. */
export function toYaml(objects: readonly KubeObject[]): string {
  return objects
    .map((object) => stringify(object, { aliasDuplicateObjects: false, lineWidth: 0 }))
    .map((doc) => `---\n${doc}`)
    .join('');
}
