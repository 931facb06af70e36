import tf from '../tf.cjs';

/**
 * Pose loss with intermediate supervision: the visibility-weighted MSE of every stack's heatmaps
 * against the target, summed over stacks (Newell et al.; every stack gets the full signal).
 * heatmaps/target: [B, S, S, J]; weights: [B, J] (0 drops a joint that is not annotated).
 */
export function poseLoss(stacks: tf.Tensor4D[], target: tf.Tensor4D, weights: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const w = weights.reshape([weights.shape[0], 1, 1, weights.shape[1]]);
    const perStack = stacks.map((pred) => tf.mean(tf.mul(tf.squaredDifference(pred, target), w)));
    return tf.addN(perStack) as tf.Scalar;
  });
}

/** Softmax cross-entropy of logits [B, K] against integer labels [B]. */
export function classificationLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels.toInt(), logits.shape[1]).toFloat();
    return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
  });
}

/**
 * Pose distillation: (1 − w)·MSE to the ground truth + w·MSE to the teacher's heatmaps, for every
 * student stack. The teacher term weighs every joint: the teacher has an opinion even where the
 * annotation is missing.
 */
export function poseDistillationLoss(stacks: tf.Tensor4D[], target: tf.Tensor4D, weights: tf.Tensor2D,
  teacher: tf.Tensor4D, w: number): tf.Scalar {
  return tf.tidy(() => {
    const gt = poseLoss(stacks, target, weights);
    const soft = poseLoss(stacks, teacher, tf.onesLike(weights));
    return tf.add(tf.mul(1 - w, gt), tf.mul(w, soft)) as tf.Scalar;
  });
}

/**
 * Hinton et al. knowledge distillation: (1 − w)·CE(labels) + w·T²·KL(softmax(t/T) ‖ softmax(s/T)).
 * The T² keeps the soft term's gradient scale independent of the temperature.
 */
export function classificationDistillationLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, teacherLogits: tf.Tensor2D,
  w: number, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const ce = classificationLoss(logits, labels);
    const logP = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const logQ = tf.logSoftmax(tf.div(logits, temperature));
    const kl = tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1));
    return tf.add(tf.mul(1 - w, ce), tf.mul(w * temperature * temperature, kl)) as tf.Scalar;
  });
}
