import { LineCounter, parseDocument } from 'yaml';
import type { Issue } from '../shared/index.js';
import { locate, schemaIssues } from './parse-config.js';
import { helmChartSchemaValidator } from './schema-validator.js';

/** What a `NAME.helm.yaml` phase file says (schema/helm-chart.schema.json). */
export interface HelmChartConfig {
  /** A chart folder or archive, relative to the file. */
  readonly chart?: string;
  /** A chart repository URL or an `oci://` registry path, with name and version. */
  readonly repo?: string;
  readonly name?: string;
  readonly version?: string;
  readonly values?: Readonly<Record<string, unknown>>;
  readonly valuesFiles?: readonly string[];
}

export interface ParsedHelmChart {
  /** Set only when there are no issues. */
  readonly config?: HelmChartConfig;
  readonly issues: readonly Issue[];
}

/** Parse and check the text of a `*.helm.yaml` file; every issue names the file, line and field. */
export function parseHelmChart(text: string, file: string): ParsedHelmChart {
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
        message: `YAML syntax error: ${error.message.split('\n')[0]}`,
      })),
    };
  }
  const data: unknown = doc.contents === null ? {} : doc.toJS({ maxAliasCount: 100 });
  const validate = helmChartSchemaValidator();
  if (!validate(data)) return { issues: schemaIssues(validate.errors ?? [], doc.contents, position, file) };
  const config = data as HelmChartConfig;
  const at = (field: string, message: string): Issue => ({
    file,
    ...position(locate(doc.contents, [field]).key?.range?.[0]),
    path: field,
    message,
  });
  const issues: Issue[] = [];
  const fromRepo = (['repo', 'name', 'version'] as const).filter((f) => config[f] !== undefined);
  if (config.chart !== undefined) {
    for (const field of fromRepo)
      issues.push(at(field, `"${field}" is for a chart from a repository; this file names a local chart`));
  } else if (fromRepo.length === 0) {
    issues.push({
      file,
      line: 1,
      column: 1,
      message: 'no chart: give "chart" (a path relative to this file), or "repo", "name" and "version"',
    });
  } else {
    for (const field of ['repo', 'name', 'version'] as const)
      if (config[field] === undefined)
        issues.push({
          file,
          line: 1,
          column: 1,
          path: field,
          message: `missing "${field}": a chart from a repository needs repo, name and version`,
        });
  }
  return issues.length > 0 ? { issues } : { config, issues: [] };
}
