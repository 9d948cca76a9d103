// Silences: a workload's incidents are still tracked, but announced to nobody until the silence
// ends (pure, and their place in the watcher's ConfigMap).
import { CapstanError } from '../shared/index.js';

export interface Silence {
  /** `Kind/name`, as incidents name workloads. */
  readonly workload: string;
  readonly until: string;
  readonly reason: string;
  readonly by: string;
  readonly at: string;
}

const KINDS: Readonly<Record<string, string>> = {
  deployment: 'Deployment',
  deploy: 'Deployment',
  statefulset: 'StatefulSet',
  sts: 'StatefulSet',
  daemonset: 'DaemonSet',
  ds: 'DaemonSet',
  cronjob: 'CronJob',
  cj: 'CronJob',
  job: 'Job',
  pod: 'Pod',
};

/** `deployment/web` (kubectl's spelling, or `Deployment/web`) as incidents name it; a usage error otherwise. */
export function parseWorkloadRef(text: string): string {
  const match = /^([A-Za-z]+)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text.trim());
  const kind = match ? KINDS[match[1].toLowerCase()] : undefined;
  if (!match || kind === undefined)
    throw new CapstanError(
      'ERR_CAPSTAN_USAGE',
      `"${text}" is not a workload: expected KIND/NAME, e.g. deployment/web`,
      {
        hint: `kinds: ${[...new Set(Object.values(KINDS))].join(', ')}`,
      },
    );
  return `${kind}/${match[2]}`;
}

/** The silences still in force at `now`. */
export function activeSilences(silences: readonly Silence[], now: Date): Silence[] {
  return silences.filter((s) => Date.parse(s.until) > now.getTime());
}

/** The silence in force for a workload, if any (the one that lasts longest). */
export function silenceOf(silences: readonly Silence[], workload: string, now: Date): Silence | undefined {
  return activeSilences(silences, now)
    .filter((s) => s.workload === workload)
    .sort((a, b) => Date.parse(b.until) - Date.parse(a.until))[0];
}

/** The silences after adding one: those expired are dropped, an earlier one of the workload replaced. */
export function addSilence(silences: readonly Silence[], silence: Silence, now: Date): Silence[] {
  return [...activeSilences(silences, now).filter((s) => s.workload !== silence.workload), silence];
}

/** Stored silences, or none when the text is not a list of them. */
export function parseSilences(text: string | undefined): Silence[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed)
      ? parsed.filter(
          (s): s is Silence =>
            typeof s === 'object' &&
            s !== null &&
            typeof (s as Silence).workload === 'string' &&
            typeof (s as Silence).until === 'string',
        )
      : [];
  } catch {
    return [];
  }
}
