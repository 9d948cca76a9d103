import type { Command } from 'commander';
import { computeEnvironmentRbac, formatRbacYaml, parseSubject } from '../rbac/index.js';
import { CapstanError } from '../shared/index.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { collect } from './options.js';

export function registerRbacCommands(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('rbac')
    .description(
      'print the Role (and ClusterRole) an identity needs to deploy an environment, ready to apply',
    )
    .argument('<env>', 'environment from .deploy/capstan.yaml')
    .option(
      '--subject <subject>',
      'add the bindings for group:NAME, user:NAME or serviceaccount:NAMESPACE/NAME',
    )
    .option('--cluster <name>', 'the cluster to deploy to (required for a multi-cluster environment)')
    .option('--set <key=value>', 'override a value (repeatable)', collect)
    .option('-i, --image <ref>', 'container image for rendering')
    .option('-o, --output <format>', 'yaml (default) or json')
    .action(async (envName: string, opts: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const output = (opts.output as string | undefined) ?? 'yaml';
      if (output !== 'yaml' && output !== 'json')
        throw new CapstanError('ERR_CAPSTAN_USAGE', `--output "${output}" is not yaml or json`);
      const rbac = await computeEnvironmentRbac({
        cwd: globals.cwd,
        env: envName,
        cluster: opts.cluster as string | undefined,
        set: opts.set as string[] | undefined,
        image: opts.image as string | undefined,
        subject: opts.subject === undefined ? undefined : parseSubject(opts.subject as string),
        kubeconfig: globals.kubeconfig,
        context: globals.context,
        envVars: io.env,
        signal: io.signal,
      });
      io.stdout.write(
        output === 'json'
          ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac.objects }, null, 2)}\n`
          : formatRbacYaml(rbac),
      );
      result.exitCode = 0;
    });
}
