import { checkHostPattern } from '../previews/names.js';
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { Issue } from '../shared/index.js';
import { schemaValidator } from './schema-validator.js';
import type { CapstanConfig } from './types.js';

/** Parsed and schema-checked capstan.yaml text: `config` is set only when there are no issues. */
export interface ParsedConfig {
  readonly config?: CapstanConfig;
  readonly issues: readonly Issue[];
}

interface Located {
  node?: Node;
  key?: Node;
}

/** Parse capstan.yaml text and validate it against schema/capstan.schema.json, collecting every issue. */
export function parseConfig(text: string, file: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const position = (offset: number | undefined): { line: number; column: number } => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    return {
      issues: doc.errors.map((error) => ({
        file,
        ...position(error.pos[0]),
        message: yamlErrorMessage(error.message),
      })),
    };
  }
  if (doc.contents === null) {
    return {
      issues: [
        { file, line: 1, column: 1, message: 'the file is empty: it needs at least app and environments' },
      ],
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const validate = schemaValidator();
  if (validate(data)) {
    const config = data as CapstanConfig;
    const issues = [...checkNamespaces(config), ...checkClusters(config), ...checkPreviews(config)].map(
      ({ path, message }) => ({
        file,
        ...position(locate(doc.contents, path).node?.range?.[0]),
        path: path.join('.'),
        message,
      }),
    );
    return issues.length > 0 ? { issues } : { config, issues: [] };
  }

  return { issues: schemaIssues(validate.errors ?? [], doc.contents, position, file) };
}

/**
 * ajv's errors as issues at the line and column of the field they are about (of its key for an
 * unknown or misnamed field), sorted by position.
 */
export function schemaIssues(
  errors: readonly ErrorObject[],
  root: unknown,
  position: (offset: number | undefined) => { line: number; column: number },
  file: string,
): Issue[] {
  const issues: Issue[] = [];
  for (const error of errors) {
    if (error.keyword === 'propertyNames') continue; // its nested error says what is wrong
    const segments = pointerSegments(error.instancePath);
    const named = propertyOf(error);
    // A repeated list item is reported where it repeats.
    const repeated =
      error.keyword === 'uniqueItems' ? String(laterOf(error.params as { i: number; j: number })) : undefined;
    const path =
      named === undefined
        ? repeated === undefined
          ? segments
          : [...segments, repeated]
        : [...segments, named];
    const located = locate(root, path);
    const node =
      named !== undefined && error.keyword !== 'required' ? (located.key ?? located.node) : located.node;
    issues.push({ file, ...position(node?.range?.[0]), path: path.join('.'), message: describe(error) });
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return issues;
}

/** The second of two equal list items (ajv's order of i and j depends on the item type). */
function laterOf(params: { i: number; j: number }): number {
  return Math.max(params.i, params.j);
}

/** What the schema cannot say: an environment's extra namespaces are other than its own. */
function checkNamespaces(config: CapstanConfig): { path: string[]; message: string }[] {
  return Object.entries(config.environments).flatMap(([name, env]) =>
    (env.extraNamespaces ?? []).flatMap((ns, index) =>
      ns === env.namespace
        ? [
            {
              path: ['environments', name, 'extraNamespaces', String(index)],
              message: `"${ns}" is the environment's own namespace: remove it from extraNamespaces`,
            },
          ]
        : [],
    ),
  );
}

/** What the schema cannot say about previews: the environment they copy, and room for a branch in the names. */
export function checkPreviews(config: CapstanConfig): { path: string[]; message: string }[] {
  const previews = config.previews;
  if (!previews) return [];
  const issues: { path: string[]; message: string }[] = [];
  const from = Object.hasOwn(config.environments, previews.from)
    ? config.environments[previews.from]
    : undefined;
  if (!from)
    issues.push({
      path: ['previews', 'from'],
      message: `"${previews.from}" is not an environment (${Object.keys(config.environments).join(', ')})`,
    });
  else if (from.clusters)
    issues.push({
      path: ['previews', 'from'],
      message: `"${previews.from}" has several clusters: a preview deploys to one (name a single-cluster environment)`,
    });
  const host = checkHostPattern(config.app, previews.host);
  if (host) issues.push({ path: ['previews', 'host'], message: host });
  return issues;
}

/**
 * What the schema cannot say about clusters: waves name each cluster exactly once, and the settings
 * of a multi-cluster environment are not given to a single-cluster one (or the other way round).
 */
export function checkClusters(config: CapstanConfig): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  for (const [name, env] of Object.entries(config.environments)) {
    const at = (...rest: string[]) => ['environments', name, ...rest];
    if (!env.clusters) {
      for (const key of ['waves', 'soak', 'maxParallel'] as const)
        if (env[key] !== undefined)
          issues.push({ path: at(key), message: `${key} needs clusters: this environment has one cluster` });
      continue;
    }
    if (env.context !== undefined)
      issues.push({
        path: at('context'),
        message: 'with clusters, each cluster names its context: move context under clusters.<name>',
      });
    for (const [cluster, settings] of Object.entries(env.clusters))
      if (settings.context === undefined && settings.kubeconfig === undefined)
        issues.push({
          path: at('clusters', cluster),
          message: `cluster "${cluster}" needs a context or a kubeconfig (else every cluster would be the current context)`,
        });
    const seen = new Map<string, number>();
    (env.waves ?? []).forEach((wave, w) =>
      wave.forEach((cluster, i) => {
        if (!Object.hasOwn(env.clusters ?? {}, cluster))
          issues.push({
            path: at('waves', String(w), String(i)),
            message: `"${cluster}" is not one of the clusters (${Object.keys(env.clusters ?? {}).join(', ')})`,
          });
        else if (seen.has(cluster))
          issues.push({
            path: at('waves', String(w), String(i)),
            message: `"${cluster}" is already in wave ${(seen.get(cluster) ?? 0) + 1}: a cluster deploys once`,
          });
        else seen.set(cluster, w);
      }),
    );
    if (env.waves)
      for (const cluster of Object.keys(env.clusters))
        if (!seen.has(cluster))
          issues.push({
            path: at('waves'),
            message: `cluster "${cluster}" is in no wave: add it to one, or remove it from clusters`,
          });
  }
  return issues;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The property an error is about when it is not the instance itself (unknown, missing, badly named). */
function propertyOf(error: ErrorObject): string | undefined {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') return String(params['additionalProperty']);
  if (error.keyword === 'required') return String(params['missingProperty']);
  return error.propertyName;
}

/** Walk the YAML tree along `path`, as deep as it exists; `key` is the key node of the last step. */
export function locate(root: unknown, path: readonly string[]): Located {
  let located: Located = isNode(root) ? { node: root } : {};
  for (const segment of path) {
    const current = located.node;
    if (isMap(current)) {
      const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) return located;
      located = {
        key: isNode(pair.key) ? pair.key : undefined,
        node: isNode(pair.value) ? pair.value : (pair.key as Node),
      };
    } else if (isSeq(current)) {
      const item = current.items[Number(segment)];
      if (!isNode(item)) return located;
      located = { node: item };
    } else {
      return located;
    }
  }
  return located;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      const known = Object.keys((schema['properties'] as Record<string, unknown> | undefined) ?? {});
      const close = closest(name, known);
      const hint = close
        ? `; did you mean "${close}"?`
        : known.length > 0
          ? ` (known: ${known.join(', ')})`
          : '';
      return `unknown field "${name}"${hint}`;
    }
    case 'required':
      return `missing required field "${String(params['missingProperty'])}"`;
    case 'type':
      return `must be ${withArticle(String(params['type']))}, not ${typeName(error.data)}`;
    case 'enum':
      return `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(error.data)}`;
    case 'pattern': {
      const what = error.propertyName === undefined ? '' : `invalid name "${error.propertyName}": `;
      const message =
        typeof schema['patternErrorMessage'] === 'string' ? schema['patternErrorMessage'] : error.message;
      return `${what}${message}`;
    }
    case 'uniqueItems': {
      const items = Array.isArray(error.data) ? (error.data as unknown[]) : [];
      return `${JSON.stringify(items[laterOf(params as { i: number; j: number })])} is listed twice`;
    }
    case 'minProperties':
      return `must have at least ${String(params['limit'])} entr${params['limit'] === 1 ? 'y' : 'ies'}`;
    case 'minLength':
      return params['limit'] === 1
        ? 'must not be empty'
        : `must have at least ${String(params['limit'])} characters`;
    case 'maxLength':
      return `${error.propertyName === undefined ? '' : `invalid name "${error.propertyName}": `}must have at most ${String(params['limit'])} characters`;
    default:
      return error.message ?? `fails ${error.keyword}`;
  }
}

function withArticle(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${withArticle(typeof value)} (${JSON.stringify(value)})`;
}

/** The known name within edit distance 2 of `name`, if any: a typo hint. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/** The yaml library's first message line without its own ` at line L, column C:` suffix. */
function yamlErrorMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
