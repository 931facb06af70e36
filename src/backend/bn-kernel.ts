import tf from '../tf.cjs';
import { hasKernel, runKernel, type Attrs, type SimdContext, type JsKernel } from './js-kernel.ts';
import './bn-simd.ts';
import { withScratch } from './wasm-simd.ts';

/**
 * Training-mode batch normalization over the last axis as two fused kernels.
 *
 * tfjs-layers normalizes a training batch with tf.moments + tf.batchNorm; the backward pass of
 * that graph tiles rsqrt(var) to the full input shape (FusedBatchNorm's gradient), pushes ones()
 * through both Mean gradients and reduces five full-size products: ~20 full-size ops per layer,
 * 45 layers, ~0.5 s of the reference step on wasm. Here the forward is 2 passes over x and the
 * backward 2 passes over (dy, x), with the same math:
 *   y = γ·(x − μ)/√(σ² + ε) + β,   μ, σ² the batch mean and biased variance per channel,
 *   dx = γ·r/P · (P·dy − Σdy − x̂·Σ(dy·x̂)),  dγ = Σ(dy·x̂),  dβ = Σdy,   r = 1/√(σ² + ε), P = rows.
 * The moving statistics are updated in the same pass, exactly as BatchNormalization.call does
 * (new = old − (old − batch)·(1 − momentum)), which saves the layer eight more tiny ops.
 */

export const BN_TRAIN = 'BnnBatchNormTrain';
export const BN_TRAIN_GRAD = 'BnnBatchNormTrainGrad';

/*
 * The loops below walk 4 channels at a time down the rows (stride C) with the per-channel
 * coefficients and sums in locals. Measured in V8 here that is ~1.3 ns per element where the
 * obvious row-major loop reading coefficient arrays costs 3.5-5: typed-array loads and stores per
 * element, not arithmetic, dominate JS loops. Channels past the last multiple of 4 go one by one.
 */

/** s1[k] = Σ (x − shift[k]), s2[k] = Σ (x − shift[k])² over the rows of x [rows, c]. */
function shiftedSums(x: Float32Array, c: number, shift: Float64Array, s1: Float64Array, s2: Float64Array): void {
  const n = x.length;
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    const h0 = shift[k]!, h1 = shift[k + 1]!, h2 = shift[k + 2]!, h3 = shift[k + 3]!;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    for (let o = k; o < n; o += c) {
      const d0 = x[o]! - h0, d1 = x[o + 1]! - h1, d2 = x[o + 2]! - h2, d3 = x[o + 3]! - h3;
      a0 += d0; a1 += d1; a2 += d2; a3 += d3;
      b0 += d0 * d0; b1 += d1 * d1; b2 += d2 * d2; b3 += d3 * d3;
    }
    s1[k] = a0; s1[k + 1] = a1; s1[k + 2] = a2; s1[k + 3] = a3;
    s2[k] = b0; s2[k + 1] = b1; s2[k + 2] = b2; s2[k + 3] = b3;
  }
  for (; k < c; k++) {
    const h = shift[k]!;
    let a = 0, b = 0;
    for (let o = k; o < n; o += c) { const d = x[o]! - h; a += d; b += d * d; }
    s1[k] = a; s2[k] = b;
  }
}

/** out = u·a[k] + v·b[k] + d[k] per channel k (v may be null: then out = u·a + d). */
function affine(out: Float32Array, c: number, u: Float32Array, a: Float64Array, v: Float32Array | null, b: Float64Array, d: Float64Array): void {
  const n = u.length;
  const w = v ?? u;
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    const a0 = a[k]!, a1 = a[k + 1]!, a2 = a[k + 2]!, a3 = a[k + 3]!;
    const b0 = v ? b[k]! : 0, b1 = v ? b[k + 1]! : 0, b2 = v ? b[k + 2]! : 0, b3 = v ? b[k + 3]! : 0;
    const d0 = d[k]!, d1 = d[k + 1]!, d2 = d[k + 2]!, d3 = d[k + 3]!;
    for (let o = k; o < n; o += c) {
      out[o] = u[o]! * a0 + w[o]! * b0 + d0;
      out[o + 1] = u[o + 1]! * a1 + w[o + 1]! * b1 + d1;
      out[o + 2] = u[o + 2]! * a2 + w[o + 2]! * b2 + d2;
      out[o + 3] = u[o + 3]! * a3 + w[o + 3]! * b3 + d3;
    }
  }
  for (; k < c; k++) {
    const ak = a[k]!, bk = v ? b[k]! : 0, dk = d[k]!;
    for (let o = k; o < n; o += c) out[o] = u[o]! * ak + w[o]! * bk + dk;
  }
}

/** s1[k] = Σ dy, s2[k] = Σ dy·(x − mean[k]) per channel. */
function gradSums(dy: Float32Array, x: Float32Array, c: number, mean: Float32Array, s1: Float64Array, s2: Float64Array): void {
  const n = x.length;
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    const m0 = mean[k]!, m1 = mean[k + 1]!, m2 = mean[k + 2]!, m3 = mean[k + 3]!;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    for (let o = k; o < n; o += c) {
      const g0 = dy[o]!, g1 = dy[o + 1]!, g2 = dy[o + 2]!, g3 = dy[o + 3]!;
      a0 += g0; a1 += g1; a2 += g2; a3 += g3;
      b0 += g0 * (x[o]! - m0); b1 += g1 * (x[o + 1]! - m1); b2 += g2 * (x[o + 2]! - m2); b3 += g3 * (x[o + 3]! - m3);
    }
    s1[k] = a0; s1[k + 1] = a1; s1[k + 2] = a2; s1[k + 3] = a3;
    s2[k] = b0; s2[k + 1] = b1; s2[k + 2] = b2; s2[k + 3] = b3;
  }
  for (; k < c; k++) {
    const m = mean[k]!;
    let a = 0, b = 0;
    for (let o = k; o < n; o += c) { const g = dy[o]!; a += g; b += g * (x[o]! - m); }
    s1[k] = a; s2[k] = b;
  }
}

/**
 * Batch statistics and the normalization's per-channel scale and offset from the shifted sums,
 * and the moving statistics; shared by the JS and SIMD paths.
 */
function finishStats(p: number, shift: Float64Array, s1: Float64Array, s2: Float64Array, ins: Float32Array[], outs: Float32Array[],
  attrs: Attrs, scale: Float64Array, offset: Float64Array): void {
  const [, gamma, beta, mm, mv] = ins;
  const [, mean, variance, newMm, newMv] = outs;
  const eps = attrs.epsilon as number;
  const decay = 1 - (attrs.momentum as number);
  for (let k = 0; k < gamma!.length; k++) {
    const m1 = s1[k]! / p;
    const mu = shift[k]! + m1;
    const v = Math.max(0, s2[k]! / p - m1 * m1);
    mean![k] = mu;
    variance![k] = v;
    newMm![k] = mm![k]! - (mm![k]! - mu) * decay;
    newMv![k] = mv![k]! - (mv![k]! - v) * decay;
    scale[k] = gamma![k]! / Math.sqrt(v + eps);
    offset[k] = beta![k]! - mu * scale[k]!;
  }
}

/** Float64 scratch arrays of c entries each in the wasm heap: their byte offsets and views. */
function scratchArrays<T>(ctx: SimdContext, c: number, count: number, use: (ptrs: number[], arrays: Float64Array[]) => T): T {
  return withScratch(ctx.backend, count * c, (ptr, view) => use(
    Array.from({ length: count }, (_, i) => ptr + 8 * c * i),
    Array.from({ length: count }, (_, i) => view.subarray(c * i, c * (i + 1)))));
}

const bnTrainKernel: JsKernel = {
  name: BN_TRAIN,
  inputs: ['x', 'gamma', 'beta', 'movingMean', 'movingVariance'],
  // y, batch mean, batch variance, new moving mean, new moving variance
  outShapes: ([x, g]) => [[...x!], [...g!], [...g!], [...g!], [...g!]],
  simd(ctx, [xs, gs], attrs: Attrs) {
    const c = gs![0]!;
    if (c % 4 !== 0) return false;
    const p = xs!.reduce((a, b) => a * b, 1) / c;
    return scratchArrays(ctx, c, 6, ([pShift, pS1, pS2, pScale, pOffset, pZero], [shift, s1, s2, scale, offset, zero]) => {
      const v = ctx.views(); // after the scratch malloc, which may grow the heap
      for (let k = 0; k < c; k++) shift![k] = v.ins[0]![k]!;
      ctx.ex.bn_shifted_sums!(ctx.ins[0]!, c, p, pShift!, pS1!, pS2!);
      finishStats(p, shift!, s1!, s2!, v.ins, v.outs, attrs, scale!, offset!);
      zero!.fill(0);
      ctx.ex.bn_affine!(ctx.outs[0]!, ctx.ins[0]!, ctx.ins[0]!, c, p, pScale!, pZero!, pOffset!);
      return true;
    });
  },
  run(ins, outs, _shapes, attrs: Attrs) {
    const x = ins[0]!;
    const c = ins[1]!.length;
    const p = x.length / c;
    // Sums of (x − x[0,c]): shifting by a sample keeps E[d²] − E[d]² free of cancellation.
    const shift = new Float64Array(c);
    for (let k = 0; k < c; k++) shift[k] = x[k]!;
    const s1 = new Float64Array(c);
    const s2 = new Float64Array(c);
    shiftedSums(x, c, shift, s1, s2);
    const scale = new Float64Array(c);
    const offset = new Float64Array(c);
    finishStats(p, shift, s1, s2, ins, outs, attrs, scale, offset);
    affine(outs[0]!, c, x, scale, null, scale, offset);
  },
};

/** dx = a·dy + b·x + d per channel from the gradient sums; also fills dγ and dβ. */
function gradCoefficients(p: number, eps: number, gamma: Float32Array, mean: Float32Array, variance: Float32Array,
  sDy: Float64Array, sDyXc: Float64Array, a: Float64Array, b: Float64Array, d: Float64Array, dGamma: Float32Array, dBeta: Float32Array): void {
  // a = γr, b = −a·r²·Σdy(x−μ)/P, d = −a·Σdy/P − b·μ.
  for (let k = 0; k < gamma.length; k++) {
    const r = 1 / Math.sqrt(variance[k]! + eps);
    a[k] = gamma[k]! * r;
    b[k] = -a[k]! * r * r * sDyXc[k]! / p;
    d[k] = -a[k]! * sDy[k]! / p - b[k]! * mean[k]!;
    dGamma[k] = sDyXc[k]! * r;
    dBeta[k] = sDy[k]!;
  }
}

const bnTrainGradKernel: JsKernel = {
  name: BN_TRAIN_GRAD,
  inputs: ['dy', 'x', 'gamma', 'mean', 'variance'],
  outShapes: ([, x, g]) => [[...x!], [...g!], [...g!]],
  simd(ctx, [, xs, gs], attrs: Attrs) {
    const c = gs![0]!;
    if (c % 4 !== 0) return false;
    const p = xs!.reduce((a, b) => a * b, 1) / c;
    const [dy, x, , mean] = ctx.ins;
    return scratchArrays(ctx, c, 5, ([pS1, pS2, pA, pB, pD], [s1, s2, a, b, d]) => {
      ctx.ex.bn_grad_sums!(dy!, x!, c, p, mean!, pS1!, pS2!);
      const v = ctx.views();
      gradCoefficients(p, attrs.epsilon as number, v.ins[2]!, v.ins[3]!, v.ins[4]!, s1!, s2!, a!, b!, d!, v.outs[1]!, v.outs[2]!);
      ctx.ex.bn_affine!(ctx.outs[0]!, dy!, x!, c, p, pA!, pB!, pD!);
      return true;
    });
  },
  run([dy, x, gamma, mean, variance], [dx, dGamma, dBeta], _shapes, attrs: Attrs) {
    const c = gamma!.length;
    const p = x!.length / c;
    const sDy = new Float64Array(c);
    const sDyXc = new Float64Array(c); // Σ dy·(x − μ)
    gradSums(dy!, x!, c, mean!, sDy, sDyXc);
    const a = new Float64Array(c);
    const b = new Float64Array(c);
    const d = new Float64Array(c);
    gradCoefficients(p, attrs.epsilon as number, gamma!, mean!, variance!, sDy, sDyXc, a, b, d, dGamma!, dBeta!);
    affine(dx!, c, dy!, a, x!, b, d);
  },
};

const bnTrainGradient: tf.GradConfig = {
  kernelName: BN_TRAIN,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true, false, false],
  gradFunc: (dys, saved, attrs) => {
    const dy = (dys as tf.Tensor[])[0]!;
    const [x, gamma, mean, variance] = saved as tf.Tensor[];
    // All three at once (one kernel); the tape's per-input thunks hand them out.
    const [dx, dGamma, dBeta] = runKernel(BN_TRAIN_GRAD, { dy, x: x!, gamma: gamma!, mean: mean!, variance: variance! }, attrs as Attrs);
    return {
      x: () => dx!,
      gamma: () => dGamma!,
      beta: () => dBeta!,
      // Moving statistics are not trained: nothing flows into them.
      movingMean: () => tf.zerosLike(mean!),
      movingVariance: () => tf.zerosLike(variance!),
    };
  },
};

/** Whether the fused training batch norm runs on the current backend (cpu, wasm). */
export const hasFusedBatchNorm = (): boolean => hasKernel(BN_TRAIN);

export interface BatchNormTrainResult {
  /** The normalized batch, differentiable in x, gamma and beta. */
  y: tf.Tensor;
  /** Moving statistics after this batch: write them back to the layer's variables. */
  movingMean: tf.Tensor1D;
  movingVariance: tf.Tensor1D;
}

/** Training-mode batch norm over the last axis of x (any rank ≥ 2), on a backend with the kernels. */
export function batchNormTrain(
  x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, movingMean: tf.Tensor1D, movingVariance: tf.Tensor1D,
  epsilon: number, momentum: number,
): BatchNormTrainResult {
  const [y, mean, variance, mm, mv] = runKernel(BN_TRAIN, { x, gamma, beta, movingMean, movingVariance }, { epsilon, momentum });
  // The batch statistics are outputs only so that the gradient can read them.
  tf.dispose([mean!, variance!]);
  return { y: y!, movingMean: mm as tf.Tensor1D, movingVariance: mv as tf.Tensor1D };
}

/** This module's kernels, registered on cpu and wasm by register.ts (nothing is registered at import). */
export const BN_KERNELS: readonly JsKernel[] = [bnTrainKernel, bnTrainGradKernel];

/** This module's gradients, registered by register.ts when a backend is selected. */
export const BN_GRADIENTS: readonly tf.GradConfig[] = [bnTrainGradient];
