import { randomUUID } from 'node:crypto';
import Module, { createRequire, register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Node's CommonJS loader: Node 20 has no public hook for require() (module.registerHooks came in 22.15). */
interface CommonJsLoader {
  _load: (this: unknown, request: string, ...rest: unknown[]) => unknown;
}

type Resolve = (specifier: string, context: { parentURL?: string }, next: Resolve) => unknown;

/** Node 22.15 and later: in-thread hooks, which run before those of `module.register` and cover require(). */
type RegisterHooks = (hooks: { resolve: Resolve }) => unknown;

/** Registers hooks that resolve ES imports of 'capstan', to run before any registered so far. */
let registerCapstanHooks: Promise<() => void> | undefined;

/**
 * Imports a template module (TypeScript or JavaScript, ES or CommonJS) with tsx, each in a tsx
 * namespace of its own so that a later render reads the file again. In it, and in whatever it
 * imports, `import ... from 'capstan'` and `require('capstan')` give the package entry of the
 * Capstan that renders (dist/index.js beside the bundle or the compiled CLI, src/index.ts run from
 * source), whatever the application installed or its tsconfig maps: the types an editor checks
 * against then describe what this Capstan passes. Every template shares one copy of the entry.
 */
export async function importTemplateModule(file: string): Promise<Record<string, unknown>> {
  // Loaded on first use: most deploys render no module templates, and tsx takes a third of a second to load.
  const [{ register: registerEsm }, { register: registerCjs }, registerCapstan] = await Promise.all([
    import('tsx/esm/api'),
    import('tsx/cjs/api'),
    (registerCapstanHooks ??= loadLibrary()),
  ]);
  // What tsx's tsImport does, plus hooks for 'capstan' registered after tsx's so that they run
  // before them: tsx would try the tsconfig's `paths` first, and would load the entry again in each
  // namespace. Like tsx's, these stay registered; they only look at the specifier 'capstan'.
  const namespace = randomUUID();
  registerCjs({ namespace });
  const scoped = registerEsm({ namespace });
  registerCapstan();
  return (await scoped.import(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
}

/** Loads the entry, makes require('capstan') return it, and prepares the hooks for ES imports. */
async function loadLibrary(): Promise<() => void> {
  const entry = new URL(import.meta.url.endsWith('.ts') ? '../index.ts' : '../index.js', import.meta.url);
  // Loaded now, as require() cannot wait for an ES module; an ES import of the same URL gets this copy.
  const loaded = (await import(entry.href)) as Record<string, unknown>;
  wrapRequire(fileURLToPath(entry), loaded);
  const url = JSON.stringify(entry.href);
  // Synchronous, so that it serves both kinds of hooks.
  const source = `export function resolve(specifier, context, next) {
  if (specifier === 'capstan') return { url: ${url}, shortCircuit: true };
  // Subpaths resolve by the running package's "exports", never by the application's node_modules.
  if (specifier.startsWith('capstan/')) return next(specifier, { ...context, parentURL: ${url} });
  return next(specifier, context);
}`;
  const hooks = `data:text/javascript,${encodeURIComponent(source)}`;
  // tsx takes in-thread hooks where Node has them, and those run before module.register's.
  const { registerHooks } = Module as unknown as { registerHooks?: RegisterHooks };
  if (!registerHooks) return () => register(hooks);
  const { resolve } = (await import(hooks)) as { resolve: Resolve };
  return () => registerHooks({ resolve });
}

/** require(), which tsx uses in templates read as CommonJS: 'capstan' is the loaded entry itself. */
function wrapRequire(entryPath: string, loaded: Record<string, unknown>): void {
  const fromEntry = createRequire(entryPath);
  const loader = Module as unknown as CommonJsLoader;
  const load = loader._load;
  // _load rather than _resolveFilename: tsx adds its namespace to resolved file names, so the entry
  // could not be found in require's cache under its path.
  loader._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
    if (request === 'capstan') return loaded;
    if (request.startsWith('capstan/')) return load.call(this, fromEntry.resolve(request), ...rest);
    return load.call(this, request, ...rest);
  };
}
