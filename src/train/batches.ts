import tf from '../tf.cjs';
import type { Batch } from '../data/types.ts';

/** A batch as tensors; create inside tf.tidy so they are freed with the step. */
export type BatchTensors =
  | { kind: 'pose'; images: tf.Tensor4D; heatmaps: tf.Tensor4D; weights: tf.Tensor2D }
  | { kind: 'classification'; images: tf.Tensor4D; labels: tf.Tensor1D };

/** Shapes a dataset promises: [H, W, C] inputs and, for pose, S×S heatmaps. */
export interface BatchShape {
  inputShape: readonly [number, number, number];
  heatmapSize?: number;
}

export function batchTensors(batch: Batch, shape: BatchShape): BatchTensors {
  const n = batch.size;
  const images = tf.tensor4d(batch.images, [n, ...shape.inputShape]);
  if (batch.kind === 'pose') {
    const joints = batch.weights.length / n;
    const s = shape.heatmapSize!;
    return { kind: 'pose', images, heatmaps: tf.tensor4d(batch.heatmaps, [n, s, s, joints]), weights: tf.tensor2d(batch.weights, [n, joints]) };
  }
  return { kind: 'classification', images, labels: tf.tensor1d(batch.labels, 'int32') };
}

/** Every output of the model as a list (HourGlass: one per stack; classifiers: the logits). */
export function forward(model: tf.LayersModel, images: tf.Tensor4D, training: boolean): tf.Tensor[] {
  const out = training ? model.apply(images, { training: true }) : model.predict(images);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}
