// Slack and generic JSON webhook notifications of deploys: payloads, and sending that never fails a deploy.
export { notify } from './notify.js';
export type { NotifyOptions } from './notify.js';
export {
  describeEvent,
  escapeSlack,
  formatDuration,
  redactEvent,
  redactPayload,
  slackPayload,
  wantsEvent,
  webhookPayload,
} from './payload.js';
export type { NotifyEvent, NotifyKind, SlackPayload, WebhookPayload } from './payload.js';
