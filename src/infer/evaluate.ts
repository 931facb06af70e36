/**
 * `bnn-ablate evaluate <exported-dir>`: the exported (packed) network scored on the validation
 * split of the run's own config (`--set` overrides applied, e.g. data.root), by the same
 * `evaluate` the trainer uses, beside the metrics the trained model recorded in final.json.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { applyOverrides, parseSetFlags, type RunConfig } from '../config/index.ts';
import { checkConsistency } from '../config/consistency.ts';
import { ConfigError, UsageError } from '../errors.ts';
import { createDataset } from '../data/index.ts';
import { evaluate, type EvalMetrics } from '../train/evaluate.ts';
import { EXPORT_CONFIG } from '../export/manifest.ts';
import type { BinaryConvEngine } from './engine.ts';
import { loadExported, type LoadOptions } from './load.ts';

export interface ExportEvaluation {
  /** Metrics of the exported network. */
  metrics: Omit<EvalMetrics, 'task'>;
  /** The trained model's final.json metrics (null when the run recorded none). */
  trained: Record<string, unknown> | null;
  /** Whether every metric equals the trained model's exactly (null when there is nothing to compare). */
  identical: boolean | null;
  /**
   * Whether every prediction metric (all but val_loss) is identical. With α = 1 the binary sums
   * are exact in both paths and everything matches; with a float α the trained conv summed ±α
   * with a rounding per add while the export rounds α·Σ once, so the loss may differ in the last
   * bits while the predictions (argmax, heatmap peaks) stay the same.
   */
  predictionsIdentical: boolean | null;
  /** Metric keys that differ. */
  differing: string[];
  /** |val_loss − trained val_loss| / |trained val_loss| (null without a trained value). */
  valLossRelDiff: number | null;
  engine: string;
}

/** The export's stored config with `--set` overrides applied. */
export function exportConfig(dir: string, sets: readonly string[]): RunConfig {
  const path = join(resolve(dir), EXPORT_CONFIG);
  const overrides = parseSetFlags(sets);
  const fixed = overrides.find((o) => /^(model|binarize|progressive)\./.test(o.key));
  if (fixed) throw new UsageError(`--set ${fixed.key}: the exported network is fixed; only data, eval and seed keys can change`);
  const config = applyOverrides(parseYaml(readFileSync(path, 'utf8')) as RunConfig, overrides);
  const problem = checkConsistency(config);
  if (problem) throw new ConfigError(problem, { file: path });
  return config;
}

export async function evaluateExport(dir: string, opts: { sets: readonly string[]; engine: BinaryConvEngine } & LoadOptions): Promise<ExportEvaluation> {
  const config = exportConfig(dir, opts.sets);
  const loaded = await loadExported(dir, opts.engine, { fuseBlocks: opts.fuseBlocks });
  try {
    const dataset = await createDataset(config);
    const { task: _task, ...metrics } = await evaluate(loaded.model, dataset,
      { batchSize: config.eval.batch_size, pckhThreshold: config.eval.pckh_threshold, seed: config.seed });
    // Overridden data is other data: the trained model's numbers no longer describe it.
    const trained = opts.sets.length > 0 ? null : (loaded.manifest.trained?.metrics ?? null) as Record<string, unknown> | null;
    const differing = trained === null ? [] : Object.keys(metrics).filter((k) =>
      JSON.stringify((metrics as Record<string, unknown>)[k]) !== JSON.stringify(trained[k]));
    const trainedLoss = Number(trained?.val_loss);
    return {
      metrics, trained, differing, engine: opts.engine.name,
      identical: trained === null ? null : differing.length === 0,
      predictionsIdentical: trained === null ? null : differing.every((k) => k === 'val_loss'),
      valLossRelDiff: Number.isFinite(trainedLoss) ? Math.abs(metrics.val_loss - trainedLoss) / Math.max(Math.abs(trainedLoss), 1e-30) : null,
    };
  } finally {
    loaded.model.dispose();
  }
}

/** What `bnn-ablate evaluate` prints: the export's metrics beside the trained ones, and the verdict. */
export function formatEvaluation(r: ExportEvaluation, runId: string, backend: string, engineReason?: string): string {
  const lines = [`# ${runId} (export, engine ${r.engine}${engineReason ? ` [${engineReason}]` : ''}, backend ${backend})`];
  for (const [k, v] of Object.entries(r.metrics)) {
    const t = r.trained?.[k];
    lines.push(`${k.padEnd(16)} ${JSON.stringify(v)}${t === undefined ? '' : `   trained: ${JSON.stringify(t)}`}`);
  }
  const verdict = r.identical === null ? 'not compared (no trained metrics, or --set changed the data)'
    : r.identical ? 'identical to the trained model'
      : r.predictionsIdentical ? `predictions identical; val_loss differs by ${r.valLossRelDiff!.toExponential(2)} (relative: float α rounds differently)`
        : `DIFFERS from the trained model in ${r.differing.join(', ')}`;
  lines.push(verdict);
  return `${lines.join('\n')}\n`;
}
