// What Capstan reads in a kustomization itself (pure): the kustomize version it needs, and where an
// error kustomize printed points in it.
import { isAbsolute, join, relative, sep } from 'node:path';
import { isRecord, type Issue } from '../shared/index.js';
import { parseYamlStream } from './yaml-documents.js';

export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** The first `v1.2.3`/`1.2.3` in a version text (`kustomize version` prints `v5.4.2` or `{Version:kustomize/v4.5.7 ...}`). */
export function parseVersion(text: string): Version | undefined {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function formatVersion(version: Version): string {
  return `v${version.major}.${version.minor}.${version.patch}`;
}

export function isOlder(version: Version, than: Version): boolean {
  if (version.major !== than.major) return version.major < than.major;
  if (version.minor !== than.minor) return version.minor < than.minor;
  return version.patch < than.patch;
}

/**
 * The kustomize inside a kubectl, from `kubectl version --client -o json`: its `kustomizeVersion`
 * (printed since kubectl 1.24); older kubectls embed a version fixed by their own minor release.
 * `null` when that kubectl has no `kubectl kustomize` (before 1.14), undefined when unknown.
 */
export function kubectlKustomizeVersion(json: string): Version | null | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const kustomize = parsed['kustomizeVersion'];
  if (typeof kustomize === 'string') return parseVersion(kustomize);
  const client = parsed['clientVersion'];
  const minor = isRecord(client) ? Number.parseInt(String(client['minor']), 10) : Number.NaN;
  if (Number.isNaN(minor)) return undefined;
  if (minor < 14) return null;
  const embedded = minor <= 20 ? '2.0.3' : minor === 21 ? '4.0.5' : minor === 22 ? '4.2.0' : '4.4.1';
  return parseVersion(embedded);
}

/** Fields of a kustomization and the kustomize release that first read them. */
const FIELDS_SINCE: ReadonlyArray<readonly [string, string]> = [
  ['components', '3.7.0'],
  ['labels', '4.1.0'],
  ['replacements', '4.1.0'],
  ['sortOptions', '5.0.0'],
];

/** A kustomization file as read from the phase. */
export interface Kustomization {
  readonly file: string;
  readonly dir: string;
  readonly text: string;
  /** Its top-level mapping, when it parsed as one. */
  readonly value: Readonly<Record<string, unknown>> | undefined;
  /** Line of a top-level key (1 when absent). */
  readonly lineOf: (key: string) => number;
}

/** Parse a kustomization; YAML syntax errors become issues at their line and column. */
export function parseKustomization(file: string, dir: string, text: string, issues: Issue[]): Kustomization {
  const { documents, problems } = parseYamlStream(text);
  for (const problem of problems)
    issues.push({
      file,
      line: problem.line,
      column: problem.column,
      message: `YAML syntax error: ${problem.message}`,
    });
  const doc = documents[0];
  const value = doc && isRecord(doc.value) ? doc.value : undefined;
  return { file, dir, text, value, lineOf: (key) => (doc ? doc.lineOf([key]) : 1) };
}

/**
 * What the kustomization asks that the tool cannot give: a field newer than its kustomize, or a
 * Helm chart (kustomize needs `--enable-helm` for it, which Capstan does not pass).
 */
export function checkKustomization(k: Kustomization, tool: string, version: Version | undefined): Issue[] {
  const issues: Issue[] = [];
  if (!k.value) return issues;
  for (const [field, since] of FIELDS_SINCE) {
    const needed = parseVersion(since)!;
    if (k.value[field] !== undefined && version && isOlder(version, needed))
      issues.push({
        file: k.file,
        line: k.lineOf(field),
        path: field,
        message: `${field} needs kustomize ${formatVersion(needed)} or later; ${tool} has ${formatVersion(version)}: install a newer kustomize (or kubectl) and put it first on PATH`,
      });
  }
  if (k.value['helmCharts'] !== undefined)
    issues.push({
      file: k.file,
      line: k.lineOf('helmCharts'),
      path: 'helmCharts',
      message:
        'helmCharts needs `kustomize build --enable-helm`, which Capstan does not run: render the chart with `helm template` into the kustomization, or deploy it as a phase file of its own',
    });
  return issues;
}

/** Whether the kustomization asks kustomize for origin annotations itself (then they are kept). */
export function asksForOrigins(k: Kustomization): boolean {
  const metadata = k.value?.['buildMetadata'];
  return Array.isArray(metadata) && metadata.includes('originAnnotations');
}

/** Scalar values of the kustomization's lines (`- web.yaml`, `path: patch.yaml`), with their line. */
function lineValues(text: string): Array<{ value: string; line: number }> {
  const values: Array<{ value: string; line: number }> = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const content = raw.replace(/(^|\s)#.*$/, '').trim();
    const match = /^(?:-\s+)?(?:[A-Za-z_][\w.-]*:\s+)?(.+)$/.exec(content);
    const value = match?.[1]?.trim().replace(/^(['"])(.*)\1$/, '$2');
    if (value && !value.endsWith(':') && !/^[[{|>-]/.test(value)) values.push({ value, line: index + 1 });
  }
  return values;
}

/** The line that names `path` (relative to the kustomization's folder), or a folder above it. */
export function entryLine(k: Kustomization, path: string): number | undefined {
  const normalized = path.split(sep).join('/');
  for (const { value, line } of lineValues(k.text)) {
    const entry = value.replace(/^\.\//, '').replace(/\/$/, '');
    if (normalized === entry || normalized.startsWith(`${entry}/`)) return line;
  }
  return undefined;
}

const BOUNDARY = `['"()\\s/:=]`;

/**
 * One issue for what kustomize printed on failure: its message with the folder's paths made
 * relative, at the line of the kustomization it points to (an unknown field, a YAML error, a file
 * it names); a YAML error inside a listed file is reported at that file's line.
 */
export function kustomizeErrorIssue(stderr: string, k: Kustomization): Issue {
  const message = cleanMessage(stderr, k.dir);
  const inFile = /MalformedYAMLError: yaml: line (\d+): (.*?) in File: (\S+)/.exec(message);
  if (inFile) {
    const file = isAbsolute(inFile[3]) ? inFile[3] : join(k.dir, inFile[3]);
    const listed = entryLine(k, relative(k.dir, file));
    const at = listed === undefined ? '' : ` (listed at ${relative(k.dir, k.file)}:${listed})`;
    return { file, line: Number(inFile[1]), message: `YAML syntax error: ${inFile[2]}${at}` };
  }
  const unknown = /unknown field "([^"]+)"/.exec(message);
  if (unknown && k.value?.[unknown[1]] !== undefined)
    return { file: k.file, line: k.lineOf(unknown[1]), path: unknown[1], message };
  const yamlLine = /invalid Kustomization: yaml: line (\d+)/.exec(message);
  if (yamlLine) return { file: k.file, line: Number(yamlLine[1]), message };
  const line = namedLine(message, k.text);
  return { file: k.file, ...(line === undefined ? {} : { line }), message };
}

/** The line of the kustomization whose value the message names first. */
function namedLine(message: string, text: string): number | undefined {
  let best: { at: number; line: number } | undefined;
  for (const { value, line } of lineValues(text)) {
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`(?:^|${BOUNDARY})${escaped}(?=${BOUNDARY}|$)`).exec(message);
    if (match && (best === undefined || match.index < best.at)) best = { at: match.index, line };
  }
  return best?.line;
}

/** kustomize's text on one line, without its `Error:` prefix, paths relative to the folder. */
function cleanMessage(stderr: string, dir: string): string {
  let text = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ')
    .replace(/^(?:error|Error):\s*/, '');
  // Some kubectl builds log it: `E1207 17:56:48.23 3241 run.go:72] "command failed" err="..."`.
  const logged = /"command failed" err="((?:[^"\\]|\\.)*)"/.exec(text);
  if (logged) {
    try {
      text = JSON.parse(`"${logged[1]}"`) as string;
    } catch {
      text = logged[1]!;
    }
  }
  text = text.split(`${dir}/`).join('').split(dir).join('.');
  // A missing file is named three times over in kustomize's nested errors: once is enough.
  const missing = /lstat (\S+): no such file or directory/.exec(text);
  if (missing) text = `${text.split(':')[0]}: ${missing[1]}: no such file or directory`;
  return text || 'kustomize failed without a message';
}
