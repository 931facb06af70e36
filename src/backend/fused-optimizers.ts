import tf from '../tf.cjs';
import { runKernel, type Attrs } from './js-kernel.ts';
import { ADAM_UPDATE, hasFusedOptimizers, MOMENTUM_UPDATE, RMSPROP_UPDATE, SGD_UPDATE } from './optimizer-kernels.ts';

/**
 * tfjs's RMSprop, Adam, momentum and SGD optimizers with `applyGradients` replaced by one fused
 * kernel per variable (optimizer-kernels.ts, bit-identical arithmetic) on cpu and wasm.
 *
 * They subclass the stock classes and override nothing else, so the slot variables are the
 * stock ones, created lazily in the same order with the same names (`<var>/rms`, `/momentum`,
 * `/m`, `/v`), and getWeights()/setWeights()/getClassName()/dispose() are tfjs's own: a
 * checkpoint written by one restores into the other, and resume stays exact. Other backends, and
 * configurations the kernels do not cover (centered RMSprop), run the stock update.
 */

/** What applyGradients receives (tfjs's NamedTensor[] | NamedTensorMap, NamedTensor not exported). */
type VariableGradients = Array<{ name: string; tensor: tf.Tensor }> | Record<string, tf.Tensor>;

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

function namesOf(vg: object): string[] {
  return Array.isArray(vg) ? (vg as Array<{ name: string }>).map((v) => v.name) : Object.keys(vg);
}

function gradientOf(vg: object, name: string, i: number): tf.Tensor | undefined {
  const g = vg as VariableGradients;
  return Array.isArray(g) ? g[i]?.tensor : g[name];
}

function variableNamed(name: string): tf.Variable {
  const v = (tf.engine() as unknown as { registeredVariables: Record<string, tf.Variable> }).registeredVariables[name];
  if (!v) throw new Error(`optimizer: no variable named '${name}'`);
  return v;
}

/** The slot `slots[i]`, created as tfjs's optimizers create it (zeros, not trainable) when missing. */
function slot(slots: Slot[], i: number, value: tf.Variable, suffix: string): tf.Variable {
  slots[i] ??= { originalName: `${value.name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
  return slots[i].variable;
}

/**
 * Runs `kernel` on (variable, gradient, ...slots) and assigns its outputs back to the variable
 * and the slots. New tensors are assigned rather than written in place: a variable's buffer may
 * be shared (Identity and Reshape share data), and assign is what the stock optimizers do.
 */
function update(kernel: string, value: tf.Variable, gradient: tf.Tensor, slots: Record<string, tf.Variable>, attrs: Attrs): void {
  tf.tidy(() => {
    const outs = runKernel(kernel, { x: value, g: gradient, ...slots }, attrs);
    value.assign(outs[0]!);
    Object.values(slots).forEach((s, k) => s.assign(outs[k + 1]!));
  });
}

/** Reads a scalar tensor (tfjs keeps some hyper-parameters as float32 scalars; the update uses those). */
const scalarValue = (t: tf.Tensor): number => t.dataSync()[0]!;

interface RmspropInternals {
  learningRate: number; decay: number; momentum: number; epsilon: number; centered: boolean;
  accumulatedMeanSquares: Slot[]; accumulatedMoments: Slot[];
}

export class FusedRMSPropOptimizer extends tf.RMSPropOptimizer {
  override applyGradients(vg: Parameters<tf.RMSPropOptimizer['applyGradients']>[0]): void {
    const o = this as unknown as RmspropInternals;
    if (o.centered || !hasFusedOptimizers()) return super.applyGradients(vg);
    const attrs = { decay: o.decay, momentum: o.momentum, lr: o.learningRate, epsilon: o.epsilon };
    namesOf(vg).forEach((name, i) => {
      const value = variableNamed(name);
      const ms = slot(o.accumulatedMeanSquares, i, value, 'rms');
      const mom = slot(o.accumulatedMoments, i, value, 'momentum');
      const g = gradientOf(vg, name, i);
      if (g) update(RMSPROP_UPDATE, value, g, { ms, mom }, attrs);
    });
    this.incrementIterations();
  }
}

interface AdamInternals {
  learningRate: number; beta1: number; beta2: number; epsilon: number;
  accBeta1: tf.Variable; accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[]; accumulatedSecondMoment: Slot[];
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(vg: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const o = this as unknown as AdamInternals;
    if (!hasFusedOptimizers()) return super.applyGradients(vg);
    // tfjs computes 1 − accBeta from its float32 accBeta variables; so does the kernel.
    const attrs = {
      beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, lr: o.learningRate,
      oneMinusAccBeta1: 1 - scalarValue(o.accBeta1), oneMinusAccBeta2: 1 - scalarValue(o.accBeta2),
    };
    namesOf(vg).forEach((name, i) => {
      const value = variableNamed(name);
      const m = slot(o.accumulatedFirstMoment, i, value, 'm');
      const v = slot(o.accumulatedSecondMoment, i, value, 'v');
      const g = gradientOf(vg, name, i);
      if (g) update(ADAM_UPDATE, value, g, { m, v }, attrs);
    });
    tf.tidy(() => {
      o.accBeta1.assign(tf.mul(o.accBeta1, o.beta1));
      o.accBeta2.assign(tf.mul(o.accBeta2, o.beta2));
    });
    this.incrementIterations();
  }
}

interface SgdInternals { c: tf.Scalar }
interface MomentumInternals extends SgdInternals { m: tf.Scalar; useNesterov: boolean; accumulations: Slot[] }

export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(vg: Parameters<tf.MomentumOptimizer['applyGradients']>[0]): void {
    const o = this as unknown as MomentumInternals;
    if (!hasFusedOptimizers()) return super.applyGradients(vg);
    // The stock update multiplies by its scalars c = −lr and m (set by setLearningRate and the
    // constructor), not by the learningRate/momentum fields; read the same scalars.
    const attrs = { lr: -scalarValue(o.c), momentum: scalarValue(o.m), nesterov: o.useNesterov };
    namesOf(vg).forEach((name, i) => {
      const value = variableNamed(name);
      const acc = slot(o.accumulations, i, value, 'momentum');
      const g = gradientOf(vg, name, i);
      if (g) update(MOMENTUM_UPDATE, value, g, { acc }, attrs);
    });
    this.incrementIterations();
  }
}

export class FusedSGDOptimizer extends tf.SGDOptimizer {
  override applyGradients(vg: Parameters<tf.SGDOptimizer['applyGradients']>[0]): void {
    if (!hasFusedOptimizers()) return super.applyGradients(vg);
    const attrs = { lr: -scalarValue((this as unknown as SgdInternals).c) };
    namesOf(vg).forEach((name, i) => {
      const g = gradientOf(vg, name, i);
      if (g) update(SGD_UPDATE, variableNamed(name), g, {}, attrs);
    });
    this.incrementIterations();
  }
}
