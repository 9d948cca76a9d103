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
type ClientFn = (locals: Locals, escape: EscapeFn, include: unknown, rethrow: unknown) => string;

/** Our escape function; `at` receives the marks the instrumented template source sends (see markAppends). */
type EscapeFn = ((v: unknown) => string) & {
  at: (offset: number, line: number, literal: number) => void;
};

/** A template line a piece of rendered output came from. */
export interface TemplateOrigin {
  readonly file: string;
  readonly line: number;
}

/** Rendered text and where each part of it came from. */
export interface MappedText {
  readonly text: string;
  /**
   * The template line that produced the character at `offset`: literal text maps line for line;
   * a tag's output maps to the tag's line, or, for an include's output and `deep`, into the partial.
   */
  readonly originAt: (offset: number, deep?: boolean) => TemplateOrigin;
}

export interface TemplateEngine {
  /** Render one `*.yaml.ejs` file with `locals`; throws TemplateFailure. */
  renderFile(file: string, locals: Locals): string;
  /** renderFile, with the origin of every part of the output. */
  renderFileMapped(file: string, locals: Locals): MappedText;
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

  // Renders in progress (an include runs inside its caller): each collects the includes it ran.
  const active: MappedText[][] = [];

  const engine: TemplateEngine = {
    renderFile(file, locals) {
      return engine.renderFileMapped(file, locals).text;
    },
    renderFileMapped(file, locals) {
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
      const marks: Mark[] = [];
      const escape: EscapeFn = Object.assign((value: unknown) => printValue(value), {
        at: (offset: number, line: number, literal: number) => {
          marks.push({ offset, line, literal: literal === 1 });
        },
      });
      const includes: MappedText[] = [];
      active.push(includes);
      let text: string;
      try {
        text = fn(own, escape, own['include'], rethrow);
      } finally {
        active.pop();
      }
      const mapped = mapOutput(file, text, marks, includes);
      active.at(-1)?.push(mapped);
      return mapped;
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

/** Where one `__append` of the template function starts in the output, and the template line it comes from. */
interface Mark {
  readonly offset: number;
  readonly line: number;
  /** Literal text (lines counted inside it), else a tag's output (all of it on the tag's line). */
  readonly literal: boolean;
  include?: MappedText;
}

const LINE_MARKER = /^ {4}; __line = (\d+)$/;
const LITERAL_APPEND = /^ {4}; __append\("(.*)"\)$/;

/**
 * EJS (3.x, compileDebug) writes one statement per line: `; __append("literal")`, `;
 * __append(escapeFn(expr))` or `; __append(expr)` for output, and `; __line = N` after every token
 * that holds newlines (N: the template line after it). Before each append this adds a call that
 * records the output's length and the template line the appended text starts on: a literal
 * followed by a marker starts N minus its own newlines lines up (which also covers the newline a
 * `-%>` trims), anything else on the line of the last marker. Limits: a tag's output (a value
 * printed over several lines, an include) is attributed to the tag's line, and code that calls
 * `__append` itself is not tracked.
 */
export function markAppends(source: string): string {
  const lines = source.split('\n');
  const out: string[] = [];
  let current = 1;
  for (const [index, line] of lines.entries()) {
    const marker = LINE_MARKER.exec(line);
    if (marker) current = Number(marker[1]);
    else if (line.startsWith('    ; __append(')) {
      const literal = LITERAL_APPEND.exec(line);
      let start = current;
      const next = literal ? LINE_MARKER.exec(lines[index + 1] ?? '') : null;
      if (literal && next) start = Number(next[1]) - escapedNewlines(literal[1]);
      out.push(`    ; escapeFn.at && escapeFn.at(__output.length, ${start}, ${literal ? 1 : 0})`);
    }
    out.push(line);
  }
  return out.join('\n');
}

/** `\n` escapes in the body of a JavaScript string literal (an escaped backslash is not one). */
function escapedNewlines(body: string): number {
  let count = 0;
  for (const match of body.matchAll(/\\(.)/g)) if (match[1] === 'n') count++;
  return count;
}

function mapOutput(file: string, text: string, marks: Mark[], includes: readonly MappedText[]): MappedText {
  // An include's output is the whole output of one tag: match them in order.
  let next = 0;
  for (const [index, mark] of marks.entries()) {
    if (mark.literal || next >= includes.length) continue;
    const end = marks[index + 1]?.offset ?? text.length;
    if (text.slice(mark.offset, end) === includes[next].text) mark.include = includes[next++];
  }
  const originAt = (offset: number, deep = true): TemplateOrigin => {
    let low = 0;
    let high = marks.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (marks[mid].offset <= offset) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    // Several marks may share an offset (empty output): the last of them produced the text.
    const mark = marks[found];
    if (!mark) return { file, line: 1 };
    if (mark.literal) return { file, line: mark.line + countNewlines(text, mark.offset, offset) };
    if (mark.include && deep) return mark.include.originAt(offset - mark.offset, deep);
    return { file, line: mark.line };
  };
  return { text, originAt };
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function compileTemplate(file: string, text: string): ClientFn {
  try {
    const template = new ejs.Template(text, { ...COMPILE_OPTIONS, filename: file }) as ejs.Template & {
      generateSource(): void;
      source: string;
    };
    const generate = template.generateSource.bind(template);
    template.generateSource = () => {
      generate();
      template.source = markAppends(template.source);
    };
    return template.compile() as unknown as ClientFn;
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
