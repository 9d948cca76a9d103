// A screen model for captured terminal output: enough of a terminal to see what a person sees.

const CONTROL = /\u001b\[(\d*)([A-Za-z])|\r|\n|[^\u001b\r\n]+/g;

/** Replays terminal output on a screen of lines: text, newline, cursor up (`ESC[nA`), erase below (`ESC[0J`), colours. */
export function replay(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  for (const [token, count, command] of output.matchAll(CONTROL)) {
    if (token === '\n') {
      row++;
      if (lines.length <= row) lines.push('');
    } else if (token === '\r') continue;
    else if (command === 'A') row = Math.max(0, row - Number(count || 1));
    else if (command === 'J') {
      lines.length = row + 1;
      lines[row] = '';
    } else if (command === undefined) lines[row] += token;
  }
  return lines.at(-1) === '' ? lines.slice(0, -1) : lines;
}
