// `capstan preview deploy|list|delete|gc`: an environment per branch (src/previews, docs/previews.md).
import type { Command } from 'commander';
import { resolveBuildInfo } from '../config/index.js';
import { EXIT } from '../deploy/index.js';
import {
  deletePreview,
  deployPreview,
  gcPreviews,
  listPreviews,
  type GcResult,
  type PreviewList,
  type PreviewListing,
  type PreviewSummary,
} from '../previews/index.js';
import { CapstanError } from '../shared/index.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { collect, durationOption } from './options.js';
import { createReporter } from './reporter.js';
import { currentActor, localProcess, outputMode } from './session.js';

/** The branch: --branch, else the CI's variables, else git; an input error without one. */
function branchOf(
  io: CliIo,
  cwd: string,
  opts: { branch?: string; commit?: string },
): { branch: string; commit?: string } {
  const build = resolveBuildInfo({ flags: { branch: opts.branch, commit: opts.commit }, env: io.env, cwd });
  if (!build.branch)
    throw new CapstanError('ERR_CAPSTAN_USAGE', 'no branch known for the preview', {
      hint: 'pass --branch, or run in a CI job (GITHUB_REF_NAME, CI_COMMIT_REF_NAME, GIT_BRANCH) or a git checkout on a branch',
    });
  return { branch: build.branch, ...(build.commit ? { commit: build.commit } : {}) };
}

/** `3d 4h`, `5h 12m`, `40m`: a span people read in a list. */
export function formatSpan(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  return hours > 0 ? `${hours}h ${minutes % 60}m` : `${minutes}m`;
}

function expiresIn(preview: Pick<PreviewListing, 'pinned' | 'expiresAt' | 'terminating'>, now: Date): string {
  if (preview.terminating) return '-';
  if (preview.pinned) return 'never (pinned)';
  const left = preview.expiresAt.getTime() - now.getTime();
  return left > 0 ? formatSpan(left) : `expired ${formatSpan(left)} ago`;
}

/** The list as a table (or a note that there is none), and the previews that cannot be read. */
export function formatPreviewList(list: PreviewList, now: Date): string {
  const rows = [
    ['BRANCH', 'NAMESPACE', 'URL', 'LAST DEPLOY', 'EXPIRES IN', 'STATUS'],
    ...list.previews.map((p) => [
      p.branch,
      p.namespace,
      p.url,
      p.lastDeploy.toISOString().replace(/\.\d+Z$/, 'Z'),
      expiresIn(p, now),
      p.status,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines =
    list.previews.length === 0
      ? ['no previews']
      : rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
  for (const u of list.unreadable)
    lines.push(`unreadable: namespace ${u.namespace}: ${u.reason} (left alone)`);
  return `${lines.join('\n')}\n`;
}

function listingJson(p: PreviewListing): Record<string, unknown> {
  return {
    branch: p.branch,
    slug: p.slug,
    namespace: p.namespace,
    host: p.host,
    url: p.url,
    creator: p.creator,
    createdAt: p.createdAt.toISOString(),
    lastDeploy: p.lastDeploy.toISOString(),
    expiresAt: p.expiresAt.toISOString(),
    pinned: p.pinned,
    status: p.status,
  };
}

function readyLine(summary: PreviewSummary, json: boolean): string {
  if (json)
    return `${JSON.stringify({ time: new Date().toISOString(), type: 'preview-ready', ...summary })}\n`;
  const expiry = summary.pinned
    ? 'pinned: gc keeps it'
    : `expires ${summary.expiresAt} unless deployed again`;
  return `preview of ${summary.branch} ready: ${summary.url} (namespace ${summary.namespace}; ${expiry})\n`;
}

interface DeployFlags {
  branch?: string;
  commit?: string;
  image?: string;
  set?: string[];
  pin?: boolean;
  unpin?: boolean;
  timeout?: number;
  dryRun?: boolean;
  skipAudit?: boolean;
  skipPreflight?: boolean;
  output?: string;
}

function registerDeploy(preview: Command, io: CliIo, result: CommandResult): void {
  preview
    .command('deploy')
    .description(
      "deploy a branch's preview: the previews.from environment in namespace <app>-<slug>, expiring after previews.ttl",
    )
    .option('--branch <name>', 'the branch (default: the CI variables, then git)')
    .option('--commit <sha>', 'commit being deployed (default: the CI variables, then git)')
    .option('-i, --image <ref>', "container image for this deploy (the templates' `image`)")
    .option('--set <key=value>', 'override a value (repeatable; dotted keys)', collect)
    .option('--pin', 'never expire: gc keeps this preview until --unpin')
    .option('--unpin', 'expire again after the ttl')
    .option('--timeout <duration>', 'give up after this long (e.g. 10m)', durationOption)
    .option('--dry-run', 'validate with a server-side dry run and show the plan; change nothing')
    .option('--skip-audit', "do not stop on the audit's certainly-broken findings")
    .option('--skip-preflight', 'do not check that every pod and surge pod finds a node')
    .option(
      '-o, --output <format>',
      'json: one JSON event per line, then preview-ready; plain: one line per event',
    )
    .action(async (opts: DeployFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (opts.pin && opts.unpin)
        throw new CapstanError('ERR_CAPSTAN_USAGE', '--pin and --unpin exclude each other');
      const { branch, commit } = branchOf(io, globals.cwd, opts);
      const json = opts.output === 'json';
      const reporter = createReporter(io, outputMode(io, opts.output), result.redactor);
      const actor = { ...currentActor(io), ...(commit ? { gitCommit: commit } : {}), gitBranch: branch };
      const deploying = deployPreview({
        cwd: globals.cwd,
        branch,
        ...(commit ? { commit } : {}),
        ...(opts.image === undefined ? {} : { image: opts.image }),
        ...(opts.set ? { set: opts.set } : {}),
        ...(opts.pin ? { pin: true } : opts.unpin ? { pin: false } : {}),
        ...(globals.kubeconfig === undefined ? {} : { kubeconfig: globals.kubeconfig }),
        ...(globals.context === undefined ? {} : { context: globals.context }),
        ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }),
        dryRun: !!opts.dryRun,
        skipAudit: !!opts.skipAudit,
        skipPreflight: !!opts.skipPreflight,
        creator: actor.user,
        signal: io.signal,
        envVars: io.env,
        onEvent: (event) => reporter.event(event),
        onPassword: (user, password) =>
          io.stderr.write(
            `preview basic auth: user ${user}, password ${password}\n  (shown once: it is kept only in the preview's Secret capstan-preview-auth)\n`,
          ),
        redactor: result.redactor,
        actor,
        process: localProcess(),
      });
      const deployed = await reporter.settle(deploying);
      result.exitCode = deployed.exitCode;
      if (deployed.outcome === 'succeeded' && !opts.dryRun)
        io.stdout.write(result.redactor.text(readyLine(deployed.preview, json)));
    });
}

function registerManage(preview: Command, io: CliIo, result: CommandResult): void {
  const clientOptions = (cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    return {
      cwd: globals.cwd,
      ...(globals.kubeconfig === undefined ? {} : { kubeconfig: globals.kubeconfig }),
      ...(globals.context === undefined ? {} : { context: globals.context }),
      envVars: io.env,
      signal: io.signal,
    };
  };
  preview
    .command('list')
    .description("this app's previews: branch, namespace, URL, last deploy, expiry, status")
    .option('-o, --output <format>', 'json: one JSON document')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const now = new Date();
      const list = await listPreviews({ ...clientOptions(cmd), now });
      io.stdout.write(
        opts.output === 'json'
          ? `${JSON.stringify({ previews: list.previews.map(listingJson), unreadable: list.unreadable }, null, 2)}\n`
          : formatPreviewList(list, now),
      );
      result.exitCode = list.unreadable.length > 0 ? EXIT.failed : EXIT.ok;
    });
  preview
    .command('delete')
    .description("delete a branch's preview (its namespace) and wait until it is gone")
    .requiredOption('--branch <name>', 'the branch whose preview to delete')
    .option('--timeout <duration>', 'longest wait for the namespace to be gone (default 5m)', durationOption)
    .action(async (opts: { branch: string; timeout?: number }, cmd: Command) => {
      const deleted = await deletePreview({
        ...clientOptions(cmd),
        branch: opts.branch,
        ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }),
        onWaiting: (holds) => io.stderr.write(`waiting for the namespace to go: ${holds}\n`),
      });
      io.stdout.write(
        deleted
          ? `deleted the preview of ${deleted.branch} (namespace ${deleted.namespace} is gone)\n`
          : `no preview of ${opts.branch}: nothing to delete\n`,
      );
      result.exitCode = EXIT.ok;
    });
  preview
    .command('gc')
    .description(
      'delete every preview of this app whose ttl has passed since its last deploy (pinned ones are kept)',
    )
    .option('--dry-run', 'say what would be deleted; delete nothing')
    .option('--timeout <duration>', 'longest wait for each namespace to be gone (default 5m)', durationOption)
    .option('-o, --output <format>', 'json: one JSON document')
    .action(async (opts: { dryRun?: boolean; timeout?: number; output?: string }, cmd: Command) => {
      const gc = await gcPreviews({
        ...clientOptions(cmd),
        dryRun: !!opts.dryRun,
        ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }),
      });
      io.stdout.write(
        opts.output === 'json'
          ? `${JSON.stringify(gcJson(gc, !!opts.dryRun), null, 2)}\n`
          : formatGc(gc, !!opts.dryRun),
      );
      result.exitCode = gc.stuck.length > 0 ? EXIT.timeout : gc.unreadable.length > 0 ? EXIT.failed : EXIT.ok;
    });
}

function gcJson(gc: GcResult, dryRun: boolean): Record<string, unknown> {
  return {
    dryRun,
    deleted: gc.deleted.map(listingJson),
    kept: gc.kept.map(listingJson),
    unreadable: gc.unreadable,
    stuck: gc.stuck,
  };
}

export function formatGc(gc: GcResult, dryRun: boolean): string {
  const lines: string[] = [];
  const verb = dryRun ? 'would delete' : 'deleted';
  for (const p of gc.deleted)
    lines.push(
      `${verb} the preview of ${p.branch} (namespace ${p.namespace}, expired ${p.expiresAt.toISOString()})`,
    );
  for (const s of gc.stuck) lines.push(`not gone yet: ${s.message}`);
  for (const p of gc.kept) lines.push(`kept the preview of ${p.branch} (${p.status})`);
  for (const u of gc.unreadable)
    lines.push(`kept namespace ${u.namespace}: ${u.reason} (it cannot be read as a preview)`);
  if (lines.length === 0) lines.push('no previews');
  return `${lines.join('\n')}\n`;
}

export function registerPreviewCommands(program: Command, io: CliIo, result: CommandResult): void {
  const preview = program
    .command('preview')
    .description('an environment per branch, in its own namespace, that expires (capstan.yaml previews:)');
  registerDeploy(preview, io, result);
  registerManage(preview, io, result);
}
