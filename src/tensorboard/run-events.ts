/**
 * What of a run TensorBoard shows, from the records the trainer already makes: each metrics.jsonl
 * record becomes scalars (train/*, val/*, binary/* totals, layer_<signal>/<layer>), and the
 * latent-weight histograms of the binary layers (latent_weights/<layer>) come beside it.
 */
import type { Histogram } from './events.ts';
import { EventWriter } from './writer.ts';

/** Record fields logged under train/ (the rest of the numbers are validation metrics). */
const TRAIN_KEYS: Record<string, string> = { loss: 'train/loss', lr: 'train/lr', lambda: 'train/lambda', images_per_s: 'train/images_per_s' };
/** Bookkeeping, not curves: the step is the x axis; the PCKh threshold is a constant. */
const SKIPPED = new Set(['step', 'epoch', 'elapsed_s', 'pckh_threshold']);
/** Tag prefix of each nested record field (diag is split below). */
const NESTED: Record<string, string> = { pckh_columns: 'val/pckh' };

/** Every finite number of an evaluation record under its TensorBoard tag; nested objects add levels. */
export function recordScalars(record: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (value: unknown, tag: string) => {
    if (typeof value === 'number' && Number.isFinite(value)) out[tag] = value;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, `${tag}/${k}`);
    }
  };
  for (const [key, value] of Object.entries(record)) {
    if (SKIPPED.has(key)) continue;
    if (key === 'diag' && value !== null && typeof value === 'object') {
      const { layers, ...totals } = value as { layers?: Record<string, Record<string, unknown>> };
      walk(totals, 'binary');
      // Per layer, one TensorBoard group per signal (`layer_flip_ratio/<layer>`), so a group
      // compares the layers on one signal rather than mixing four signals of one layer.
      for (const [layer, signals] of Object.entries(layers ?? {})) {
        for (const [signal, v] of Object.entries(signals)) walk(v, `layer_${signal}/${layer}`);
      }
      continue;
    }
    if (key in TRAIN_KEYS) walk(value, TRAIN_KEYS[key]!);
    else if (key in NESTED) walk(value, NESTED[key]!);
    else walk(value, key === 'val_loss' ? 'val/loss' : `val/${key}`);
  }
  return out;
}

/**
 * A run's event stream across its life in one process: opened at the step training continues
 * from (`start`, or lazily at 0 on the first write), then one scalars event and one histograms
 * event per evaluation.
 */
export class RunEvents {
  private writer: EventWriter | null = null;

  constructor(private readonly runDir: string, private readonly runName: string) {}

  start(step: number): void {
    this.writer?.close();
    this.writer = new EventWriter(this.runDir, this.runName, step);
  }

  evaluation(record: Record<string, unknown> & { step: number }, histograms: Record<string, Histogram> = {}): void {
    if (this.writer === null) this.start(0);
    this.writer!.scalars(record.step, recordScalars(record));
    this.writer!.histograms(record.step, Object.fromEntries(Object.entries(histograms).map(([layer, h]) => [`latent_weights/${layer}`, h])));
  }

  close(): void {
    this.writer?.close();
    this.writer = null;
  }
}
