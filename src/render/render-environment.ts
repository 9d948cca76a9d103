import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CapstanError,
  ConfigError,
  isRecord,
  objectKey,
  type Issue,
  type KubeObject,
} from '../shared/index.js';
import { collectVaultReferences, writeVaultValues } from '../secrets/index.js';
import { protectIngress } from '../previews/protect.js';
import { applyConfigChecksums } from './checksums.js';
import {
  createTemplateEngine,
  TemplateFailure,
  type MappedText,
  type TemplateEngine,
} from './ejs-template.js';
import { buildKustomization, findKustomizeTool, type KustomizeTool } from './kustomize-build.js';
import { releaseNameOf, renderHelmChart } from './helm-chart.js';
import { splitHelmHooks, type HookGroup, type SplitChart } from './helm-hooks.js';
import { runModuleFile } from './module-file.js';
import {
  checkNamespace,
  checkObject,
  completeObject,
  foreignNamespaceHint,
  isClusterScoped,
  isForeignNamespaceIssue,
  type ObjectSite,
} from './objects.js';
import { listPhaseFiles, listPhases, type PhaseFile } from './phases.js';
import type { RenderedObject, RenderedPhase, RenderOptions, TemplateContext } from './types.js';
import { parseYamlStream, type YamlDocument } from './yaml-documents.js';

export const TEMPLATES_DIR_NAME = 'templates';

/** What one file produced: values still to check, each with where to report problems. */
interface Produced {
  readonly value: unknown;
  readonly site: ObjectSite;
}

/**
 * Render every phase of an environment into Kubernetes objects: namespaces defaulted, managed labels
 * added, config checksums on pod templates. Every problem of every file is collected first; if there
 * is any, one ConfigError holds them all.
 */
export async function renderEnvironment(options: RenderOptions): Promise<readonly RenderedPhase[]> {
  const { env } = options;
  const issues: Issue[] = [];
  const engine = createTemplateEngine({ templatesDir: join(env.deployDir, TEMPLATES_DIR_NAME) });
  const context = templateContext(options, engine);
  const envVars = options.envVars ?? {};
  let kustomize: Promise<KustomizeTool | string> | undefined;
  const kustomizeTool = () => (kustomize ??= findKustomizeTool(envVars));
  const phases: RenderedPhase[] = [];

  for (const phase of listPhases(env.envDir, issues)) {
    const objects: RenderedObject[] = [];
    const secretFiles: string[] = [];
    const before: RenderedPhase[] = [];
    const after: RenderedPhase[] = [];
    for (const file of listPhaseFiles(phase.dir, issues)) {
      if (file.kind === 'secrets') {
        secretFiles.push(file.path);
      } else if (file.kind === 'kustomization') {
        const built = await buildKustomization(file.path, await kustomizeTool(), envVars, issues);
        objects.push(...accept(built, options, issues));
      } else if (file.kind === 'helm' || file.kind === 'helm-template') {
        const chart = await renderChartFile(file, context, engine, options, issues);
        objects.push(...accept(chart.main, options, issues));
        const hookPhase = (when: 'pre' | 'post', groups: readonly HookGroup<Produced>[]) =>
          groups.map((group) => ({
            name: `${phase.name}.${releaseNameOf(file.path)}.${when}-hooks${groups.length > 1 ? `.${group.weight}` : ''}`,
            order: phase.order,
            dir: phase.dir,
            objects: accept(group.items, options, issues),
            secretFiles: [],
          }));
        before.push(...hookPhase('pre', chart.before));
        after.push(...hookPhase('post', chart.after));
      } else {
        objects.push(...accept(await renderFile(file, context, engine, issues), options, issues));
      }
    }
    if (options.renderSecrets) {
      for (const file of secretFiles) {
        for (const value of await renderSecretFile(options, file, issues)) {
          const object = acceptValue({ value, site: { file } }, options, issues);
          if (object) objects.push({ object, source: { file } });
        }
      }
    }
    phases.push(
      ...before,
      { name: phase.name, order: phase.order, dir: phase.dir, objects, secretFiles },
      ...after,
    );
  }

  issues.push(...findDuplicates(phases.flatMap((p) => p.objects)));
  // A Vault reference anywhere but in a Secret's data is refused with the other problems.
  const vault = collectVaultReferences(phases.flatMap((p) => p.objects));
  issues.push(...vault.issues);
  if (issues.length > 0)
    throw new ConfigError(
      issues,
      issues.some(isForeignNamespaceIssue) ? { hint: foreignNamespaceHint(env) } : {},
    );
  // Resolved before the checksums, so that a rotated value rolls the pods that read it.
  if (vault.sites.length > 0 && options.resolveVaultReferences)
    writeVaultValues(vault.sites, await options.resolveVaultReferences(vault.sites));
  if (options.configChecksums !== false)
    applyConfigChecksums(phases.flatMap((p) => p.objects.map((o) => o.object)));
  return phases;
}

/** The values that are Kubernetes objects, completed; the others become issues. */
function accept(produced: readonly Produced[], options: RenderOptions, issues: Issue[]): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const one of produced) {
    const object = acceptValue(one, options, issues);
    if (object)
      objects.push({
        object,
        source: sourceOf(one.site),
        ...(one.site.lineOf ? { lineOf: one.site.lineOf } : {}),
        ...(one.site.locate ? { locate: one.site.locate } : {}),
      });
  }
  return objects;
}

/**
 * A `*.helm.yaml` (or `*.helm.yaml.ejs`) file's chart, rendered by helm and split by its hooks;
 * hooks that cannot be placed become issues.
 */
async function renderChartFile(
  file: PhaseFile,
  context: TemplateContext,
  engine: TemplateEngine,
  options: RenderOptions,
  issues: Issue[],
): Promise<SplitChart<Produced>> {
  let text: string;
  try {
    text =
      file.kind === 'helm-template'
        ? engine.renderFile(file.path, context as unknown as Record<string, unknown>)
        : await readFile(file.path, 'utf8');
  } catch (error) {
    issues.push(templateIssue(file.path, error));
    return splitHelmHooks([], (p: Produced) => p.value as KubeObject);
  }
  const documents = await renderHelmChart(file.path, text, {
    namespace: options.env.namespace,
    issues,
    ...(options.envVars ? { envVars: options.envVars } : {}),
  });
  const produced = documents.map((doc): Produced => ({
    value: doc.value,
    site: { file: file.path, label: doc.template === undefined ? '' : `${doc.template}: ` },
  }));
  // Only objects are split by their hooks; the rest is refused by acceptValue as usual.
  const objects = produced.filter((p) => isRecord(p.value) && isRecord(p.value['metadata']));
  const split = splitHelmHooks(objects, (p) => p.value as KubeObject);
  for (const { item, message } of split.refused)
    issues.push({ file: item.site.file, message: `${item.site.label ?? ''}${message}` });
  const others = produced.filter((p) => !objects.includes(p));
  return { ...split, main: [...others, ...split.main] };
}

function templateContext(options: RenderOptions, engine: TemplateEngine): TemplateContext {
  const { env, deployId } = options;
  const image = options.image ?? env.image;
  const context = {
    app: env.app,
    env: env.name,
    namespace: env.namespace,
    cluster: env.cluster,
    preview: env.preview
      ? {
          branch: env.preview.branch,
          slug: env.preview.slug,
          host: env.preview.host,
          expiresAt: env.preview.expiresAt,
        }
      : undefined,
    deployId,
    // Deprecated alias of deployId (its name before the release number took the word `release`).
    revision: deployId,
    values: env.values,
    include: (name: string, vars?: Record<string, unknown>): string =>
      engine.renderPartial(name, context, vars),
  } as Record<string, unknown>;
  const required = (name: string, value: string | undefined, code: string, message: string) =>
    Object.defineProperty(context, name, {
      enumerable: true,
      get(): string {
        if (value === undefined) throw new CapstanError(code, message);
        return value;
      },
    });
  required('image', image, 'ERR_CAPSTAN_NO_IMAGE', 'no image: pass --image (or set image in capstan.yaml)');
  required(
    'commit',
    options.commit,
    'ERR_CAPSTAN_NO_COMMIT',
    'no commit known: pass --commit, or deploy from a git checkout or a CI job that sets GITHUB_SHA, CI_COMMIT_SHA, GIT_COMMIT or REVISION',
  );
  required(
    'branch',
    options.branch,
    'ERR_CAPSTAN_NO_BRANCH',
    'no branch known: pass --branch, or deploy from a git branch or a CI job that sets GITHUB_REF_NAME, CI_COMMIT_REF_NAME or GIT_BRANCH',
  );
  return Object.freeze(context) as unknown as TemplateContext;
}

async function renderFile(
  file: PhaseFile,
  context: TemplateContext,
  engine: TemplateEngine,
  issues: Issue[],
): Promise<Produced[]> {
  if (file.kind === 'module') {
    const result = await runModuleFile(file.path, context);
    issues.push(...result.issues);
    const at = { file: file.path, line: await defaultExportLine(file.path) };
    return result.values.map((value, index) => ({
      value,
      site: {
        file: file.path,
        label: result.values.length > 1 ? `object ${index + 1}: ` : '',
        locate: () => at,
      },
    }));
  }
  let text: string;
  let mapped: MappedText | undefined;
  try {
    if (file.kind === 'template') {
      mapped = engine.renderFileMapped(file.path, context as unknown as Record<string, unknown>);
      text = mapped.text;
    } else text = await readFile(file.path, 'utf8');
  } catch (error) {
    issues.push(templateIssue(file.path, error));
    return [];
  }
  const rendered = file.kind === 'template';
  // A rendered template's positions are asked for only when something is refused (see templateSite).
  const { documents, problems } = parseYamlStream(text, { lines: rendered ? 'lazy' : 'eager' });
  for (const problem of problems) {
    issues.push(
      rendered
        ? {
            file: file.path,
            message: `YAML syntax error in the rendered output, line ${problem.line} (${quoteLine(text, problem.line)}): ${problem.message}`,
          }
        : {
            file: file.path,
            line: problem.line,
            column: problem.column,
            message: `YAML syntax error: ${problem.message}`,
          },
    );
  }
  return documents.flatMap((doc, index) => {
    const items = isList(doc.value) ? (doc.value as { items: unknown[] }).items : [doc.value];
    const site: ObjectSite = mapped
      ? templateSite(file.path, mapped, doc, documents.length > 1 ? `rendered document ${index + 1}: ` : '')
      : {
          file: file.path,
          line: doc.line,
          lineOf: doc.lineOf,
          locate: (path) => ({ file: file.path, line: doc.lineOf(path) }),
        };
    return items.map((value) => ({ value, site }));
  });
}

/** A rendered template's document: fields map back to the template lines that printed them. */
function templateSite(file: string, mapped: MappedText, doc: YamlDocument, label: string): ObjectSite {
  return {
    file,
    label,
    lineOf: (path) => mapped.originAt(doc.offsetOf(path), false).line,
    locate: (path) => mapped.originAt(doc.offsetOf(path)),
  };
}

/** The line of a module's `export default` (1 when it cannot be found). */
async function defaultExportLine(file: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const index = text.search(/^export default\b/m);
  return index < 0 ? 1 : text.slice(0, index).split('\n').length;
}

/** `kind: List` (what `kubectl get -o yaml` prints) is unwrapped into its items. */
function isList(value: unknown): boolean {
  const record = value as Record<string, unknown> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    record['kind'] === 'List' &&
    Array.isArray(record['items'])
  );
}

function quoteLine(text: string, line: number): string {
  const content = (text.split('\n')[line - 1] ?? '').trim();
  return JSON.stringify(content.length > 60 ? `${content.slice(0, 57)}...` : content);
}

function templateIssue(file: string, error: unknown): Issue {
  if (error instanceof TemplateFailure) {
    const via = error.includedFrom.map((f) => `${f.file}${f.line === undefined ? '' : `:${f.line}`}`);
    return {
      file: error.file,
      ...(error.line === undefined ? {} : { line: error.line }),
      message: via.length > 0 ? `${error.message} (included from ${via.join(', from ')})` : error.message,
    };
  }
  return { file, message: error instanceof Error ? error.message : String(error) };
}

async function renderSecretFile(
  options: RenderOptions,
  file: string,
  issues: Issue[],
): Promise<readonly unknown[]> {
  try {
    return (await options.renderSecrets?.(file, options.env.namespace)) ?? [];
  } catch (error) {
    if (error instanceof ConfigError) issues.push(...error.issues);
    else if (error instanceof CapstanError) issues.push({ file, message: error.message });
    else throw error;
    return [];
  }
}

/** Check one value; a plain-data copy of it, completed, or undefined after recording its issues. */
function acceptValue(produced: Produced, options: RenderOptions, issues: Issue[]): KubeObject | undefined {
  let value: unknown;
  try {
    // A copy: modules may return shared or frozen objects (values are frozen), and must return plain data.
    value = JSON.parse(JSON.stringify(produced.value)) as unknown;
  } catch (error) {
    issues.push({
      file: produced.site.file,
      message: `${produced.site.label ?? ''}not plain data: ${(error as Error).message}`,
    });
    return undefined;
  }
  const found = checkObject(value, produced.site);
  if (found.length > 0) {
    issues.push(...found);
    return undefined;
  }
  const object = value as KubeObject;
  // An object in a namespace the environment does not own would be deployed there silently.
  const foreign = checkNamespace(object, produced.site, options.env);
  if (foreign) {
    issues.push(foreign);
    return undefined;
  }
  const preview = options.env.preview;
  // A preview owns its namespace and nothing else: a cluster-scoped object is the environment's it
  // copies (shared by every preview), so it is left out, and said so.
  if (preview && isClusterScoped(object.kind)) {
    const at = lineOfField(produced.site, ['kind']).line;
    options.warn?.(
      `${produced.site.file}${at === undefined ? '' : `:${at}`}: ${produced.site.label ?? ''}${object.kind} ${object.metadata.name ?? ''} is cluster-scoped: left out of the preview (the ${preview.from} environment's deploy manages it)`,
    );
    return undefined;
  }
  completeObject(object, { app: options.env.app, env: options.env.name, namespace: options.env.namespace });
  if (preview?.protect) protectIngress(object, preview.protect, options.env.namespace);
  return object;
}

/** The line of a field where the site knows it (YAML files and templates), else the object's. */
function lineOfField(site: ObjectSite, path: readonly string[]): { line?: number } {
  const line = site.lineOf?.(path) ?? site.line;
  return line === undefined ? {} : { line };
}

function sourceOf(site: ObjectSite): RenderedObject['source'] {
  return site.line === undefined ? { file: site.file } : { file: site.file, line: site.line };
}

function describeSource(source: RenderedObject['source']): string {
  return source.line === undefined ? source.file : `${source.file}:${source.line}`;
}

/** Two objects with the same kind, namespace and name: the second is reported, naming the first. */
function findDuplicates(objects: readonly RenderedObject[]): Issue[] {
  const seen = new Map<string, RenderedObject>();
  const issues: Issue[] = [];
  for (const rendered of objects) {
    const key = objectKey(rendered.object);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, rendered);
      continue;
    }
    const { kind, metadata } = rendered.object;
    const where = metadata.namespace ? ` in namespace ${metadata.namespace}` : '';
    issues.push({
      ...rendered.source,
      path: 'metadata.name',
      message: `${kind}/${metadata.name ?? ''}${where} is defined twice: also in ${describeSource(first.source)}`,
    });
  }
  return issues;
}
