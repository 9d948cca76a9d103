import { KubeApiError } from './errors.js';

/** What the API server refused, read from its 403 message (RBAC's wording, stable since 1.8). */
export interface Refusal {
  readonly user: string;
  readonly verb: string;
  /** With its subresource, e.g. `pods/log`. */
  readonly resource: string;
  /** The API group; empty for the core group. */
  readonly group: string;
  /** Undefined at the cluster scope. */
  readonly namespace?: string;
}

export interface Identity {
  readonly username: string;
  readonly groups: readonly string[];
}

const FORBIDDEN =
  /User "([^"]*)" cannot ([\w-]+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)?/;

export function parseRefusal(message: string): Refusal | undefined {
  const match = FORBIDDEN.exec(message);
  if (!match) return undefined;
  const [, user, verb, resource, group, namespace] = match;
  return { user, verb, resource, group, namespace: namespace || undefined };
}

/** `leases.coordination.k8s.io`, `pods/log`: how kubectl names a resource of a group. */
function qualified(refusal: Refusal): string {
  const [resource, sub] = refusal.resource.split('/');
  const name = refusal.group ? `${resource}.${refusal.group}` : resource;
  return sub ? `${name}/${sub}` : name;
}

/** System groups every identity has; they say nothing about what was granted. */
const IMPLICIT_GROUPS = new Set(['system:authenticated', 'system:unauthenticated']);

/**
 * `cannot create leases.coordination.k8s.io in namespace shop-staging as oidc:alice@example.com
 * (groups: oidc:deployers): the deploy lock needs it`
 */
export function formatRefusal(
  refusal: Refusal,
  options: { identity?: Identity; doing?: string } = {},
): string {
  const where = refusal.namespace ? `in namespace ${refusal.namespace}` : 'at the cluster scope';
  const groups = (options.identity?.groups ?? []).filter((g) => !IMPLICIT_GROUPS.has(g));
  const who = `${options.identity?.username ?? refusal.user}${options.identity ? ` (groups: ${groups.length ? groups.join(', ') : 'none'})` : ''}`;
  return `cannot ${refusal.verb} ${qualified(refusal)} ${where} as ${who}${options.doing ? `: ${options.doing}` : ''}`;
}

/** The Role rule that would allow what was refused. */
export function missingRule(refusal: Refusal): string {
  return `apiGroups: ["${refusal.group}"], resources: ["${refusal.resource}"], verbs: ["${refusal.verb}"]`;
}

/**
 * A 403 retold with who was refused what, where, and what Capstan was doing; other errors are
 * returned unchanged. The original error stays the cause.
 */
export function explainRefusal(
  error: unknown,
  options: { identity?: Identity; doing?: string } = {},
): unknown {
  if (!(error instanceof KubeApiError) || !error.forbidden) return error;
  // Already retold (by the client, with what it knew): the caller's account of what it was doing wins.
  if (error instanceof RefusalError)
    return options.doing
      ? new RefusalError(error.original, error.refusal, {
          ...options,
          identity: options.identity ?? error.identity,
        })
      : error;
  const refusal = parseRefusal(error.message);
  if (!refusal) return error;
  return new RefusalError(error, refusal, options);
}

/** A 403 that names the refused identity, verb, resource and namespace, and the rule that is missing. */
export class RefusalError extends KubeApiError {
  override readonly hint: string;
  readonly refusal: Refusal;
  readonly identity?: Identity;
  readonly doing?: string;

  constructor(
    readonly original: KubeApiError,
    refusal: Refusal,
    options: { identity?: Identity; doing?: string },
  ) {
    super(original.status, original.reason, formatRefusal(refusal, options), original.causes, original);
    this.refusal = refusal;
    this.identity = options.identity;
    this.doing = options.doing;
    this.hint = `a cluster admin can grant it with a ${refusal.namespace ? 'Role' : 'ClusterRole'} rule: ${missingRule(refusal)}`;
  }
}
