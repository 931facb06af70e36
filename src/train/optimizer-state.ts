import tf from '../tf.cjs';

/**
 * An optimizer's whole state as stored values, for checkpoints that resume bit for bit.
 *
 * tfjs's getWeights() holds the iteration count and the slots, but not every value the update
 * reads: Adam's bias-correction accumulators β1^t and β2^t are float32 variables multiplied up by
 * β once per step, and setWeights() recomputes them with pow(β, t + 1), which differs from the
 * product in the last bit at many steps (already at t = 2 for β2 = 0.999). A resumed run then
 * drifted from one that never stopped. So the scalars that getWeights() leaves out are saved
 * next to the slots under reserved names and written back after setWeights().
 *
 * SGD's c = −lr and momentum's m are functions of the config and the schedule (renewed by
 * setLearningRate before every step), and RMSprop keeps nothing outside its slots, so Adam is
 * the only optimizer with extra scalars.
 */

/** Prefix of the saved entries that are not tfjs slots; no variable name starts with it. */
const EXTRA_PREFIX = '__optimizer_state__/';

/** Scalar variables that getWeights() omits, per tfjs class name (fields of the instance). */
const EXTRA_SCALARS: Readonly<Record<string, readonly string[]>> = {
  Adam: ['accBeta1', 'accBeta2'],
};

type Fields = Record<string, tf.Variable | undefined>;
/** A saved value and its name (tfjs's NamedTensor, which the package does not export). */
export interface NamedTensor { name: string; tensor: tf.Tensor }

function extraFields(optimizer: tf.Optimizer): readonly string[] {
  return EXTRA_SCALARS[optimizer.getClassName()] ?? [];
}

/** The slots (getWeights) followed by the extra scalars, as tensors owned by the optimizer. */
export async function optimizerState(optimizer: tf.Optimizer): Promise<NamedTensor[]> {
  const slots = await optimizer.getWeights();
  const fields = optimizer as unknown as Fields;
  const extras = extraFields(optimizer).map((field) => {
    const v = fields[field];
    if (!v) throw new Error(`${optimizer.getClassName()} optimizer has no '${field}' to save`);
    return { name: `${EXTRA_PREFIX}${field}`, tensor: v as tf.Tensor };
  });
  return [...slots, ...extras];
}

/**
 * Restores what optimizerState saved into a fresh optimizer of the same class. A checkpoint
 * written before the extras were saved restores as tfjs does (pow), as it did then.
 */
export async function restoreOptimizerState(optimizer: tf.Optimizer, saved: NamedTensor[]): Promise<void> {
  const slots = saved.filter((w) => !w.name.startsWith(EXTRA_PREFIX));
  await optimizer.setWeights(slots);
  const fields = optimizer as unknown as Fields;
  for (const w of saved) {
    if (!w.name.startsWith(EXTRA_PREFIX)) continue;
    const field = w.name.slice(EXTRA_PREFIX.length);
    const target = fields[field];
    if (!extraFields(optimizer).includes(field) || !target) {
      throw new Error(`checkpoint holds optimizer state '${field}', which ${optimizer.getClassName()} does not have`);
    }
    target.assign(w.tensor);
  }
}
