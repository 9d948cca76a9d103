import { isMap, isSeq, LineCounter, parseAllDocuments, visit, type Document } from 'yaml';
import { readPlainYaml } from './plain-yaml.js';

/** One document of a YAML stream with the positions needed for messages. */
export interface YamlDocument {
  readonly value: unknown;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  /** Line of the deepest existing node along `path` (e.g. `['metadata', 'name']`). */
  readonly lineOf: (path: readonly string[]) => number;
  /** Offset in the text of the deepest existing node along `path` (its key for the last segment). */
  readonly offsetOf: (path: readonly string[]) => number;
}

export interface YamlProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * Every non-empty document of `text`, or the syntax problems that prevent reading it.
 * `lines: 'lazy'` (rendered templates, whose messages ask for positions only on a refusal) lets
 * plain YAML that needs none of the yaml library's own rules be read by the fast reader: the same
 * values, about five times less CPU. Anything else, and every error, goes through the yaml library.
 */
export function parseYamlStream(
  text: string,
  options: { lines?: 'eager' | 'lazy' } = {},
): { documents: YamlDocument[]; problems: YamlProblem[] } {
  if (options.lines === 'lazy') {
    const values = readPlainYaml(text);
    if (values) return { documents: lazyDocuments(text, values), problems: [] };
  }
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter, prettyErrors: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const problems: YamlProblem[] = [];
  for (const doc of docs) {
    for (const error of doc.errors) {
      const pos = lineCounter.linePos(error.pos[0]);
      problems.push({ line: pos.line, column: pos.col, message: yamlErrorMessage(error.message) });
    }
  }
  if (problems.length > 0) return { documents: [], problems };

  const positions = lazyPositions(text);
  const documents: YamlDocument[] = [];
  for (const [index, doc] of docs.entries()) {
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = toValue(doc);
    } catch (error) {
      // An alias without its anchor (named at the alias), or aliases multiplying past the limit.
      const at = unresolvedAlias(doc);
      const pos = lineCounter.linePos(at ?? doc.contents.range?.[0] ?? 0);
      const message =
        at === undefined
          ? `in the document starting here: ${(error as Error).message}`
          : (error as Error).message;
      return { documents: [], problems: [{ line: pos.line, column: pos.col, message }] };
    }
    if (value === null || value === undefined) continue;
    documents.push({
      value,
      line: lineCounter.linePos(doc.contents.range?.[0] ?? 0).line,
      lineOf: (path) => positions.lineOf(positions.offsetOf(positions.docs()[index], path)),
      offsetOf: (path) => positions.offsetOf(positions.docs()[index], path),
    });
  }
  return { documents, problems };
}

const YAML_OPTIONS = { merge: true, uniqueKeys: true } as const;

/** Offset of the first alias in `doc` whose anchor is not set before it. */
function unresolvedAlias(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return undefined;
      offset = alias.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function toValue(doc: Document): unknown {
  return doc.toJS({ maxAliasCount: 100 });
}

/**
 * Positions are asked for rarely (a refusal, an audit finding) but the parsed documents are many
 * times the size of their values: they are not kept, the text is parsed again on first ask.
 */
function lazyPositions(text: string) {
  let again: { docs: Document[]; lineCounter: LineCounter } | undefined;
  const reparsed = () => {
    if (!again) {
      const lineCounter = new LineCounter();
      const docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter });
      again = { docs: Array.isArray(docs) ? docs : [], lineCounter };
    }
    return again;
  };
  return {
    docs: () => reparsed().docs,
    lineOf: (offset: number) => reparsed().lineCounter.linePos(offset).line,
    offsetOf: (doc: Document | undefined, path: readonly string[]) => (doc ? offsetOf(doc, path) : 0),
  };
}

/** The fast reader's values as documents; their positions come from the yaml library when asked. */
function lazyDocuments(text: string, values: readonly unknown[]): YamlDocument[] {
  const positions = lazyPositions(text);
  // The k-th value is the k-th document the yaml library reads with a value (the same filter).
  let withValues: Document[] | undefined;
  const docAt = (k: number) =>
    (withValues ??= positions.docs().filter((d) => d.contents !== null && toValue(d) != null))[k];
  return values
    .filter((value) => value !== null && value !== undefined)
    .map((value, k) => ({
      value,
      get line() {
        return positions.lineOf(docAt(k)?.contents?.range?.[0] ?? 0);
      },
      lineOf: (path) => positions.lineOf(positions.offsetOf(docAt(k), path)),
      offsetOf: (path) => positions.offsetOf(docAt(k), path),
    }));
}

function offsetOf(doc: Document, path: readonly string[]): number {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? 0;
  for (const [index, segment] of path.entries()) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value) === segment);
      // The last segment points at its key: that is the line a reader looks for.
      next = index === path.length - 1 ? (pair?.key ?? pair?.value) : (pair?.value ?? pair?.key);
    } else if (isSeq(node)) {
      next = node.items[Number(segment)];
    }
    const range = (next as { range?: [number, number, number] } | undefined)?.range;
    if (!range) break;
    node = next;
    offset = range[0];
  }
  return offset;
}

/** The yaml library's first message line without its own ` at line L, column C:` suffix. */
function yamlErrorMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
