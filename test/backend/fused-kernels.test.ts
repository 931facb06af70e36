/**
 * The typed-array kernels (src/backend/*-kernel(s).ts, prelu-grad.ts) against float64 references
 * written from the definitions and against the tfjs-op graphs they replace, on cpu and wasm; on
 * webgpu, which has no typed-array kernels, the op graphs the layers fall back to there are
 * checked against the same references.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, fusedBinarizeWeights, fusedSign, hasFusedBatchNorm, hasFusedSign, overrideCallCounts, selectBackend } from '../../src/backend/index.ts';
import { BN_TRAIN, BN_TRAIN_GRAD } from '../../src/backend/bn-kernel.ts';
import { PRELU_GRAD } from '../../src/backend/prelu-grad.ts';
import { flipFilter, im2colT, transpose2d } from '../../src/backend/conv-kernels.ts';
import { binarizeWeights, hardSign, signForward, signSurrogateGrad } from '../../src/binary/quantizers.ts';
import { KERNEL_BACKENDS, skipReason } from './backends.ts';
import { randomValues, readAll, relError, sizeOf } from './helpers.ts';

const f32 = (v: Float64Array): Float32Array => Float32Array.from(v);
const EPS = 1e-5;
const MOMENTUM = 0.9;

/** How often each kernel ran in the native addon so far: on native the checks below must reach the C++ kernels. */
const nativeRuns = (...kernels: string[]): number[] => kernels.map((k) => overrideCallCounts()[`native_${k}`] ?? 0);
const since = (before: number[], now: number[]): number[] => now.map((n, i) => n - before[i]!);

/** Float64 training-mode batch norm over the last axis and its gradients for L = sum(y * r). */
function referenceBatchNorm(x: Float64Array, shape: number[], gamma: Float64Array, beta: Float64Array, r: Float64Array) {
  const c = shape.at(-1)!;
  const p = x.length / c;
  const mean = new Float64Array(c);
  const v = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c]! += x[i]! / p;
  for (let i = 0; i < x.length; i++) v[i % c]! += (x[i]! - mean[i % c]!) ** 2 / p;
  const rstd = v.map((s) => 1 / Math.sqrt(s + EPS));
  const xhat = x.map((val, i) => (val - mean[i % c]!) * rstd[i % c]!);
  const y = xhat.map((h, i) => gamma[i % c]! * h + beta[i % c]!);
  const sDy = new Float64Array(c);
  const sDyXhat = new Float64Array(c);
  for (let i = 0; i < x.length; i++) { sDy[i % c]! += r[i]!; sDyXhat[i % c]! += r[i]! * xhat[i]!; }
  const dx = x.map((_, i) => {
    const k = i % c;
    return (gamma[k]! * rstd[k]! / p) * (p * r[i]! - sDy[k]! - xhat[i]! * sDyXhat[k]!);
  });
  return { y, mean, variance: v, dx, dGamma: sDyXhat, dBeta: sDy };
}

for (const backend of KERNEL_BACKENDS) {
  const skip = skipReason(backend);
  // webgpu: no typed-array kernels there (js-kernel.ts); the tests below check its op graphs.
  const jsOnly = skip ?? (backend === 'webgpu' ? 'typed-array kernels are cpu/wasm only' : undefined);
  test(`${backend}: training batch norm (fused where it exists, else the tf.moments + tf.batchNorm graph) matches float64`, { skip }, async () => {
    await selectBackend(backend);
    const fusedHere = hasFusedBatchNorm();
    assert.equal(fusedHere, backend !== 'webgpu');
    for (const [i, shape] of [[4, 3, 5, 6], [7, 3], [2, 8, 8, 32]].entries()) {
      const c = shape.at(-1)!;
      // An offset and a spread per channel, so the mean is far from 0 as after a conv.
      const x = randomValues(sizeOf(shape), 10 + i).map((v, j) => 3 * v + 5 + (j % c));
      const gamma = randomValues(c, 20 + i).map((v) => v + 1.5);
      const beta = randomValues(c, 30 + i);
      const mm = randomValues(c, 40 + i);
      const mv = randomValues(c, 50 + i).map((v) => v + 2);
      const r = randomValues(x.length, 60 + i);
      const ref = referenceBatchNorm(x, shape, gamma, beta, r);
      const [xT, gT, bT] = [tf.tensor(f32(x), shape), tf.tensor1d(f32(gamma)), tf.tensor1d(f32(beta))];
      const rT = tf.tensor(f32(r), shape);
      const stock = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const m = tf.moments(a, shape.map((_, k) => k).slice(0, -1));
        return tf.batchNorm(a, m.mean, m.variance, b, g, EPS);
      };
      const gradsOf = (f: (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b), rT)))([xT, gT, bT]);
      const what = `${backend} ${shape.join('x')}`;
      if (!fusedHere) {
        const [y, ...grads] = await readAll(tf.tidy(() => [stock(xT, gT, bT), ...gradsOf(stock)]));
        tf.dispose([xT, gT, bT, rT]);
        assert.ok(relError(y!, ref.y) <= 1e-5, `${what}: y ${relError(y!, ref.y)}`);
        assert.ok(relError(grads[0]!, ref.dx) <= 1e-4, `${what}: dx ${relError(grads[0]!, ref.dx)}`);
        assert.ok(relError(grads[1]!, ref.dGamma) <= 1e-4, `${what}: dgamma`);
        assert.ok(relError(grads[2]!, ref.dBeta) <= 1e-5, `${what}: dbeta`);
        continue;
      }
      const ranBefore = nativeRuns(BN_TRAIN, BN_TRAIN_GRAD);
      const got = tf.tidy(() => {
        const fused = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, tf.tensor1d(f32(mm)), tf.tensor1d(f32(mv)), EPS, MOMENTUM);
        const out = fused(xT, gT, bT);
        return {
          y: out.y.dataSync(), mm: out.movingMean.dataSync(), mv: out.movingVariance.dataSync(),
          grads: gradsOf((a, g, b) => fused(a, g, b).y).map((t) => t.dataSync()), stock: gradsOf(stock).map((t) => t.dataSync()),
        };
      });
      // Forward twice (the values, then inside tf.grads), the gradient once.
      if (backend === 'native') assert.deepEqual(since(ranBefore, nativeRuns(BN_TRAIN, BN_TRAIN_GRAD)), [2, 1], `${what}: ran natively`);
      tf.dispose([xT, gT, bT, rT]);
      assert.ok(relError(got.y, ref.y) <= 1e-6, `${what}: y`);
      const newMm = mm.map((m, k) => m - (m - ref.mean[k]!) * (1 - MOMENTUM));
      const newMv = mv.map((m, k) => m - (m - ref.variance[k]!) * (1 - MOMENTUM));
      assert.ok(relError(got.mm, newMm) <= 1e-6, `${what}: moving mean`);
      assert.ok(relError(got.mv, newMv) <= 1e-6, `${what}: moving variance`);
      const [dx, dg, db] = got.grads;
      assert.ok(relError(dx!, ref.dx) <= 1e-5, `${what}: dx ${relError(dx!, ref.dx)}`);
      assert.ok(relError(dg!, ref.dGamma) <= 1e-5, `${what}: dgamma`);
      assert.ok(relError(db!, ref.dBeta) <= 1e-6, `${what}: dbeta`);
      // The graph tfjs-layers used before: same gradients up to float32 rounding.
      for (const k of [0, 1, 2]) assert.ok(relError(got.grads[k]!, got.stock[k]!) <= 1e-4, `${what}: grad ${k} vs stock graph`);
    }
  });

  test(`${backend}: the hard sign (fused where it exists) and its straight-through gradients match the definitions`, { skip }, async () => {
    await selectBackend(backend);
    assert.equal(hasFusedSign('ste'), backend !== 'webgpu');
    // Where there is no fused kernel, the op the layers use instead (quantizers.ts hardSign).
    const sign = (t: tf.Tensor, g: 'clipped_ste' | 'ste', z: 'plus_one' | 'zero') =>
      (hasFusedSign(g) ? fusedSign(t, g, z) : hardSign(g, undefined, z)(t));
    const read = async (t: tf.Tensor) => Array.from(await t.data());
    const values = [-2, -1.0000001, -1, -0.5, -1e-30, -0, 0, 1e-30, 0.5, 1, 1.0000001, 3];
    const x = tf.tensor1d(values);
    const dy = tf.tensor1d(f32(randomValues(values.length, 7)));
    const noNegZero = (a: ArrayLike<number>) => Array.from(a, (v) => (v === 0 ? 0 : v));
    // The definition (x ≥ 0 → +1; 'zero': sign(0) = 0). wasm's own tf.sign returns 0 for
    // |x| ≤ ~1e-7, so only the cpu op can serve as a second opinion on the tiny values.
    const plusOne = values.map((v) => (v >= 0 ? 1 : -1));
    const zero = values.map((v) => (v > 0 ? 1 : v < 0 ? -1 : 0));
    assert.deepEqual(noNegZero(await read(sign(x, 'clipped_ste', 'plus_one'))), plusOne);
    assert.deepEqual(noNegZero(await read(sign(x, 'clipped_ste', 'zero'))), zero);
    if (backend === 'cpu') {
      assert.deepEqual(noNegZero(signForward(x, 'plus_one').dataSync()), plusOne);
      assert.deepEqual(noNegZero(signForward(x, 'zero').dataSync()), zero);
    }
    for (const gradient of ['clipped_ste', 'ste'] as const) {
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(sign(t, gradient, 'plus_one'), dy)))(x);
      const expected = tf.mul(dy, signSurrogateGrad(x, gradient));
      assert.deepEqual(noNegZero(await read(g)), noNegZero(await read(expected)), gradient);
    }
  });

  test(`${backend}: fused α·sign(W) matches the tfjs-op graph, values and gradients, every scale`, { skip: jsOnly }, async () => {
    await selectBackend(backend);
    // The graph the layers used before the fusion: customGrad sign + α from tf.abs/tf.mean.
    const stockSign = (gradient: 'clipped_ste' | 'ste') => tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const t = args[0] as tf.Tensor;
      (args[1] as tf.GradSaveFunc)([t]);
      return { value: signForward(t), gradFunc: (d: tf.Tensor, [s]: tf.Tensor[]) => tf.mul(d, signSurrogateGrad(s!, gradient)) };
    }) as (t: tf.Tensor) => tf.Tensor;
    for (const [i, shape] of [[3, 3, 4, 5], [6, 7], [1, 1, 8, 3]].entries()) {
      // Spread over [−1.5, 1.5] so the clipped STE masks some entries.
      const w = tf.tensor(f32(randomValues(sizeOf(shape), 90 + i).map((v) => 1.5 * v)), shape);
      const r = tf.tensor(f32(randomValues(sizeOf(shape), 95 + i)), shape);
      for (const scale of ['channel', 'tensor', 'none'] as const) {
        for (const gradient of ['clipped_ste', 'ste'] as const) {
          const what = `${backend} ${shape.join('x')} ${scale} ${gradient}`;
          const fused = (t: tf.Tensor) => fusedBinarizeWeights(t, scale, gradient);
          const stock = (t: tf.Tensor) => binarizeWeights(t, scale, stockSign(gradient));
          assert.ok(relError(fused(w).dataSync(), stock(w).dataSync()) <= 1e-6, `${what}: values`);
          const gf = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fused(t), r)))(w).dataSync();
          const gs = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(stock(t), r)))(w).dataSync();
          assert.ok(relError(gf, gs) <= 1e-5, `${what}: gradient ${relError(gf, gs)}`);
        }
      }
    }
  });

  test(`${backend}: PReLU gradient (fused for per-channel slopes, stock otherwise) matches float64`, { skip }, async () => {
    await selectBackend(backend);
    const shape = [2, 3, 4, 5];
    const x = randomValues(sizeOf(shape), 3);
    const r = randomValues(x.length, 4);
    for (const alphaShape of [[5], [1, 1, 5], [3, 4, 5]]) {
      const alpha = randomValues(sizeOf(alphaShape), 5);
      const aIdx = (i: number) => (alpha.length === 60 ? i % 60 : i % 5);
      const dx = x.map((v, i) => (v > 0 ? r[i]! : r[i]! * Math.fround(alpha[aIdx(i)]!)));
      const dAlpha = new Float64Array(alpha.length);
      x.forEach((v, i) => { if (v <= 0) dAlpha[aIdx(i)]! += r[i]! * v; });
      const ranBefore = nativeRuns(PRELU_GRAD);
      const [gx, ga] = await readAll(tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.prelu(a, b), tf.tensor(f32(r), shape))))(
        [tf.tensor(f32(x), shape), tf.tensor(f32(alpha), alphaShape)])));
      // The fused kernel covers one slope per channel; other slope shapes take the stock formula.
      const fusedShape = sizeOf(alphaShape) === shape.at(-1);
      if (backend === 'native') assert.deepEqual(since(ranBefore, nativeRuns(PRELU_GRAD)), [fusedShape ? 1 : 0], `alpha ${alphaShape}: ran natively`);
      assert.ok(relError(gx!, dx) <= 1e-6, `${backend} alpha ${alphaShape}: dx`);
      assert.ok(relError(ga!, dAlpha) <= 1e-6, `${backend} alpha ${alphaShape}: dalpha`);
    }
  });

  test(`${backend}: transposed im2col, filter flip and 2-D transpose equal their tfjs-op definitions`, { skip: jsOnly }, async () => {
    await selectBackend(backend);
    const x = tf.tensor4d(f32(randomValues(2 * 5 * 6 * 3, 11)), [2, 5, 6, 3]);
    // 3x3, stride 2, top/left padding 1, output 3x3: the patches, built from pad + slices.
    const g = { kh: 3, kw: 3, sh: 2, sw: 2, top: 1, left: 1, ho: 3, wo: 3 };
    const xp = tf.pad(x, [[0, 0], [1, 2], [1, 2], [0, 0]]);
    const taps: tf.Tensor[] = [];
    for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) taps.push(tf.stridedSlice(xp, [0, p, q, 0], [2, p + 5, q + 5, 3], [1, 2, 2, 1]));
    const expected = tf.transpose(tf.reshape(tf.stack(taps, 3), [18, 27]));
    assert.deepEqual(Array.from(im2colT(x, { ...g, b0: 0, nb: 2 }).dataSync()), Array.from(expected.dataSync()));
    // One image of the two: the columns of image 1 only.
    const second = tf.slice(expected, [0, 9], [27, 9]);
    assert.deepEqual(Array.from(im2colT(x, { ...g, b0: 1, nb: 1 }).dataSync()), Array.from(second.dataSync()));
    const w = tf.tensor4d(f32(randomValues(3 * 2 * 4 * 5, 12)), [3, 2, 4, 5]);
    const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
    assert.deepEqual(Array.from(flipFilter(w).dataSync()), Array.from(flipped.dataSync()));
    for (const [rows, cols] of [[70, 33], [1, 5], [64, 64]] as const) {
      const m = tf.tensor2d(f32(randomValues(rows * cols, rows)), [rows, cols]);
      assert.deepEqual(Array.from(transpose2d(m).dataSync()), Array.from(tf.transpose(m).dataSync()), `${rows}x${cols}`);
    }
  });
}
