// `NAME.helm.yaml` phase files: the chart they name, rendered by the `helm` on PATH with
// `helm template NAME CHART --namespace NS --include-crds`. Helm only renders: Capstan applies,
// waits, records and prunes the objects as its own, and Helm's release Secret is never written.
import { execFile, type ExecFileException } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseHelmChart, type HelmChartConfig } from '../config/index.js';
import type { Issue } from '../shared/index.js';
import { parseYamlStream } from './yaml-documents.js';

/** The oldest Helm whose `helm template` Capstan relies on (OCI charts without the experimental flag). */
const MIN_HELM = [3, 8] as const;
const HELM_TIMEOUT_MS = 5 * 60_000;
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** One object of a chart's output: its value and the chart template it came from (`# Source:`). */
export interface ChartDocument {
  readonly value: unknown;
  readonly template: string | undefined;
}

export interface HelmRunOptions {
  /** The variables helm runs with (PATH finds it; HELM_* and proxies configure it); default: this process's. */
  readonly envVars?: Readonly<Record<string, string | undefined>>;
}

/** `podinfo` for `podinfo.helm.yaml` or `podinfo.helm.yaml.ejs`. */
export function releaseNameOf(file: string): string {
  return basename(file).replace(/\.helm\.ya?ml(\.ejs)?$/, '');
}

/** The arguments of `helm template` for a checked file (pure); `valuesFile` holds the inline values. */
export function helmTemplateArgs(
  config: HelmChartConfig,
  options: { release: string; namespace: string; dir: string; valuesFile?: string },
): string[] {
  const args = ['template', options.release];
  if (config.chart !== undefined) args.push(resolve(options.dir, config.chart));
  else if (config.repo?.startsWith('oci://'))
    args.push(`${config.repo.replace(/\/+$/, '')}/${config.name ?? ''}`, '--version', config.version ?? '');
  else args.push(config.name ?? '', '--repo', config.repo ?? '', '--version', config.version ?? '');
  args.push('--namespace', options.namespace, '--include-crds');
  for (const file of config.valuesFiles ?? []) args.push('--values', resolve(options.dir, file));
  if (options.valuesFile !== undefined) args.push('--values', options.valuesFile);
  return args;
}

/** Split `helm template` output into documents, each with the template named by its `# Source:` line (pure). */
export function parseHelmOutput(text: string): { documents: ChartDocument[]; problems: string[] } {
  const documents: ChartDocument[] = [];
  const problems: string[] = [];
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const template = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim();
    const parsed = parseYamlStream(chunk, { lines: 'lazy' });
    for (const problem of parsed.problems)
      problems.push(`${template ?? 'helm output'}: YAML syntax error: ${problem.message}`);
    for (const doc of parsed.documents)
      if (doc.value !== null) documents.push({ value: doc.value, template });
  }
  return { documents, problems };
}

/** `v3.14.2+g…` → [3, 14]; undefined when it is not a version. */
export function parseHelmVersion(text: string): [number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** helm could not be run, or it failed: `stderr` says why. */
class HelmRunError extends Error {
  readonly code: string | number | null | undefined;
  readonly stderr: string;

  constructor(cause: ExecFileException, stderr: string) {
    super(cause.message, { cause });
    this.name = 'HelmRunError';
    this.code = cause.code;
    this.stderr = stderr;
  }
}

function runHelm(args: readonly string[], options: HelmRunOptions): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'helm',
      args,
      {
        env: options.envVars,
        maxBuffer: 256 * 1024 * 1024,
        timeout: HELM_TIMEOUT_MS,
      },
      (error, stdout, stderr) => {
        if (error) reject(new HelmRunError(error, stderr));
        else resolvePromise(stdout);
      },
    );
  });
}

const checkedHelm = new Map<string, Promise<string | undefined>>();

/** Why the `helm` on PATH cannot render charts, or undefined when it can (asked once per PATH). */
function helmProblem(options: HelmRunOptions): Promise<string | undefined> {
  const key = options.envVars?.['PATH'] ?? '';
  let found = checkedHelm.get(key);
  if (!found) {
    found = runHelm(['version', '--template', '{{.Version}}'], options).then(
      (text) => {
        const version = parseHelmVersion(text);
        if (!version) return `\`helm version\` printed ${JSON.stringify(text.trim())}, not a version`;
        const [major, minor] = version;
        if (major < MIN_HELM[0] || (major === MIN_HELM[0] && minor < MIN_HELM[1]))
          return `helm ${text.trim()} is too old: Capstan renders charts with Helm ${MIN_HELM.join('.')} or later`;
        return undefined;
      },
      (error: HelmRunError) =>
        error.code === 'ENOENT'
          ? 'helm is not on PATH: Capstan renders charts with `helm template` (install Helm 3.8 or later, https://helm.sh/docs/intro/install/)'
          : `\`helm version\` failed: ${error.message}`,
    );
    checkedHelm.set(key, found);
  }
  return found;
}

/**
 * Render one Helm chart phase file whose text (a template's output for `.helm.yaml.ejs`) is
 * `text`: its documents, or an empty list after recording its issues.
 */
export async function renderHelmChart(
  file: string,
  text: string,
  options: HelmRunOptions & { namespace: string; issues: Issue[] },
): Promise<ChartDocument[]> {
  const { issues } = options;
  const parsed = parseHelmChart(text, file);
  const release = releaseNameOf(file);
  const misnamed = release.length > 53 || !RELEASE_NAME.test(release);
  if (misnamed) {
    issues.push({
      file,
      message: `"${release}" (the file name before .helm.yaml) is the release name: lower-case letters, digits, dashes and dots, at most 53 characters`,
    });
  }
  if (!parsed.config) issues.push(...parsed.issues);
  if (!parsed.config || misnamed) return [];
  const problem = await helmProblem(options);
  if (problem) {
    issues.push({ file, message: problem });
    return [];
  }
  const temp = await mkdtemp(join(tmpdir(), 'capstan-helm-'));
  try {
    const valuesFile = parsed.config.values ? join(temp, 'values.json') : undefined;
    // JSON is YAML: the inline values reach helm exactly as parsed.
    if (valuesFile) await writeFile(valuesFile, JSON.stringify(parsed.config.values));
    const args = helmTemplateArgs(parsed.config, {
      release,
      namespace: options.namespace,
      dir: dirname(file),
      ...(valuesFile ? { valuesFile } : {}),
    });
    let output: string;
    try {
      output = await runHelm(args, options);
    } catch (error) {
      if (!(error instanceof HelmRunError)) throw error;
      issues.push({ file, message: `helm template failed: ${error.stderr.trim() || error.message}` });
      return [];
    }
    const { documents, problems } = parseHelmOutput(output);
    issues.push(...problems.map((message) => ({ file, message })));
    return documents;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
