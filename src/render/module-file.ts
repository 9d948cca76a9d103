import { pathToFileURL } from 'node:url';
import type { Issue } from '../shared/index.js';
import { TemplateFailure } from './ejs-template.js';
import { isRecord } from '../shared/index.js';
import { importTemplateModule } from './template-library.js';

/** The values a module's default export produced (objects, flattened), or the issue that stopped it. */
export async function runModuleFile(
  file: string,
  context: object,
): Promise<{ values: unknown[]; issues: Issue[] }> {
  let exported: unknown;
  try {
    exported = (await importTemplateModule(file))['default'];
    // A module read as CommonJS (no "type": "module" above it) puts the ES default one level down.
    if (isRecord(exported) && typeof exported['default'] === 'function') exported = exported['default'];
  } catch (error) {
    return { values: [], issues: [failureIssue(file, error, 'cannot load the module: ')] };
  }
  let result: unknown;
  if (typeof exported === 'function') {
    try {
      result = await (exported as (context: object) => unknown)(context);
    } catch (error) {
      return { values: [], issues: [failureIssue(file, error, '')] };
    }
  } else if (typeof exported === 'object' && exported !== null) {
    result = exported;
  } else {
    const message =
      'the default export must be a function of the template context returning an object or a list';
    return { values: [], issues: [{ file, message }] };
  }
  return { values: flatten(result), issues: [] };
}

/** Lists may nest and hold `null`, `undefined` or `false` for objects left out by a condition. */
function flatten(result: unknown): unknown[] {
  if (!Array.isArray(result)) return result === null || result === undefined ? [] : [result];
  return result.flat(Infinity).filter((v: unknown) => v !== null && v !== undefined && v !== false);
}

function failureIssue(file: string, error: unknown, prefix: string): Issue {
  if (error instanceof TemplateFailure) {
    return {
      file: error.file,
      ...(error.line === undefined ? {} : { line: error.line }),
      message: error.message,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  const position = positionIn(
    file,
    error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : message,
  );
  // esbuild: "Transform failed with 1 error:\n<file>:2:16: ERROR: Expected ..."
  const first =
    /ERROR: (.+)/.exec(message)?.[1] ?? message.split('\n').find((l) => l.trim() !== '') ?? message;
  return { file, ...position, message: `${prefix}${first}` };
}

/** First `file:line[:column]` mention in a message or stack (plain path or file URL). */
function positionIn(file: string, text: string): { line?: number; column?: number } {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const names = `(?:${escape(file)}|${escape(pathToFileURL(file).href)})`;
  const match = new RegExp(`${names}(?:\\?[^:\\s)]*)?:(\\d+)(?::(\\d+))?`).exec(text);
  if (!match) return {};
  return { line: Number(match[1]), ...(match[2] === undefined ? {} : { column: Number(match[2]) }) };
}
