import type { DeployEvent, EventObject } from '../deploy/index.js';
import type { RollbackEvent } from '../release/index.js';
import { Redactor } from '../secrets/index.js';

export type OutputMode = 'tty' | 'plain' | 'json';

const color = (enabled: boolean) => {
  const wrap = (code: string) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { green: wrap('32'), red: wrap('31'), yellow: wrap('33'), dim: wrap('2'), bold: wrap('1'), cyan: wrap('36') };
};

export function refOf(o: EventObject): string {
  return `${o.kind}/${o.name}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Draws deploy and rollback events: on a terminal, finished lines scroll above a live block of
 * what each object still waits for; without one, one line per state change; or JSON lines.
 * Every line it writes is redacted as text; a JSON line is redacted field by field before it is
 * serialized, so it stays the same JSON.
 */
export class Reporter {
  private readonly c;
  private readonly waiting = new Map<string, string>();
  private drawn = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly mode: OutputMode,
    private readonly redactor: Pick<Redactor, 'text' | 'event'> = new Redactor(),
  ) {
    this.c = color(mode === 'tty');
  }

  private write(line: string): void {
    this.out.write(this.redactor.text(line) + '\n');
  }

  private clearLive(): void {
    if (this.mode !== 'tty' || this.drawn === 0) return;
    this.out.write(`\u001b[${this.drawn}A\u001b[0J`);
    this.drawn = 0;
  }

  private drawLive(): void {
    if (this.mode !== 'tty') return;
    const lines = [...this.waiting.entries()].slice(0, 20).map(([ref, msg]) => `  ${this.c.yellow('…')} ${ref}: ${this.c.dim(msg)}`);
    if (this.waiting.size > 20) lines.push(this.c.dim(`  … and ${this.waiting.size - 20} more`));
    for (const line of lines) this.out.write(this.redactor.text(line) + '\n');
    this.drawn = lines.length;
  }

  private line(text: string): void {
    this.clearLive();
    this.write(text);
    this.drawLive();
  }

  event(event: DeployEvent | RollbackEvent): void {
    if (this.mode === 'json') {
      // `time` is Capstan's clock, not input: a secret `2026` (a port) must not break every timestamp.
      this.out.write(JSON.stringify({ time: new Date().toISOString(), ...this.redactor.event(event) }) + '\n');
      return;
    }
    const c = this.c;
    switch (event.type) {
      case 'rollback-started':
        this.line(
          c.bold(`Rolling back ${event.app} in ${event.env} (namespace ${event.namespace}) to release ${event.target}, as release ${event.revision}${event.images.length ? `, image ${event.images.join(', ')}` : ''}`),
        );
        break;
      case 'deploy-started':
        this.line(c.bold(`${event.dryRun ? 'Dry run of' : 'Deploying'} ${event.app} to ${event.env} (namespace ${event.namespace}), revision ${event.revision}${event.image ? `, image ${event.image}` : ''}`));
        break;
      case 'validation-finished':
        this.line(c.dim(`validated ${event.objects} objects with a server-side dry run in ${seconds(event.durationMs)}`));
        break;
      case 'phase-started':
        this.line(c.cyan(`▶ phase ${event.phase} (${event.objects} objects)`));
        break;
      case 'object-applied':
        if (this.mode === 'plain' || event.action !== 'unchanged') this.line(`  ${c.dim('applied')} ${refOf(event.object)} ${c.dim(event.action)}`);
        break;
      case 'object-waiting':
        this.waiting.set(refOf(event.object), event.message);
        if (this.mode === 'plain') this.write(`  waiting ${refOf(event.object)}: ${event.message}`);
        else {
          this.clearLive();
          this.drawLive();
        }
        break;
      case 'object-ready':
        this.waiting.delete(refOf(event.object));
        this.line(`  ${c.green('✓')} ${refOf(event.object)} ${c.dim(event.message)}`);
        break;
      case 'object-failed':
        this.waiting.delete(refOf(event.object));
        this.line(`  ${c.red('✗')} ${refOf(event.object)}: ${event.message}`);
        if (event.diagnosisText) this.line(event.diagnosisText.split('\n').map((l) => `    ${l}`).join('\n'));
        break;
      case 'log':
        this.line(`  ${c.dim(`[${event.object.name}]`)} ${event.line}`);
        break;
      case 'phase-finished':
        this.line(c.dim(`  phase ${event.phase} done in ${seconds(event.durationMs)}`));
        break;
      case 'object-pruned':
        this.line(`  ${c.yellow('-')} pruned ${refOf(event.object)}`);
        break;
      case 'plan': {
        const list = (label: string, items: EventObject[]) => {
          if (items.length) this.line(`${label} (${items.length}):\n${items.map((o) => `  ${refOf(o)}`).join('\n')}`);
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
      case 'deploy-finished': {
        this.waiting.clear();
        this.clearLive();
        const ok = event.outcome === 'succeeded';
        // Invalid input is explained on standard error, issue by issue; this line only closes the deploy.
        const why = event.outcome === 'invalid' ? 'nothing was applied' : (event.message ?? '');
        const head = ok ? c.green(`✓ ${event.message ?? 'deploy succeeded'}`) : c.red(`✗ deploy ${event.outcome}: ${why}`);
        this.write(`${head} ${c.dim(`(${seconds(event.durationMs)}, revision ${event.revision})`)}`);
        if (!ok && event.notApplied.length > 0 && event.applied.length > 0) {
          this.write(c.dim(`applied: ${event.applied.length} objects; not applied: ${event.notApplied.map(refOf).join(', ')}`));
        }
        break;
      }
    }
  }
}
