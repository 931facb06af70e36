import tf from '../tf.cjs';
import {
  FusedAdamOptimizer, FusedMomentumOptimizer, FusedRMSPropOptimizer, FusedSGDOptimizer,
} from '../backend/fused-optimizers.ts';

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
 * These are tfjs's optimizer classes with a fused update on cpu and wasm (one kernel per variable
 * instead of up to 17 ops, bit-identical results, same slots and checkpoint format:
 * src/backend/fused-optimizers.ts).
 */
export function createOptimizer(cfg: OptimizerConfig): tf.Optimizer {
  switch (cfg.optimizer) {
    case 'adam':
      return new FusedAdamOptimizer(cfg.lr, ADAM_BETAS[0], ADAM_BETAS[1], ADAM_EPSILON);
    case 'rmsprop':
      return new FusedRMSPropOptimizer(cfg.lr, RMSPROP_DECAY, 0, RMSPROP_EPSILON);
    case 'sgd':
      return cfg.momentum > 0 ? new FusedMomentumOptimizer(cfg.lr, cfg.momentum) : new FusedSGDOptimizer(cfg.lr);
    default:
      throw new Error(`unknown optimizer '${cfg.optimizer}'`);
  }
}

/**
 * tfjs's Adam and RMSprop read their `learningRate` field on every `applyGradients`, but declare
 * it protected; writing it is how a schedule changes the rate without rebuilding optimizer state.
 * SGD and momentum multiply by a scalar tensor c = −lr instead, which only their public
 * setLearningRate renews: writing the field alone left them at the starting rate.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // Not instanceof: tfjs's Optimizer defines Symbol.hasInstance as "has minimize()", for every subclass.
  if (Object.prototype.isPrototypeOf.call(tf.SGDOptimizer.prototype, optimizer)) {
    const sgd = optimizer as tf.SGDOptimizer;
    if ((sgd as unknown as { learningRate: number }).learningRate !== lr) sgd.setLearningRate(lr);
    return;
  }
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}
