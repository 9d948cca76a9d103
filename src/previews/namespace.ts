// A preview's namespace as the record of the preview (pure): the labels that find it, the
// annotations that say whose it is and when it expires, and the ResourceQuota and LimitRange that
// come before anything else. Reading one back fails closed: a namespace is a preview of this app
// only when every mark is there and readable; anything else is left alone.
import type { ResolvedEnvironment } from '../config/index.js';
import type { KubeObject } from '../shared/index.js';
import { PREVIEW_PART_LABEL } from './protect.js';

export const PREVIEW_LABEL = 'capstan.dev/preview';
export const APP_LABEL = 'capstan.dev/app';
export const GENERATED_BY = 'capstan.dev/generated-by';
/** The value of GENERATED_BY on every namespace `capstan preview deploy` created. */
export const GENERATED_BY_PREVIEW = 'capstan preview';
export const BRANCH_ANNOTATION = 'capstan.dev/preview-branch';
export const CREATOR_ANNOTATION = 'capstan.dev/preview-created-by';
export const CREATED_ANNOTATION = 'capstan.dev/preview-created-at';
export const LAST_DEPLOY_ANNOTATION = 'capstan.dev/preview-last-deploy';
export const EXPIRES_ANNOTATION = 'capstan.dev/preview-expires-at';
export const PINNED_ANNOTATION = 'capstan.dev/preview-pinned';
export const QUOTA_NAME = 'capstan-preview';

/** What a preview's namespace says about it. */
export interface PreviewState {
  readonly namespace: string;
  readonly slug: string;
  readonly branch: string;
  readonly creator: string;
  readonly createdAt: Date;
  readonly lastDeploy: Date;
  readonly expiresAt: Date;
  readonly pinned: boolean;
  /** Set while the namespace is being deleted. */
  readonly terminating: boolean;
}

/** A namespace of this app that looks like a preview but cannot be read as one, and why. */
export interface UnreadablePreview {
  readonly namespace: string;
  readonly reason: string;
}

/** The label selector of this app's previews (a first filter; `readPreview` decides). */
export function previewSelector(app: string): string {
  return `${PREVIEW_LABEL},${APP_LABEL}=${app}`;
}

/** The namespace as `capstan preview deploy` writes it at `now` (created keeps its first value). */
export function previewNamespace(
  env: ResolvedEnvironment,
  options: { creator: string; now: Date; createdAt?: Date; pinned: boolean },
): KubeObject {
  const preview = env.preview;
  if (!preview) throw new Error('previewNamespace: not a preview');
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: env.namespace,
      labels: { [PREVIEW_LABEL]: preview.slug, [APP_LABEL]: env.app },
      annotations: {
        [GENERATED_BY]: GENERATED_BY_PREVIEW,
        [BRANCH_ANNOTATION]: preview.branch,
        [CREATOR_ANNOTATION]: options.creator,
        [CREATED_ANNOTATION]: (options.createdAt ?? options.now).toISOString(),
        [LAST_DEPLOY_ANNOTATION]: options.now.toISOString(),
        [EXPIRES_ANNOTATION]: preview.expiresAt,
        [PINNED_ANNOTATION]: String(options.pinned),
      },
    },
  };
}

/** The ResourceQuota (when capstan.yaml sets one) and the LimitRange of a preview's namespace. */
export function previewLimits(env: ResolvedEnvironment): KubeObject[] {
  const preview = env.preview;
  if (!preview) throw new Error('previewLimits: not a preview');
  const metadata = { name: QUOTA_NAME, namespace: env.namespace, labels: { [PREVIEW_PART_LABEL]: 'limits' } };
  const quota: KubeObject[] =
    Object.keys(preview.quota).length === 0
      ? []
      : [{ apiVersion: 'v1', kind: 'ResourceQuota', metadata, spec: { hard: { ...preview.quota } } }];
  return [
    ...quota,
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata,
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: { ...preview.limits.defaultRequest },
            default: { ...preview.limits.default },
          },
        ],
      },
    },
  ];
}

function dateOf(text: string | undefined): Date | undefined {
  if (text === undefined || !/^\d{4}-\d\d-\d\dT/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * A namespace read as a preview of `app`: undefined when it is not one (not created by `capstan
 * preview` for this app); unreadable when it claims to be one but a mark is missing or malformed.
 */
export function readPreview(
  namespace: KubeObject,
  app: string,
): PreviewState | UnreadablePreview | undefined {
  const name = namespace.metadata.name ?? '';
  const labels = namespace.metadata.labels ?? {};
  const annotations = namespace.metadata.annotations ?? {};
  if (labels[APP_LABEL] !== app || !(PREVIEW_LABEL in labels)) return undefined;
  if (annotations[GENERATED_BY] !== GENERATED_BY_PREVIEW) return undefined;
  const slug = labels[PREVIEW_LABEL] ?? '';
  const unreadable = (reason: string): UnreadablePreview => ({ namespace: name, reason });
  if (name !== `${app}-${slug}`)
    return unreadable(`its label ${PREVIEW_LABEL}=${slug} does not match its name (${app}-${slug} expected)`);
  const branch = annotations[BRANCH_ANNOTATION];
  if (!branch) return unreadable(`annotation ${BRANCH_ANNOTATION} is missing or empty`);
  const dates: Record<string, Date | undefined> = {
    [CREATED_ANNOTATION]: dateOf(annotations[CREATED_ANNOTATION]),
    [LAST_DEPLOY_ANNOTATION]: dateOf(annotations[LAST_DEPLOY_ANNOTATION]),
    [EXPIRES_ANNOTATION]: dateOf(annotations[EXPIRES_ANNOTATION]),
  };
  for (const [key, date] of Object.entries(dates))
    if (!date)
      return unreadable(`annotation ${key} is not a date (${JSON.stringify(annotations[key] ?? null)})`);
  const pinned = annotations[PINNED_ANNOTATION];
  if (pinned !== 'true' && pinned !== 'false')
    return unreadable(
      `annotation ${PINNED_ANNOTATION} is neither true nor false (${JSON.stringify(pinned ?? null)})`,
    );
  return {
    namespace: name,
    slug,
    branch,
    creator: annotations[CREATOR_ANNOTATION] ?? 'unknown',
    createdAt: dates[CREATED_ANNOTATION]!,
    lastDeploy: dates[LAST_DEPLOY_ANNOTATION]!,
    expiresAt: dates[EXPIRES_ANNOTATION]!,
    pinned: pinned === 'true',
    terminating: namespace.metadata.deletionTimestamp !== undefined,
  };
}

export function isUnreadable(state: PreviewState | UnreadablePreview): state is UnreadablePreview {
  return 'reason' in state;
}

/** Whether gc deletes this preview at `now`: expired and not pinned. */
export function isExpired(state: PreviewState, now: Date): boolean {
  return !state.pinned && state.expiresAt.getTime() <= now.getTime();
}
