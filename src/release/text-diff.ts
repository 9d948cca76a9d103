// Line diff (Myers' O(ND) algorithm) and unified diff text with context hunks (pure).

export interface LineEdit {
  readonly op: ' ' | '-' | '+';
  readonly line: string;
}

/** The shortest edit script turning lines `a` into lines `b`. */
export function diffLines(a: readonly string[], b: readonly string[]): LineEdit[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0)
    return [
      ...a.map((line) => ({ op: '-' as const, line })),
      ...b.map((line) => ({ op: '+' as const, line })),
    ];
  // v[k] is the furthest x reached on diagonal k = x - y; `trace[d]` keeps v as it was before round d,
  // only over the diagonals round d reads (-d-1 .. d+1), so memory grows with D², not D·(N+M).
  const v = new Map<number, number>([[1, 0]]);
  const trace: Array<Map<number, number>> = [];
  let found = false;
  for (let d = 0; d <= n + m && !found; d++) {
    const snapshot = new Map<number, number>();
    for (let k = -d - 1; k <= d + 1; k++) if (v.has(k)) snapshot.set(k, v.get(k)!);
    trace.push(snapshot);
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v.get(k - 1) ?? -1) < (v.get(k + 1) ?? -1));
      let x = down ? v.get(k + 1)! : v.get(k - 1)! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v.set(k, x);
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  const edits: LineEdit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const before = trace[d];
    const k = x - y;
    const down = k === -d || (k !== d && (before.get(k - 1) ?? -1) < (before.get(k + 1) ?? -1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = before.get(prevK)!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      edits.push({ op: ' ', line: a[--x] });
      y--;
    }
    if (down) edits.push({ op: '+', line: b[--y] });
    else edits.push({ op: '-', line: a[--x] });
  }
  while (x > 0 && y > 0) {
    edits.push({ op: ' ', line: a[--x] });
    y--;
  }
  return edits.reverse();
}

function splitText(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** `diff -u` style text of two texts ('' when equal), with `context` unchanged lines around changes. */
export function unifiedDiff(
  before: string,
  after: string,
  options: { fromLabel: string; toLabel: string; context?: number },
): string {
  const context = options.context ?? 3;
  const edits = diffLines(splitText(before), splitText(after));
  if (edits.every((e) => e.op === ' ')) return '';
  const out = [`--- ${options.fromLabel}`, `+++ ${options.toLabel}`];
  // Line numbers (1-based) of each edit in the old and new text.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 1;
  let nn = 1;
  for (const e of edits) {
    oldAt.push(o);
    newAt.push(nn);
    if (e.op !== '+') o++;
    if (e.op !== '-') nn++;
  }
  let i = 0;
  while (i < edits.length) {
    if (edits[i].op === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while the next change is within 2 × context unchanged lines.
    for (let j = i; j < edits.length; j++) {
      if (edits[j].op !== ' ') end = j;
      else if (j - end > 2 * context) break;
    }
    const stop = Math.min(edits.length, end + context + 1);
    const hunk = edits.slice(start, stop);
    const oldCount = hunk.filter((e) => e.op !== '+').length;
    const newCount = hunk.filter((e) => e.op !== '-').length;
    const oldStart = oldCount === 0 ? oldAt[start] - 1 : oldAt[start];
    const newStart = newCount === 0 ? newAt[start] - 1 : newAt[start];
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const e of hunk) out.push(`${e.op}${e.line}`);
    i = stop;
  }
  return out.join('\n') + '\n';
}
