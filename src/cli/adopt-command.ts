// `capstan adopt --from-helm RELEASE -n NS ENV`: a live Helm release becomes an environment (src/adopt).
import type { Command } from 'commander';
import { adoptHelmRelease, type AdoptHelmResult } from '../adopt/index.js';
import { EXIT } from '../deploy/index.js';
import { resolveKeydir } from '../secrets/index.js';
import { CapstanError } from '../shared/index.js';
import type { CliIo, CommandResult, GlobalOptions } from './options.js';
import { durationOption } from './options.js';
import { createReporter } from './reporter.js';
import { currentActor, localProcess, outputMode } from './session.js';

interface AdoptOptions {
  fromHelm?: string;
  namespace: string;
  app?: string;
  keydir?: string;
  keepHelmRelease?: boolean;
  skipAudit?: boolean;
  timeout?: number;
  output?: string;
}

export function registerAdoptCommand(program: Command, io: CliIo, result: CommandResult): void {
  program
    .command('adopt')
    .description(
      "take over a live Helm release: write the deploy tree for ENV, apply it as Capstan (no pod restarts), record release 1, delete Helm's record of it",
    )
    .argument(
      '<env>',
      'environment to write (.deploy/ENV must not exist; capstan.yaml is created or extended)',
    )
    .requiredOption('--from-helm <release>', 'the Helm release to adopt')
    .requiredOption('-n, --namespace <ns>', "the release's namespace")
    .option('--app <name>', 'app name when capstan.yaml is written (default: the release name)')
    .option(
      '--keep-helm-release',
      "keep Helm's release Secrets (helm uninstall could then delete the objects)",
    )
    .option(
      '-k, --keydir <dir>',
      'where the ejson private key goes when the release has Secrets (default: EJSON_KEYDIR, then /opt/ejson/keys)',
    )
    .option('--skip-audit', "do not stop on the audit's certainly-broken findings")
    .option('--timeout <duration>', 'give up after this long (e.g. 5m)', durationOption)
    .option('-o, --output <format>', 'json: one JSON event per line; plain: one line per event')
    .action(async (envName: string, opts: AdoptOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (!opts.fromHelm)
        throw new CapstanError(
          'ERR_CAPSTAN_USAGE',
          'adopt needs --from-helm RELEASE (Helm is what it adopts from)',
        );
      const reporter = createReporter(io, outputMode(io, opts.output), result.redactor);
      const adopting = adoptHelmRelease({
        cwd: globals.cwd,
        env: envName,
        release: opts.fromHelm,
        namespace: opts.namespace,
        ...(opts.app === undefined ? {} : { app: opts.app }),
        keydir: opts.keydir ?? resolveKeydir(io.env),
        keepHelmRelease: !!opts.keepHelmRelease,
        skipAudit: !!opts.skipAudit,
        ...(globals.kubeconfig === undefined ? {} : { kubeconfig: globals.kubeconfig }),
        ...(globals.context === undefined ? {} : { context: globals.context }),
        ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }),
        signal: io.signal,
        envVars: io.env,
        onEvent: (event) => reporter.event(event),
        redactor: result.redactor,
        actor: currentActor(io),
        process: localProcess(),
      });
      const deployed = await reporter.settle(adopting.then((r) => r.deploy));
      result.exitCode = deployed.exitCode;
      const adopted = await adopting;
      const out = opts.output === 'json' ? io.stderr : io.stdout;
      out.write(result.redactor.text(summary(adopted, envName)));
      if (deployed.outcome === 'succeeded') result.exitCode = EXIT.ok;
    });
}

/** What adopt did, in lines a person reads after the deploy's own report. */
export function summary(adopted: AdoptHelmResult, env: string): string {
  const { release } = adopted;
  const lines: string[] = [];
  const what = `Helm release ${release.name} (chart ${release.chart.name}-${release.chart.version}, revision ${release.revision})`;
  if (adopted.deploy.outcome !== 'succeeded') {
    lines.push(
      `${what} was not adopted: the takeover did not succeed, the files written were removed and Helm's record is unchanged`,
    );
    return `${lines.join('\n')}\n`;
  }
  lines.push(`adopted ${what} as ${env}, Capstan release ${adopted.capstanRelease ?? 1}`);
  for (const file of adopted.files) lines.push(`  wrote ${file}`);
  if (adopted.keyFile) lines.push(`  wrote the ejson private key of its Secrets to ${adopted.keyFile}`);
  lines.push(
    adopted.helmRecordsDeleted
      ? `  deleted Helm's record (${adopted.helmRecords.join(', ')}): helm no longer knows the release`
      : `  kept Helm's record (${adopted.helmRecords.join(', ')}): helm uninstall would still delete these objects`,
  );
  for (const line of adopted.leftOut) lines.push(`  left out: ${line}`);
  for (const workload of adopted.rollOnNextDeploy)
    lines.push(
      `  note: the next deploy rolls ${workload} once, to add the checksum of the configuration it reads`,
    );
  return `${lines.join('\n')}\n`;
}
