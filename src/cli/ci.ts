// The conventions of the CI a command runs in: GitHub Actions workflow commands and step summary,
// GitLab CI collapsible sections. Pure formatters; the reporter and reportError write them.
import type { Issue } from '../shared/index.js';
import { formatSeconds } from './progress.js';

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

/** How the end of a deploy names it: its release number when one was recorded, and its id. */
export function deployIdOf(event: { readonly release?: number; readonly deployId: string }): string {
  return `${event.release === undefined ? '' : `release ${event.release}, `}deploy ${event.deployId}`;
}

/** The line under a timeline: `✓ deploy succeeded (3.0s, release 7, deploy d7)`, or what failed. */
export function formatResult(
  event: {
    readonly outcome: string;
    readonly message?: string;
    readonly durationMs: number;
    readonly release?: number;
    readonly deployId: string;
  },
  operation: string,
): string {
  const ok = event.outcome === 'succeeded';
  const what = ok
    ? (event.message ?? `${operation} succeeded`)
    : `${operation} ${event.outcome}${event.message ? `: ${event.message}` : ''}`;
  return `${ok ? '✓' : '✗'} ${what} (${formatSeconds(event.durationMs)}, ${deployIdOf(event)})`;
}

/** One deploy's or rollback's phases as they run, for the step summary. */
export class PhaseTimeline {
  readonly rows: Array<PhaseRow & { startedAt: number }> = [];

  /** The phases the operation will run, none started yet. */
  planned(phases: readonly string[]): void {
    this.rows.push(...phases.map((phase) => ({ phase, objects: 0, outcome: 'not started', startedAt: 0 })));
  }

  started(phase: string, objects: number, now: number): void {
    const row = { phase, objects, outcome: 'running', startedAt: now };
    const at = this.rows.findIndex((r) => r.phase === phase);
    if (at === -1) this.rows.push(row);
    else this.rows[at] = row;
  }

  finished(phase: string, durationMs: number): void {
    const at = this.rows.findIndex((r) => r.phase === phase);
    if (at !== -1) this.rows[at] = { ...this.rows[at], outcome: 'succeeded', durationMs };
  }

  /** The rows, a phase still running ended by the operation's outcome. */
  closed(outcome: string, now: number): PhaseRow[] {
    return this.rows.map((row) =>
      row.outcome === 'running' ? { ...row, outcome, durationMs: now - row.startedAt } : row,
    );
  }
}

/** The phase timeline as `$GITHUB_STEP_SUMMARY` shows it: a heading, a table, the outcome. */
export function formatStepSummary(options: {
  readonly title: string;
  readonly rows: readonly PhaseRow[];
  readonly result: string;
  /** The heading's level (default 3): 4 under a multi-cluster deploy's own. */
  readonly level?: number;
}): string {
  const lines = [
    `${'#'.repeat(options.level ?? 3)} ${cell(options.title)}`,
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

/** A cluster of a multi-cluster deploy in the step summary's first table. */
export interface ClusterRow {
  readonly cluster: string;
  readonly wave?: number;
  readonly outcome: string;
  readonly release?: number;
  readonly durationMs?: number;
  /** Why it failed, and what its rollback did. */
  readonly detail?: string;
}

/**
 * A multi-cluster deploy as `$GITHUB_STEP_SUMMARY` shows it: a heading, a table of the clusters
 * and their outcomes, the result, then each cluster's phase timeline (and its rollback's).
 */
export function formatFleetStepSummary(options: {
  readonly title: string;
  readonly clusters: readonly ClusterRow[];
  readonly result: string;
  readonly tables: ReadonlyArray<{
    readonly title: string;
    readonly rows: readonly PhaseRow[];
    readonly result: string;
  }>;
}): string {
  const lines = [
    `### ${cell(options.title)}`,
    '',
    '| Cluster | Wave | Outcome | Release | Duration | Details |',
    '| --- | ---: | --- | ---: | ---: | --- |',
  ];
  for (const row of options.clusters) {
    const duration = row.durationMs === undefined ? '' : `${(row.durationMs / 1000).toFixed(1)}s`;
    lines.push(
      `| ${cell(row.cluster)} | ${row.wave ?? ''} | ${cell(row.outcome)} | ${row.release ?? ''} | ${duration} | ${cell(row.detail ?? '')} |`,
    );
  }
  lines.push('', cell(options.result), '');
  return [
    lines.join('\n') + '\n',
    // A rollback re-applies without phases: its heading and result, no empty table.
    ...options.tables.map((table) =>
      table.rows.length > 0
        ? formatStepSummary({ ...table, level: 4 })
        : `#### ${cell(table.title)}\n\n${cell(table.result)}\n\n`,
    ),
  ].join('');
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
