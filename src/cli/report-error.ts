// How an error reaches the person at the terminal: message and hint, a stack only for bugs; the exit code.
import { Redactor } from '../secrets/index.js';
import { CapstanError, ConfigError, isInputError } from '../shared/index.js';
import { ciOf, formatAnnotation, issueAnnotations, workspacePath } from './ci.js';
import type { CliIo } from './options.js';

/** Error codes with an exit code of their own (DESIGN.md): a lock held or lost is 4. */
const EXIT_OF_CODE: Readonly<Record<string, number>> = {
  ERR_CAPSTAN_LOCKED: 4,
  ERR_CAPSTAN_LOCK_LOST: 4,
  ERR_CAPSTAN_INTERRUPTED: 130,
  // A wait past its deadline (e.g. a preview's namespace still held by finalizers).
  ERR_CAPSTAN_TIMEOUT: 3,
};

/**
 * Prints an error on standard error, its message, hint and stack redacted; returns the exit code.
 * Under GitHub Actions, invalid input also becomes one annotation per issue, at its file and line.
 */
export function reportError(
  error: unknown,
  io: Pick<CliIo, 'stderr'> & Partial<Pick<CliIo, 'env'>>,
  redactor: Pick<Redactor, 'text'> = new Redactor(),
): number {
  const write = (text: string) => io.stderr.write(`${redactor.text(text)}\n`);
  if (error instanceof CapstanError) {
    write(`error: ${error.message}`);
    if (error.hint) write(`hint: ${error.hint}`);
    if (ciOf(io.env ?? {}) === 'github' && isInputError(error)) {
      // Redacted before escaping: the escaped form of a secret would no longer match it.
      const annotations =
        error instanceof ConfigError && error.issues.length > 0
          ? issueAnnotations(
              error.issues.map((i) => ({
                ...i,
                file: redactor.text(workspacePath(i.file, io.env ?? {})),
                message: redactor.text(i.message),
                ...(i.path ? { path: redactor.text(i.path) } : {}),
              })),
            )
          : [
              formatAnnotation(
                'error',
                redactor.text(error.hint ? `${error.message}\n${error.hint}` : error.message),
                { title: 'capstan: invalid input' },
              ),
            ];
      for (const annotation of annotations) io.stderr.write(`${annotation}\n`);
    }
    const exit = EXIT_OF_CODE[error.code];
    if (exit !== undefined) return exit;
    return isInputError(error) ? 2 : 1;
  }
  write(
    `unexpected error (this is a bug in Capstan, please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return 1;
}
