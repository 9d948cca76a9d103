// The deploy benchmark's peers: Helm 4 and Helm 3 built from their Go modules into the test cache
// (bench/build-peers.sh), and kubectl from the control plane's binaries.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface Peers {
  readonly helm4?: string;
  readonly helm3?: string;
}

/** Builds Helm 4 and 3 (or those `only` names) once (minutes, under nice), then finds them in the cache. */
export function preparePeers(
  root: string,
  log: (line: string) => void,
  only: readonly ('helm4' | 'helm3')[] = ['helm4', 'helm3'],
): Peers {
  if (only.length === 0) return {};
  log(`building or finding ${only.join(', ')} (bench/build-peers.sh; the first build takes minutes)`);
  const out = execFileSync(join(root, 'bench', 'build-peers.sh'), only, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const path = (name: string) => {
    const line = out.split('\n').find((l) => l.startsWith(`${name} `));
    if (!line) throw new Error(`bench/build-peers.sh printed no path for ${name}:\n${out}`);
    return line.slice(name.length + 1).trim();
  };
  const peers = Object.fromEntries(only.map((name) => [name, path(name)])) as Peers;
  // --qps lifts Helm's client-side throttling; refuse to measure a flag a version does not have.
  for (const [name, bin] of Object.entries(peers) as [string, string][]) {
    const help = execFileSync(bin, ['install', '--help'], { encoding: 'utf8' });
    if (!/--qps\b/.test(help)) throw new Error(`${name} (${bin}) has no --qps flag in helm install --help`);
  }
  return peers;
}

/** `helm version --short`, for the report. */
export function helmVersion(bin: string): string {
  try {
    return execFileSync(bin, ['version', '--short'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown version';
  }
}
