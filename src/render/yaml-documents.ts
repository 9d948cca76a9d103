import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';

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

/** Every non-empty document of `text`, or the syntax problems that prevent reading it. */
export function parseYamlStream(text: string): { documents: YamlDocument[]; problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true, merge: true, uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const problems: YamlProblem[] = [];
  for (const doc of docs) {
    for (const error of doc.errors) {
      const pos = lineCounter.linePos(error.pos[0]);
      problems.push({ line: pos.line, column: pos.col, message: yamlErrorMessage(error.message) });
    }
  }
  if (problems.length > 0) return { documents: [], problems };

  // Positions are asked for rarely (a refusal, an audit finding) but the parsed documents are many
  // times the size of their values: they are not kept, the text is parsed again on first ask.
  let again: { docs: Document[]; lineCounter: LineCounter } | undefined;
  const reparsed = () => {
    if (!again) {
      const counter = new LineCounter();
      const docs = parseAllDocuments(text, { lineCounter: counter, merge: true, uniqueKeys: true });
      again = { docs: Array.isArray(docs) ? docs : [], lineCounter: counter };
    }
    return again;
  };
  const documents: YamlDocument[] = [];
  for (const [index, doc] of docs.entries()) {
    if (doc.contents === null) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const at = (path: readonly string[]): number => {
      const { docs: parsed } = reparsed();
      const same = parsed[index];
      return same ? offsetOf(same, path) : 0;
    };
    documents.push({
      value,
      line: lineCounter.linePos(doc.contents.range?.[0] ?? 0).line,
      lineOf: (path) => reparsed().lineCounter.linePos(at(path)).line,
      offsetOf: at,
    });
  }
  return { documents, problems };
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
