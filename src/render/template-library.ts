import Module, { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';

// One key per process: the first Capstan that renders a module template serves 'capstan' to all of them.
const LIBRARY = Symbol.for('capstan.template-library');

/** Node's CommonJS loader: Node 20 has no public hook for require() (module.registerHooks came in 22.15). */
interface CommonJsLoader {
  _load: (this: unknown, request: string, ...rest: unknown[]) => unknown;
}

let provided: Promise<void> | undefined;

/**
 * Makes `import ... from 'capstan'` and `require('capstan')` in template modules give the package
 * entry of the Capstan that renders them (dist/index.js beside the bundle or the compiled CLI,
 * src/index.ts run from source), whatever the application installed: the types an editor checks
 * against then describe what this Capstan passes. The entry is loaded once and every template
 * shares it: tsx loads each template in a namespace of its own and would otherwise evaluate the
 * whole library again for each.
 */
export function provideLibraryToTemplates(): Promise<void> {
  provided ??= provide();
  return provided;
}

async function provide(): Promise<void> {
  const shared = globalThis as Record<symbol, unknown>;
  if (shared[LIBRARY] !== undefined) return;
  const entry = new URL(import.meta.url.endsWith('.ts') ? '../index.ts' : '../index.js', import.meta.url);
  const library = (await import(entry.href)) as Record<string, unknown>;
  if (shared[LIBRARY] !== undefined) return;
  shared[LIBRARY] = library;
  registerImportHook(entry.href, Object.keys(library));
  wrapRequire(fileURLToPath(entry), library);
}

/** ES imports: 'capstan' becomes a module re-exporting the loaded entry; subpaths resolve inside the running package. */
function registerImportHook(entry: string, names: readonly string[]): void {
  const others = names.filter((name) => name !== 'default');
  const source = [
    `const library = globalThis[Symbol.for(${JSON.stringify(LIBRARY.description)})];`,
    others.length > 0 ? `export const { ${others.join(', ')} } = library;` : '',
    names.includes('default') ? 'export default library.default;' : '',
  ].join('\n');
  const url = `data:text/javascript,${encodeURIComponent(source)}`;
  const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'capstan') return { url: ${JSON.stringify(url)}, shortCircuit: true };
  if (specifier.startsWith('capstan/')) return next(specifier, { ...context, parentURL: ${JSON.stringify(entry)} });
  return next(specifier, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** require(), which tsx uses for templates read as CommonJS: 'capstan' is the loaded entry itself. */
function wrapRequire(entryPath: string, library: Record<string, unknown>): void {
  const fromEntry = createRequire(entryPath);
  const loader = Module as unknown as CommonJsLoader;
  const load = loader._load;
  // _load, not _resolveFilename: tsx appends its namespace to resolved file names, so a cache entry
  // under the entry's path would never be hit.
  loader._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
    if (request === 'capstan') return library;
    // Self-reference: resolved by the running package's "exports", never by the application's node_modules.
    if (request.startsWith('capstan/')) return load.call(this, fromEntry.resolve(request), ...rest);
    return load.call(this, request, ...rest);
  };
}
