/**
 * The wasm SIMD kernels (src/backend/wasm-simd.ts and the *-simd.ts / simd() parts of the kernel
 * files): the assembler, and every SIMD kernel against its JS twin on the wasm backend, bit for
 * bit (the JS kernels are checked against float64 references in fused-kernels.test.ts and
 * conv-grad.test.ts, which on wasm now run the SIMD versions too). Also the Identity override.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { im2colT, transpose2d } from '../../src/backend/conv-kernels.ts';
import { batchNormTrain, fusedSign } from '../../src/backend/fused.ts';
import { assembleModule } from '../../src/backend/wasm-asm.ts';
import { setWasmSimd, simdCallCounts } from '../../src/backend/wasm-simd.ts';
import { randomValues } from './helpers.ts';

before(async () => {
  await selectBackend('wasm');
});

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

/**
 * Runs `f` with SIMD on, then off; asserts identical output bits and that `kernel` ran as SIMD
 * exactly when on (where `expectSimd`).
 */
function sameBothWays(kernel: string, f: () => tf.Tensor[], expectSimd = true): void {
  const results: number[][][] = [];
  for (const on of [true, false]) {
    const old = setWasmSimd(on);
    const before = simdCallCounts()[kernel] ?? 0;
    try {
      results.push(tf.tidy(() => f().map(bits)));
    } finally {
      setWasmSimd(old);
    }
    const ran = (simdCallCounts()[kernel] ?? 0) > before;
    assert.equal(ran, on && expectSimd, `${kernel}: SIMD ${on ? 'on' : 'off'}, ran as SIMD: ${ran}`);
  }
  assert.deepEqual(results[0], results[1], kernel);
}

const tensor = (shape: number[], seed: number, scale = 1, offset = 0): tf.Tensor =>
  tf.tensor(Float32Array.from(randomValues(shape.reduce((a, b) => a * b, 1), seed), (v) => v * scale + offset), shape);

test('the assembler builds valid modules and rejects what it does not know', () => {
  const ok = assembleModule([{ name: 'f', params: [['$p', 'i32']], locals: [['$v', 'v128']],
    body: 'block $out local.get $p i32.eqz br_if $out local.get $p v128.const f32x4 1 2 3 4 v128.store end' }]);
  assert.ok(WebAssembly.validate(ok));
  assert.throws(() => assembleModule([{ name: 'g', params: [], body: 'f32x4.fma' }]), /unknown instruction 'f32x4.fma'/);
  assert.throws(() => assembleModule([{ name: 'g', params: [], body: 'br $nowhere' }]), /unknown label/);
  assert.throws(() => assembleModule([{ name: 'g', params: [], body: 'local.get $x' }]), /unknown local/);
  assert.throws(() => assembleModule([{ name: 'g', params: [], body: 'block' }]), /not closed/);
});

test('sign, both zero conventions, and its straight-through gradient: SIMD = JS, with NaN, ±0, ±∞ and a tail', () => {
  const special = [0, -0, 1, -1, 1.0000001, -0.9999999, NaN, Infinity, -Infinity, 1e-40, -1e-40];
  const x = tf.concat([tf.tensor1d(special), tensor([38], 1, 2)]); // 49 elements: not a multiple of 4
  const dy = tf.concat([tf.tensor1d(special.map((_, i) => (i % 4 === 0 ? Infinity : i - 5))), tensor([38], 2)]);
  for (const atZero of ['plus_one', 'zero'] as const) {
    sameBothWays('BnnSign', () => [fusedSign(x, 'clipped_ste', atZero)]);
    sameBothWays('BnnSignGrad', () => {
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fusedSign(t, 'clipped_ste', atZero), dy)));
      return [g(x)];
    });
  }
});

test('training batch norm and its gradient: SIMD = JS; channels not a multiple of 4 fall back to JS', () => {
  for (const [shape, simd] of [[[8, 6, 6, 32], true], [[3, 5, 5, 12], true], [[2, 1, 1, 4], true], [[2, 3, 3, 6], false]] as const) {
    const c = shape[3];
    const x = tensor([...shape], 3, 3, 5); // offset mean: the shifted sums matter
    const gamma = tensor([c], 4, 0.2, 1) as tf.Tensor1D;
    const beta = tensor([c], 5) as tf.Tensor1D;
    const mm = tensor([c], 6) as tf.Tensor1D;
    const mv = tensor([c], 7, 0.2, 1) as tf.Tensor1D;
    const r = tensor([...shape], 8);
    const run = () => {
      const o = batchNormTrain(x, gamma, beta, mm, mv, 1e-5, 0.9);
      return [o.y, o.movingMean, o.movingVariance];
    };
    sameBothWays('BnnBatchNormTrain', run, simd);
    sameBothWays('BnnBatchNormTrainGrad', () => tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, mm, mv, 1e-5, 0.9).y, r)))([x, gamma, beta]), simd);
  }
});

test('im2col (strides 1 and 2, same and valid padding, 7x7 on a small map, a batch chunk) and transpose: SIMD = JS', () => {
  const cases = [
    { x: [3, 6, 6, 5], kh: 3, kw: 3, sh: 1, sw: 1, top: 1, left: 1, ho: 6, wo: 6, b0: 0, nb: 3 },
    { x: [3, 6, 6, 5], kh: 3, kw: 3, sh: 1, sw: 1, top: 1, left: 1, ho: 6, wo: 6, b0: 1, nb: 2 },
    { x: [2, 7, 9, 3], kh: 3, kw: 3, sh: 2, sw: 2, top: 1, left: 1, ho: 4, wo: 5, b0: 0, nb: 2 },
    { x: [2, 7, 9, 3], kh: 3, kw: 2, sh: 1, sw: 1, top: 0, left: 0, ho: 5, wo: 8, b0: 0, nb: 2 },
    { x: [1, 4, 4, 2], kh: 7, kw: 7, sh: 2, sw: 2, top: 3, left: 3, ho: 2, wo: 2, b0: 0, nb: 1 },
  ];
  for (const { x: shape, ...g } of cases) {
    const x = tensor(shape, 9) as tf.Tensor4D;
    sameBothWays('BnnIm2Col', () => [im2colT(x, g)]);
  }
  sameBothWays('BnnTranspose2D', () => [transpose2d(tensor([37, 13], 10) as tf.Tensor2D)]);
});

test('wasm Identity shares the buffer (no copy) and stays correct after the source is disposed', () => {
  const x = tf.tensor1d([1, 2, 3]);
  const buffers = (tf.memory() as { numDataBuffers: number }).numDataBuffers;
  const y = tf.clone(x);
  assert.equal((tf.memory() as { numDataBuffers: number }).numDataBuffers, buffers, 'a clone makes no new buffer');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  y.dispose();
});
