// `capstan render` of typed templates in an application that does not depend on Capstan: 'capstan'
// is the running Capstan, from the built bundle as users run it and from the sources.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'bin', 'capstan.js');
const built = existsSync(join(root, 'dist', 'bundle', 'capstan.js'));

const apps: string[] = [];
after(() => {
  for (const app of apps) rmSync(app, { recursive: true, force: true });
});

/** An application folder with no package.json: .ts modules in it are read as CommonJS, as in most app repositories. */
function writeApp(files: Record<string, string>): string {
  const app = mkdtempSync(join(tmpdir(), 'capstan-typed-'));
  apps.push(app);
  const all: Record<string, string> = {
    '.deploy/capstan.yaml': 'app: shop\nenvironments:\n  staging:\n    namespace: shop-staging\n',
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(app, path)), { recursive: true });
    writeFileSync(join(app, path), content);
  }
  return app;
}

const TYPED = {
  // Read as CommonJS: tsx turns the import into require('capstan').
  '.deploy/staging/10-config/settings.ts': [
    "import { defineTemplate, type ConfigMap } from 'capstan';",
    'const template = (ctx: { image: string }): ConfigMap => ({',
    "  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { image: ctx.image },",
    '});',
    '(globalThis as Record<string, unknown>).capstanTestDefineTemplate = defineTemplate;',
    'export default defineTemplate(template);',
    '',
  ].join('\n'),
  // An ES module importing the whole entry.
  '.deploy/staging/20-web/web.mts': [
    "import * as capstan from 'capstan';",
    'const first = (globalThis as Record<string, unknown>).capstanTestDefineTemplate;',
    'const identity = (f: () => object) => capstan.defineTemplate(f) === f;',
    'export default capstan.defineTemplate(() => ({',
    "  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' },",
    '  data: { sameLibrary: String(first === capstan.defineTemplate), identity: String(identity(() => ({}))) },',
    '}));',
    '',
  ].join('\n'),
};

function render(app: string, source: boolean): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bin, '--cwd', app, 'render', 'staging', '--image', 'shop:7'], {
    cwd: app,
    env: { ...process.env, CAPSTAN_USE_SOURCE: source ? '1' : '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

for (const source of [false, true]) {
  const runs = source ? 'from the sources' : 'from the built bundle';
  const skip = !source && !built && 'dist/bundle is not built (npm run build)';
  describe(`typed templates in an application without Capstan installed, ${runs}`, () => {
    it(
      "import 'capstan' as ES modules and as CommonJS, one library for all, defineTemplate the identity",
      { skip },
      () => {
        const result = render(writeApp(TYPED), source);
        assert.equal(result.stderr, '');
        assert.equal(result.status, 0);
        assert.match(result.stdout, /name: settings[\s\S]*image: shop:7/);
        assert.match(result.stdout, /sameLibrary: "true"/);
        assert.match(result.stdout, /identity: "true"/);
      },
    );

    it(
      "get the running Capstan, not one the application's node_modules or tsconfig paths offer, subpaths included",
      { skip },
      () => {
        const fake = 'throw new Error("the application\'s own capstan was loaded");\n';
        const app = writeApp({
          ...TYPED,
          'node_modules/capstan/package.json': JSON.stringify({
            name: 'capstan',
            version: '0.0.1',
            exports: { '.': { import: './index.mjs', require: './index.cjs' }, './*': './*' },
          }),
          'node_modules/capstan/index.mjs': fake,
          'node_modules/capstan/index.cjs': fake,
          'node_modules/capstan/extra.js': fake,
          // tsx reads the tsconfig.json of the working directory and tries its `paths` first.
          'tsconfig.json': JSON.stringify({
            compilerOptions: { paths: { capstan: ['./node_modules/capstan/index.mjs'] } },
          }),
        });
        const result = render(app, source);
        assert.equal(result.stderr, '');
        assert.equal(result.status, 0);
        assert.match(result.stdout, /sameLibrary: "true"/);

        // The running Capstan's "exports" has no subpaths; the application's would have.
        writeFileSync(
          join(app, '.deploy/staging/20-web/extra.ts'),
          "export { default } from 'capstan/extra.js';\n",
        );
        const subpath = render(app, source);
        assert.equal(subpath.status, 2);
        assert.doesNotMatch(subpath.stderr, /own capstan was loaded/);
        assert.match(
          subpath.stderr,
          /extra\.ts: cannot load the module: .*'\.\/extra\.js' is not defined by "exports"/,
        );
      },
    );
  });
}
