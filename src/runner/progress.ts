import cliProgress from 'cli-progress';
import type { WorkerMessage } from './run-one.ts';

/** A run as the display knows it. */
export interface RunLabel {
  key: string;
  experiment: string;
  id: string;
  name: string;
}

export type RunEnd = 'done' | 'failed' | 'interrupted' | 'blocked';

/** What the runner tells the user while a grid trains. */
export interface ProgressDisplay {
  gridStart(total: number, skipped: number): void;
  runStart(run: RunLabel): void;
  message(run: RunLabel, message: WorkerMessage): void;
  runEnd(run: RunLabel, status: RunEnd, detail: string): void;
  /** A line about the grid as a whole (e.g. runs left to another process). */
  note?(text: string): void;
  stop(): void;
}

/** Live bars on a terminal, plain log lines otherwise (CI logs, pipes). */
export function createDisplay(stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  return stream.isTTY ? new BarDisplay(stream) : new LineDisplay(stream);
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

export class LineDisplay implements ProgressDisplay {
  private total = 0;
  private finished = 0;
  constructor(private readonly out: { write(s: string): unknown }) {}

  gridStart(total: number, skipped: number): void {
    this.total = total;
    this.out.write(`grid: ${total} runs to train${skipped ? `, ${skipped} already done (skipped)` : ''}\n`);
  }

  runStart(run: RunLabel): void {
    this.out.write(`start ${run.experiment}/${run.id} ${run.name}\n`);
  }

  message(run: RunLabel, m: WorkerMessage): void {
    if (m.type === 'started') this.out.write(`      ${run.id} on ${m.backend}\n`);
    if (m.type === 'eval') this.out.write(`      ${run.id} step ${m.step}: ${m.metric} ${fmt(m.value)}\n`);
  }

  runEnd(run: RunLabel, status: RunEnd, detail: string): void {
    this.finished++;
    this.out.write(`[${this.finished}/${this.total}] ${status} ${run.experiment}/${run.id} ${run.name}${detail ? `: ${detail}` : ''}\n`);
  }

  note(text: string): void {
    this.out.write(`${text}\n`);
  }

  stop(): void {}
}

class BarDisplay implements ProgressDisplay {
  private readonly multi: cliProgress.MultiBar;
  private grid?: cliProgress.SingleBar;
  private readonly bars = new Map<string, cliProgress.SingleBar>();

  constructor(stream: NodeJS.WriteStream) {
    this.multi = new cliProgress.MultiBar({
      stream,
      hideCursor: true,
      clearOnComplete: false,
      format: '{label} |{bar}| {value}/{total} {info}',
      barsize: 24,
    }, cliProgress.Presets.shades_classic);
  }

  gridStart(total: number, skipped: number): void {
    this.grid = this.multi.create(total, 0, { label: 'grid'.padEnd(28), info: skipped ? `(${skipped} done earlier)` : '' },
      { format: '{label} |{bar}| {value}/{total} runs  ETA {eta_formatted} {info}' });
  }

  runStart(run: RunLabel): void {
    this.bars.set(run.key, this.multi.create(1, 0, { label: run.name.slice(0, 28).padEnd(28), info: 'starting' }));
  }

  message(run: RunLabel, m: WorkerMessage): void {
    const bar = this.bars.get(run.key);
    if (!bar) return;
    if (m.type === 'progress') {
      bar.setTotal(m.total);
      bar.update(m.step, { info: `${m.stage}  loss ${m.loss.toExponential(2)}  ${fmt(m.imagesPerSecond)} img/s` });
    } else if (m.type === 'eval') {
      this.multi.log(`${run.id} ${run.name} step ${m.step}: ${m.metric} ${fmt(m.value)}\n`);
    }
  }

  runEnd(run: RunLabel, status: RunEnd, detail: string): void {
    const bar = this.bars.get(run.key);
    if (bar) { this.multi.remove(bar); this.bars.delete(run.key); }
    this.grid?.increment();
    this.multi.log(`${status} ${run.experiment}/${run.id} ${run.name}${detail ? `: ${detail}` : ''}\n`);
  }

  note(text: string): void {
    this.multi.log(`${text}\n`);
  }

  stop(): void {
    this.multi.stop();
  }
}
