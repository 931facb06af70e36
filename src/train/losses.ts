import * as tf from '@tensorflow/tfjs';

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
