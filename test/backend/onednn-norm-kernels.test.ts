import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, fusedSign, selectBackend } from '../../src/backend/index.ts';
import { SIGN, SIGN_GRAD } from '../../src/backend/binary-kernels.ts';
import { BN_TRAIN, BN_TRAIN_GRAD } from '../../src/backend/bn-kernel.ts';
import { nativeCallCounts } from '../../src/backend/onednn-kernels.ts';
import { setOneDnnThreads } from '../../src/backend/onednn.ts';
import { PRELU_GRAD } from '../../src/backend/prelu-grad.ts';
import { nativeSkip, randomValues, sizeOf } from './helpers.ts';

/**
 * The native batch norm, PReLU gradient, sign, Add, SplitV, Concat and MaxPoolGrad
 * (onednn-norm-kernels.ts, native/src/norm.cc, eltwise.cc, split.cc, pool.cc) against the wasm
 * kernels, bit for bit, at 1 and 2 threads. The wasm
 * kernels are checked against float64 references in fused-kernels.test.ts (which also runs on
 * native); equal bits carry that over, and equal bits at both thread counts are the
 * determinism the native engine promises.
 */
const SKIP = await nativeSkip();

/** How many elements differ bit for bit. */
function differing(a: Float32Array | Int32Array, b: Float32Array | Int32Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

/**
 * Shapes: a channel count below one vector and one not a multiple of 4 (the wasm SIMD kernels
 * leave those to JS), the reference HourGlass's largest batch-norm input (split across threads),
 * and more channels than one native block holds (several blocks even on one thread).
 */
const SHAPES = [[7, 3], [2, 5, 5, 37], [8, 32, 32, 64], [4, 8, 8, 200]];

function tensorOf(shape: number[], seed: number, spread = 1, offset = 0): tf.Tensor {
  const c = shape.at(-1)!;
  return tf.tensor(Float32Array.from(randomValues(sizeOf(shape), seed).map((v, i) => spread * v + offset + (i % c) * 0.01)), shape);
}

/** Every output of the four kernels on the current backend, in a fixed order. */
function outputs(): Array<Float32Array | Int32Array> {
  const out: Array<Float32Array | Int32Array> = [];
  for (const [i, shape] of SHAPES.entries()) {
    const c = shape.at(-1)!;
    tf.tidy(() => {
      // Far from zero mean, as after a conv; channel 1 constant (zero variance) in the first shape.
      let x = tensorOf(shape, 10 + i, 3, 5);
      if (i === 0) x = tf.mul(x, tf.tensor1d(Float32Array.from({ length: c }, (_, k) => (k === 1 ? 0 : 1))));
      const [gamma, beta, mm] = [20, 30, 40].map((s) => tensorOf([c], s + i) as tf.Tensor1D);
      const mv = tensorOf([c], 50 + i, 0.5, 2) as tf.Tensor1D;
      const alpha = tensorOf([c], 60 + i, 0.3) as tf.Tensor1D;
      const r = tensorOf(shape, 70 + i);
      const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, mm, mv, 1e-5, 0.9);
      const y = bn(x, gamma, beta);
      out.push(...[y.y, y.movingMean, y.movingVariance].map((t) => t.dataSync() as Float32Array));
      const bnGrads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(a, g, b).y, r)))([x, gamma, beta]);
      // PReLU on centred values (half of them negative), with exact zeros and negative zeros.
      const xc = tf.concat([tf.zeros([1, c]), tf.neg(tf.zeros([1, c])), tf.reshape(tensorOf(shape, 80 + i), [-1, c])], 0);
      const rc = tf.concat([tf.ones([2, c]), tf.reshape(r, [-1, c])], 0);
      const preluGrads = tf.grads((a: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(tf.prelu(a, s), rc)))([xc, alpha]);
      out.push(...[...bnGrads, ...preluGrads].map((t) => t.dataSync() as Float32Array));
      // Splits along the last axis (the concat gradients of the binary blocks), the first and a middle one.
      const pieces = [...tf.split(x, c > 2 ? [1, c - 3, 2] : [1, c - 1], -1), ...tf.split(x, [1, shape[0]! - 1], 0),
        ...(shape.length === 4 ? tf.split(tf.cast(x, 'int32'), [2, shape[1]! - 2], 1) : [])];
      out.push(...pieces.map((t) => t.dataSync() as Float32Array | Int32Array));
    });
  }
  return out;
}

/** Special values: signed zeros, a subnormal whose product with a slope underflows, the clip edges, infinities, NaN. */
const SPECIAL = [NaN, -Infinity, -1.0000001, -1, -0.5, -1e-30, -1e-44, -0, 0, 1e-30, 0.5, 1, 1.0000001, Infinity];

/** Sign, its gradient, Add, Concat and MaxPoolGrad on the current backend, in a fixed order. */
function moreOutputs(): Array<Float32Array | Int32Array> {
  const out: Array<Float32Array | Int32Array> = [];
  for (const [i, shape] of SHAPES.entries()) {
    tf.tidy(() => {
      const n = sizeOf(shape);
      // 1.5·[−1, 1) with the special values at the front, so some entries fall outside the clip.
      const values = Float32Array.from(randomValues(n, 90 + i).map((v, j) => (j < SPECIAL.length ? SPECIAL[j]! : 1.5 * v)));
      const x = tf.tensor(values, shape);
      const dy = tf.tensor(Float32Array.from(randomValues(n, 95 + i).map((v, j) => (j === 3 ? Infinity : j === 5 ? NaN : v))), shape);
      for (const atZero of ['plus_one', 'zero'] as const) out.push(fusedSign(x, 'clipped_ste', atZero).dataSync() as Float32Array);
      // PReLU forward with the special values (−0 takes the slope: −0·α).
      out.push(tf.prelu(x, tensorOf([shape.at(-1)!], 60 + i, 0.3)).dataSync() as Float32Array);
      out.push(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fusedSign(t, 'clipped_ste', 'plus_one'), dy)))(x).dataSync() as Float32Array);
      out.push(tf.add(x, dy).dataSync() as Float32Array);
      const c = shape.at(-1)!;
      const last = tf.concat([x, tf.slice(dy, 0, [...shape.slice(0, -1), Math.min(2, c)])], -1);
      out.push(last.dataSync() as Float32Array, tf.concat([x, dy, x], 0).dataSync() as Float32Array);
      // Sums over consecutive axes: the batch-norm-like column sum, the last axis, all axes, kept dims.
      out.push(...[tf.sum(x, shape.map((_, k) => k).slice(0, -1)), tf.sum(x, -1), tf.sum(dy), tf.sum(dy, 0, true)]
        .map((t) => t.dataSync() as Float32Array));
      if (shape.length === 4) {
        // A middle axis of size 2 (nearest-neighbour upsampling's gradient sums such pairs).
        const [n0, h, w, cc] = shape as [number, number, number, number];
        out.push(tf.sum(tf.reshape(tf.slice(dy, 0, [n0, h - (h % 2), w, cc]), [n0, (h - (h % 2)) / 2, 2, w, cc]), 2).dataSync() as Float32Array);
        out.push(tf.sum(dy, [1, 2], true).dataSync() as Float32Array);
        out.push(tf.concat([tf.cast(x, 'int32'), tf.cast(dy, 'int32')], 1).dataSync() as Int32Array);
        // Ties (values rounded to a few levels), overlapping windows with padding, strided windows.
        const tied = tf.round(tf.mul(x, 2));
        for (const [k, s, pad] of [[2, 2, 'valid'], [3, 1, 'same'], [3, 2, 'same']] as const) {
          const f = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, k, s, pad);
          const r = tensorOf(f(tied).shape, 99);
          out.push(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), r)))(tied).dataSync() as Float32Array);
        }
      }
    });
  }
  return out;
}

test('native: PReLU, sign, its gradient, Add, Concat, MaxPoolGrad and Sum are bit-identical to wasm at 1 and 2 threads', { skip: SKIP }, async () => {
  await selectBackend('wasm');
  const want = moreOutputs();
  for (const threads of [1, 2]) {
    await selectBackend('native', { threads });
    const before = nativeCallCounts().native;
    const got = moreOutputs();
    const after = nativeCallCounts().native;
    assert.equal(got.length, want.length);
    for (const [k, g] of got.entries()) assert.equal(differing(g, want[k]!), 0, `${threads} threads, output ${k}: bit-identical to wasm`);
    const ran = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    const rank4 = SHAPES.filter((s) => s.length === 4).length;
    assert.equal(ran(SIGN), 3 * SHAPES.length, `${threads} threads: sign ran natively`);
    assert.equal(ran(SIGN_GRAD), SHAPES.length, `${threads} threads: its gradient ran natively`);
    assert.ok(ran(tf.Add) >= SHAPES.length, `${threads} threads: Add ran natively`);
    assert.equal(ran(tf.Concat), 2 * SHAPES.length + rank4, `${threads} threads: Concat ran natively`);
    assert.equal(ran(tf.MaxPoolGrad), 3 * rank4, `${threads} threads: MaxPoolGrad ran natively`);
    assert.ok(ran(tf.Prelu) >= SHAPES.length, `${threads} threads: PReLU ran natively`);
    assert.ok(ran(tf.Sum) >= 4 * SHAPES.length + 2 * rank4, `${threads} threads: Sum ran natively (${ran(tf.Sum)})`);
  }
  setOneDnnThreads(1);
});

test('native: a broadcast Add, a concat with an empty tensor and a sum over axes 0 and 2 go to the wasm kernels', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const before = nativeCallCounts();
  const added = tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([10, 20]));
  const joined = tf.concat([tf.tensor2d([1, 2], [1, 2]), tf.zeros([0, 2]), tf.tensor2d([3, 4], [1, 2])], 0);
  const summed = tf.sum(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), [0, 2]);
  assert.deepEqual(Array.from(added.dataSync()), [11, 22, 13, 24]);
  assert.deepEqual(Array.from(joined.dataSync()), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(summed.dataSync()), [1 + 2 + 5 + 6, 3 + 4 + 7 + 8]);
  const after = nativeCallCounts();
  for (const k of [tf.Add, tf.Concat, tf.Sum]) {
    assert.equal(after.native[k] ?? 0, before.native[k] ?? 0, `${k}: not run natively`);
    assert.equal((after.fallback[k] ?? 0) - (before.fallback[k] ?? 0), 1, `${k}: handed to wasm`);
  }
  tf.dispose([added, joined, summed]);
});

test('native: a cast to the same dtype shares the buffer and outlives its input; other casts convert', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const before = nativeCallCounts().native[tf.Cast] ?? 0;
  const x = tf.tensor1d([1.5, -2.25, 3]);
  const same = tf.cast(x, 'float32');
  const ints = tf.cast(x, 'int32');
  x.dispose();
  assert.deepEqual(Array.from(same.dataSync()), [1.5, -2.25, 3], 'still readable after its input is gone');
  assert.deepEqual(Array.from(ints.dataSync()), [1, -2, 3]);
  assert.equal((nativeCallCounts().native[tf.Cast] ?? 0) - before, 1, 'only the same-dtype cast is served natively');
  const buffers = tf.backend().numDataIds();
  same.dispose();
  assert.equal(tf.backend().numDataIds(), buffers - 1, 'the shared buffer is freed with its last reference');
  ints.dispose();
});

test('native: batch norm, its gradient, the PReLU gradient and SplitV are bit-identical to wasm at 1 and 2 threads', { skip: SKIP }, async () => {
  await selectBackend('wasm');
  const want = outputs();
  for (const threads of [1, 2]) {
    await selectBackend('native', { threads });
    const before = nativeCallCounts().native;
    const got = outputs();
    const after = nativeCallCounts().native;
    assert.equal(got.length, want.length);
    for (const [k, g] of got.entries()) assert.equal(differing(g, want[k]!), 0, `${threads} threads, output ${k}: bit-identical to wasm`);
    const ran = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    // The forward runs twice per shape: once for the values, once inside tf.grads.
    assert.equal(ran(BN_TRAIN), 2 * SHAPES.length, `${threads} threads: batch norm ran natively`);
    assert.equal(ran(BN_TRAIN_GRAD), SHAPES.length, `${threads} threads: its gradient ran natively`);
    assert.equal(ran(PRELU_GRAD), SHAPES.length, `${threads} threads: the PReLU gradient ran natively`);
    // Two splits per shape, a third for rank 4; the concat gradients of the PReLU inputs split too.
    assert.ok(ran(tf.SplitV) >= 2 * SHAPES.length + 2, `${threads} threads: SplitV ran natively (${ran(tf.SplitV)})`);
  }
  setOneDnnThreads(1);
});

test('native: what the native SplitV does not cover goes to the wasm kernel', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const before = nativeCallCounts();
  const [empty, all] = tf.split(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), [0, 3], 1);
  const [b0, b1] = tf.split(tf.tensor2d([true, false, true, true], [2, 2], 'bool'), 2, 1);
  assert.deepEqual(empty!.shape, [2, 0]);
  assert.deepEqual(Array.from(all!.dataSync()), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(b0!.dataSync()), [1, 1]);
  assert.deepEqual(Array.from(b1!.dataSync()), [0, 1]);
  const after = nativeCallCounts();
  assert.equal(after.native[tf.SplitV] ?? 0, before.native[tf.SplitV] ?? 0, 'neither ran natively');
  assert.equal((after.fallback[tf.SplitV] ?? 0) - (before.fallback[tf.SplitV] ?? 0), 2, 'both handed to wasm');
  tf.dispose([empty!, all!, b0!, b1!]);
});
