import { during, KubeApiError, withRetry, type KubeClient, type StatusCause } from '../kube/index.js';
import type { RenderedObject } from '../render/index.js';
import { settleLimit, objectRef, type Issue, type KubeObject } from '../shared/index.js';

export const FIELD_MANAGER = 'capstan';

export interface ApplyOutcome {
  readonly source: RenderedObject;
  readonly live?: KubeObject;
  readonly error?: unknown;
}

export interface ApplyAllOptions {
  readonly concurrency: number;
  readonly dryRun?: boolean;
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  /**
   * With `dryRun`: objects validated as the new object they will be rather than as a change of
   * the live one (a finished Job that the deploy replaces: its template is immutable).
   */
  readonly asNew?: (source: RenderedObject) => boolean;
  /** Drop each answer's managedFields as it arrives (a third of its size; few readers need them). */
  readonly dropManagedFields?: boolean;
  /**
   * Told when fields a person changed by kubectl (`kubectl edit`, `set image`, `scale`, ...) were
   * taken back to the rendered values: the object, the managers and the fields.
   */
  readonly onRestored?: (object: KubeObject, managers: readonly string[], fields: readonly string[]) => void;
}

/** Applies (or dry-runs) objects with bounded concurrency; never throws, reports per object. */
export async function applyAll(
  client: KubeClient,
  objects: readonly RenderedObject[],
  options: ApplyAllOptions,
): Promise<ApplyOutcome[]> {
  const results = await settleLimit(objects, options.concurrency, (source) =>
    applyOne(client, source, options),
  );
  return results.map((r, i) =>
    r.ok ? { source: objects[i], live: r.value } : { source: objects[i], error: r.error },
  );
}

/** Applies (or dry-runs) one object, retrying what is transient; throws what the server refused. */
export function applyOne(
  client: KubeClient,
  source: RenderedObject,
  options: Omit<ApplyAllOptions, 'concurrency'>,
): Promise<KubeObject> {
  if (options.signal?.aborted) return Promise.reject(new Error('interrupted'));
  const what = `${objectRef(source.object)} (${source.source.file})`;
  return during(
    options.dryRun ? `the server-side dry run of ${what} needs it` : `applying ${what} needs it`,
    async () => {
      const live = await (options.dryRun && options.asNew?.(source)
        ? dryRunCreate(client, source.object, options.signal)
        : applyWithRetry(client, source.object, options));
      if (options.dropManagedFields) delete live.metadata.managedFields;
      return live;
    },
  );
}

async function applyWithRetry(
  client: KubeClient,
  object: KubeObject,
  options: Pick<ApplyAllOptions, 'dryRun' | 'force' | 'signal' | 'onRestored'>,
): Promise<KubeObject> {
  // The API server may be restarting: transient failures are retried with back-off for up to a
  // minute (withRetry's deadline), long enough for an API server that is away for seconds.
  try {
    return await withRetry(
      () =>
        client.apply(object, {
          fieldManager: FIELD_MANAGER,
          force: options.force,
          dryRun: options.dryRun,
          fieldValidation: 'Strict',
          signal: options.signal,
        }),
      { signal: options.signal },
    );
  } catch (error) {
    if (error instanceof KubeApiError && error.conflict && !options.force && ownedOnlyByMigrate(error)) {
      // Fields a migration copied into this cluster belong to the app again: take them back.
      return applyWithRetry(client, object, { ...options, force: true });
    }
    if (error instanceof KubeApiError && error.conflict && !options.force && ownedOnlyByPeople(error)) {
      // Capstan renders these fields: a person's kubectl change of one is drift, put back (and said).
      const live = await applyWithRetry(client, object, { ...options, force: true });
      options.onRestored?.(
        object,
        [...new Set(conflictManagers(error))],
        error.causes.flatMap((c) => (c.field ? [c.field] : [])),
      );
      return live;
    }
    throw error;
  }
}

/**
 * A server-side dry run of creating the object under a scratch name, so that the name taken by
 * the live object does not turn it into an update: admission, defaults and strict field
 * validation judge the object exactly as the create that follows will send it. The result
 * carries the real name again.
 */
async function dryRunCreate(
  client: KubeClient,
  object: KubeObject,
  signal: AbortSignal | undefined,
): Promise<KubeObject> {
  const name = object.metadata.name ?? '';
  const { name: _name, ...metadata } = object.metadata;
  // The API server appends 5 characters to generateName and keeps the result a valid name.
  const scratch = { ...object, metadata: { ...metadata, generateName: `${name.slice(0, 57)}-` } };
  const created = await client.create(scratch, {
    dryRun: true,
    fieldManager: FIELD_MANAGER,
    fieldValidation: 'Strict',
    signal,
  });
  const { generateName: _generated, ...createdMeta } = created.metadata;
  // The generated name also went into what the server derives from it (a Job's pod labels).
  return renamed(
    { ...created, metadata: { ...createdMeta, name } },
    created.metadata.name ?? '',
    name,
  ) as KubeObject;
}

/** The value with every string equal to `from` replaced by `to`. */
function renamed(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((v) => renamed(v, from, to));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renamed(v, from, to)]));
  return value;
}

/** A conflict only with fields that `capstan migrate` wrote. */
/**
 * The field managers of a person's kubectl commands (client-side apply, edit, set, scale, patch,
 * label, annotate, replace, create); controllers and other tools (an autoscaler, Helm, Argo CD)
 * are not among them, and a conflict with one still stops the deploy.
 */
const PEOPLE_MANAGERS = new Set([
  'kubectl',
  'kubectl-client-side-apply',
  'kubectl-edit',
  'kubectl-set',
  'kubectl-scale',
  'kubectl-patch',
  'kubectl-label',
  'kubectl-annotate',
  'kubectl-replace',
  'kubectl-create',
]);

/** The managers a server-side apply conflict names (`conflict with "kubectl-edit" using apps/v1`). */
export function conflictManagers(error: KubeApiError): string[] {
  return error.causes.flatMap((c) => {
    const found = /conflict with "([^"]+)"/.exec(c.message ?? '');
    return found ? [found[1]] : [];
  });
}

/** Every conflict of the error is with a person's kubectl change. */
export function ownedOnlyByPeople(error: KubeApiError): boolean {
  const managers = conflictManagers(error);
  return (
    managers.length > 0 &&
    managers.length === error.causes.length &&
    managers.every((m) => PEOPLE_MANAGERS.has(m))
  );
}

export function ownedOnlyByMigrate(error: KubeApiError): boolean {
  return error.causes.length > 0 && error.causes.every((c) => /"capstan-migrate"/.test(c.message ?? ''));
}

/**
 * Turns an API field path (`.spec.template.spec.containers[name="web"].imagee`,
 * `spec.replicas`, `data[0]`) into path segments of the object, resolving list selectors.
 */
export function fieldPathSegments(path: string, object: unknown): string[] {
  const segments: string[] = [];
  let node: unknown = object;
  const tokens = path.replace(/^\./, '').match(/[^.[\]]+|\[[^\]]*\]/g) ?? [];
  for (const token of tokens) {
    if (token.startsWith('[')) {
      const inner = token.slice(1, -1);
      let index = Number.NaN;
      const selector = /^(\w+)="?([^"]*)"?$/.exec(inner);
      if (selector && Array.isArray(node))
        index = node.findIndex(
          (item) => String((item as Record<string, unknown>)?.[selector[1]]) === selector[2],
        );
      else if (/^\d+$/.test(inner)) index = Number(inner);
      if (Number.isNaN(index) || index < 0) break;
      segments.push(String(index));
      node = Array.isArray(node) ? node[index] : undefined;
    } else {
      segments.push(token);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[token] : undefined;
    }
  }
  return segments;
}

/** The field path an API message or cause names, if any. */
function fieldOf(text: string | undefined): string | undefined {
  if (!text) return undefined;
  return (
    /unknown field "([^"]+)"/.exec(text)?.[1] ??
    /(?:^|\s|\()(\.?[a-zA-Z][\w.]*(?:\[[^\]]*\][\w.]*)*):/.exec(text)?.[1]
  );
}

function locate(source: RenderedObject, field: string | undefined): { file: string; line?: number } {
  const base = { file: source.source.file, line: source.source.line };
  if (!field || !source.lineOf) return base;
  return { ...base, line: source.lineOf(fieldPathSegments(field, source.object)) ?? base.line };
}

/**
 * What an API message says once the object it names is known: `Job.batch "db-migrate" is
 * invalid: `, `failed to create typed patch object (...): ` and `Job in version "v1" cannot be
 * handled as a Job: strict decoding error: ` repeat what the issue already says.
 */
export function reasonOf(message: string): string {
  return message
    .replace(/^failed to create typed patch object \([^)]*\): /, '')
    .replace(/^[\w.]+ "[^"]*" is invalid: /, '')
    .replace(/^\w+ in version "[^"]*" cannot be handled as an? \w+: strict decoding error: /, '')
    .replace(/^\.(?=[a-z])/, '');
}

/** `field: reason`, the field named once (cause messages usually leave it out). */
function causeText(cause: StatusCause, fallback: string): string {
  const message = reasonOf(cause.message ?? cause.reason ?? fallback);
  const field = cause.field?.replace(/^\./, '');
  if (!field || message.replace(/^\./, '').startsWith(field) || message.includes(`"${field}"`))
    return message;
  return `${field}: ${message}`;
}

/** Turns an API refusal into issues naming the file the object came from, trimmed to the field and the reason. */
export function issuesFromApplyError(source: RenderedObject, error: unknown): Issue[] {
  const ref = objectRef(source.object);
  const base = locate(
    source,
    error instanceof KubeApiError ? fieldOf(error.causes[0]?.field ?? error.message) : undefined,
  );
  if (error instanceof KubeApiError) {
    if (error.conflict && error.causes.length > 0) {
      const fields = error.causes.map((c) => `${c.field ?? '?'} (${c.message ?? 'conflict'})`).join('; ');
      return [
        {
          ...base,
          message: `${ref}: fields owned by another manager: ${fields}. Pass --force-conflicts to take them over.`,
        },
      ];
    }
    if (error.causes.length > 0) {
      // The API server may name one refusal twice (validation of the object and of its update).
      const seen = new Set<string>();
      return error.causes.flatMap((c) => {
        const message = `${ref}: ${causeText(c, error.message)}`;
        if (seen.has(message)) return [];
        seen.add(message);
        return [{ ...locate(source, c.field ?? fieldOf(c.message)), message }];
      });
    }
    return [{ ...base, message: `${ref}: ${reasonOf(error.message)}` }];
  }
  return [{ ...base, message: `${ref}: ${error instanceof Error ? error.message : String(error)}` }];
}
