#!/usr/bin/env node
// The capstan command: runs the compiled CLI, or the TypeScript sources through tsx in a checkout.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/run.js', import.meta.url);
if (existsSync(compiled) && !process.env.CAPSTAN_USE_SOURCE) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/run.ts', import.meta.url).href);
}
