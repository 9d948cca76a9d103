import type { Command } from 'commander';
import {
  formatAuditJson,
  formatAuditSarif,
  formatAuditText,
  runAudit,
  withObject,
  type Finding,
} from '../audit/index.js';
import { resolveBuildInfo } from '../config/index.js';
import { CapstanError } from '../shared/index.js';
import { ciOf, formatAnnotation, workspacePath } from './ci.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { collect } from './options.js';

const FORMATS = ['text', 'json', 'sarif'] as const;

export function registerAuditCommands(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('audit')
    .description(
      'check the rendered environment (and the cluster, when reachable) for operating habits: probes, resources, non-root, zones, references, scrape annotations',
    )
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option('-i, --image <ref>', "container image for the templates' `image`")
    .option('--set <key=value>', 'override a value (repeatable; dotted keys)', collect)
    .option('--commit <sha>', 'commit for templates (default: the CI variables, then git)')
    .option('--branch <name>', 'branch for templates (default: the CI variables, then git)')
    .option('--offline', 'do not read the cluster: the cluster-aware checks are skipped')
    .option('-o, --output <format>', 'text (default), json (one finding per line) or sarif')
    .action(async (envName: string, opts: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const format = (opts.output as string | undefined) ?? 'text';
      if (!(FORMATS as readonly string[]).includes(format))
        throw new CapstanError('ERR_CAPSTAN_USAGE', `unknown output format "${format}"`, {
          hint: `use one of ${FORMATS.join(', ')}`,
        });
      const build = resolveBuildInfo({
        flags: { commit: opts.commit as string | undefined, branch: opts.branch as string | undefined },
        env: io.env,
        cwd: globals.cwd,
      });
      const audit = await runAudit({
        cwd: globals.cwd,
        env: envName,
        image: opts.image as string | undefined,
        set: opts.set as string[] | undefined,
        ...build,
        kubeconfig: globals.kubeconfig,
        context: globals.context,
        envVars: io.env,
        offline: !!opts.offline,
        signal: io.signal,
      });
      const cwd = globals.cwd;
      const text =
        format === 'json'
          ? formatAuditJson(audit, { cwd })
          : format === 'sarif'
            ? formatAuditSarif(audit, { cwd })
            : formatAuditText(audit, { cwd });
      io.stdout.write(result.redactor.text(text));
      if (format === 'json')
        for (const skip of audit.skipped) io.stderr.write(`skipped: ${skip.check}: ${skip.reason}\n`);
      if (ciOf(io.env) === 'github')
        for (const line of auditAnnotations(audit.findings, io.env))
          io.stderr.write(`${result.redactor.text(line)}\n`);
      result.exitCode = audit.findings.some((f) => f.severity === 'error') ? 1 : 0;
    });
}

/** One workflow command per finding: errors as `::error`, warnings as `::warning`, info as `::notice`. */
export function auditAnnotations(findings: readonly Finding[], env: NodeJS.ProcessEnv): string[] {
  return findings.map((f) =>
    formatAnnotation(f.severity === 'info' ? 'notice' : f.severity, `${withObject(f)}\nfix: ${f.hint}`, {
      file: workspacePath(f.file, env),
      line: f.line,
      title: `capstan audit: ${f.check}`,
    }),
  );
}
