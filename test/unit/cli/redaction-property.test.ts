// Adversarial redaction: random secret values and a dictionary of ordinary ones (`false`, `5432`,
// the app's, env's and namespace's names and parts of them, JSON punctuation, unicode, a PEM key),
// put into a whole deploy's events, an error, a notification, a diff and a task's log. For each:
// the events stay the same JSON with their real fields, their identity fields (app, env,
// namespace, deployId, phases, objects' kinds and names) are never changed, and no value of
// redactable length shows in any channel the CLI prints to (terminal, plain, JSON lines, error
// report, run logs, diff, notifications), but one equal to a public name or part of one, which
// cannot be kept secret and reads as itself everywhere (docs/redaction.md). The values reach the
// redactor directly, and as a deploy learns them from a phase's SOPS file: encrypted into a
// Secret, decrypted by the secrets renderer, read back from the Secret it produced.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import fc from 'fast-check';
import { createSecretsRenderer } from '../../../src/apply/index.js';
import { reportError } from '../../../src/cli/main.js';
import { Reporter, type OutputMode } from '../../../src/cli/reporter.js';
import type { DeployEvent } from '../../../src/deploy/index.js';
import { notify } from '../../../src/notify/index.js';
import { formatDiff, redactDiffs, type ObjectDiff } from '../../../src/release/index.js';
import {
  deployPublicNames,
  MIN_REDACTED_LENGTH,
  REDACTED,
  Redactor,
  secretValues,
  writeVaultValues,
  type VaultReferenceSite,
} from '../../../src/secrets/index.js';
import { encryptSopsDocuments } from '../../../src/secrets/sops-document.js';
import { CapstanError, type KubeObject } from '../../../src/shared/index.js';

const APP = 'shop';
const ENV = 'production';
const NAMESPACE = 'shop-production';
const DEPLOY_ID = '20261201072617-ab12';
const PHASES = ['10-configuration', '20-predeployment', '30-deployment'];
/** What the events name: printed whatever the secrets are, so never secret. */
const PUBLIC = [APP, ENV, NAMESPACE, ...PHASES, 'Deployment', 'Job', 'ConfigMap', 'web', 'db-migrate', 'old'];
const PEM = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

/** Ordinary values people do put in secrets.ejson, and values that break serialized text. */
const DICTIONARY = [
  'false',
  'true',
  'null',
  '0',
  '1',
  '5432',
  '3000',
  '-1',
  '1.5',
  APP,
  ENV,
  NAMESPACE,
  'web',
  '"',
  '\\',
  '}',
  ']',
  '"}]\\',
  '","a":"',
  '\\"',
  '{"dryRun":false}',
  '[]',
  'Deployment',
  'ConfigMap',
  'succeeded',
  'warning',
  'created',
  'change',
  'section',
  'message',
  'durationMs',
  'phase',
  'redacted',
  'dact',
  '[redacted]',
  '2026',
  '2026-12',
  'prod',
  'shop-prod',
  'duction',
  'db-migrate',
  'Deploy',
  '30-deployment',
  DEPLOY_ID,
  'production-db',
  'tion (namespace shop',
  'pässwörd-ünïcödé',
  '密码密码',
  '🔑🔑🔑🔑',
  'e\u0301e\u0301',
  '\u0000\u0001\u0002\u0003',
  'tab\there',
  'line one\nline two',
  'crlf-value\r\n',
  'ab\ncd',
  '\u0000\n\u{10000}',
  '  5432  ',
  PEM,
  PEM.trim(),
  PEM.replace(/\n/g, '\r\n'),
];

/** A part of a public name: it cannot be kept secret either. */
const publicPart = fc
  .tuple(fc.constantFrom(...PUBLIC), fc.nat(), fc.nat())
  .map(([name, a, b]) =>
    name.slice(Math.min(a, b) % name.length, Math.max(a, b) % name.length || name.length),
  )
  .filter((part) => part !== '');

const randomValue = fc.oneof(
  fc.constantFrom(...DICTIONARY),
  publicPart,
  fc.string({ minLength: 1, maxLength: 24 }),
  fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
  fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
  fc.integer().map(String),
  fc.double({ noNaN: true }).map(String),
  fc.json({ maxDepth: 1 }),
  fc
    .array(fc.string({ minLength: 4, maxLength: 30, unit: 'grapheme-ascii' }), { minLength: 2, maxLength: 4 })
    .map((l) => l.join('\n')),
);

function redactable(value: string): boolean {
  return value.trim().length >= MIN_REDACTED_LENGTH;
}

/**
 * What must not be printed for a value: itself and each long enough line of it. A log streams one
 * line at a time, so a multi-line value whose every line is too short to redact on its own can
 * show there, across lines (docs/redaction.md).
 */
function needles(value: string, streamed: boolean): string[] {
  if (!redactable(value)) return [];
  const lines = value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= MIN_REDACTED_LENGTH);
  const whole = !streamed || lines.length > 0 || !/\r?\n/.test(value);
  return [...(whole ? [value] : []), ...lines].filter((needle) => !isPublic(needle));
}

/** Whether a text equals a public name or is part of one: Capstan does not redact it anywhere. */
function isPublic(text: string): boolean {
  // The deploy id is public as a whole only: a run of its digits (a PIN, a port) stays secret.
  return text.trim() === DEPLOY_ID || PUBLIC.some((name) => name.includes(text.trim()));
}

/** Whether `text` shows `needle` outside the `[redacted]` markers (Capstan's own). */
function shows(text: string, needle: string): boolean {
  return text.split(REDACTED).some((part) => part.includes(needle));
}

type Path = readonly (string | number)[];
/** The policy (docs/redaction.md): values from Capstan's closed lists, and Slack's block types, stay. */
const KEPT: Record<string, (path: Path) => boolean> = {
  event: (path) => path.length === 1 && ['type', 'outcome', 'action', 'time'].includes(String(path[0])),
  diff: (path) => ['action', 'change'].includes(String(path.at(-1))),
  notification: (path) =>
    path.at(-1) === 'type' ||
    (path.length === 1 && ['source', 'event', 'timestamp'].includes(String(path[0]))),
};

/** The policy's identity fields of an event: the deploy's and its objects' names, never redacted. */
function identity(event: unknown): unknown {
  const e = event as Record<string, any>;
  const object = (o: any) => (o ? { kind: o.kind, name: o.name, namespace: o.namespace } : undefined);
  return {
    app: e.app,
    env: e.env,
    namespace: e.namespace,
    deployId: e.deployId,
    phase: e.phase,
    phases: e.phases,
    object: object(e.object),
    lists: ['create', 'change', 'unchanged', 'prune', 'applied', 'notApplied'].map((k) =>
      (e[k] as unknown[] | undefined)?.map(object),
    ),
  };
}

/** Every string of a JSON document (keys excluded) but those `keep` names. */
function strings(value: unknown, keep: (path: Path) => boolean, path: Path = []): string[] {
  if (typeof value === 'string') return keep(path) ? [] : [value];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, keep, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, keep, [...path, k]));
  return [];
}

/** Asserts that `after` is `before` with only string values changed (numbers, booleans, keys intact). */
function assertSameShape(before: unknown, after: unknown, path = '$'): void {
  if (typeof before === 'string') return assert.equal(typeof after, 'string', `${path} stays a string`);
  if (before === null || typeof before !== 'object')
    return assert.strictEqual(after, before, `${path} is unchanged`);
  assert.equal(Array.isArray(after), Array.isArray(before), `${path} keeps its type`);
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  assert.deepEqual(Object.keys(b), Object.keys(a), `${path} keeps its keys`);
  for (const k of Object.keys(a)) assertSameShape(a[k], b[k], `${path}.${k}`);
}

/** One deploy's events, with `value` where input, the cluster and logs put text. */
function deployEvents(value: string): DeployEvent[] {
  const web = { kind: 'Deployment', name: 'web', namespace: NAMESPACE };
  const job = { kind: 'Job', name: 'db-migrate', namespace: NAMESPACE };
  const logLines = ['migrating', ...value.split(/\r?\n/), `DATABASE_URL=postgres://app:${value}@db:5432/app`];
  return [
    {
      type: 'deploy-started',
      app: APP,
      env: ENV,
      namespace: NAMESPACE,
      deployId: DEPLOY_ID,
      image: `example.com/${APP}:1.4`,
      phases: PHASES,
      dryRun: false,
    },
    { type: 'warning', message: `Secret/app-secrets key X: ${value}` },
    { type: 'validation-finished', objects: 5432, durationMs: 5432 },
    { type: 'phase-started', phase: '20-predeployment', objects: 1 },
    { type: 'object-applied', phase: '20-predeployment', object: job, action: 'created' },
    ...logLines.map((line): DeployEvent => ({ type: 'log', phase: '20-predeployment', object: job, line })),
    { type: 'object-ready', phase: '20-predeployment', object: job, message: 'completed' },
    { type: 'phase-finished', phase: '20-predeployment', durationMs: 1234 },
    { type: 'phase-started', phase: '30-deployment', objects: 1 },
    { type: 'object-applied', phase: '30-deployment', object: web, action: 'configured' },
    { type: 'object-waiting', phase: '30-deployment', object: web, message: `0 of 2 ready: ${value}` },
    {
      type: 'object-failed',
      phase: '30-deployment',
      object: web,
      message: `CrashLoopBackOff: ${value}`,
      diagnosis: {
        mostLikelyCause: `container web exits: ${value}`,
        pods: [
          {
            name: 'web-1',
            phase: 'Running',
            containers: [{ name: 'web', reason: 'CrashLoopBackOff', detail: value, restarts: 5432 }],
          },
        ],
        events: [
          {
            type: 'Warning',
            reason: 'BackOff',
            object: 'Pod/web-1',
            message: value,
            count: 3,
            lastSeen: '2026-12-01T07:26:17Z',
          },
        ],
        logs: [{ pod: 'web-1', container: 'web', previous: true, lines: value.split('\n') }],
      },
      diagnosisText: `Most likely cause: container web exits\nlast lines:\n${value}`,
    },
    {
      type: 'object-pruned',
      object: { kind: 'ConfigMap', name: 'old', namespace: NAMESPACE },
      dryRun: false,
    },
    { type: 'plan', create: [web], change: [job], unchanged: [], prune: [] },
    {
      type: 'deploy-finished',
      outcome: 'failed',
      exitCode: 1,
      durationMs: 5432,
      deployId: DEPLOY_ID,
      message: `phase 30-deployment failed: ${value}`,
      applied: [web, job],
      notApplied: [],
    },
  ];
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

function report(mode: OutputMode, events: readonly DeployEvent[], redactor: Redactor): string {
  const out = capture();
  const reporter = new Reporter(out.stream, mode, redactor);
  for (const event of events) reporter.event(event);
  reporter.end();
  return out.text();
}

/** Everything each channel prints for a deploy with these secret values; JSON channels as their strings. */
async function printed(
  values: readonly string[],
  learnt: readonly string[] = values,
): Promise<{ text: Record<string, string>; json: Record<string, string[]>; events: DeployEvent[][] }> {
  const redactor = new Redactor();
  // As deploy() does: the rendered deploy's names first, then the secret values. The pruned
  // ConfigMap `old` is not rendered: its name is learnt from the event that names it.
  const rendered = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NAMESPACE } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'db-migrate', namespace: NAMESPACE } },
  ];
  redactor.addPublic(
    deployPublicNames({
      app: APP,
      env: ENV,
      namespace: NAMESPACE,
      phases: PHASES,
      objects: rendered,
    }),
  );
  redactor.add(learnt);
  const raw = values.map(deployEvents);
  // What deploy() hands to onEvent: each event redacted field by field.
  const events = raw.map((list) => list.map((e) => redactor.event(e)));
  const all = events.flat();
  const text: Record<string, string> = {
    terminal: report('tty', all, redactor),
    plain: report('plain', all, redactor),
  };
  const json: Record<string, string[]> = {
    'json lines': report('json', all, redactor)
      .trim()
      .split('\n')
      .flatMap((line) => strings(JSON.parse(line), KEPT.event)),
  };
  // The error report, for an expected error and for a bug (with its stack).
  const errors = capture();
  for (const value of values) {
    reportError(
      new CapstanError('ERR_CAPSTAN_APPLY', `apply failed: ConfigMap/c: ${value}`, {
        hint: `check ${value}`,
      }),
      { stderr: errors.stream },
      redactor,
    );
    reportError(new Error(`boom ${value}`), { stderr: errors.stream }, redactor);
  }
  text['error report'] = errors.text();
  // `capstan run`: the log as it streams, one line at a time.
  text['run log'] = values
    .flatMap((v) => [...v.split('\n'), `value=${v}`])
    .map((line) => `${redactor.text(line)}\n`)
    .join('');
  // The diff, as text and as JSON, of a ConfigMap that repeats a secret value.
  const diffs: ObjectDiff[] = values.map((v, i) => ({
    action: 'change',
    object: { apiVersion: 'v1', kind: 'ConfigMap', name: `c${i}`, namespace: NAMESPACE },
    text: `--- live\n+++ desired\n@@ -1 +1 @@\n-  A: old\n+  A: ${JSON.stringify(v)}\n${v
      .split('\n')
      .map((l) => `+  ${l}`)
      .join('\n')}\n`,
  }));
  const document = {
    app: APP,
    env: ENV,
    namespace: NAMESPACE,
    diffs: redactDiffs(diffs, redactor.text),
    hasChanges: true,
  };
  text.diff = redactor.text(formatDiff(document.diffs, { color: true }));
  json['diff json'] = strings(JSON.parse(JSON.stringify(redactDiffs(document, redactor.text))), KEPT.diff);
  // Notifications, Slack and webhook, of a failure whose summary holds the values.
  const bodies: string[] = [];
  const fetch = ((_url: string, init: { body: string }) => {
    bodies.push(init.body);
    return Promise.resolve(new Response('ok'));
  }) as unknown as typeof globalThis.fetch;
  await notify(
    [
      { type: 'slack', urlEnv: 'SLACK_URL' },
      { type: 'webhook', urlEnv: 'HOOK_URL' },
    ],
    {
      kind: 'failed',
      app: APP,
      env: ENV,
      deployId: DEPLOY_ID,
      release: 7,
      image: `example.com/${APP}:1.4`,
      durationMs: 5432,
      summary: values.join('\n'),
      user: values[0],
    },
    {
      env: { SLACK_URL: 'https://hooks.example/s', HOOK_URL: 'https://hooks.example/w' },
      fetch,
      redact: redactor.text,
      onWarning: () => {},
      retries: 0,
    },
  );
  json.notifications = bodies.flatMap((b) => strings(JSON.parse(b), KEPT.notification));
  return { text, json, events: raw.map((list, i) => list.map((_, j) => events[i][j])) };
}

let tried = 0;
let redactableTried = 0;
after(() => {
  console.log(
    `redaction property: ${tried} values tried (${redactableTried} of redactable length, ${sopsTried} through a SOPS file), 8 channels`,
  );
});

const SOPS_IDENTITY = await generateX25519Identity();
const SOPS_RECIPIENT = await identityToRecipient(SOPS_IDENTITY);
const sopsDir = mkdtempSync(join(tmpdir(), 'capstan-redaction-sops-'));
after(() => rmSync(sopsDir, { recursive: true, force: true }));
let sopsTried = 0;

/** The values as a deploy learns them from `10-configuration/secrets.sops.yaml`. */
async function learntFromSops(values: readonly string[]): Promise<string[]> {
  const secret = new Map<string, any>([
    ['apiVersion', 'v1'],
    ['kind', 'Secret'],
    ['metadata', new Map([['name', 'app-secrets']])],
    ['stringData', new Map(values.map((value, i) => [`KEY_${i}`, value]))],
  ]);
  const file = join(sopsDir, 'secrets.sops.yaml');
  const rule = { kind: 'encrypted_regex', value: '^(data|stringData)$' } as const;
  writeFileSync(
    file,
    await encryptSopsDocuments([secret], { format: 'yaml', recipients: [SOPS_RECIPIENT], rule }),
  );
  const render = createSecretsRenderer({
    app: APP,
    env: ENV,
    envVars: { SOPS_AGE_KEY: SOPS_IDENTITY },
    warn: () => {},
  });
  const learnt = secretValues(await render(file, NAMESPACE, undefined));
  assert.deepEqual(learnt, values, 'the SOPS file gives back every value exactly');
  sopsTried += values.length;
  return learnt;
}

async function check(values: string[], source: 'direct' | 'sops' | 'vault' = 'direct'): Promise<void> {
  tried += values.length;
  redactableTried += values.filter(redactable).length;
  const learnt =
    source === 'sops' ? await learntFromSops(values) : source === 'vault' ? learntFromVault(values) : values;
  const out = await printed(values, learnt);
  // The events are the same JSON as before, only their strings redacted.
  values.forEach((value, i) => {
    const before = deployEvents(value);
    out.events[i].forEach((event, j) => {
      const parsed = JSON.parse(JSON.stringify(event)) as unknown;
      assertSameShape(JSON.parse(JSON.stringify(before[j])), parsed, before[j].type);
      assert.deepEqual(
        identity(parsed),
        identity(JSON.parse(JSON.stringify(before[j]))),
        `${before[j].type} keeps its names`,
      );
      for (const field of ['type', 'outcome', 'action'] as const) {
        assert.equal(
          (parsed as Record<string, unknown>)[field],
          (before[j] as Record<string, unknown>)[field],
          `${before[j].type}.${field} is kept`,
        );
      }
    });
  });
  // The deploy's names read as themselves, unless a value that is not public covers part of them.
  const header = `Deploying ${APP} to ${ENV} (namespace ${NAMESPACE}), deploy ${DEPLOY_ID}`;
  const covered = values.some(
    (value) =>
      redactable(value) &&
      !isPublic(value) &&
      [value, ...value.split(/\r?\n/).map((l) => l.trim())].some(
        (form) => form.length >= MIN_REDACTED_LENGTH && header.includes(form),
      ),
  );
  if (!covered) assert.ok(out.text.plain.includes(header), out.text.plain.slice(0, 300));
  for (const value of values) {
    for (const [channel, text] of Object.entries(out.text)) {
      for (const needle of needles(value, channel === 'run log')) {
        assert.ok(!shows(text, needle), `${channel} shows ${JSON.stringify(needle)}`);
      }
    }
    for (const needle of needles(value, false)) {
      for (const [channel, list] of Object.entries(out.json)) {
        // The deploy id is Capstan's own timestamp, kept whole in its field (checked above): a secret
        // that is a run of its digits is in it, but nothing there says so; everywhere else it is hidden.
        const hit = list.find((s) => s !== DEPLOY_ID && shows(s, needle));
        assert.equal(hit, undefined, `${channel} holds ${JSON.stringify(needle)}`);
      }
    }
  }
}

/**
 * The values as a deploy learns them from `ref+vault://` references: each written into a Secret's
 * data or stringData as a deploy resolves it; the redactor learns what secretValues reads back.
 */
function learntFromVault(values: readonly string[]): string[] {
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: NAMESPACE },
    data: {},
    stringData: {},
  };
  const sites: VaultReferenceSite[] = values.map((_, i) => ({
    object: secret,
    field: i % 2 === 0 ? 'data' : 'stringData',
    key: `key${i}`,
    reference: { path: 'secret/shop/db', key: `key${i}` },
    source: { file: 'secret.yaml' },
  }));
  writeVaultValues(sites, values);
  return secretValues([secret]);
}

describe('redaction, adversarially', () => {
  it('keeps every dictionary value out of every channel, one value at a time', async () => {
    for (const value of DICTIONARY) await check([value]);
  });

  it('keeps random values, alone or together, out of every channel and leaves the events intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(randomValue, { minLength: 1, maxLength: 3 }), (values) => check(values)),
      { numRuns: Number(process.env.CAPSTAN_PROPERTY_RUNS ?? 400) },
    );
  });

  it('keeps values learnt from a SOPS file out of every channel', async () => {
    for (const value of DICTIONARY) await check([value], 'sops');
    await fc.assert(
      fc.asyncProperty(fc.array(randomValue, { minLength: 1, maxLength: 3 }), (values) =>
        check(values, 'sops'),
      ),
      { numRuns: Math.ceil(Number(process.env.CAPSTAN_PROPERTY_RUNS ?? 400) / 4) },
    );
  });

  it('keeps values resolved from Vault references out of every channel', async () => {
    for (const value of DICTIONARY) await check([value], 'vault');
    await fc.assert(
      fc.asyncProperty(fc.array(randomValue, { minLength: 1, maxLength: 3 }), (values) =>
        check(values, 'vault'),
      ),
      { numRuns: Number(process.env.CAPSTAN_PROPERTY_RUNS ?? 400) / 4 },
    );
  });
});
