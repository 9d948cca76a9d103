import type { KnownManifest } from '../kube/index.js';
import type { TemplateContext } from './types.js';

/** What a template module returns: objects, lists of them (nested), and null, undefined or false for objects a condition leaves out. */
export type TemplateOutput<T extends object = KnownManifest> =
  T | null | undefined | false | readonly TemplateOutput<T>[];

/** A template module's default export: a function of the context. */
export type Template<
  Values extends object = Readonly<Record<string, unknown>>,
  T extends object = KnownManifest,
> = (context: TemplateContext<Values>) => TemplateOutput<T> | Promise<TemplateOutput<T>>;

/**
 * Types a `.ts` template: its context (`Values` types `context.values`) and what it returns, checked
 * against the Kubernetes models (`T` adds kinds of your own, e.g. `KnownManifest | MyResource`).
 * TypeScript checks an arrow function's result for unknown fields only against a declared return
 * type, so declare it: `defineTemplate((ctx): Deployment => ({ ... }))`. At run time it returns the
 * function unchanged.
 */
export function defineTemplate(template: Template): Template;
export function defineTemplate<Values extends object, T extends object = KnownManifest>(
  template: Template<NoInfer<Values>, NoInfer<T>>,
): Template<Values, T>;
export function defineTemplate(template: Template): Template {
  return template;
}
