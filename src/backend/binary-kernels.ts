import tf from '../tf.cjs';
import { hasKernel, runKernel, type Attrs, type JsKernel } from './js-kernel.ts';
import { at, defineWasmFuncs, elementwise, vecLoop } from './wasm-simd.ts';

/**
 * The binarizers of a binary layer as single fused kernels (cpu and wasm):
 * - BnnSign: q = sign(x) (+1 or 0 at zero) with the straight-through backward dy·1[|x| ≤ 1]
 *   (clipped_ste) or dy (ste). The tfjs-op version is sign(sign(x) + 0.1) forward and
 *   abs → lessEqual → cast → mul backward: 7 full-size ops where this does 2.
 * - BnnBinarizeWeights: α·sign(W), α = mean|W| per output channel (last axis), per tensor, or 1,
 *   with the exact gradient of that expression (α's own term included, as the tfjs-op graph
 *   differentiates it): ~15 small ops per layer and step become 2.
 * Other surrogate gradients (approx_sign, swish_sign) keep the tfjs-op path in src/binary.
 */

export const SIGN = 'BnnSign';
export const SIGN_GRAD = 'BnnSignGrad';
export const BINARIZE_WEIGHTS = 'BnnBinarizeWeights';
export const BINARIZE_WEIGHTS_GRAD = 'BnnBinarizeWeightsGrad';

/** Surrogate gradients these kernels implement. */
export type FusedSignGradient = 'clipped_ste' | 'ste';
export const FUSED_SIGN_GRADIENTS: readonly string[] = ['clipped_ste', 'ste'];

/*
 * Branch-free loops: signs of activations are coin flips, and a data-dependent branch per element
 * mispredicts half the time (measured 7 ns per element against 1.4 for `+(v >= 0) * 2 - 1`).
 * The NaN test is a branch that is never taken, so it costs nothing and keeps NaN visible.
 */
/*
 * The same as f32x4 SIMD on wasm: a comparison mask selects +1/−1/0 lanes (bitselect), and NaN
 * lanes (x ≠ x: the x = x mask is off) select x itself. The gradient multiplies dy by a 1.0/0.0 mask as the JS loop does,
 * so dy = ±∞ or NaN outside [−1, 1] still gives NaN in both.
 */
const ONE = 'v128.const f32x4 1 1 1 1';
const MINUS_ONE = 'v128.const f32x4 -1 -1 -1 -1';
const ZERO = 'v128.const f32x4 0 0 0 0';
defineWasmFuncs([{
  name: 'sign_plus_one',
  params: [['$x', 'i32'], ['$q', 'i32'], ['$bytes', 'i32']],
  locals: [['$i', 'i32'], ['$v', 'v128']],
  body: vecLoop(`${at('$q')}
    ${ONE} ${MINUS_ONE} ${at('$x')} v128.load local.tee $v ${ZERO} f32x4.ge v128.bitselect
    local.get $v local.get $v local.get $v f32x4.eq v128.bitselect
    v128.store`),
}, {
  name: 'sign_zero',
  params: [['$x', 'i32'], ['$q', 'i32'], ['$bytes', 'i32']],
  locals: [['$i', 'i32'], ['$v', 'v128']],
  body: vecLoop(`${at('$q')}
    ${ONE} ${MINUS_ONE} ${ZERO} ${at('$x')} v128.load local.tee $v ${ZERO} f32x4.lt v128.bitselect
    local.get $v ${ZERO} f32x4.gt v128.bitselect
    local.get $v local.get $v local.get $v f32x4.eq v128.bitselect
    v128.store`),
}, {
  name: 'sign_grad',
  params: [['$dy', 'i32'], ['$x', 'i32'], ['$dx', 'i32'], ['$bytes', 'i32']],
  locals: [['$i', 'i32']],
  body: vecLoop(`${at('$dx')}
    ${at('$dy')} v128.load
    ${ONE} ${ZERO} ${at('$x')} v128.load f32x4.abs ${ONE} f32x4.le v128.bitselect
    f32x4.mul v128.store`),
}]);

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const signKernel: JsKernel = {
  name: SIGN,
  inputs: ['x'],
  outShapes: ([x]) => [[...x!]],
  simd(ctx, [xs], attrs) {
    return elementwise(ctx, attrs.atZero === 'zero' ? 'sign_zero' : 'sign_plus_one', size(xs!), [], (i, o) => this.run(i, o, [], attrs));
  },
  run([x], [q], _s, attrs: Attrs) {
    const n = x!.length;
    if (attrs.atZero === 'zero') {
      // ±0 → 0, as tf.sign.
      for (let i = 0; i < n; i++) { const v = x![i]!; q![i] = v !== v ? v : +(v > 0) - +(v < 0); }
    } else {
      for (let i = 0; i < n; i++) { const v = x![i]!; q![i] = v !== v ? v : +(v >= 0) * 2 - 1; }
    }
  },
};

const signGradKernel: JsKernel = {
  name: SIGN_GRAD,
  inputs: ['dy', 'x'],
  outShapes: ([, x]) => [[...x!]],
  simd(ctx, [dys]) {
    return elementwise(ctx, 'sign_grad', size(dys!), [], (i, o) => this.run(i, o, [], {}));
  },
  run([dy, x], [dx]) {
    const n = x!.length;
    for (let i = 0; i < n; i++) dx![i] = dy![i]! * +(Math.abs(x![i]!) <= 1);
  },
};

const signGradient: tf.GradConfig = {
  kernelName: SIGN,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const g = dy as tf.Tensor;
    if ((attrs as Attrs).gradient === 'ste') return { x: () => tf.clone(g) };
    return { x: () => runKernel(SIGN_GRAD, { dy: g, x: x! })[0]! };
  },
};

/*
 * Weights are [rows, cols] with α per column (the output channel, last axis). The loops walk 4
 * columns at a time down the rows with their α and sums in locals (typed-array loads per element
 * are what costs in V8: 1.3 ns per element this way, 3.5-5 row-major); leftover columns one by one.
 */

const q = (v: number): number => +(v >= 0) * 2 - 1; // the weights' sign: +1 at zero
const gAbs = (v: number): number => +(v > 0) * 2 - 1; // tf.abs's gradient: −1 at zero

/** Σ|w| per column ('channel'), or Σ dy·q(w) per column when dy is given. */
function columnSums(w: Float32Array, dy: Float32Array | null, cols: number, out: Float64Array): void {
  const n = w.length;
  let k = 0;
  for (; k + 4 <= cols; k += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    if (dy) {
      for (let o = k; o < n; o += cols) {
        s0 += dy[o]! * q(w[o]!); s1 += dy[o + 1]! * q(w[o + 1]!); s2 += dy[o + 2]! * q(w[o + 2]!); s3 += dy[o + 3]! * q(w[o + 3]!);
      }
    } else {
      for (let o = k; o < n; o += cols) {
        s0 += Math.abs(w[o]!); s1 += Math.abs(w[o + 1]!); s2 += Math.abs(w[o + 2]!); s3 += Math.abs(w[o + 3]!);
      }
    }
    out[k] = s0; out[k + 1] = s1; out[k + 2] = s2; out[k + 3] = s3;
  }
  for (; k < cols; k++) {
    let s = 0;
    for (let o = k; o < n; o += cols) s += dy ? dy[o]! * q(w[o]!) : Math.abs(w[o]!);
    out[k] = s;
  }
}

/** Turns per-column sums into per-column means ('channel') or one mean everywhere ('tensor'). */
function toMeans(sums: Float64Array, n: number, scale: unknown): Float64Array {
  if (scale === 'tensor') {
    let s = 0;
    for (const v of sums) s += v;
    return sums.fill(s / n);
  }
  const rows = n / sums.length;
  for (let k = 0; k < sums.length; k++) sums[k]! /= rows;
  return sums;
}

/** α per column: mean|w| per column ('channel'), one mean|w| ('tensor'), or 1 ('none'); float64. */
function alphas(w: Float32Array, cols: number, scale: unknown): Float64Array {
  const a = new Float64Array(cols);
  if (scale === 'none') return a.fill(1);
  columnSums(w, null, cols, a);
  return toMeans(a, w.length, scale);
}

const binarizeWeightsKernel: JsKernel = {
  name: BINARIZE_WEIGHTS,
  inputs: ['w'],
  outShapes: ([w]) => [[...w!]],
  run([w], [wb], [ws], attrs: Attrs) {
    const cols = ws!.at(-1)!;
    const n = w!.length;
    // α rounded to float32 first, so every output is exactly ±α as in tfjs's float32 product.
    const a = Float32Array.from(alphas(w!, cols, attrs.scale));
    for (let o = 0; o < n; o += cols) for (let k = 0; k < cols; k++) wb![o + k] = q(w![o + k]!) * a[k]!;
  },
};

const binarizeWeightsGradKernel: JsKernel = {
  name: BINARIZE_WEIGHTS_GRAD,
  inputs: ['dy', 'w'],
  outShapes: ([, w]) => [[...w!]],
  run([dy, w], [dw], [, ws], attrs: Attrs) {
    const cols = ws!.at(-1)!;
    const n = w!.length;
    const a = alphas(w!, cols, attrs.scale);
    const clip = attrs.gradient !== 'ste';
    // dw = dy·α·1[|w| ≤ 1] (the STE through q) + gAbs(w)·mean(dy·q(w)) (through α = mean|w|).
    const dAlpha = new Float64Array(cols);
    if (attrs.scale !== 'none') toMeans((columnSums(w!, dy!, cols, dAlpha), dAlpha), n, attrs.scale);
    let k = 0;
    for (; k + 4 <= cols; k += 4) {
      const a0 = a[k]!, a1 = a[k + 1]!, a2 = a[k + 2]!, a3 = a[k + 3]!;
      const d0 = dAlpha[k]!, d1 = dAlpha[k + 1]!, d2 = dAlpha[k + 2]!, d3 = dAlpha[k + 3]!;
      for (let o = k; o < n; o += cols) {
        const v0 = w![o]!, v1 = w![o + 1]!, v2 = w![o + 2]!, v3 = w![o + 3]!;
        dw![o] = dy![o]! * a0 * (clip ? +(Math.abs(v0) <= 1) : 1) + gAbs(v0) * d0;
        dw![o + 1] = dy![o + 1]! * a1 * (clip ? +(Math.abs(v1) <= 1) : 1) + gAbs(v1) * d1;
        dw![o + 2] = dy![o + 2]! * a2 * (clip ? +(Math.abs(v2) <= 1) : 1) + gAbs(v2) * d2;
        dw![o + 3] = dy![o + 3]! * a3 * (clip ? +(Math.abs(v3) <= 1) : 1) + gAbs(v3) * d3;
      }
    }
    for (; k < cols; k++) {
      const ak = a[k]!, dk = dAlpha[k]!;
      for (let o = k; o < n; o += cols) {
        const v = w![o]!;
        dw![o] = dy![o]! * ak * (clip ? +(Math.abs(v) <= 1) : 1) + gAbs(v) * dk;
      }
    }
  },
};

const binarizeWeightsGradient: tf.GradConfig = {
  kernelName: BINARIZE_WEIGHTS,
  inputsToSave: ['w'],
  gradFunc: (dy, saved, attrs) => {
    const [w] = saved as tf.Tensor[];
    return { w: () => runKernel(BINARIZE_WEIGHTS_GRAD, { dy: dy as tf.Tensor, w: w! }, attrs as Attrs)[0]! };
  },
};

/** Whether the fused binarizers can serve this surrogate gradient on the current backend. */
export function hasFusedSign(gradient: string): boolean {
  return FUSED_SIGN_GRADIENTS.includes(gradient) && hasKernel(SIGN);
}

/** sign(x) (+1 at zero unless atZero = 'zero') with a straight-through backward. */
export function fusedSign(x: tf.Tensor, gradient: FusedSignGradient, atZero: 'plus_one' | 'zero'): tf.Tensor {
  return runKernel(SIGN, { x }, { gradient, atZero })[0]!;
}

/** α·sign(w) over the last axis (weights take +1 at zero), with its exact gradient. */
export function fusedBinarizeWeights(w: tf.Tensor, scale: 'channel' | 'tensor' | 'none', gradient: FusedSignGradient): tf.Tensor {
  return runKernel(BINARIZE_WEIGHTS, { w }, { scale, gradient })[0]!;
}

/** This module's kernels, registered on cpu and wasm by register.ts (nothing is registered at import). */
export const BINARY_KERNELS: readonly JsKernel[] = [signKernel, signGradKernel, binarizeWeightsKernel, binarizeWeightsGradKernel];

/** This module's gradients, registered by register.ts when a backend is selected. */
export const BINARY_GRADIENTS: readonly tf.GradConfig[] = [signGradient, binarizeWeightsGradient];
