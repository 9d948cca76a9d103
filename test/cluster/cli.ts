// Commands for people and scripts: start a local cluster and print its kubeconfig path; stop it.
//   node --import tsx test/cluster/cli.ts start [--name NAME] [--json] [--audit-log FILE]
//   node --import tsx test/cluster/cli.ts stop [--name NAME]
//   node --import tsx test/cluster/cli.ts build
import { resolve } from 'node:path';
import { ensureBinaries, readClusterInfo, startCluster, stopCluster } from './cluster.js';

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string) => rest.includes(name);
const option = (name: string, fallback: string) => {
  const i = rest.indexOf(name);
  return i >= 0 && rest[i + 1] ? rest[i + 1] : fallback;
};
const name = option('--name', 'dev');
const log = (line: string) => console.error(`[cluster ${name}] ${line}`);

async function main(): Promise<number> {
  switch (command) {
    case 'build': {
      const started = Date.now();
      console.log(ensureBinaries(log));
      log(`binaries ready after ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return 0;
    }
    case 'start': {
      const started = Date.now();
      const auditLog = option('--audit-log', '');
      const info = await startCluster({ name, log, auditLog: auditLog ? resolve(auditLog) : undefined });
      log(`started in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      if (flag('--json')) console.log(JSON.stringify(info));
      else {
        console.log(info.kubeconfig);
        log(`use it with: export KUBECONFIG=${info.kubeconfig}`);
        log(`stop it with: npm run cluster:stop -- --name ${name}`);
      }
      return 0;
    }
    case 'stop': {
      const count = await stopCluster(name);
      log(count > 0 ? `stopped (${count} processes ended)` : 'was not running');
      return 0;
    }
    case 'info': {
      const info = readClusterInfo(name);
      if (!info) {
        log('not running');
        return 1;
      }
      console.log(JSON.stringify(info, null, 2));
      return 0;
    }
    default:
      console.error(
        'usage: cli.ts build | start [--name NAME] [--json] [--audit-log FILE] | stop [--name NAME] | info [--name NAME]',
      );
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
