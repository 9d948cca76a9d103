// What adopting a Helm release writes: its manifest as plain YAML in the deployment phase, its
// Secrets in an ejson file (never in plain text), its upgrade hooks as phases before and after.
// Pure: the caller encrypts, writes and deploys.
import { parse } from 'yaml';
import { podTemplateOf, referencedConfig, toYaml } from '../render/index.js';
import { isRecord, objectRef, type Issue, type KubeObject } from '../shared/index.js';
import type { HelmHook, HelmRelease } from './helm-release.js';

/** The phase the release's objects go to; secrets go to CONFIG_PHASE, which runs before the hooks. */
export const MAIN_PHASE = '30-deployment';
export const CONFIG_PHASE = '10-configuration';
export const SECRETS_FILE = `${CONFIG_PHASE}/secrets.ejson`;

const HOOK_ANNOTATIONS = ['helm.sh/hook', 'helm.sh/hook-weight', 'helm.sh/hook-delete-policy'];

export interface AdoptionPlan {
  /** Files of the environment's folder (paths relative to it) and their content. */
  readonly files: ReadonlyMap<string, string>;
  /** `kubernetes_secrets` of the ejson file, in plain text, for the caller to encrypt; empty without Secrets. */
  readonly secrets: Readonly<Record<string, { _type: string; data: Record<string, string> }>>;
  /** The phases adoption deploys (the release's objects and its Secrets); hook phases run on later deploys. */
  readonly takeOverPhases: readonly string[];
  /** The hook objects written to phases: those still live get Capstan's labels, so a later deploy replaces them. */
  readonly hookObjects: readonly KubeObject[];
  /** What is not carried over, one line each. */
  readonly leftOut: readonly string[];
  /** Workloads whose pods the next deploy rolls once, to add the configuration checksum. */
  readonly rollOnNextDeploy: readonly string[];
  /** What makes the release impossible to adopt as it is. */
  readonly issues: readonly Issue[];
}

interface SourcedObject {
  readonly source: string;
  readonly object: KubeObject;
}

/** The documents of a rendered manifest, each with the `# Source:` template it came from. */
export function manifestObjects(manifest: string, fallbackSource = ''): SourcedObject[] {
  const documents: { source: string; lines: string[] }[] = [];
  let current = { source: fallbackSource, lines: [] as string[] };
  for (const line of manifest.split('\n')) {
    if (/^---\s*$/.test(line)) {
      documents.push(current);
      current = { source: fallbackSource, lines: [] };
      continue;
    }
    const source = /^# Source: (.+?)\s*$/.exec(line);
    if (source && current.lines.every((l) => l.trim() === '' || l.startsWith('#')))
      current.source = source[1];
    current.lines.push(line);
  }
  documents.push(current);
  const objects: SourcedObject[] = [];
  for (const document of documents) {
    const value: unknown = parse(document.lines.join('\n'));
    if (isRecord(value) && isRecord(value['metadata']))
      objects.push({ source: document.source, object: value as KubeObject });
  }
  return objects;
}

/** `podinfo/templates/deployment.yaml` → `deployment.yaml`; `podinfo/charts/redis/templates/a.yaml` → `charts-redis-a.yaml`. */
export function fileNameOf(source: string, chart: string): string {
  let path = source.startsWith(`${chart}/`) ? source.slice(chart.length + 1) : source;
  path = path.replace(/^templates\//, '').replace(/\/templates\//g, '/');
  const name = path.replace(/\//g, '-').replace(/[^A-Za-z0-9._-]/g, '_') || 'manifest';
  return /\.ya?ml$/.test(name) ? name : `${name.replace(/\.(tpl|txt|json)$/, '')}.yaml`;
}

function withoutHookAnnotations(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  const annotations = copy.metadata.annotations;
  if (annotations) {
    for (const key of HOOK_ANNOTATIONS) delete annotations[key];
    if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

/** A Secret's values as text, for the ejson file; what text cannot hold becomes an issue. */
function secretEntry(
  secret: KubeObject,
  issues: Issue[],
  where: string,
): { _type: string; data: Record<string, string> } {
  const data: Record<string, string> = {};
  const problem = (key: string, message: string) =>
    issues.push({ file: where, path: `${objectRef(secret)}.${key}`, message });
  const put = (key: string, value: string) => {
    if (key.startsWith('_'))
      problem(
        key,
        'a key starting with "_" cannot be encrypted in an ejson file (ejson leaves such keys in plain text)',
      );
    else data[key] = value;
  };
  const raw = isRecord(secret['data']) ? secret['data'] : {};
  for (const [key, value] of Object.entries(raw)) {
    const bytes = Buffer.from(typeof value === 'string' ? value : '', 'base64');
    const asText = bytes.toString('utf8');
    if (!Buffer.from(asText, 'utf8').equals(bytes))
      problem(key, 'holds bytes that are not UTF-8 text, which an ejson file cannot hold');
    else put(key, asText);
  }
  const strings = isRecord(secret['stringData']) ? secret['stringData'] : {};
  for (const [key, value] of Object.entries(strings))
    put(key, typeof value === 'string' ? value : String(value));
  return { _type: typeof secret['type'] === 'string' ? secret['type'] : 'Opaque', data };
}

/** Groups objects by the file they go to, in manifest order; same-named templates get a number. */
function filesOf(
  objects: readonly SourcedObject[],
  chart: string,
  header: string,
  dir: string,
  nameOf: (o: SourcedObject) => string = (o) => fileNameOf(o.source, chart),
): Map<string, string> {
  const byFile = new Map<string, { source: string; objects: KubeObject[] }>();
  const taken = new Map<string, string>();
  for (const sourced of objects) {
    const { source, object } = sourced;
    let name = nameOf(sourced);
    for (let n = 2; taken.has(name) && taken.get(name) !== source; n++)
      name = nameOf(sourced).replace(/(\.ya?ml)$/, `-${n}$1`);
    taken.set(name, source);
    const entry = byFile.get(name) ?? { source, objects: [] };
    entry.objects.push(object);
    byFile.set(name, entry);
  }
  const files = new Map<string, string>();
  for (const [name, { source, objects: list }] of byFile)
    files.set(`${dir}/${name}`, `# ${header}: ${source || 'the manifest'}\n${toYaml(list)}`);
  return files;
}

type HookPlace = 'before' | 'after';

/** Where a hook goes on the deploys after adoption (they are upgrades), or why it is left out. */
function placeOf(hook: HelmHook): HookPlace | { leftOut: string } {
  const events = new Set(hook.events);
  const before = events.has('pre-upgrade');
  const after = events.has('post-upgrade');
  if (before && after)
    return { leftOut: 'runs both before and after an upgrade, which phases cannot express' };
  if (before) return 'before';
  if (after) return 'after';
  if (events.has('test')) return { leftOut: 'a test hook (helm test): Capstan does not run tests' };
  if (events.has('pre-install') || events.has('post-install'))
    return { leftOut: 'runs only on install, and the environment is installed' };
  return { leftOut: `runs on ${hook.events.join(', ') || 'no event'}, which Capstan has no counterpart for` };
}

/** Hook phases: one per weight, lowest first, numbered from `first` (20-predeployment, 21-...). */
function hookPhases(
  hooks: readonly { hook: HelmHook; objects: SourcedObject[] }[],
  first: number,
  label: string,
  chart: string,
  header: string,
  issues: Issue[],
): { files: Map<string, string>; objects: KubeObject[] } {
  const weights = [...new Set(hooks.map((h) => h.hook.weight))].sort((a, b) => a - b);
  const files = new Map<string, string>();
  const objects: KubeObject[] = [];
  if (weights.length > 10) {
    issues.push({
      file: header,
      message: `${hooks.length} ${label} hooks with ${weights.length} weights: at most 10 phases fit`,
    });
    return { files, objects };
  }
  weights.forEach((weight, i) => {
    const dir = `${first + i}-${label}${weights.length > 1 ? `-w${weight}` : ''}`;
    const group = hooks.filter((h) => h.hook.weight === weight).flatMap((h) => h.objects);
    const cleaned = group.map((o) => ({ source: o.source, object: withoutHookAnnotations(o.object) }));
    objects.push(...cleaned.map((o) => o.object));
    // A hook's template often makes several hooks (podinfo's hooks/job.yaml): one file per hook.
    const byHook = (o: SourcedObject) => fileNameOf(`${o.object.metadata.name ?? 'hook'}.yaml`, chart);
    for (const [path, content] of filesOf(cleaned, chart, header, dir, byHook)) files.set(path, content);
  });
  return { files, objects };
}

/** Workloads whose pod templates read a ConfigMap or Secret of the release (they get a checksum later). */
function checksummed(objects: readonly KubeObject[]): string[] {
  const config = new Set(
    objects
      .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret')
      .map((o) => `${o.kind}/${o.metadata.name ?? ''}`),
  );
  return objects
    .filter((o) => {
      const template = podTemplateOf(o);
      return template && [...referencedConfig(template['spec'])].some((ref) => config.has(ref));
    })
    .map(objectRef);
}

/** The deploy tree of one environment that holds what the Helm release holds. */
export function planAdoption(release: HelmRelease, where: string): AdoptionPlan {
  const issues: Issue[] = [];
  const leftOut: string[] = [];
  const chart = release.chart.name;
  const header = `From Helm release ${release.name} (chart ${chart}-${release.chart.version}, revision ${release.revision})`;
  const all = manifestObjects(release.manifest);
  const secrets: Record<string, { _type: string; data: Record<string, string> }> = {};
  const takeSecret = (secret: KubeObject) => {
    secrets[secret.metadata.name ?? ''] = secretEntry(secret, issues, where);
    const meta = secret.metadata;
    if (Object.keys(meta.labels ?? {}).length + Object.keys(meta.annotations ?? {}).length > 0)
      leftOut.push(
        `${objectRef(secret)}: its labels and annotations (an ejson file holds a Secret's type and data)`,
      );
  };
  const main = all.filter(({ object }) => {
    if (object.kind !== 'Secret') return true;
    takeSecret(object);
    return false;
  });
  const files = filesOf(main, chart, header, MAIN_PHASE);

  const placed = {
    before: [] as { hook: HelmHook; objects: SourcedObject[] }[],
    after: [] as { hook: HelmHook; objects: SourcedObject[] }[],
  };
  for (const hook of release.hooks) {
    const place = placeOf(hook);
    const objects = manifestObjects(hook.manifest, hook.path);
    if (typeof place !== 'string') {
      leftOut.push(`hook ${hook.kind}/${hook.name} (${hook.path}): ${place.leftOut}`);
      continue;
    }
    const kept = objects.filter(({ object }) => {
      if (object.kind !== 'Secret') return true;
      takeSecret(object);
      return false;
    });
    placed[place].push({ hook, objects: kept });
  }
  const before = hookPhases(placed.before, 20, 'predeployment', chart, header, issues);
  const after = hookPhases(placed.after, 40, 'postdeployment', chart, header, issues);
  for (const [path, content] of [...before.files, ...after.files]) files.set(path, content);

  return {
    files,
    secrets,
    takeOverPhases: Object.keys(secrets).length > 0 ? [CONFIG_PHASE, MAIN_PHASE] : [MAIN_PHASE],
    hookObjects: [...before.objects, ...after.objects],
    leftOut,
    rollOnNextDeploy: checksummed([
      ...main.map((o) => o.object),
      ...all.filter((o) => o.object.kind === 'Secret').map((o) => o.object),
    ]),
    issues,
  };
}
