import type { DeployEvent, EventObject } from '../deploy/index.js';
import type { RollbackEvent } from '../release/index.js';
import type { AnyDeployEvent, ClusterOutcome, DeployOutcome, FleetEvent } from '../events/index.js';
import { formatDuration } from '../notify/index.js';
import { Redactor } from '../secrets/index.js';
import { isInputError, isRecord, type SourceLocation } from '../shared/index.js';
import {
  ciOf,
  deployIdOf,
  formatAnnotation,
  formatFleetStepSummary,
  formatResult,
  formatStepSummary,
  gitlabSectionEnd,
  gitlabSectionStart,
  PhaseTimeline,
  workspacePath,
  type CiKind,
} from './ci.js';
import {
  fleetLiveLines,
  fleetSummaryLines,
  FleetView,
  isFleetLevel,
  outcomeOfState,
  type ClusterView,
  type FleetFinished,
} from './fleet-view.js';
import type { CliIo } from './options.js';
import { countWord, fitWidth, formatSeconds, PhaseProgress } from './progress.js';

export type OutputMode = 'tty' | 'plain' | 'json';

const color = (enabled: boolean) => {
  const wrap = (code: string) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return {
    green: wrap('32'),
    red: wrap('31'),
    yellow: wrap('33'),
    dim: wrap('2'),
    bold: wrap('1'),
    cyan: wrap('36'),
  };
};

export function refOf(o: EventObject): string {
  return `${o.kind}/${o.name}`;
}

type DeployFinished = Extract<DeployEvent, { type: 'deploy-finished' }>;
type Operation = 'deploy' | 'rollback';

/** Where a live phase is kept: the deploy's own, or each cluster's in a multi-cluster deploy. */
interface PhaseSlot {
  phase: PhaseProgress | undefined;
}

/** At most this many objects in the live block of what still waits. */
const MAX_WAITING_SHOWN = 20;
/** How often the live line redraws on a terminal (its elapsed seconds, the counts gathered since). */
const REDRAW_MS = 150;

type Stream = NodeJS.WritableStream & { columns?: number; rows?: number };

export interface ReporterOptions {
  /** The CLI's environment: GITHUB_ACTIONS, GITHUB_STEP_SUMMARY and GITLAB_CI select the CI conventions. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where GitHub workflow commands go (the runner reads both streams; stdout may be -o json). */
  readonly stderr?: NodeJS.WritableStream;
  /** Appends to a file: the step summary. */
  readonly appendFile?: (path: string, text: string) => void;
  readonly now?: () => number;
  /** Redraw interval of the terminal's live block; 0 redraws only on events (tests). */
  readonly redrawMs?: number;
}

/**
 * Draws deploy and rollback events: on a terminal, per phase one live line of counts by kind above
 * what the slowest objects still wait for, redrawn in place, and one line per finished phase;
 * without one, one line per state change; or JSON lines. Under GitHub Actions, failures also become
 * workflow-command annotations and the phase timeline a step summary; under GitLab CI each phase is
 * a collapsible section. Every line it writes is redacted as text before it is cut or coloured; a
 * JSON line is redacted field by field before it is serialized, so it stays the same JSON.
 *
 * A multi-cluster deploy (fleet-started, or events that carry `cluster`) is drawn per cluster: on a
 * terminal a live line per cluster within each wave, its waiting objects under it; each line of a
 * cluster's events prefixed `[cluster] `; a closing list of every cluster's outcome; a step summary
 * with a table of the clusters, then one per cluster; annotations that name the cluster.
 */
export class Reporter {
  private readonly c;
  private readonly ci: CiKind | undefined;
  private readonly now: () => number;
  /** The phase drawn live on a terminal. */
  private readonly single: PhaseSlot = { phase: undefined };
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private section: string | undefined;
  private title = 'capstan';
  /** What the closing line names: a rollback's outcome is not a deploy's. */
  private operation: Operation = 'deploy';
  private timeline = new PhaseTimeline();
  /** The last event, held until the command knows whether an error of its own explains it (end). */
  private finished: DeployFinished | undefined;
  /** A multi-cluster deploy: its clusters, and its live block on a terminal until it finished. */
  private fleet: FleetView | undefined;
  private fleetLive = false;
  private fleetFinished: FleetFinished | undefined;
  /** In front of every line written: `[eu] ` while a cluster's event is drawn. */
  private prefix = '';

  constructor(
    private readonly out: Stream,
    private readonly mode: OutputMode,
    private readonly redactor: Pick<Redactor, 'text' | 'event'> = new Redactor(),
    private readonly options: ReporterOptions = {},
  ) {
    this.c = color(mode === 'tty' && !options.env?.NO_COLOR);
    this.ci = ciOf(options.env ?? {});
    this.now = options.now ?? Date.now;
  }

  private write(text: string): void {
    const prefixed = this.prefix === '' ? text : text.replace(/^/gm, this.prefix);
    this.out.write(this.redactor.text(prefixed) + '\n');
  }

  /** A finished line: above the live block on a terminal, which is drawn again under it. */
  private line(text: string): void {
    this.clearLive();
    this.write(text);
    this.drawLive();
  }

  private clearLive(): void {
    if (this.mode !== 'tty' || this.drawn === 0) return;
    this.out.write(`\u001b[${this.drawn}A\u001b[0J`);
    this.drawn = 0;
  }

  /** One live line: redacted first, then cut to the terminal's width, then coloured. */
  private fit(indent: number, text: string): string {
    return fitWidth(
      this.redactor.text(text),
      this.out.columns === undefined ? undefined : this.out.columns - indent,
    );
  }

  private phaseLines(phase: PhaseProgress): string[] {
    const c = this.c;
    const lines = [`${c.cyan('▶')} ${c.bold(this.fit(2, `${phase.name}  ${phase.summary(this.now())}`))}`];
    for (const applied of phase.appliedLines()) lines.push(`  ${c.dim(this.fit(2, applied))}`);
    const room =
      this.out.rows === undefined
        ? MAX_WAITING_SHOWN
        : Math.max(0, Math.min(MAX_WAITING_SHOWN, this.out.rows - lines.length - 2));
    const waiting = [...phase.waiting.entries()];
    for (const [ref, msg] of waiting.slice(0, room))
      lines.push(`  ${c.yellow('…')} ${c.dim(this.fit(4, `${ref}: ${msg}`))}`);
    if (waiting.length > room) lines.push(c.dim(`  … and ${waiting.length - room} more`));
    return lines;
  }

  /** The live block: the deploy's phase, or a multi-cluster deploy's line per cluster. */
  private liveLines(): string[] | undefined {
    if (this.mode !== 'tty') return undefined;
    if (this.fleet)
      return this.fleetLive
        ? fleetLiveLines(this.fleet, {
            paint: this.c,
            fit: (indent, text) => this.fit(indent, text),
            now: this.now(),
            rows: this.out.rows,
            maxWaiting: MAX_WAITING_SHOWN,
          })
        : undefined;
    return this.single.phase ? this.phaseLines(this.single.phase) : undefined;
  }

  private drawLive(): void {
    const lines = this.liveLines();
    if (!lines) return;
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Redraws the live block in one write, so a terminal never shows it half drawn. */
  private redraw(): void {
    const lines = this.liveLines();
    if (!lines) return;
    const clear = this.drawn > 0 ? `\u001b[${this.drawn}A\u001b[0J` : '';
    this.out.write(clear + lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  private startTimer(): void {
    const every = this.options.redrawMs ?? REDRAW_MS;
    if (this.mode !== 'tty' || every <= 0 || this.timer) return;
    this.timer = setInterval(() => this.redraw(), every);
    // The clock of the live line never keeps the process alive.
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ends a live phase on a terminal: its line and its apply summary stay, the waiting block goes. */
  private freezePhase(slot: PhaseSlot, mark: string, text: string): void {
    const phase = slot.phase;
    if (!phase) return;
    this.clearLive();
    slot.phase = undefined;
    // A multi-cluster deploy's live block stays: other clusters go on.
    if (!this.fleet) this.stopTimer();
    this.write(`${mark} ${this.c.bold(`${phase.name}  ${text}`)}`);
    for (const applied of phase.appliedLines()) this.write(`  ${this.c.dim(applied)}`);
    this.drawLive();
  }

  /** GitHub: a workflow command on standard error, redacted before it is escaped. */
  private annotate(message: string, title: string, source?: SourceLocation): void {
    if (this.ci !== 'github') return;
    const at = source
      ? { file: this.redactor.text(workspacePath(source.file, this.options.env ?? {})), line: source.line }
      : {};
    (this.options.stderr ?? this.out).write(
      formatAnnotation('error', this.redactor.text(message), { ...at, title: this.redactor.text(title) }) +
        '\n',
    );
  }

  private openSection(name: string, header: string): void {
    if (this.ci !== 'gitlab' || this.mode === 'json') return;
    this.closeSection();
    this.section = name;
    this.out.write(gitlabSectionStart(name, this.redactor.text(header), this.now()) + '\n');
  }

  private closeSection(): void {
    if (this.section === undefined) return;
    this.out.write(gitlabSectionEnd(this.section, this.now()) + '\n');
    this.section = undefined;
  }

  /** Appends to `$GITHUB_STEP_SUMMARY` under GitHub Actions; a failure to write is a warning. */
  private appendStepSummary(text: () => string): void {
    const path = this.options.env?.GITHUB_STEP_SUMMARY;
    if (this.ci !== 'github' || !path || !this.options.appendFile) return;
    try {
      this.options.appendFile(path, this.redactor.text(text()));
    } catch (error) {
      (this.options.stderr ?? this.out).write(
        this.redactor.text(
          `warning: could not write the step summary to ${path}: ${(error as Error).message}`,
        ) + '\n',
      );
    }
  }

  private writeStepSummary(event: DeployFinished): void {
    this.appendStepSummary(() =>
      formatStepSummary({
        title: this.title,
        rows: this.timeline.closed(event.outcome, this.now()),
        result: formatResult(event, this.operation),
      }),
    );
  }

  event(event: AnyDeployEvent): void {
    if (this.fleet || isFleetLevel(event) || event.cluster !== undefined) {
      this.fleetEvent(event);
      return;
    }
    if (this.mode === 'json') {
      this.ciEvent(event);
      this.jsonLine(event);
      return;
    }
    this.ciEvent(event);
    if (this.mode === 'tty') this.ttyEvent(event);
    else this.plainEvent(event);
  }

  private jsonLine(event: AnyDeployEvent): void {
    // `time` is Capstan's clock, not input: a secret `2026` (a port) must not break every timestamp.
    this.out.write(JSON.stringify({ time: new Date().toISOString(), ...this.redactor.event(event) }) + '\n');
  }

  /** What the CI conventions need, whatever the output mode: annotations and the timeline. */
  private ciEvent(event: DeployEvent | RollbackEvent): void {
    switch (event.type) {
      case 'deploy-started':
        this.title = `capstan ${event.dryRun ? 'dry run of' : 'deploy of'} ${event.app} to ${event.env}`;
        this.timeline.planned(event.phases);
        break;
      case 'rollback-started':
        // After a failed deploy (--rollback-on-failure) the deploy is closed first, as its own operation.
        if (this.finished) this.end();
        this.timeline = new PhaseTimeline();
        this.title = `capstan rollback of ${event.app} in ${event.env} to release ${event.target}`;
        this.operation = 'rollback';
        break;
      case 'phase-started':
        this.timeline.started(event.phase, event.objects, this.now());
        break;
      case 'phase-finished':
        this.timeline.finished(event.phase, event.durationMs);
        break;
      case 'object-failed':
        this.annotateFailure(event);
        break;
      case 'deploy-finished':
        // Closed by end(), once it is known whether reportError explains it.
        this.finished = event;
        break;
      default:
        break;
    }
  }

  private annotateFailure(event: Extract<DeployEvent, { type: 'object-failed' }>, cluster?: string): void {
    const cause = event.diagnosis ? `\nMost likely cause: ${event.diagnosis.mostLikelyCause}` : '';
    this.annotate(
      `${refOf(event.object)}: ${event.message}${cause}`,
      `${refOf(event.object)} failed in phase ${event.phase}${cluster === undefined ? '' : ` on cluster ${cluster}`}`,
      event.source,
    );
  }

  /**
   * Closes the deploy or rollback the events told, once its function returned or threw: the
   * closing line, the annotation and the step summary. A refusal that returns (the scheduling
   * preflight, a held lock) is explained here, in every output. `error` is what the function threw
   * after its last event: reportError prints that message and hint on standard error (and under
   * GitHub Actions annotates invalid input issue by issue), so here it is not said again. `result`
   * is what it returned: a multi-cluster deploy that refused before its last event is closed from it.
   */
  end(error?: unknown, result?: unknown): void {
    // A single deploy's end held: the result is not a fleet's, whatever it holds.
    if (this.fleet || (!this.finished && fleetResultOf(result))) {
      this.endFleet(error, fleetResultOf(result));
      return;
    }
    const event = this.finished;
    if (!event) return;
    this.finished = undefined;
    const toldByError = error !== undefined;
    if (event.outcome !== 'succeeded' && !this.annotatedByError(error))
      this.annotate(
        event.message ?? `${this.operation} ${event.outcome}`,
        `capstan ${this.operation} ${event.outcome}`,
      );
    this.writeStepSummary(event);
    if (this.mode !== 'json') this.finishedLines(event, this.operation, toldByError);
  }

  private annotatedByError(error: unknown): boolean {
    return error !== undefined && this.ci === 'github' && isInputError(error);
  }

  /** Runs a deploy or rollback to its end: `end()` when it returns, `end(error)` when it throws. */
  async settle<T>(run: Promise<T>): Promise<T> {
    try {
      const result = await run;
      this.end(undefined, result);
      return result;
    } catch (error) {
      this.end(error);
      throw error;
    }
  }

  private ttyEvent(event: DeployEvent | RollbackEvent, view?: ClusterView): void {
    const c = this.c;
    const slot = view ?? this.single;
    switch (event.type) {
      case 'phase-started':
        this.freezePhase(slot, c.yellow('■'), 'ended');
        slot.phase = new PhaseProgress(event.phase, event.objects, this.now());
        this.redraw();
        this.startTimer();
        return;
      case 'object-applied':
        slot.phase?.applied(event.object, event.action);
        if (!this.timer) this.redraw();
        return;
      case 'object-unchanged':
        slot.phase?.applied(event.object, 'not sent');
        if (!this.timer) this.redraw();
        return;
      case 'object-waiting':
        slot.phase?.waitingFor(refOf(event.object), event.message);
        if (!this.timer) this.redraw();
        return;
      case 'object-ready':
        slot.phase?.ready(event.object, refOf(event.object));
        if (!this.timer) this.redraw();
        return;
      case 'object-failed': {
        const phase = slot.phase;
        if (phase) {
          phase.done(refOf(event.object));
          phase.failed = true;
          this.freezePhase(slot, c.red('✗'), phase.summary(this.now()));
        }
        this.failureLines(event);
        return;
      }
      case 'phase-finished': {
        const phase = slot.phase;
        if (phase?.name === event.phase)
          this.freezePhase(slot, c.green('✓'), phase.finished(event.durationMs));
        else this.line(c.green(`✓ ${event.phase}  ready in ${formatSeconds(event.durationMs)}`));
        return;
      }
      case 'deploy-finished':
        if (slot.phase) this.freezePhase(slot, c.red('✗'), slot.phase.summary(this.now()));
        // A cluster's end is told as it comes; the command ends with the fleet's.
        if (view) this.finishedLines(event, view.operation, false);
        else {
          this.stopTimer();
          this.clearLive();
        }
        return;
      default:
        this.commonEvent(event);
    }
  }

  private plainEvent(event: DeployEvent | RollbackEvent, view?: ClusterView): void {
    switch (event.type) {
      case 'phase-started': {
        const header = `▶ phase ${event.phase} (${countWord(event.objects, 'object')})`;
        // A multi-cluster deploy's clusters run side by side: its sections are its waves.
        if (this.ci === 'gitlab' && !view) this.openSection(`phase_${event.phase}`, header);
        else this.write(header);
        return;
      }
      case 'object-applied':
        this.write(`  applied ${refOf(event.object)} ${event.action}`);
        return;
      case 'object-unchanged':
        this.write(`  unchanged ${refOf(event.object)}: not sent`);
        return;
      case 'object-waiting':
        this.write(`  waiting ${refOf(event.object)}: ${event.message}`);
        return;
      case 'object-ready':
        this.write(`  ✓ ${refOf(event.object)} ${event.message}`);
        return;
      case 'object-failed':
        // A failure shows outside the folded section, where it is seen.
        this.closeSection();
        this.failureLines(event);
        return;
      case 'phase-finished':
        this.write(`  phase ${event.phase} done in ${formatSeconds(event.durationMs)}`);
        if (!view) this.closeSection();
        return;
      case 'deploy-finished':
        if (!view) this.closeSection();
        else {
          if (event.outcome !== 'succeeded') this.closeSection();
          this.finishedLines(event, view.operation, false);
        }
        return;
      default:
        this.commonEvent(event);
    }
  }

  private failureLines(event: Extract<DeployEvent, { type: 'object-failed' }>): void {
    this.line(`  ${this.c.red('✗')} ${refOf(event.object)}: ${event.message}`);
    if (event.diagnosisText)
      this.line(
        event.diagnosisText
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n'),
      );
  }

  /**
   * The closing line with the reason, unless reportError prints it right after (`toldByError`); a
   * reason of several lines (every workload the preflight refused) follows it, indented.
   */
  private finishedLines(event: DeployFinished, operation: Operation, toldByError: boolean): void {
    const c = this.c;
    this.clearLive();
    const ok = event.outcome === 'succeeded';
    const at = c.dim(`(${formatSeconds(event.durationMs)}, ${deployIdOf(event)})`);
    if (ok) {
      this.write(`${c.green(`✓ ${event.message ?? `${operation} succeeded`}`)} ${at}`);
      this.drawLive();
      return;
    }
    const closing = `${operation} ${event.outcome}`;
    const why = toldByError
      ? event.outcome === 'invalid'
        ? 'nothing was applied'
        : 'see the error below'
      : (event.message ?? (event.outcome === 'invalid' ? 'nothing was applied' : ''));
    const [first, ...rest] = why.split('\n');
    if (rest.length === 0) this.write(`${c.red(`✗ ${closing}${first ? `: ${first}` : ''}`)} ${at}`);
    else this.write(`${c.red(`✗ ${closing}`)} ${at}\n${[first, ...rest].map((l) => `  ${l}`).join('\n')}`);
    if (event.notApplied.length > 0 && event.applied.length > 0) {
      this.write(
        c.dim(
          `applied: ${countWord(event.applied.length, 'object')}; not applied: ${event.notApplied.map(refOf).join(', ')}`,
        ),
      );
    }
    this.drawLive();
  }

  /** A multi-cluster deploy's event: its CI conventions, then its lines or its JSON line. */
  private fleetEvent(event: AnyDeployEvent): void {
    const now = this.now();
    if (event.type === 'fleet-started') this.fleet = new FleetView(event, now);
    if (!this.fleet) {
      // Events of clusters without a fleet-started: drawn as they come, each cluster as it appears.
      this.fleet = new FleetView(undefined, now);
      this.fleetLive = true;
    }
    const fleet = this.fleet;
    const view =
      isFleetLevel(event) || event.cluster === undefined ? undefined : fleet.cluster(event.cluster);
    fleet.apply(event, now);
    if (isFleetLevel(event)) this.fleetCiEvent(event);
    else if (view) this.clusterCiEvent(event, view);
    if (this.mode === 'json') {
      this.jsonLine(event);
      return;
    }
    if (isFleetLevel(event)) this.fleetLines(event);
    else if (view) {
      this.prefix = `[${view.name}] `;
      try {
        if (this.mode === 'tty') this.ttyEvent(event, view);
        else this.plainEvent(event, view);
      } finally {
        this.prefix = '';
      }
    } else this.commonEvent(event);
    if (!this.timer) this.redraw();
  }

  private fleetCiEvent(event: FleetEvent): void {
    if (event.type === 'fleet-started')
      this.title = `capstan ${event.dryRun ? 'dry run of' : 'deploy of'} ${event.app} to ${event.env}`;
    // Closed by end(), once it is known whether reportError explains it.
    if (event.type === 'fleet-finished') this.fleetFinished = event;
  }

  /** A cluster's failures become annotations that name it, as they come. */
  private clusterCiEvent(event: DeployEvent | RollbackEvent, view: ClusterView): void {
    if (event.type === 'deploy-started' && !this.fleet?.started)
      this.title = `capstan ${event.dryRun ? 'dry run of' : 'deploy of'} ${event.app} to ${event.env}`;
    if (event.type === 'rollback-started' && !this.fleet?.started)
      this.title = `capstan rollback of ${event.app} in ${event.env} to release ${event.target}`;
    if (event.type === 'object-failed') this.annotateFailure(event, view.name);
    if (event.type === 'deploy-finished' && event.outcome !== 'succeeded')
      this.annotate(
        event.message ?? `${view.operation} ${event.outcome}`,
        `capstan ${view.operation} ${event.outcome} on cluster ${view.name}`,
      );
  }

  /** The fleet's own lines: its start, each wave's start, soak and end. */
  private fleetLines(event: FleetEvent): void {
    const c = this.c;
    const waves = this.fleet?.waves.length ?? 0;
    switch (event.type) {
      case 'fleet-started': {
        const deployed = event.clusters.filter((name) => !event.skipped.includes(name));
        this.line(
          c.bold(
            `${event.dryRun ? 'Dry run of' : 'Deploying'} ${event.app} to ${event.env} on ${countWord(deployed.length, 'cluster')} in ${countWord(event.waves.length, 'wave')}, deploy ${event.deployId}${event.image ? `, image ${event.image}` : ''}`,
          ),
        );
        if (this.mode === 'plain')
          event.waves.forEach((wave, i) => this.write(c.dim(`  wave ${i + 1}: ${wave.join(', ')}`)));
        if (event.skipped.length > 0)
          this.line(c.yellow(`left out with --skip-cluster: ${event.skipped.join(', ')}`));
        this.fleetLive = true;
        this.startTimer();
        return;
      }
      case 'wave-started': {
        const header = `▶ wave ${event.wave}${waves ? ` of ${waves}` : ''}: ${event.clusters.join(', ')}`;
        if (this.ci === 'gitlab' && this.mode === 'plain') this.openSection(`wave_${event.wave}`, header);
        else this.line(c.bold(header));
        return;
      }
      case 'soak-started':
        this.line(
          `${c.cyan('~')} wave ${event.wave} soaks for ${formatDuration(event.durationMs)}: ${event.clusters.join(', ')}`,
        );
        return;
      case 'wave-finished':
        this.line(
          event.outcome === 'succeeded'
            ? c.green(`✓ wave ${event.wave} succeeded in ${formatSeconds(event.durationMs)}`)
            : c.red(`✗ wave ${event.wave} failed in ${formatSeconds(event.durationMs)}`),
        );
        this.closeSection();
        return;
      case 'fleet-finished':
        this.stopTimer();
        this.clearLive();
        this.fleetLive = false;
        this.closeSection();
        return;
    }
  }

  /**
   * Closes a multi-cluster deploy: the annotation and step summary of its outcome, the list of its
   * clusters' outcomes and the closing line; from its fleet-finished, or else from what it returned.
   */
  private endFleet(error: unknown, result: FleetResult | undefined): void {
    const now = this.now();
    const fleet = (this.fleet ??= new FleetView(undefined, now));
    this.stopTimer();
    this.clearLive();
    this.fleetLive = false;
    let finished = this.fleetFinished;
    this.fleetFinished = undefined;
    if (!finished && result) {
      finished = {
        type: 'fleet-finished',
        durationMs: now - fleet.startedAt,
        ...result,
        clusters: [...(result.clusters ?? [])],
      };
      fleet.apply(finished, now);
    }
    if (!finished) {
      // It threw before its end: where each cluster got to, then the error.
      if (this.mode !== 'json' && fleet.clusters.size > 0)
        this.write(fleetSummaryLines(fleet, this.c, now).join('\n'));
      return;
    }
    const operation: Operation = fleet.isRollback ? 'rollback' : 'deploy';
    if (finished.outcome !== 'succeeded' && !this.annotatedByError(error))
      this.annotate(
        finished.message ?? `${operation} ${finished.outcome}`,
        `capstan ${operation} ${finished.outcome}`,
      );
    const closing = { ...finished, applied: [], notApplied: [], type: 'deploy-finished' as const };
    const succeeded = finished.clusters.filter((c) => c.outcome === 'succeeded').length;
    const message =
      finished.message ??
      (finished.outcome === 'succeeded' && succeeded > 0
        ? `${operation} succeeded on ${countWord(succeeded, 'cluster')}`
        : undefined);
    this.appendStepSummary(() =>
      formatFleetStepSummary({
        title: this.title,
        clusters: fleet.clusterRows(finished),
        result: formatResult({ ...finished, message }, operation),
        tables: [...fleet.clusters.values()].flatMap((view) =>
          view.tables.map((table) => ({
            title: table.title,
            rows: table.timeline.closed(table.outcome ?? outcomeOfState(view), now),
            result: table.result ?? outcomeOfState(view),
          })),
        ),
      }),
    );
    if (this.mode === 'json') return;
    if (fleet.clusters.size > 0) this.write(fleetSummaryLines(fleet, this.c, now).join('\n'));
    this.finishedLines({ ...closing, message }, operation, error !== undefined);
  }

  /** Events drawn the same way on a terminal and without one. */
  private commonEvent(event: DeployEvent | RollbackEvent): void {
    const c = this.c;
    switch (event.type) {
      case 'rollback-started':
        this.line(
          c.bold(
            `Rolling back ${event.app} in ${event.env} (namespace ${event.namespace}) to release ${event.target}, as release ${event.release}${event.images.length ? `, image ${event.images.join(', ')}` : ''}`,
          ),
        );
        break;
      case 'deploy-started':
        this.line(
          c.bold(
            `${event.dryRun ? 'Dry run of' : 'Deploying'} ${event.app} to ${event.env} (namespace ${event.namespace}), deploy ${event.deployId}${event.image ? `, image ${event.image}` : ''}`,
          ),
        );
        break;
      case 'validation-finished':
        this.line(
          c.dim(
            `validated ${countWord(event.objects, 'object')} with a server-side dry run in ${formatSeconds(event.durationMs)}${event.unchanged ? `; ${event.unchanged} unchanged since the last apply, not sent` : ''}`,
          ),
        );
        break;
      case 'preflight-finished':
        // Refusals are told once, by deploy-finished.
        if (event.problems.length === 0)
          this.line(c.dim(`scheduling preflight: ${countWord(event.workloads, 'workload')} fit`));
        break;
      case 'log':
        this.line(`  ${c.dim(`[${event.object.name}]`)} ${event.line}`);
        break;
      case 'object-pruned':
        this.line(`  ${c.yellow('-')} pruned ${refOf(event.object)}`);
        break;
      case 'plan': {
        const list = (label: string, items: EventObject[]) => {
          if (items.length)
            this.line(`${label} (${items.length}):\n${items.map((o) => `  ${refOf(o)}`).join('\n')}`);
        };
        list(c.green('would create'), event.create);
        list(c.yellow('would change'), event.change);
        list(c.dim('unchanged'), event.unchanged);
        list(c.red('would prune'), event.prune);
        break;
      }
      case 'warning':
        this.line(c.yellow(`warning: ${event.message}`));
        break;
      default:
        break;
    }
  }
}

/** The reporter a command uses: its output mode, and the CI conventions of the CLI's environment. */
export function createReporter(
  io: Pick<CliIo, 'stdout' | 'stderr' | 'env' | 'appendFile'>,
  mode: OutputMode,
  redactor: Pick<Redactor, 'text' | 'event'>,
): Reporter {
  return new Reporter(io.stdout, mode, redactor, {
    env: io.env,
    stderr: io.stderr,
    appendFile: io.appendFile,
  });
}

/** What a multi-cluster deploy returns, as far as its closing needs it. */
interface FleetResult {
  readonly outcome: DeployOutcome;
  readonly exitCode: number;
  readonly deployId: string;
  readonly message?: string;
  readonly release?: number;
  readonly clusters: readonly ClusterOutcome[];
}

/** The result of a multi-cluster deploy (it has `clusters`), or undefined for any other. */
function fleetResultOf(result: unknown): FleetResult | undefined {
  if (!isRecord(result) || !Array.isArray(result.clusters)) return undefined;
  const { outcome, exitCode, deployId, message, release } = result;
  if (typeof outcome !== 'string' || typeof exitCode !== 'number' || typeof deployId !== 'string')
    return undefined;
  return {
    outcome: outcome as DeployOutcome,
    exitCode,
    deployId,
    ...(typeof message === 'string' ? { message } : {}),
    ...(typeof release === 'number' ? { release } : {}),
    clusters: result.clusters as ClusterOutcome[],
  };
}

/** The events of a multi-cluster deploy that are about the fleet, not one cluster. */
export { isFleetLevel as isFleetEvent } from './fleet-view.js';
