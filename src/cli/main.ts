import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { Redactor } from '../secrets/index.js';
import type { CliIo, CommandResult } from './options.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerDeployCommands } from './deploy-commands.js';
import { registerCutoverCommand } from './cutover-command.js';
import { registerMigrateCommands } from './migrate-commands.js';
import { registerRbacCommands } from './rbac-commands.js';
import { registerReleaseCommands } from './release-commands.js';
import { registerTasksCommands } from './tasks-commands.js';
import { registerSecretsCommands } from './secrets.js';
import { registerCompletionCommands } from './completion.js';
import { registerInitCommand } from './init-command.js';
import { registerAdoptCommand } from './adopt-command.js';
import { registerWatchCommands } from './watch-commands.js';
import { registerPreviewCommands } from './preview-commands.js';

export type { CliIo, CommandResult } from './options.js';
import { reportError } from './report-error.js';
export { reportError };

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(io: CliIo, result: CommandResult): Command {
  const program = new Command('capstan')
    .description(
      'Deploys containerised applications to Kubernetes in ordered phases and keeps them healthy there.',
    )
    .version(packageVersion(), '-v, --version')
    .addOption(
      new Option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)'),
    )
    .addOption(
      new Option('--context <name>', "kube context (default: the environment's, then the current one)"),
    )
    .option('-C, --cwd <dir>', 'application folder holding .deploy/', io.cwd)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  registerDeployCommands(program, io, result);
  registerAuditCommands(program, io, result);
  registerTasksCommands(program, io, result);
  registerReleaseCommands(program, io, result);
  registerMigrateCommands(program, io, result);
  registerCutoverCommand(program, io, result);
  registerRbacCommands(program, io, result);
  registerSecretsCommands(program, io);
  registerInitCommand(program, io, result);
  registerAdoptCommand(program, io, result);
  registerWatchCommands(program, io, result);
  registerPreviewCommands(program, io, result);
  registerCompletionCommands(program, io);
  return program;
}

/** Runs the CLI; returns the exit code. Expected errors print message and hint; others a stack. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const result: CommandResult = { exitCode: 0, redactor: new Redactor() };
  const program = buildProgram(io, result);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return 0;
      return 2;
    }
    return reportError(error, io, result.redactor);
  }
}
