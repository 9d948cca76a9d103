// A multi-cluster deploy as the CLI shows it: each cluster's state in its wave, its live phase and
// its phase timelines, fed by the events. Pure: the reporter decides when to draw its lines.
import type { AnyDeployEvent, ClusterOutcome, FleetEvent } from '../events/index.js';
import { formatDuration } from '../notify/index.js';
import { formatResult, PhaseTimeline, type ClusterRow } from './ci.js';
import { formatSeconds, type PhaseProgress } from './progress.js';

export type ClusterState =
  | 'validating'
  | 'waiting'
  | 'queued'
  | 'deploying'
  | 'soaking'
  | 'succeeded'
  | 'failed'
  | 'rolling-back'
  | 'rolled-back'
  | 'not-deployed'
  | 'skipped';

export type FleetStarted = Extract<FleetEvent, { type: 'fleet-started' }>;
export type FleetFinished = Extract<FleetEvent, { type: 'fleet-finished' }>;

/** The colours the reporter draws with. */
export type Paint = Record<'green' | 'red' | 'yellow' | 'dim' | 'bold' | 'cyan', (text: string) => string>;

/** One table of the step summary: a cluster's deploy, or the rollback after it. */
export interface ClusterTable {
  readonly title: string;
  readonly timeline: PhaseTimeline;
  /** The closing line of its operation, once its deploy-finished came. */
  result?: string;
  outcome?: string;
}

/** One cluster of the deploy: where it is, and what it did. */
export class ClusterView {
  state: ClusterState = 'validating';
  /** Its phase drawn live on a terminal. */
  phase: PhaseProgress | undefined;
  phases: readonly string[] = [];
  phasesDone = 0;
  operation: 'deploy' | 'rollback' = 'deploy';
  /** How its deploy ended, and why it failed: the message's first line. */
  deployOutcome?: string;
  reason?: string;
  release?: number;
  durationMs?: number;
  /** The release its rollback re-applies, and how that rollback ended when it did not succeed. */
  rollbackTarget?: number;
  rollbackProblem?: string;
  readonly tables: ClusterTable[] = [];

  constructor(
    readonly name: string,
    readonly wave: number | undefined,
  ) {}

  get table(): ClusterTable | undefined {
    return this.tables.at(-1);
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/** `not-deployed` reads as `not deployed`. */
export function outcomeWords(outcome: string): string {
  return outcome.replace(/-/g, ' ');
}

/**
 * The clusters of a multi-cluster deploy, in the order of their waves (those left out last), and
 * the wave running. Clusters it did not announce (events with `cluster` and no fleet-started) join
 * as they appear, without a wave.
 */
export class FleetView {
  readonly clusters = new Map<string, ClusterView>();
  readonly waves: readonly (readonly string[])[];
  readonly started: FleetStarted | undefined;
  /** The wave running or the last one that ran, 1-based; 0 before the first. */
  wave = 0;
  readonly waveOutcomes = new Map<number, { outcome: string; durationMs: number }>();
  soak: { wave: number; startedAt: number; durationMs: number } | undefined;

  constructor(
    started: FleetStarted | undefined,
    readonly startedAt: number,
  ) {
    this.started = started;
    this.waves = started?.waves ?? [];
    this.waves.forEach((wave, i) => wave.forEach((name) => this.cluster(name, i + 1)));
    for (const name of started?.clusters ?? []) this.cluster(name);
    for (const name of started?.skipped ?? []) this.cluster(name).state = 'skipped';
  }

  cluster(name: string, wave?: number): ClusterView {
    let view = this.clusters.get(name);
    if (!view) {
      view = new ClusterView(name, wave);
      this.clusters.set(name, view);
    }
    return view;
  }

  /** Follows an event of the fleet or of one of its clusters. */
  apply(event: AnyDeployEvent, now: number): void {
    if (event.cluster !== undefined && !isFleetLevel(event))
      this.applyCluster(this.cluster(event.cluster), event, now);
    switch (event.type) {
      case 'wave-started':
        this.wave = event.wave;
        this.soak = undefined;
        for (const name of event.clusters) {
          const view = this.cluster(name, event.wave);
          // Deploying once its own events say so: maxParallel may hold it back.
          if (view.state === 'validating' || view.state === 'waiting') view.state = 'queued';
        }
        break;
      case 'soak-started':
        this.soak = { wave: event.wave, startedAt: now, durationMs: event.durationMs };
        for (const name of event.clusters) {
          const view = this.cluster(name, event.wave);
          if (view.state === 'succeeded') view.state = 'soaking';
        }
        break;
      case 'wave-finished':
        this.waveOutcomes.set(event.wave, { outcome: event.outcome, durationMs: event.durationMs });
        this.soak = undefined;
        for (const view of this.clusters.values())
          if (view.wave === event.wave && view.state === 'soaking') view.state = 'succeeded';
        break;
      case 'fleet-finished':
        for (const outcome of event.clusters) this.settle(outcome);
        // What the fleet did not name never got its turn.
        for (const view of this.clusters.values())
          if (['validating', 'waiting', 'queued'].includes(view.state)) view.state = 'not-deployed';
        break;
      default:
        break;
    }
  }

  private applyCluster(view: ClusterView, event: AnyDeployEvent, now: number): void {
    if (view.state === 'queued') view.state = 'deploying';
    switch (event.type) {
      case 'deploy-started': {
        view.phases = event.phases;
        const timeline = new PhaseTimeline();
        timeline.planned(event.phases);
        const what = event.dryRun ? 'dry run of' : 'deploy of';
        view.tables.push({
          title: `capstan ${what} ${event.app} to ${event.env}, cluster ${view.name}`,
          timeline,
        });
        break;
      }
      case 'rollback-started':
        view.operation = 'rollback';
        view.state = 'rolling-back';
        view.rollbackTarget = event.target;
        view.phasesDone = 0;
        view.tables.push({
          title: `capstan rollback of ${event.app} in ${event.env} to release ${event.target}, cluster ${view.name}`,
          timeline: new PhaseTimeline(),
        });
        break;
      case 'validation-finished':
        // Validated before its wave: it waits for it.
        if (view.state === 'validating' && (view.wave === undefined || view.wave > this.wave))
          view.state = 'waiting';
        break;
      case 'phase-started':
        if (view.operation === 'deploy' && view.state !== 'failed') view.state = 'deploying';
        view.table?.timeline.started(event.phase, event.objects, now);
        break;
      case 'phase-finished':
        view.phasesDone++;
        view.table?.timeline.finished(event.phase, event.durationMs);
        break;
      case 'object-failed':
        // A failure while its wave soaks: the deploy had ended, the wave fails on it.
        if (view.state === 'soaking' || view.state === 'succeeded') {
          view.state = 'failed';
          view.reason = `${event.object.kind}/${event.object.name}: ${firstLine(event.message)}`;
        }
        break;
      case 'deploy-finished':
        if (view.table) {
          view.table.outcome = event.outcome;
          view.table.result = formatResult(event, view.operation);
        }
        if (view.operation === 'rollback') {
          view.state = event.outcome === 'succeeded' ? 'rolled-back' : 'failed';
          if (event.outcome !== 'succeeded')
            view.rollbackProblem = `rollback ${outcomeWords(event.outcome)}${event.message ? `: ${firstLine(event.message)}` : ''}`;
          break;
        }
        view.durationMs = event.durationMs;
        view.deployOutcome = event.outcome;
        if (event.release !== undefined) view.release = event.release;
        if (event.outcome === 'succeeded')
          view.state = this.soak && this.soak.wave === view.wave ? 'soaking' : 'succeeded';
        else {
          view.state = 'failed';
          view.reason = firstLine(event.message ?? outcomeWords(event.outcome));
        }
        break;
      default:
        break;
    }
  }

  /** What fleet-finished says a cluster came to, over what its own events said. */
  private settle(outcome: ClusterOutcome): void {
    const view = this.cluster(outcome.cluster, outcome.wave);
    if (outcome.release !== undefined) view.release = outcome.release;
    if (outcome.outcome === 'not-deployed' || outcome.outcome === 'skipped') {
      view.state = outcome.outcome;
      return;
    }
    if (this.isRollback && view.operation === 'rollback' && view.deployOutcome === undefined) {
      // A rollback of the environment: the outcome is the cluster's rollback's.
      if (outcome.outcome !== 'succeeded')
        view.rollbackProblem ??= `rollback ${outcomeWords(outcome.outcome)}${outcome.message ? `: ${firstLine(outcome.message)}` : ''}`;
      view.state = outcome.outcome === 'succeeded' ? 'rolled-back' : 'failed';
      return;
    }
    view.deployOutcome ??= outcome.outcome;
    if (outcome.outcome !== 'succeeded')
      view.reason ??= firstLine(outcome.message ?? outcomeWords(outcome.outcome));
    const back = outcome.rolledBack;
    if (back && back.outcome !== 'succeeded')
      view.rollbackProblem ??= `rollback ${outcomeWords(back.outcome)}${back.message ? `: ${firstLine(back.message)}` : ''}`;
    if (back) view.state = back.outcome === 'succeeded' ? 'rolled-back' : 'failed';
    else view.state = outcome.outcome === 'succeeded' ? 'succeeded' : 'failed';
  }

  /**
   * Whether the events are a rollback of the environment's clusters (`capstan rollback`: each
   * cluster's rollback, then fleet-finished), not a deploy: no fleet-started, and rollbacks.
   */
  get isRollback(): boolean {
    return this.started === undefined && [...this.clusters.values()].some((v) => v.operation === 'rollback');
  }

  /** The clusters by wave, those of no wave (left out, or never announced) last. */
  groups(): Array<{ wave?: number; clusters: ClusterView[] }> {
    const views = [...this.clusters.values()];
    const groups: Array<{ wave?: number; clusters: ClusterView[] }> = this.waves.map((_, i) => ({
      wave: i + 1,
      clusters: views.filter((v) => v.wave === i + 1),
    }));
    const rest = views.filter((v) => v.wave === undefined || v.wave > this.waves.length);
    if (rest.length > 0) groups.push({ clusters: rest });
    return groups;
  }

  /** `wave 2 of 3`, with how it ended. */
  waveHeader(wave: number): string {
    const done = this.waveOutcomes.get(wave);
    const head = `wave ${wave} of ${this.waves.length}`;
    if (done) return `${head}  ${done.outcome} in ${formatSeconds(done.durationMs)}`;
    if (this.soak?.wave === wave) return `${head}  soaking`;
    return wave === this.wave ? `${head}  deploying` : head;
  }

  /** What a cluster is doing or came to, in a few words: the text of its line. */
  stateText(view: ClusterView, now: number): string {
    // What its deploy came to, before a rollback: `failed: why`, or `succeeded` in an earlier wave;
    // nothing when the events are a rollback's alone.
    const deployed =
      view.reason !== undefined
        ? `failed: ${view.reason}`
        : view.deployOutcome === undefined
          ? undefined
          : view.deployOutcome === 'succeeded'
            ? 'succeeded'
            : 'failed';
    const then = (text: string) => (deployed === undefined ? text : `${deployed}; ${text}`);
    const target = view.rollbackTarget === undefined ? '' : ` to release ${view.rollbackTarget}`;
    switch (view.state) {
      case 'validating':
        return 'validating';
      case 'waiting':
        return view.wave === undefined ? 'waiting' : `waiting for wave ${view.wave}`;
      case 'queued':
        return 'waiting to start';
      case 'deploying': {
        const phase = view.phase;
        const of = view.phases.length;
        if (phase) {
          const at = view.phases.indexOf(phase.name) + 1;
          return `deploying ${phase.name}${at > 0 ? ` (phase ${at}/${of})` : ''} · ${phase.summary(now)}`;
        }
        return view.phasesDone > 0 && of > 0
          ? `deploying · ${view.phasesDone}/${of} phases done`
          : 'deploying';
      }
      case 'soaking': {
        const soak = this.soak;
        const left = soak ? Math.max(0, soak.durationMs - (now - soak.startedAt)) : undefined;
        return left === undefined ? 'soaking' : `soaking, ${formatDuration(left)} left`;
      }
      case 'succeeded':
        return [
          'succeeded',
          view.release === undefined ? '' : `release ${view.release}`,
          view.durationMs === undefined ? '' : `in ${formatSeconds(view.durationMs)}`,
        ]
          .filter(Boolean)
          .join(', ');
      case 'failed':
        return view.rollbackProblem ? then(view.rollbackProblem) : (deployed ?? 'failed');
      case 'rolling-back':
        return then(`rolling back${target}${view.phase ? ` · ${view.phase.summary(now)}` : ''}`);
      case 'rolled-back':
        return then(`rolled back${target}`);
      case 'not-deployed':
        return 'not deployed';
      case 'skipped':
        return 'skipped';
    }
  }

  /** The mark in front of a cluster's line. */
  static mark(state: ClusterState, paint: Paint): string {
    switch (state) {
      case 'validating':
        return paint.yellow('…');
      case 'waiting':
      case 'queued':
        return paint.dim('·');
      case 'deploying':
        return paint.cyan('▶');
      case 'soaking':
        return paint.cyan('~');
      case 'succeeded':
        return paint.green('✓');
      case 'failed':
        return paint.red('✗');
      case 'rolling-back':
      case 'rolled-back':
        return paint.yellow('↩');
      case 'not-deployed':
      case 'skipped':
        return paint.dim('-');
    }
  }

  /** The name column's width: the longest name. */
  get nameWidth(): number {
    return Math.max(0, ...[...this.clusters.keys()].map((name) => [...name].length));
  }

  /** The first table of the step summary: each cluster, its wave and outcome. */
  clusterRows(finished: FleetFinished | undefined): ClusterRow[] {
    const outcomes = new Map((finished?.clusters ?? []).map((c) => [c.cluster, c]));
    const names = [...this.clusters.keys(), ...[...outcomes.keys()].filter((n) => !this.clusters.has(n))];
    return names.map((name) => {
      const view = this.cluster(name);
      const outcome = outcomes.get(name);
      // After a deploy, that it was rolled back; a rollback of the environment just succeeds.
      const rolledBack =
        (view.state === 'rolled-back' && view.deployOutcome !== undefined) ||
        outcome?.rolledBack?.outcome === 'succeeded';
      const detail = [
        view.state === 'failed' || view.state === 'rolled-back' ? (view.reason ?? outcome?.message) : '',
        view.rollbackProblem ??
          (rolledBack && view.rollbackTarget !== undefined
            ? `rolled back to release ${view.rollbackTarget}`
            : ''),
      ]
        .filter(Boolean)
        .map((text) => firstLine(text ?? ''))
        .join('; ');
      const wave = outcome?.wave ?? view.wave;
      const release = outcome?.release ?? view.release;
      return {
        cluster: name,
        ...(wave === undefined ? {} : { wave }),
        outcome: `${outcomeWords(outcome?.outcome ?? view.state)}${rolledBack ? ', rolled back' : ''}`,
        ...(release === undefined ? {} : { release }),
        ...(view.durationMs === undefined ? {} : { durationMs: view.durationMs }),
        ...(detail ? { detail } : {}),
      };
    });
  }
}

const FLEET_LEVEL = new Set([
  'fleet-started',
  'wave-started',
  'soak-started',
  'wave-finished',
  'fleet-finished',
]);

/** The events of a multi-cluster deploy that are about the fleet, not one cluster. */
export function isFleetLevel(event: AnyDeployEvent): event is FleetEvent {
  return FLEET_LEVEL.has(event.type);
}

/** A cluster's state as a table cell or a result: `not deployed`, `rolled back`. */
export function outcomeOfState(view: ClusterView): string {
  return outcomeWords(view.state);
}

function pad(name: string, width: number): string {
  return name + ' '.repeat(Math.max(0, width - [...name].length));
}

/** Whether a cluster is at work in a wave (validation, before the waves, is not). */
function isActive(view: ClusterView): boolean {
  return ['queued', 'deploying', 'soaking', 'rolling-back'].includes(view.state);
}

/** How a group of clusters is headed: its wave, or the clusters left out. */
function groupHeader(
  fleet: FleetView,
  group: { wave?: number; clusters: ClusterView[] },
): string | undefined {
  if (fleet.waves.length === 0) return undefined;
  if (group.wave !== undefined) return fleet.waveHeader(group.wave);
  return group.clusters.every((v) => v.state === 'skipped') ? 'left out' : 'other clusters';
}

/** `10 succeeded · 1 failed`: a group's clusters counted by state. */
function countByState(clusters: readonly ClusterView[]): string {
  const counts = new Map<ClusterState, number>();
  for (const view of clusters) counts.set(view.state, (counts.get(view.state) ?? 0) + 1);
  return [...counts.entries()].map(([state, n]) => `${n} ${outcomeWords(state)}`).join(' · ');
}

export interface FleetLiveOptions {
  readonly paint: Paint;
  /** Redacts a line and cuts it to the terminal's width less `indent`. */
  readonly fit: (indent: number, text: string) => string;
  readonly now: number;
  /** The terminal's height, when known. */
  readonly rows?: number;
  /** At most this many waiting objects, over all clusters. */
  readonly maxWaiting: number;
}

/**
 * The live block of a multi-cluster deploy on a terminal: per wave a header and a line per
 * cluster with its state, and under a deploying cluster what its objects still wait for. On a
 * short terminal, waves with no cluster at work fold into one line each, then lines are cut.
 */
export function fleetLiveLines(fleet: FleetView, options: FleetLiveOptions): string[] {
  const { paint, fit, now } = options;
  const room = options.rows === undefined ? Number.POSITIVE_INFINITY : Math.max(2, options.rows - 2);
  const width = fleet.nameWidth;
  const clusterLine = (view: ClusterView) =>
    `  ${FleetView.mark(view.state, paint)} ${fit(4, `${pad(view.name, width)}  ${fleet.stateText(view, now)}`)}`;
  const groups = fleet.groups().map((group) => ({ ...group, header: groupHeader(fleet, group) }));
  const full = groups.reduce((n, g) => n + g.clusters.length + (g.header === undefined ? 0 : 1), 0);
  let lines: Array<{ text: string; view?: ClusterView }> = groups.flatMap((group) => {
    const header = group.header === undefined ? [] : [{ text: paint.bold(fit(0, group.header)) }];
    if (full > room && group.wave !== fleet.wave && !group.clusters.some(isActive))
      return [{ text: paint.dim(fit(0, `${group.header ?? 'clusters'}  ${countByState(group.clusters)}`)) }];
    return [...header, ...group.clusters.map((view) => ({ text: clusterLine(view), view }))];
  });
  if (lines.length > room) {
    const more = lines.length - (room - 1);
    lines = [...lines.slice(0, room - 1), { text: paint.dim(`  … and ${more} more lines`) }];
  }
  let budget = Math.min(options.maxWaiting, room - lines.length);
  const waiting = lines.filter((l) => l.view?.phase && l.view.phase.waiting.size > 0).length;
  const each = waiting === 0 ? 0 : Math.max(1, Math.floor(budget / waiting));
  return lines.flatMap(({ text, view }) => {
    const entries = [...(view?.phase?.waiting.entries() ?? [])].slice(0, Math.min(each, Math.max(0, budget)));
    budget -= entries.length;
    return [
      text,
      ...entries.map(([ref, msg]) => `      ${paint.yellow('…')} ${paint.dim(fit(8, `${ref}: ${msg}`))}`),
    ];
  });
}

/** The closing list of a multi-cluster deploy: each cluster's wave, mark, name and outcome. */
export function fleetSummaryLines(fleet: FleetView, paint: Paint, now: number): string[] {
  const width = fleet.nameWidth;
  const waveWidth = fleet.waves.length > 0 ? `wave ${fleet.waves.length}`.length : 0;
  return fleet.groups().flatMap((group) =>
    group.clusters.map((view) => {
      const wave =
        waveWidth === 0
          ? ''
          : `${(group.wave === undefined ? '' : `wave ${group.wave}`).padEnd(waveWidth)}  `;
      return `${wave}${FleetView.mark(view.state, paint)} ${pad(view.name, width)}  ${fleet.stateText(view, now)}`;
    }),
  );
}
