import tf from '../tf.cjs';
import type { Batch, Dataset, PoseScorer } from '../data/types.ts';
import { decodeHeatmaps } from '../data/heatmaps.ts';
import { PckhAccumulator, type PckhColumn } from '../metrics/pckh.ts';
import { AccuracyMeter } from '../metrics/accuracy.ts';
import { batchTensors, forward } from './batches.ts';
import { classificationLoss, poseLoss } from './losses.ts';

/** Validation metrics in percent (PCKh, top-k) plus the validation loss. */
export type EvalMetrics =
  | { task: 'pose'; val_loss: number; pckh: number; pckh_columns: Record<PckhColumn, number | null>; pckh_variant: string; pckh_threshold: number; pck_left_out?: number }
  | { task: 'classification'; val_loss: number; top1: number; top5: number };

export interface EvalOptions {
  batchSize: number;
  pckhThreshold: number;
  seed: number;
}

/**
 * Scores `model` on the whole validation split in inference mode (BatchNorm running statistics,
 * hard sign unless configured otherwise). Pose joints come from the last stack's heatmaps,
 * mapped back to original image coordinates before PCKh.
 */
export async function evaluate(model: tf.LayersModel, dataset: Dataset, options: EvalOptions): Promise<EvalMetrics> {
  const pckh = new PckhAccumulator();
  // Sets with their own metric (coco-keypoints: PCK@α torso / head / bbox); MPII PCKh otherwise.
  const scorer = dataset.task === 'pose' ? dataset.createScorer?.() : undefined;
  const accuracy = new AccuracyMeter();
  let lossSum = 0;
  let seen = 0;
  const batches = dataset.batches('val', { batchSize: options.batchSize, seed: options.seed, epoch: 0, shuffle: false, dropLast: false });
  for await (const batch of batches) {
    const kept = tf.tidy(() => {
      const t = batchTensors(batch, dataset);
      const outputs = forward(model, t.images, false);
      const batchLoss = t.kind === 'pose' ? poseLoss(outputs as tf.Tensor4D[], t.heatmaps, t.weights) : classificationLoss(outputs[0] as tf.Tensor2D, t.labels);
      return [batchLoss, outputs[outputs.length - 1]!];
    });
    // Read asynchronously: webgpu cannot read synchronously under Node (see step.ts).
    const [lossValues, outputValues] = await Promise.all(kept.map((k) => k.data()));
    tf.dispose(kept);
    const loss = lossValues![0]!;
    const output = outputValues as Float32Array;
    lossSum += loss * batch.size;
    seen += batch.size;
    score(batch, output, dataset, scorer ?? pckh, accuracy);
  }
  const valLoss = seen === 0 ? Number.NaN : lossSum / seen;
  if (scorer) {
    const r = scorer.result();
    return { task: 'pose', val_loss: valLoss, pckh: r.mean, pckh_columns: r.columns as Record<PckhColumn, number | null>, pckh_variant: r.variant, pckh_threshold: r.threshold, pck_left_out: r.leftOut };
  }
  if (dataset.task === 'pose') {
    const r = pckh.result({ threshold: options.pckhThreshold });
    const columns = Object.fromEntries(Object.entries(r.columns).map(([k, v]) => [k, Number.isFinite(v) ? v : null])) as Record<PckhColumn, number | null>;
    return { task: 'pose', val_loss: valLoss, pckh: r.columns.Mean, pckh_columns: columns, pckh_variant: r.variant, pckh_threshold: r.threshold };
  }
  const a = accuracy.result();
  return { task: 'classification', val_loss: valLoss, top1: 100 * a.top1, top5: 100 * a.top5 };
}

function score(batch: Batch, output: Float32Array, dataset: Dataset, pckh: PckhAccumulator | PoseScorer, accuracy: AccuracyMeter): void {
  if (batch.kind === 'pose') {
    const pred = decodeHeatmaps(output, {
      inputSize: dataset.inputShape[0],
      heatmapSize: dataset.heatmapSize!,
      toOriginal: batch.toOriginal,
      numJoints: dataset.numJoints,
    });
    if (pckh instanceof PckhAccumulator) pckh.add({ pred, gt: batch.joints, visible: batch.visible, headBoxes: batch.headBoxes });
    else pckh.add(batch, pred);
  } else {
    accuracy.add(output, batch.labels, dataset.numClasses!);
  }
}
