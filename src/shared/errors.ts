/** Errors with a stable code and an optional hint; the CLI prints message and hint, no stack. */

export interface CapstanErrorOptions {
  readonly hint?: string;
  readonly cause?: unknown;
}

export class CapstanError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: CapstanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CapstanError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** One problem in a user's input, located as precisely as the input allows. */
export interface Issue {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** Dotted path of the field inside the document, e.g. `environments.staging.namespace`. */
  readonly path?: string;
  readonly message: string;
}

export function formatIssue(issue: Issue): string {
  let where = issue.file;
  if (issue.line !== undefined) {
    where += `:${issue.line}`;
    if (issue.column !== undefined) where += `:${issue.column}`;
  }
  const path = issue.path ? ` ${issue.path}:` : '';
  return `${where}:${path} ${issue.message}`;
}

/** Invalid user input: every issue found, reported at once. Nothing was applied. */
export class ConfigError extends CapstanError {
  readonly issues: readonly Issue[];

  constructor(issues: readonly Issue[], options: CapstanErrorOptions = {}) {
    const head = issues.length === 1 ? 'invalid input' : `${issues.length} problems in the input`;
    super(
      'ERR_CAPSTAN_INVALID_INPUT',
      `${head}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      options,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function isCapstanError(error: unknown): error is CapstanError {
  return error instanceof CapstanError;
}

/** Codes of errors in what the user gave (files, flags, kubeconfig and context): exit 2, nothing applied. */
const INPUT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_CAPSTAN_INVALID_INPUT',
  'ERR_CAPSTAN_USAGE',
  'ERR_CAPSTAN_KUBECONFIG',
  // A preview's namespace that is not that preview: refused, nothing changed.
  'ERR_CAPSTAN_PREVIEW_NAMESPACE',
]);

export function isInputError(error: unknown): error is CapstanError {
  return error instanceof CapstanError && INPUT_ERROR_CODES.has(error.code);
}
