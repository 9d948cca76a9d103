#!/usr/bin/env node
// The capstan command: runs the bundled CLI (scripts/bundle.mjs), else the compiled one, or the
// TypeScript sources through tsx in a checkout (CAPSTAN_USE_SOURCE=1, or nothing built). Before
// the CLI loads, it bounds V8's heap growth (src/cli/heap-tuning.ts).
import { existsSync } from 'node:fs';

const built = [
  new URL('../dist/bundle/capstan.js', import.meta.url),
  new URL('../dist/cli/run.js', import.meta.url),
];
const entry = process.env.CAPSTAN_USE_SOURCE ? undefined : built.find((url) => existsSync(url));
if (entry) {
  const tuning = new URL('../dist/cli/heap-tuning.js', import.meta.url);
  if (existsSync(tuning)) (await import(tuning.href)).tuneHeap();
  await import(entry.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  (await import(new URL('../src/cli/heap-tuning.ts', import.meta.url).href)).tuneHeap();
  await import(new URL('../src/cli/run.ts', import.meta.url).href);
}
