// CPU time of the local control plane, read from /proc: how much of the machine a deploy costs
// the cluster itself, beside what the tool spends. On a machine the control plane saturates, the
// sum over both divided by the cores bounds any tool's wall time from below.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidDir } from '../test/cluster/processes.js';

/** The components that do a deploy's work (the OpenID issuer and the log shipper do none). */
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** utime + stime of one process in ms, or undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after pid and comm.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

/** CPU ms used so far by each component of the cluster whose run folder is `runDir`. */
export function controlPlaneCpu(runDir: string): Record<string, number> {
  if (process.platform !== 'linux') return {};
  const out: Record<string, number> = {};
  const dir = pidDir(runDir);
  for (const file of readdirSync(dir)) {
    const name = file.replace(/\.pid$/, '');
    if (!COMPONENTS.includes(name)) continue;
    const ms = processCpuMs(Number(readFileSync(join(dir, file), 'utf8').trim()));
    if (ms !== undefined) out[name] = ms;
  }
  return out;
}

/** CPU ms the components spent between two readings of {@link controlPlaneCpu}. */
export function cpuSince(before: Record<string, number>, after: Record<string, number>): number {
  return Object.entries(after).reduce((sum, [name, ms]) => sum + ms - (before[name] ?? ms), 0);
}
