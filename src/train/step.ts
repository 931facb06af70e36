import tf from '../tf.cjs';
import type { RunConfig } from '../config/schema.ts';
import type { Batch, Dataset } from '../data/types.ts';
import type { BinaryModel } from '../models/index.ts';
import { batchTensors, forward } from './batches.ts';
import { classificationDistillationLoss, classificationLoss, poseDistillationLoss, poseLoss } from './losses.ts';

/**
 * One optimizer step — forward, loss (with distillation and weight decay when configured),
 * backward, update, latent-weight clipping — returning the loss. The trainer and `bench` share
 * it, so a benchmark times exactly what training runs. Async because the loss is read with
 * `data()`: the webgpu backend cannot read synchronously under Node (its dataSync needs a
 * browser's OffscreenCanvas), and on the CPU backends the two are the same read.
 */
export type TrainStep = (batch: Batch) => Promise<number>;

export function makeTrainStep(config: RunConfig, dataset: Dataset, built: BinaryModel, optimizer: tf.Optimizer,
  teacher?: BinaryModel): TrainStep {
  const model = built.model;
  const t = config.train;
  // An explicit list, in layer order, so optimizer slots restore by position after a resume.
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  // By the layer's own name: tfjs makes `name` unique per process, so the second model a pooled
  // worker builds has `conv/kernel_1` (and no decay at all, by `name`).
  const decayed = model.trainableWeights.filter((w) => w.originalName.endsWith('kernel')).map((w) => w.read());

  const lossOf = (batch: Batch): tf.Scalar => {
    const b = batchTensors(batch, dataset);
    const outputs = forward(model, b.images, true);
    const teacherOut = teacher ? forward(teacher.model, b.images, false) : undefined;
    let loss: tf.Scalar;
    if (b.kind === 'pose') {
      const stacks = outputs as tf.Tensor4D[];
      loss = teacherOut
        ? poseDistillationLoss(stacks, b.heatmaps, b.weights, teacherOut[teacherOut.length - 1] as tf.Tensor4D, config.distill.weight)
        : poseLoss(stacks, b.heatmaps, b.weights);
    } else {
      const logits = outputs[0] as tf.Tensor2D;
      loss = teacherOut
        ? classificationDistillationLoss(logits, b.labels, teacherOut[0] as tf.Tensor2D, config.distill.weight, config.distill.temperature)
        : classificationLoss(logits, b.labels);
    }
    if (t.weight_decay > 0) loss = tf.add(loss, tf.mul(0.5 * t.weight_decay, tf.addN(decayed.map((w) => tf.sum(tf.square(w)))))) as tf.Scalar;
    return loss;
  };

  return async (batch) => {
    const lossTensor = tf.tidy(() => optimizer.minimize(() => lossOf(batch), true, variables)!);
    const loss = (await lossTensor.data())[0]!;
    lossTensor.dispose();
    built.afterStep();
    return loss;
  };
}
