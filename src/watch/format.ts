// Incidents as people and scripts read them: the cause, the diagnosis, the live release, what to do (pure).
import type { ReleaseRecord } from '../release/index.js';
import { CAUSE_TITLES } from './findings.js';
import type { Incident } from './incidents.js';
import type { Silence } from './silence.js';

/** An open incident with what an evaluation gathered about it. */
export interface IncidentReport {
  readonly incident: Incident;
  /** The deploy's diagnosis text (formatDiagnosis), when one was collected. */
  readonly diagnosis?: string;
  /** The silence in force for its workload: it is announced to nobody. */
  readonly silence?: Silence;
}

export interface EnvironmentScope {
  readonly app: string;
  readonly env: string;
  readonly namespace: string;
  readonly cluster?: string;
}

/** The live release in one line: `release 7 (image …, main@3f2c1a9b0d1e, deployed by alice at …)`. */
export function describeRelease(record: ReleaseRecord | undefined): string {
  if (record === undefined) return 'no release recorded';
  const commit = record.gitCommit?.slice(0, 12);
  const source = record.gitBranch && commit ? `${record.gitBranch}@${commit}` : (commit ?? record.gitBranch);
  const when = (record.finishedAt ?? record.startedAt).replace(/\.\d+Z$/, 'Z');
  const details = [
    record.images.length ? `image ${record.images.join(', ')}` : '',
    source ? `commit ${source}` : '',
    `deployed by ${record.user} at ${when}`,
    record.outcome === 'succeeded' ? '' : `deploy ${record.outcome.replace(/-/g, ' ')}`,
  ].filter(Boolean);
  return `release ${record.release} (${details.join(', ')})`;
}

/** The commands that help, for the environment (and its cluster). */
export function whatToDo(scope: EnvironmentScope): string {
  const cluster = scope.cluster === undefined ? '' : ` --cluster ${scope.cluster}`;
  return `\`capstan rollback ${scope.env}${cluster}\` puts the release before it back; \`capstan history ${scope.env}${cluster}\` lists the releases`;
}

/** `Deployment/web: crash loop` */
export function incidentTitle(incident: Pick<Incident, 'workload' | 'cause'>): string {
  return `${incident.workload}: ${CAUSE_TITLES[incident.cause]}`;
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

/** One incident as text: its title and since when, the diagnosis (or the cause), the live release, what to do. */
export function formatIncident(
  report: IncidentReport,
  live: ReleaseRecord | undefined,
  scope: EnvironmentScope,
): string {
  const { incident } = report;
  const pods = incident.pods.length
    ? `; pods ${incident.pods.slice(0, 5).join(', ')}${incident.pods.length > 5 ? ', ...' : ''}`
    : '';
  const silence = report.silence
    ? `  Silenced until ${report.silence.until} by ${report.silence.by}: ${report.silence.reason}`
    : undefined;
  return [
    `${incidentTitle(incident)} (since ${incident.since.replace(/\.\d+Z$/, 'Z')}${pods})`,
    ...(silence ? [silence] : []),
    indent(report.diagnosis ?? `Most likely cause: ${incident.summary}`),
    `  Live: ${describeRelease(live)}`,
    `  What to do: ${whatToDo(scope)}`,
  ].join('\n');
}

/** `capstan watch --once` as text. */
export function formatIncidents(
  reports: readonly IncidentReport[],
  live: ReleaseRecord | undefined,
  scope: EnvironmentScope,
): string {
  const where = `${scope.app}/${scope.env}${scope.cluster === undefined ? '' : ` (cluster ${scope.cluster})`} in namespace ${scope.namespace}`;
  if (reports.length === 0) return `no open incidents in ${where}; live: ${describeRelease(live)}\n`;
  const head = `${reports.length} open incident${reports.length === 1 ? '' : 's'} in ${where}:`;
  return `${[head, ...reports.map((r) => formatIncident(r, live, scope))].join('\n\n')}\n`;
}

/** `capstan watch --once -o json`: the incidents and the live release, without its manifests. */
export function incidentsJson(
  reports: readonly IncidentReport[],
  live: ReleaseRecord | undefined,
  scope: EnvironmentScope,
): Record<string, unknown> {
  return {
    app: scope.app,
    env: scope.env,
    namespace: scope.namespace,
    ...(scope.cluster === undefined ? {} : { cluster: scope.cluster }),
    live: live === undefined ? null : releaseJson(live),
    incidents: reports.map(({ incident, diagnosis, silence }) => ({
      workload: incident.workload,
      cause: incident.cause,
      title: CAUSE_TITLES[incident.cause],
      summary: incident.summary,
      since: incident.since,
      pods: incident.pods,
      ...(diagnosis === undefined ? {} : { diagnosis }),
      ...(silence === undefined ? {} : { silenced: silence }),
    })),
  };
}

/** What a message or a JSON document says of a release: never its manifests (they hold Secrets). */
export function releaseJson(record: ReleaseRecord): Record<string, unknown> {
  return {
    release: record.release,
    outcome: record.outcome,
    images: record.images,
    ...(record.gitCommit ? { commit: record.gitCommit } : {}),
    ...(record.gitBranch ? { branch: record.gitBranch } : {}),
    user: record.user,
    deployedAt: record.finishedAt ?? record.startedAt,
  };
}
