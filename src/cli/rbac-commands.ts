import type { Command } from 'commander';
import { loadConfig, resolveOneCluster } from '../config/index.js';
import {
  computeEnvironmentRbac,
  formatRbacYaml,
  parseSubject,
  planWatchRbac,
  rbacObjects,
  type EnvironmentRbac,
  type RbacSubject,
} from '../rbac/index.js';
import { CapstanError } from '../shared/index.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { collect } from './options.js';

/** The watcher's Role needs no rendering and no cluster: only the environment's namespace. */
async function watchRbac(
  cwd: string,
  envName: string,
  cluster: string | undefined,
  subject: RbacSubject | undefined,
): Promise<EnvironmentRbac> {
  const env = resolveOneCluster(await loadConfig({ cwd }), envName, { cluster, command: 'rbac --watch' });
  const plan = planWatchRbac({ app: env.app, env: env.name, namespace: env.namespace });
  return { plan, objects: rbacObjects(plan, subject) };
}

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
    .option(
      '--watch',
      'the Role `capstan watch` needs instead (read-only but for its own ConfigMap and Lease)',
    )
    .action(async (envName: string, opts: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const output = (opts.output as string | undefined) ?? 'yaml';
      if (output !== 'yaml' && output !== 'json')
        throw new CapstanError('ERR_CAPSTAN_USAGE', `--output "${output}" is not yaml or json`);
      const subject = opts.subject === undefined ? undefined : parseSubject(opts.subject as string);
      const rbac = opts.watch
        ? await watchRbac(globals.cwd, envName, opts.cluster as string | undefined, subject)
        : await computeEnvironmentRbac({
            cwd: globals.cwd,
            env: envName,
            cluster: opts.cluster as string | undefined,
            set: opts.set as string[] | undefined,
            image: opts.image as string | undefined,
            subject,
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
