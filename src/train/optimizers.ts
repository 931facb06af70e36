import * as tf from '@tensorflow/tfjs';

export interface OptimizerConfig {
  optimizer: string;
  lr: number;
  momentum: number;
}

/** RMSprop decay (ρ) and ε: PyTorch's defaults, which the pose literature's Torch code used. */
export const RMSPROP_DECAY = 0.99;
export const RMSPROP_EPSILON = 1e-8;
/** Adam β1, β2, ε: the usual defaults. */
export const ADAM_BETAS = [0.9, 0.999] as const;
export const ADAM_EPSILON = 1e-8;

/**
 * The optimizer a run config names. The learning rate is set every step by `setLearningRate`
 * (schedules live in schedules.ts), so the value passed here is only the starting one.
 */
export function createOptimizer(cfg: OptimizerConfig): tf.Optimizer {
  switch (cfg.optimizer) {
    case 'adam':
      return tf.train.adam(cfg.lr, ADAM_BETAS[0], ADAM_BETAS[1], ADAM_EPSILON);
    case 'rmsprop':
      return tf.train.rmsprop(cfg.lr, RMSPROP_DECAY, 0, RMSPROP_EPSILON);
    case 'sgd':
      return cfg.momentum > 0 ? tf.train.momentum(cfg.lr, cfg.momentum) : tf.train.sgd(cfg.lr);
    default:
      throw new Error(`unknown optimizer '${cfg.optimizer}'`);
  }
}

/**
 * tfjs optimizers read their `learningRate` field on every `applyGradients`, but declare it
 * protected; writing it is how a schedule changes the rate without rebuilding optimizer state.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}
