// Process entry point: wires signals, streams and the exit code to runCli.
import { appendFileSync } from 'node:fs';
import { runCli } from './main.js';

const controller = new AbortController();
let interrupts = 0;
const onSignal = (name: string) => {
  interrupts++;
  if (interrupts > 1) process.exit(130);
  process.stderr.write(`\n${name}: stopping (press Ctrl-C again to quit at once)\n`);
  controller.abort(new Error(name));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
// A reader that goes away (`capstan render staging | head`, `| less` then q) ends the output, not
// the command: later writes are dropped, as kubectl and git do, instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
  appendFile: (path, text) => appendFileSync(path, text),
});
process.exitCode = code;
// Open keep-alive sockets or watches must not hold the process.
setTimeout(() => process.exit(code), 50).unref();
