// Notification messages for Slack incoming webhooks and generic JSON webhooks (pure).
import type { NotificationConfig } from '../config/index.js';
import type { ClusterOutcome } from '../events/index.js';
import { mapStrings } from '../shared/index.js';

/** A deploy's kinds, then `capstan watch`'s: an incident of a running workload, and its resolution. */
export type NotifyKind = 'started' | 'succeeded' | 'failed' | 'rolled-back' | 'incident' | 'resolved';

/** One cluster of a multi-cluster deploy, as its notification lists it. */
export interface NotifyCluster {
  cluster: string;
  /** What the cluster came to; `pending` when the deploy starts. */
  outcome: ClusterOutcome['outcome'] | 'pending';
  wave?: number;
  release?: number;
  /** Why it did not succeed. */
  message?: string;
  /** With onFailure: rollback, what putting it back did. */
  rolledBack?: { outcome: string; release?: number; message?: string };
}

export interface NotifyEvent {
  kind: NotifyKind;
  app: string;
  env: string;
  /** The id of the deploy (or rollback) that sends it. */
  deployId: string;
  /** Its release number, once recorded. */
  release?: number;
  image?: string;
  durationMs?: number;
  /** For failures: the diagnosis summary. */
  summary?: string;
  /** For rollbacks: the release re-applied. */
  rolledBackTo?: number;
  user?: string;
  /** The commit and branch deployed, when known. */
  commit?: string;
  branch?: string;
  /** A multi-cluster deploy's clusters: one notification for the environment, a line per cluster. */
  clusters?: NotifyCluster[];
  /** For incidents: `Kind/name` of the workload, and what is wrong with it (`crash loop`). */
  workload?: string;
  cause?: string;
  /** For incidents: the cluster of a multi-cluster environment. */
  cluster?: string;
  /** For incidents: what to run (`capstan rollback ENV`, `capstan history ENV`). */
  actions?: string;
  /** For incidents: when the live release was deployed. */
  deployedAt?: string;
}

export interface SlackPayload {
  text: string;
  blocks?: Array<Record<string, unknown>>;
}

export interface WebhookPayload {
  source: 'capstan';
  event: NotifyKind;
  app: string;
  env: string;
  deployId: string;
  release?: number;
  text: string;
  image?: string;
  durationMs?: number;
  summary?: string;
  rolledBackTo?: number;
  user?: string;
  commit?: string;
  branch?: string;
  clusters?: NotifyCluster[];
  workload?: string;
  cause?: string;
  cluster?: string;
  actions?: string;
  deployedAt?: string;
  timestamp?: string;
}

/** Webhook fields Capstan fills itself (its name, the event kind, its clock), never from input. */
const WEBHOOK_VOCABULARY: ReadonlySet<string> = new Set(['source', 'event', 'timestamp']);

/** Slack's text limit for one section is 3000 characters. */
const MAX_SUMMARY = 2500;

/** Whether a notification configuration wants this kind of event (no `events`: all of them). */
export function wantsEvent(config: NotificationConfig, kind: NotifyKind): boolean {
  return config.events === undefined || config.events.includes(kind);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${s % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** A cluster's outcome (and its rollback's) in `clusters`: Capstan's own words, never input. */
function isClusterOutcome(path: readonly (string | number)[]): boolean {
  return (
    path[0] === 'clusters' &&
    (path.length === 3
      ? path[2] === 'outcome'
      : path.length === 4 && path[2] === 'rolledBack' && path[3] === 'outcome')
  );
}

/** The event with every string passed through `redact`, so no secret value leaves in a message. */
export function redactEvent(event: NotifyEvent, redact: (text: string) => string): NotifyEvent {
  return mapStrings(event, redact, (path) => path[0] === 'kind' || isClusterOutcome(path));
}

/**
 * A message body with its texts passed through `redact` again, once composed: a value may span
 * two fields of the event or include the words around them. Slack's block `type`s and the
 * webhook's `source`, `event` and `timestamp` (Capstan's clock) are kept so that the receiver can read the body.
 */
export function redactPayload<T extends SlackPayload | WebhookPayload>(
  payload: T,
  redact: (text: string) => string,
): T {
  return mapStrings(
    payload,
    redact,
    (path) =>
      path.at(-1) === 'type' ||
      (path.length === 1 && WEBHOOK_VOCABULARY.has(String(path[0]))) ||
      isClusterOutcome(path),
  );
}

/** One line saying what happened, in plain text. */
export function describeEvent(event: NotifyEvent): string {
  const target = `${event.app} to ${event.env}`;
  const details = [
    event.release === undefined
      ? `deploy ${event.deployId}`
      : `${event.kind === 'rolled-back' ? 'as ' : ''}release ${event.release}`,
    event.image ? `image ${event.image}` : '',
    sourceOf(event),
    event.user ? `by ${event.user}` : '',
  ].filter(Boolean);
  switch (event.kind) {
    case 'started':
      return `Deploying ${target} (${details.join(', ')})`;
    case 'succeeded':
      return `Deployed ${target} (${[...details, event.durationMs === undefined ? '' : `in ${formatDuration(event.durationMs)}`].filter(Boolean).join(', ')})`;
    case 'failed':
      return `Deploy of ${target} failed (${details.join(', ')})${event.summary ? `: ${firstLine(event.summary)}` : ''}`;
    case 'rolled-back':
      return `Rolled back ${event.app} in ${event.env} to release ${event.rolledBackTo ?? '?'} (${details.join(', ')})`;
    case 'incident':
    case 'resolved': {
      const live = details
        .map((d) =>
          event.deployedAt && event.user && d === `by ${event.user}` ? `${d} at ${event.deployedAt}` : d,
        )
        .join(', ');
      // An incident of the environment as a whole (the API server's outage) names no workload.
      const subject = event.workload === undefined ? '' : `${event.workload}: `;
      const what = `${subject}${event.cause ?? 'incident'} (live ${live})`;
      return event.kind === 'resolved'
        ? `Resolved in ${incidentWhere(event)}: ${what}`
        : `Incident in ${incidentWhere(event)}: ${what}${event.summary ? `: ${firstLine(event.summary)}` : ''}`;
    }
  }
}

/** `shop/production` (`, cluster eu`). */
function incidentWhere(event: NotifyEvent): string {
  return `${event.app}/${event.env}${event.cluster ? ` (cluster ${event.cluster})` : ''}`;
}

/**
 * One line for a cluster of a multi-cluster deploy: `eu: wave 1` as it starts; `eu: succeeded,
 * release 7`, `us: failed: why; rollback succeeded` or `ap: not deployed` once it ended.
 */
export function describeCluster(cluster: NotifyCluster): string {
  const state =
    cluster.outcome === 'pending'
      ? cluster.wave === undefined
        ? 'to deploy'
        : `wave ${cluster.wave}`
      : [words(cluster.outcome), cluster.release === undefined ? '' : `release ${cluster.release}`]
          .filter(Boolean)
          .join(', ');
  const why = cluster.message ? `: ${firstLine(cluster.message)}` : '';
  const back = cluster.rolledBack;
  const rollback = back
    ? `; rollback ${words(back.outcome)}${back.release === undefined ? '' : ` (release ${back.release})`}${back.message && back.outcome !== 'succeeded' ? `: ${firstLine(back.message)}` : ''}`
    : '';
  return `${cluster.cluster}: ${state}${why}${rollback}`;
}

/** `not-deployed` reads as `not deployed`. */
function words(outcome: string): string {
  return outcome.replace(/-/g, ' ');
}

/** `main@3f2c1a9b0d1e`, `main` or `3f2c1a9b0d1e`: what the seed teams' deployers showed in chat. */
function sourceOf(event: NotifyEvent): string {
  const commit = event.commit?.slice(0, 12);
  if (event.branch && commit) return `${event.branch}@${commit}`;
  return event.branch ?? commit ?? '';
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

const ICONS: Record<NotifyKind, string> = {
  started: ':rocket:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  'rolled-back': ':leftwards_arrow_with_hook:',
  incident: ':rotating_light:',
  resolved: ':large_green_circle:',
};

/** Slack mrkdwn treats these three as control characters. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack incoming-webhook message: `text` as the notification fallback, blocks for the channel. */
export function slackPayload(event: NotifyEvent): SlackPayload {
  const text = `${ICONS[event.kind]} ${escapeSlack(describeEvent(event))}`;
  const blocks: Array<Record<string, unknown>> = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  for (const chunk of chunks((event.clusters ?? []).map((c) => `• ${escapeSlack(describeCluster(c))}`)))
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
  if (
    (event.kind === 'failed' || event.kind === 'incident') &&
    event.summary &&
    event.summary.includes('\n')
  ) {
    const summary =
      event.summary.length > MAX_SUMMARY ? `${event.summary.slice(0, MAX_SUMMARY)}\n…` : event.summary;
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `\`\`\`${escapeSlack(summary.replace(/```/g, "'''"))}\`\`\`` },
    });
  }
  if (event.actions)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: escapeSlack(event.actions) } });
  return { text, blocks };
}

/** Lines joined into texts of at most MAX_SUMMARY characters each: a Slack section's limit. */
function chunks(lines: readonly string[]): string[] {
  const texts: string[] = [];
  let current = '';
  for (const line of lines) {
    const cut = line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY)}…` : line;
    if (current !== '' && current.length + 1 + cut.length > MAX_SUMMARY) {
      texts.push(current);
      current = '';
    }
    current = current === '' ? cut : `${current}\n${cut}`;
  }
  if (current !== '') texts.push(current);
  return texts;
}

/** The generic JSON body: every field of the event, plus the text (a line per cluster after the first). */
export function webhookPayload(event: NotifyEvent, timestamp?: string): WebhookPayload {
  const { kind, ...rest } = event;
  return {
    source: 'capstan',
    event: kind,
    ...rest,
    text: [
      describeEvent(event),
      ...(event.clusters ?? []).map(describeCluster),
      ...(event.actions ? [event.actions] : []),
    ].join('\n'),
    ...(timestamp ? { timestamp } : {}),
  };
}
