// The conventions of the CI a command runs in: GitHub Actions workflow commands and step summary,
// GitLab CI collapsible sections. Pure formatters; the reporter and reportError write them.
import type { Issue } from '../shared/index.js';

export type CiKind = 'github' | 'gitlab';

/** Which CI's conventions apply, from the environment the CLI was given. */
export function ciOf(env: NodeJS.ProcessEnv): CiKind | undefined {
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (env.GITLAB_CI === 'true') return 'gitlab';
  return undefined;
}

/** A workflow command's message: the runner decodes %25, %0D and %0A. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A workflow command's property value: also `:` and `,`, which end a value. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** A path as GitHub links it: relative to the workspace (the checkout) when it lies inside it. */
export function workspacePath(file: string, env: NodeJS.ProcessEnv): string {
  const root = env.GITHUB_WORKSPACE?.replace(/\/+$/, '');
  return root && file.startsWith(`${root}/`) ? file.slice(root.length + 1) : file;
}

export interface AnnotationProperties {
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  readonly title?: string;
}

/** `::error file=…,line=…,title=…::message`, every part escaped as GitHub requires. */
export function formatAnnotation(
  level: 'error' | 'warning' | 'notice',
  message: string,
  properties: AnnotationProperties = {},
): string {
  const props = (['file', 'line', 'col', 'title'] as const)
    .filter((key) => properties[key] !== undefined && properties[key] !== '')
    .map((key) => `${key}=${escapeProperty(String(properties[key]))}`);
  return `::${level}${props.length > 0 ? ` ${props.join(',')}` : ''}::${escapeData(message)}`;
}

/** One annotation per issue of invalid input, at its file and line. */
export function issueAnnotations(issues: readonly Issue[], title = 'capstan: invalid input'): string[] {
  return issues.map((issue) =>
    formatAnnotation('error', issue.path ? `${issue.path}: ${issue.message}` : issue.message, {
      file: issue.file,
      line: issue.line,
      col: issue.line === undefined ? undefined : issue.column,
      title,
    }),
  );
}

export interface PhaseRow {
  readonly phase: string;
  readonly durationMs?: number;
  readonly outcome: string;
  readonly objects: number;
}

/** A Markdown table cell: a pipe or a newline would break the row. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The phase timeline as `$GITHUB_STEP_SUMMARY` shows it: a heading, a table, the outcome. */
export function formatStepSummary(options: {
  readonly title: string;
  readonly rows: readonly PhaseRow[];
  readonly result: string;
}): string {
  const lines = [
    `### ${cell(options.title)}`,
    '',
    '| Phase | Duration | Outcome | Objects |',
    '| --- | ---: | --- | ---: |',
  ];
  for (const row of options.rows) {
    const duration = row.durationMs === undefined ? '' : `${(row.durationMs / 1000).toFixed(1)}s`;
    lines.push(`| ${cell(row.phase)} | ${duration} | ${cell(row.outcome)} | ${row.objects} |`);
  }
  lines.push('', cell(options.result), '');
  return lines.join('\n') + '\n';
}

/** GitLab's section names allow letters, digits, `_`, `.` and `-`. */
export function sectionName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Opens a collapsible GitLab CI log section; `at` is the time in ms. */
export function gitlabSectionStart(name: string, header: string, at: number, collapsed = true): string {
  return `\u001b[0Ksection_start:${Math.floor(at / 1000)}:${sectionName(name)}${collapsed ? '[collapsed=true]' : ''}\r\u001b[0K${header.replace(/\r?\n/g, ' ')}`;
}

export function gitlabSectionEnd(name: string, at: number): string {
  return `\u001b[0Ksection_end:${Math.floor(at / 1000)}:${sectionName(name)}\r\u001b[0K`;
}
