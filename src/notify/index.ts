// Slack and generic JSON webhook notifications of deploys: payloads, and sending that never fails a deploy.
export { fleetNotifyEvent, notifyFleet } from './fleet.js';
export type { FleetNotice } from './fleet.js';
export { notify } from './notify.js';
export type { NotifyOptions, NotifyOutcome } from './notify.js';
export {
  describeCluster,
  describeEvent,
  escapeSlack,
  formatDuration,
  redactEvent,
  redactPayload,
  slackPayload,
  wantsEvent,
  webhookPayload,
} from './payload.js';
export type { NotifyCluster, NotifyEvent, NotifyKind, SlackPayload, WebhookPayload } from './payload.js';
