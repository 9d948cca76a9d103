#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/run.js) into dist/bundle/ with esbuild, for bin/capstan.js.
// `node scripts/bundle.mjs ENTRY.js OUTDIR` bundles another entry the same way (the benchmarks'
// floor, so that it loads as Capstan does).
// Loading @kubernetes/client-node as published means evaluating about a thousand files, most of
// them generated API clients Capstan never calls: the bundle keeps only what KubeConfig needs, in
// a chunk loaded when a command first connects. tsx stays outside (loaded for .ts templates only).
// dist/bundle/ sits at the same depth as dist/cli/, so the URLs the code resolves against its own
// location (package.json, schema/, dist/index.js for typed templates) stay the same.
import { build, transform } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [entry = `${root}dist/cli/run.js`, outdir = `${root}dist/bundle`] = process.argv.slice(2);
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { [entry.endsWith('cli/run.js') ? 'capstan' : basename(entry, '.js')]: entry },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['tsx', 'tsx/*'],
  // Some dependencies are CommonJS and call require() for node's own modules.
  banner: {
    js: "import { createRequire as capstanCreateRequire } from 'node:module'; const require = capstanCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// V8 keeps each module's source for as long as the process runs, in one byte per character unless
// a single character is beyond Latin-1: then in two. A few dashes and quotation marks in the
// comments of dependencies made the 1.7 MB KubeConfig chunk take 3.3 MB of heap. They are written
// as escapes; the minified code before and after must be the same, or the build fails.
for (const file of readdirSync(outdir).filter((f) => f.endsWith('.js'))) {
  const path = join(outdir, file);
  const code = readFileSync(path, 'utf8');
  const escaped = code.replace(
    /[^\u0000-\u00ff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (escaped === code) continue;
  const minified = async (text) => (await transform(text, { minify: true, format: 'esm' })).code;
  if ((await minified(code)) !== (await minified(escaped)))
    throw new Error(`${path}: characters beyond Latin-1 outside comments; cannot escape them safely`);
  writeFileSync(path, escaped);
}
