// Builds a phase's kustomization with the kustomize (or kubectl) on PATH; its objects keep where they came from.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { access, constants, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { isRecord, type Issue } from '../shared/index.js';
import {
  asksForOrigins,
  checkKustomization,
  entryLine,
  isOlder,
  kubectlKustomizeVersion,
  kustomizeErrorIssue,
  parseKustomization,
  parseVersion,
  type Kustomization,
  type Version,
} from './kustomization.js';
import type { ObjectSite } from './objects.js';
import { parseYamlStream, type YamlDocument } from './yaml-documents.js';

/** The program that builds kustomizations: `kustomize build DIR` or `kubectl kustomize DIR`. */
export interface KustomizeTool {
  readonly command: string;
  readonly kind: 'kustomize' | 'kubectl';
  /** The kustomize version it runs; undefined when it does not say (a build from source). */
  readonly version: Version | undefined;
}

const VERSION_TIMEOUT_MS = 30_000;
const BUILD_TIMEOUT_MS = 120_000;
const ORIGIN = 'config.kubernetes.io/origin';
/** Origin annotations (with `buildMetadata`) are read since kustomize v5; older ones build without them. */
const ORIGINS_SINCE: Version = { major: 5, minor: 0, patch: 0 };

function run(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeout: number },
): Promise<{ stdout: string; stderr: string; failed?: Error }> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      { env: options.env, timeout: options.timeout, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => done({ stdout, stderr, ...(error ? { failed: error } : {}) }),
    );
  });
}

/** The first `name` on PATH that is an executable file. */
async function onPath(name: string, envVars: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (envVars['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * `kustomize` on PATH, else `kubectl` (whose `kubectl kustomize` embeds one), with the version it
 * runs; a string saying what is missing when neither can build.
 */
export async function findKustomizeTool(envVars: NodeJS.ProcessEnv): Promise<KustomizeTool | string> {
  const kustomize = await onPath('kustomize', envVars);
  if (kustomize) {
    const out = await run(kustomize, ['version'], { env: envVars, timeout: VERSION_TIMEOUT_MS });
    return { command: kustomize, kind: 'kustomize', version: parseVersion(out.stdout) };
  }
  const kubectl = await onPath('kubectl', envVars);
  if (!kubectl) return 'neither kustomize nor kubectl is on PATH';
  const out = await run(kubectl, ['version', '--client', '-o', 'json'], {
    env: envVars,
    timeout: VERSION_TIMEOUT_MS,
  });
  const version = kubectlKustomizeVersion(out.stdout);
  if (version === null) return `${kubectl} is older than kubectl 1.14 and has no \`kubectl kustomize\``;
  return { command: kubectl, kind: 'kubectl', version };
}

function describeTool(tool: KustomizeTool): string {
  return tool.kind === 'kustomize' ? tool.command : `${tool.command} (kubectl kustomize)`;
}

function buildArgs(tool: KustomizeTool, dir: string): string[] {
  return tool.kind === 'kustomize' ? ['build', dir] : ['kustomize', dir];
}

/** A built object with where to report it. */
export interface BuiltValue {
  readonly value: unknown;
  readonly site: ObjectSite;
}

/**
 * The objects `kustomize build` makes of the kustomization `file`'s folder. Their source is the
 * kustomization, at the line that lists the file they came from; `locate` finds a field in that
 * file when kustomize says which it was (origin annotations) and the object is found in it.
 */
export async function buildKustomization(
  file: string,
  tool: KustomizeTool | string,
  envVars: NodeJS.ProcessEnv,
  issues: Issue[],
): Promise<BuiltValue[]> {
  const dir = dirname(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    issues.push({ file, message: `cannot read the kustomization: ${(error as Error).message}` });
    return [];
  }
  const found: Issue[] = [];
  const k = parseKustomization(file, dir, text, found);
  if (typeof tool === 'string') {
    found.push({
      file,
      message: `this folder is built by kustomize, but ${tool}: install kustomize or kubectl (1.14 or later) and put it on PATH`,
    });
  } else found.push(...checkKustomization(k, describeTool(tool), tool.version));
  if (found.length > 0 || typeof tool === 'string') {
    issues.push(...found);
    return [];
  }
  const withOrigins = !asksForOrigins(k) && !(tool.version && isOlder(tool.version, ORIGINS_SINCE));
  const built = withOrigins ? await buildWithOrigins(tool, dir, envVars) : undefined;
  let output = built?.stdout;
  if (output === undefined) {
    // Built directly: kustomize's error, if any, then names the user's own folder.
    const direct = await run(tool.command, buildArgs(tool, dir), { env: envVars, timeout: BUILD_TIMEOUT_MS });
    if (direct.failed) {
      issues.push(kustomizeErrorIssue(direct.stderr || direct.failed.message, k));
      return [];
    }
    output = direct.stdout;
  }
  return builtValues(output, k, built?.root, issues);
}

/**
 * Build through a kustomization of Capstan's own that lists the folder and asks for origin
 * annotations (kustomize has no flag for them): each object then says which file it came from.
 */
async function buildWithOrigins(
  tool: KustomizeTool,
  dir: string,
  envVars: NodeJS.ProcessEnv,
): Promise<{ stdout: string; root: string } | undefined> {
  const root = await mkdtemp(join(tmpdir(), 'capstan-kustomize-'));
  try {
    // kustomize refuses an absolute path as a resource folder.
    const wrapper = `resources:\n- ${JSON.stringify(relative(root, dir))}\nbuildMetadata: [originAnnotations]\n`;
    await writeFile(join(root, 'kustomization.yaml'), wrapper);
    const out = await run(tool.command, buildArgs(tool, root), { env: envVars, timeout: BUILD_TIMEOUT_MS });
    return out.failed ? undefined : { stdout: out.stdout, root };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function builtValues(
  output: string,
  k: Kustomization,
  root: string | undefined,
  issues: Issue[],
): BuiltValue[] {
  const { documents, problems } = parseYamlStream(output, { lines: 'lazy' });
  for (const problem of problems)
    issues.push({
      file: k.file,
      message: `kustomize printed YAML that cannot be read (output line ${problem.line}): ${problem.message}`,
    });
  const files = new Map<string, YamlDocument[]>();
  return documents.map((doc, index) => {
    const origin = root === undefined ? undefined : takeOrigin(doc.value, root);
    const listed = origin === undefined ? undefined : entryLine(k, relative(k.dir, origin));
    const fallback = { file: k.file, line: listed ?? 1 };
    let inOrigin: YamlDocument | null | undefined;
    const site: ObjectSite = {
      file: k.file,
      ...(listed === undefined ? {} : { line: listed }),
      label: `built object ${index + 1}: `,
      locate: (path) => {
        if (origin === undefined) return fallback;
        inOrigin ??= findDocument(files, origin, doc.value) ?? null;
        return inOrigin ? { file: origin, line: inOrigin.lineOf(path) } : fallback;
      },
    };
    return { value: doc.value, site };
  });
}

/** The file an object came from, by its origin annotation (removed: Capstan asked for it, not the user). */
function takeOrigin(value: unknown, root: string): string | undefined {
  const metadata = isRecord(value) ? value['metadata'] : undefined;
  const annotations = isRecord(metadata) ? metadata['annotations'] : undefined;
  if (!isRecord(metadata) || !isRecord(annotations)) return undefined;
  const origin = annotations[ORIGIN];
  delete annotations[ORIGIN];
  if (Object.keys(annotations).length === 0) delete metadata['annotations'];
  const path = typeof origin === 'string' ? /^path:\s*(.+)$/m.exec(origin)?.[1]?.trim() : undefined;
  // Objects from a remote base (`repo:`) or made by a generator have no file of the folder.
  if (!path || typeof origin !== 'string' || /^repo:/m.test(origin)) return undefined;
  return resolve(root, path.replace(/^(['"])(.*)\1$/, '$2'));
}

/** The document of `file` holding the object: same kind and name, else the only one of its kind. */
function findDocument(
  cache: Map<string, YamlDocument[]>,
  file: string,
  value: unknown,
): YamlDocument | undefined {
  let docs = cache.get(file);
  if (!docs) {
    try {
      docs = parseYamlStream(readFileSync(file, 'utf8')).documents;
    } catch {
      docs = [];
    }
    cache.set(file, docs);
  }
  const kind = isRecord(value) ? value['kind'] : undefined;
  const name = isRecord(value) && isRecord(value['metadata']) ? value['metadata']['name'] : undefined;
  const sameKind = docs.filter((d) => isRecord(d.value) && d.value['kind'] === kind);
  const named = sameKind.find(
    (d) => isRecord(d.value) && isRecord(d.value['metadata']) && d.value['metadata']['name'] === name,
  );
  return named ?? (sameKind.length === 1 ? sameKind[0] : undefined);
}
