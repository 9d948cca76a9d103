import type { DeployEvent, EventObject } from '../deploy/index.js';
import type { RollbackEvent } from '../release/index.js';
import type { AnyDeployEvent, FleetEvent } from '../events/index.js';
import { Redactor } from '../secrets/index.js';
import { isInputError, type SourceLocation } from '../shared/index.js';
import {
  ciOf,
  formatAnnotation,
  formatStepSummary,
  gitlabSectionEnd,
  gitlabSectionStart,
  workspacePath,
  type CiKind,
  type PhaseRow,
} from './ci.js';
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

/** How the end of a deploy names it: its release number when one was recorded, and its id. */
function deployIdOf(event: DeployFinished): string {
  return `${event.release === undefined ? '' : `release ${event.release}, `}deploy ${event.deployId}`;
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
 */
export class Reporter {
  private readonly c;
  private readonly ci: CiKind | undefined;
  private readonly now: () => number;
  /** The phase drawn live on a terminal. */
  private phase: PhaseProgress | undefined;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private section: string | undefined;
  private title = 'capstan';
  /** What the closing line names: a rollback's outcome is not a deploy's. */
  private operation: 'deploy' | 'rollback' = 'deploy';
  private readonly rows: Array<PhaseRow & { startedAt: number }> = [];
  /** The last event, held until the command knows whether an error of its own explains it (end). */
  private finished: DeployFinished | undefined;

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
    this.out.write(this.redactor.text(text) + '\n');
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

  private liveLines(phase: PhaseProgress): string[] {
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

  private drawLive(): void {
    if (this.mode !== 'tty' || !this.phase) return;
    const lines = this.liveLines(this.phase);
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Redraws the live block in one write, so a terminal never shows it half drawn. */
  private redraw(): void {
    if (this.mode !== 'tty' || !this.phase) return;
    const clear = this.drawn > 0 ? `\u001b[${this.drawn}A\u001b[0J` : '';
    const lines = this.liveLines(this.phase);
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

  /** Ends the live phase on a terminal: its line and its apply summary stay, the waiting block goes. */
  private freezePhase(mark: string, text: string): void {
    const phase = this.phase;
    if (!phase) return;
    this.clearLive();
    this.phase = undefined;
    this.stopTimer();
    this.write(`${mark} ${this.c.bold(`${phase.name}  ${text}`)}`);
    for (const applied of phase.appliedLines()) this.write(`  ${this.c.dim(applied)}`);
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
    this.out.write(gitlabSectionStart(`phase_${name}`, this.redactor.text(header), this.now()) + '\n');
  }

  private closeSection(): void {
    if (this.section === undefined) return;
    this.out.write(gitlabSectionEnd(`phase_${this.section}`, this.now()) + '\n');
    this.section = undefined;
  }

  private writeStepSummary(event: DeployFinished): void {
    const path = this.options.env?.GITHUB_STEP_SUMMARY;
    if (this.ci !== 'github' || !path || !this.options.appendFile) return;
    const ok = event.outcome === 'succeeded';
    const rows = this.rows.map((row) =>
      row.outcome === 'running'
        ? { ...row, outcome: event.outcome, durationMs: this.now() - row.startedAt }
        : row,
    );
    const result = `${ok ? '✓' : '✗'} ${ok ? (event.message ?? `${this.operation} succeeded`) : `${this.operation} ${event.outcome}${event.message ? `: ${event.message}` : ''}`} (${formatSeconds(event.durationMs)}, ${deployIdOf(event)})`;
    try {
      this.options.appendFile(
        path,
        this.redactor.text(formatStepSummary({ title: this.title, rows, result })),
      );
    } catch (error) {
      (this.options.stderr ?? this.out).write(
        this.redactor.text(
          `warning: could not write the step summary to ${path}: ${(error as Error).message}`,
        ) + '\n',
      );
    }
  }

  event(event: AnyDeployEvent): void {
    if (this.mode === 'json') {
      if (!isFleetEvent(event)) this.ciEvent(event);
      // `time` is Capstan's clock, not input: a secret `2026` (a port) must not break every timestamp.
      this.out.write(
        JSON.stringify({ time: new Date().toISOString(), ...this.redactor.event(event) }) + '\n',
      );
      return;
    }
    if (isFleetEvent(event)) {
      this.out.write(this.redactor.text(`${event.type} ${JSON.stringify(event)}`) + '\n');
      return;
    }
    this.ciEvent(event);
    if (this.mode === 'tty') this.ttyEvent(event);
    else this.plainEvent(event);
  }

  /** What the CI conventions need, whatever the output mode: annotations and the timeline. */
  private ciEvent(event: DeployEvent | RollbackEvent): void {
    switch (event.type) {
      case 'deploy-started':
        this.title = `capstan ${event.dryRun ? 'dry run of' : 'deploy of'} ${event.app} to ${event.env}`;
        this.rows.push(
          ...event.phases.map((phase) => ({ phase, objects: 0, outcome: 'not started', startedAt: 0 })),
        );
        break;
      case 'rollback-started':
        // After a failed deploy (--rollback-on-failure) the deploy is closed first, as its own operation.
        if (this.finished) this.end();
        this.rows.length = 0;
        this.title = `capstan rollback of ${event.app} in ${event.env} to release ${event.target}`;
        this.operation = 'rollback';
        break;
      case 'phase-started': {
        const row = { phase: event.phase, objects: event.objects, outcome: 'running', startedAt: this.now() };
        const at = this.rows.findIndex((r) => r.phase === event.phase);
        if (at === -1) this.rows.push(row);
        else this.rows[at] = row;
        break;
      }
      case 'phase-finished': {
        const at = this.rows.findIndex((r) => r.phase === event.phase);
        if (at !== -1)
          this.rows[at] = { ...this.rows[at], outcome: 'succeeded', durationMs: event.durationMs };
        break;
      }
      case 'object-failed': {
        const cause = event.diagnosis ? `\nMost likely cause: ${event.diagnosis.mostLikelyCause}` : '';
        this.annotate(
          `${refOf(event.object)}: ${event.message}${cause}`,
          `${refOf(event.object)} failed in phase ${event.phase}`,
          event.source,
        );
        break;
      }
      case 'deploy-finished':
        // Closed by end(), once it is known whether reportError explains it.
        this.finished = event;
        break;
      default:
        break;
    }
  }

  /**
   * Closes the deploy or rollback the events told, once its function returned or threw: the
   * closing line, the annotation and the step summary. A refusal that returns (the scheduling
   * preflight, a held lock) is explained here, in every output. `error` is what the function threw
   * after its last event: reportError prints that message and hint on standard error (and under
   * GitHub Actions annotates invalid input issue by issue), so here it is not said again.
   */
  end(error?: unknown): void {
    const event = this.finished;
    if (!event) return;
    this.finished = undefined;
    const toldByError = error !== undefined;
    const annotatedByError = toldByError && this.ci === 'github' && isInputError(error);
    if (event.outcome !== 'succeeded' && !annotatedByError)
      this.annotate(
        event.message ?? `${this.operation} ${event.outcome}`,
        `capstan ${this.operation} ${event.outcome}`,
      );
    this.writeStepSummary(event);
    if (this.mode !== 'json') this.finishedLines(event, toldByError);
  }

  /** Runs a deploy or rollback to its end: `end()` when it returns, `end(error)` when it throws. */
  async settle<T>(run: Promise<T>): Promise<T> {
    try {
      const result = await run;
      this.end();
      return result;
    } catch (error) {
      this.end(error);
      throw error;
    }
  }

  private ttyEvent(event: DeployEvent | RollbackEvent): void {
    const c = this.c;
    switch (event.type) {
      case 'phase-started':
        this.freezePhase(c.yellow('■'), 'ended');
        this.phase = new PhaseProgress(event.phase, event.objects, this.now());
        this.redraw();
        this.startTimer();
        return;
      case 'object-applied':
        this.phase?.applied(event.object, event.action);
        if (!this.timer) this.redraw();
        return;
      case 'object-waiting':
        this.phase?.waitingFor(refOf(event.object), event.message);
        if (!this.timer) this.redraw();
        return;
      case 'object-ready':
        this.phase?.ready(event.object, refOf(event.object));
        if (!this.timer) this.redraw();
        return;
      case 'object-failed': {
        const phase = this.phase;
        if (phase) {
          phase.done(refOf(event.object));
          phase.failed = true;
          this.freezePhase(c.red('✗'), phase.summary(this.now()));
        }
        this.failureLines(event);
        return;
      }
      case 'phase-finished': {
        const phase = this.phase;
        if (phase?.name === event.phase) this.freezePhase(c.green('✓'), phase.finished(event.durationMs));
        else this.line(c.green(`✓ ${event.phase}  ready in ${formatSeconds(event.durationMs)}`));
        return;
      }
      case 'deploy-finished':
        if (this.phase) this.freezePhase(c.red('✗'), this.phase.summary(this.now()));
        this.stopTimer();
        this.clearLive();
        return;
      default:
        this.commonEvent(event);
    }
  }

  private plainEvent(event: DeployEvent | RollbackEvent): void {
    switch (event.type) {
      case 'phase-started': {
        const header = `▶ phase ${event.phase} (${countWord(event.objects, 'object')})`;
        if (this.ci === 'gitlab') this.openSection(event.phase, header);
        else this.write(header);
        return;
      }
      case 'object-applied':
        this.write(`  applied ${refOf(event.object)} ${event.action}`);
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
        this.closeSection();
        return;
      case 'deploy-finished':
        this.closeSection();
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
  private finishedLines(event: DeployFinished, toldByError: boolean): void {
    const c = this.c;
    this.clearLive();
    const ok = event.outcome === 'succeeded';
    const at = c.dim(`(${formatSeconds(event.durationMs)}, ${deployIdOf(event)})`);
    if (ok) {
      this.write(`${c.green(`✓ ${event.message ?? `${this.operation} succeeded`}`)} ${at}`);
      return;
    }
    const closing = `${this.operation} ${event.outcome}`;
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
            `validated ${countWord(event.objects, 'object')} with a server-side dry run in ${formatSeconds(event.durationMs)}`,
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

const FLEET_EVENTS = new Set([
  'fleet-started',
  'wave-started',
  'soak-started',
  'wave-finished',
  'fleet-finished',
]);

/** The events of a multi-cluster deploy that are about the fleet, not one cluster. */
export function isFleetEvent(event: AnyDeployEvent): event is FleetEvent {
  return FLEET_EVENTS.has(event.type);
}
