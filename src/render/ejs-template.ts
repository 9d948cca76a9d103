import { readFileSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { Script } from 'node:vm';
import ejs from 'ejs';

/** A template failed: `file` and `line` point at the innermost template, `includedFrom` at its callers. */
export class TemplateFailure extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly includedFrom: { file: string; line: number | undefined }[] = [];

  constructor(file: string, line: number | undefined, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateFailure';
    this.file = file;
    this.line = line;
  }
}

type Locals = Record<string, unknown>;
type ClientFn = (
  locals: Locals,
  escape: (v: unknown) => string,
  include: unknown,
  rethrow: unknown,
) => string;

export interface TemplateEngine {
  /** Render one `*.yaml.ejs` file with `locals`; throws TemplateFailure. */
  renderFile(file: string, locals: Locals): string;
  /** Render the partial `name` of the templates folder with `locals` plus `vars`; throws TemplateFailure. */
  renderPartial(name: string, locals: Locals, vars?: Locals): string;
}

/** EJS for YAML: `<%= %>` does not HTML-escape; printing `undefined` is an error; objects print as JSON. */
function printValue(value: unknown): string {
  if (value === undefined) throw new Error('a tag printed undefined (a missing value?)');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  throw new Error(`a tag printed a ${typeof value}`);
}

/** A copy of `locals` (getters kept, so a missing image still throws when used) with `extra` on top. */
export function extendLocals(locals: Locals, extra: Locals): Locals {
  const out: Locals = {};
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(locals))) {
    // The source may be frozen; the copy must accept `extra` over any of its keys.
    const open = 'value' in descriptor ? { ...descriptor, writable: true } : descriptor;
    Object.defineProperty(out, key, { ...open, configurable: true });
  }
  for (const [key, value] of Object.entries(extra)) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function createTemplateEngine(options: { templatesDir: string }): TemplateEngine {
  const templatesDir = resolve(options.templatesDir);
  const compiled = new Map<string, ClientFn>();

  const compileFile = (file: string): ClientFn => {
    let fn = compiled.get(file);
    if (!fn) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new TemplateFailure(file, undefined, `cannot read: ${(error as Error).message}`, {
          cause: error,
        });
      }
      fn = compileTemplate(file, text);
      compiled.set(file, fn);
    }
    return fn;
  };

  const engine: TemplateEngine = {
    renderFile(file, locals) {
      const fn = compileFile(file);
      const own = extendLocals(locals, {
        include: (name: string, vars?: Locals) => engine.renderPartial(name, own, vars),
      });
      const rethrow = (error: unknown, _lines: string, _name: string, line: number): never => {
        if (error instanceof TemplateFailure) {
          error.includedFrom.push({ file, line });
          throw error;
        }
        const message = error instanceof Error ? error.message : String(error);
        throw new TemplateFailure(file, line, message, { cause: error });
      };
      return fn(own, printValue, own['include'], rethrow);
    },
    renderPartial(name, locals, vars = {}) {
      return engine.renderFile(resolvePartial(templatesDir, name), extendLocals(locals, vars));
    },
  };
  return engine;
}

function resolvePartial(templatesDir: string, name: string): string {
  const candidates = /\.ejs$/.test(name) ? [name] : [`${name}.yaml.ejs`, `${name}.yml.ejs`, name];
  for (const candidate of candidates) {
    const path = resolve(templatesDir, candidate);
    if (!path.startsWith(templatesDir + sep)) throw new Error(`partial "${name}" is outside ${templatesDir}`);
    if (statSync(path, { throwIfNoEntry: false })?.isFile()) return path;
  }
  throw new Error(`no partial "${name}" in ${templatesDir} (tried ${candidates.join(', ')})`);
}

const COMPILE_OPTIONS = { client: true, compileDebug: true, strict: false } as const;

function compileTemplate(file: string, text: string): ClientFn {
  try {
    return ejs.compile(text, { ...COMPILE_OPTIONS, filename: file }) as unknown as ClientFn;
  } catch (error) {
    if (error instanceof SyntaxError) {
      const located = locateSyntaxError(text);
      throw new TemplateFailure(file, located?.line, located?.message ?? error.message.split('\n')[0] ?? '', {
        cause: error,
      });
    }
    const message = (error as Error).message;
    const open = text.lastIndexOf('<%');
    const line = /close tag/.test(message) && open >= 0 ? lineAt(text, open) : undefined;
    throw new TemplateFailure(file, line, message, { cause: error });
  }
}

function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/**
 * `new Function` gives no position for a syntax error, so parse EJS's generated source with vm
 * (which does) and map the generated line back through EJS's `__line = N` markers.
 */
function locateSyntaxError(text: string): { line: number; message: string } | undefined {
  const template = new ejs.Template(text, COMPILE_OPTIONS) as ejs.Template & { generateSource(): void };
  template.generateSource();
  const body = template.source.split('\n');
  try {
    new Script(`(function () {\n${body.join('\n')}\n})`, { filename: 'ejs-template' });
    return undefined;
  } catch (error) {
    const match = /^ejs-template:(\d+)/.exec((error as Error).stack ?? '');
    if (!match) return undefined;
    const bodyLine = Number(match[1]) - 1; // 1-based line of `body`
    if (bodyLine > body.length) {
      // Only the wrapper's closing brace is left: something opened in the template was never closed.
      const last = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
      return {
        line: Math.max(1, last),
        message: `${(error as Error).message} at the end of the template (an unclosed { block?)`,
      };
    }
    let templateLine = 1;
    let markerAt = 0;
    for (let i = 0; i < bodyLine - 1 && i < body.length; i++) {
      const marker = /^\s*; __line = (\d+)$/.exec(body[i]);
      if (marker) {
        templateLine = Number(marker[1]);
        markerAt = i + 1;
      }
    }
    return { line: templateLine + Math.max(0, bodyLine - 1 - markerAt), message: (error as Error).message };
  }
}
