/**
 * The fused optimizers (src/backend/fused-optimizers.ts, optimizer-kernels.ts) against tfjs's own
 * optimizers: bit-identical variables and slots step by step on cpu and wasm (SIMD and JS loops),
 * the same checkpoint slots (getWeights/setWeights), and learning-rate schedules that reach SGD.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { FusedMomentumOptimizer } from '../../src/backend/fused-optimizers.ts';
import { setWasmSimd, simdCallCounts } from '../../src/backend/wasm-simd.ts';
import { KERNEL_BACKENDS, skipReason } from '../backend/backends.ts';
import { optimizerState, restoreOptimizerState } from '../../src/train/optimizer-state.ts';
import { ADAM_BETAS, ADAM_EPSILON, RMSPROP_DECAY, RMSPROP_EPSILON, createOptimizer, setLearningRate } from '../../src/train/optimizers.ts';

interface Case {
  name: string;
  fused: () => tf.Optimizer;
  stock: () => tf.Optimizer;
}

const CASES: Case[] = [
  { name: 'rmsprop', fused: () => createOptimizer({ optimizer: 'rmsprop', lr: 0.01, momentum: 0 }),
    stock: () => tf.train.rmsprop(0.01, RMSPROP_DECAY, 0, RMSPROP_EPSILON) },
  { name: 'adam', fused: () => createOptimizer({ optimizer: 'adam', lr: 0.01, momentum: 0 }),
    stock: () => tf.train.adam(0.01, ADAM_BETAS[0], ADAM_BETAS[1], ADAM_EPSILON) },
  { name: 'sgd', fused: () => createOptimizer({ optimizer: 'sgd', lr: 0.1, momentum: 0 }), stock: () => tf.train.sgd(0.1) },
  { name: 'momentum', fused: () => createOptimizer({ optimizer: 'sgd', lr: 0.1, momentum: 0.9 }), stock: () => tf.train.momentum(0.1, 0.9) },
  { name: 'nesterov', fused: () => new FusedMomentumOptimizer(0.1, 0.9, true), stock: () => tf.train.momentum(0.1, 0.9, true) },
];

/** Variables of awkward sizes (not multiples of 4: the SIMD kernels' JS tails run too). */
function makeVariables(): tf.Variable[] {
  return [tf.variable(tf.randomNormal([3, 3, 5, 7], 0, 1, 'float32', 11)), tf.variable(tf.randomNormal([16], 0, 1, 'float32', 12)),
    tf.variable(tf.randomNormal([1], 0, 1, 'float32', 13))];
}

/** A non-quadratic loss, so that gradients change from step to step. */
const loss = (vs: tf.Variable[], step: number) => () =>
  tf.addN(vs.map((v, k) => tf.sum(tf.mul(tf.sin(tf.mul(v, step + k + 1)), v)))) as tf.Scalar;

/** Runs steps [from, to) with lr changes at steps 3 and 5 (through the trainer's setLearningRate). */
function train(opt: tf.Optimizer, vs: tf.Variable[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    if (s === 3) setLearningRate(opt, 0.05);
    if (s === 5) setLearningRate(opt, 0.002);
    opt.minimize(loss(vs, s), false, vs);
  }
}

/** The float32 bit patterns of `t`, read with data() (webgpu cannot read synchronously under Node). */
const bits = async (t: tf.Tensor): Promise<number[]> => Array.from(new Uint32Array(Float32Array.from(await t.data()).buffer));
const allBits = (ts: tf.Tensor[]): Promise<number[][]> => Promise.all(ts.map(bits));

async function slotBits(opt: tf.Optimizer): Promise<number[][]> {
  return Promise.all((await opt.getWeights()).map(async (w) => (w.tensor.dtype === 'float32' ? bits(w.tensor) : Array.from(await w.tensor.data()))));
}

// webgpu has no fused update kernels: there the classes run tfjs's own update, which these check still resumes exactly.
for (const backend of KERNEL_BACKENDS) {
  const skip = skipReason(backend);
  for (const simd of backend === 'wasm' ? [true, false] : [false]) {
    const mode = backend === 'wasm' ? `${backend} (${simd ? 'SIMD' : 'JS loops'})` : backend;
    test(`${mode}: fused optimizers give tfjs's bits, variables and slots, through lr changes`, { skip }, async () => {
      await selectBackend(backend);
      const old = setWasmSimd(simd);
      try {
        for (const c of CASES) {
          const before = simdCallCounts();
          const va = makeVariables();
          const vb = makeVariables();
          const a = c.stock();
          const b = c.fused();
          train(a, va, 0, 7);
          train(b, vb, 0, 7);
          assert.equal(b.getClassName(), a.getClassName(), c.name);
          assert.deepEqual(await allBits(vb), await allBits(va), `${c.name}: variables`);
          assert.deepEqual(await slotBits(b), await slotBits(a), `${c.name}: slots`);
          if (backend === 'wasm') {
            const ran = Object.entries(simdCallCounts()).some(([k, n]) => k.endsWith('Update') && n > (before[k] ?? 0));
            assert.equal(ran, simd, `${c.name}: SIMD path ${simd ? 'not taken' : 'taken though off'}`);
          }
          tf.dispose([...va, ...vb]);
          a.dispose();
          b.dispose();
        }
      } finally {
        setWasmSimd(old);
      }
    });
  }

  test(`${backend}: the state saved after any step restores into a new optimizer and the run continues exactly`, { skip }, async () => {
    await selectBackend(backend);
    for (const c of CASES) {
      const straight = makeVariables();
      const s = c.fused();
      train(s, straight, 0, 7);
      for (let k = 1; k < 7; k++) {
        const resumed = makeVariables();
        const first = c.fused();
        train(first, resumed, 0, k);
        const saved = (await optimizerState(first)).map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
        first.dispose();
        const second = c.fused();
        await restoreOptimizerState(second, saved);
        if (k >= 3) setLearningRate(second, k >= 5 ? 0.002 : 0.05); // the schedule's rate, as a resumed trainer sets it
        train(second, resumed, k, 7);
        assert.deepEqual(await allBits(resumed), await allBits(straight), `${c.name} resumed after step ${k}: variables`);
        tf.dispose([...resumed, ...saved.map((w) => w.tensor)]);
        second.dispose();
      }
      tf.dispose(straight);
      s.dispose();
    }
  });
}

test('setLearningRate reaches SGD and momentum (they multiply by a scalar that only setLearningRate renews)', async () => {
  await selectBackend('cpu');
  for (const cfg of [{ optimizer: 'sgd', lr: 0.1, momentum: 0 }, { optimizer: 'sgd', lr: 0.1, momentum: 0.9 }]) {
    const v = tf.variable(tf.scalar(1));
    const opt = createOptimizer(cfg);
    setLearningRate(opt, 0.5);
    opt.minimize(() => tf.mul(v, 2) as tf.Scalar, false, [v]); // gradient 2: v = 1 − 0.5·2
    assert.equal(v.dataSync()[0], 0, JSON.stringify(cfg));
    v.dispose();
    opt.dispose();
  }
});
