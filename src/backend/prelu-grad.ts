import tf from '../tf.cjs';
import { hasKernel, runKernel, type JsKernel } from './js-kernel.ts';

/**
 * PReLU's gradient as one fused kernel for per-channel slopes (alpha [C] or [1, …, 1, C], the
 * shape tf.layers.prelu with sharedAxes over the spatial axes builds). tfjs-core's gradient runs
 * greater, two selects, zerosLike, two muls, a sum and a reshape over the full tensor (45 layers
 * in the reference HourGlass); this is one pass. register.ts puts it over the stock gradient of
 * the Prelu kernel (for every backend) when a backend is selected: other slope shapes, and
 * backends without the kernel, get the stock formula below, unchanged.
 */

export const PRELU_GRAD = 'BnnPreluGrad';

/**
 * dx = dy (x > 0) or dy·α (else); dα = Σ dy·x over x ≤ 0. Branch-free (the sign of x is a coin
 * flip; a branch mispredicts half the time), 4 channels at a time with α and the sums in locals:
 * written as m·dy + (1 − m)·dy·α with m ∈ {0, 1}, which is exactly dy or dy·α.
 */
function preluGrad(dy: Float32Array, x: Float32Array, alpha: Float32Array, dx: Float32Array, dAlpha: Float32Array): void {
  const c = alpha.length;
  const n = x.length;
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    const a0 = alpha[k]!, a1 = alpha[k + 1]!, a2 = alpha[k + 2]!, a3 = alpha[k + 3]!;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let o = k; o < n; o += c) {
      const v0 = x[o]!, v1 = x[o + 1]!, v2 = x[o + 2]!, v3 = x[o + 3]!;
      const g0 = dy[o]!, g1 = dy[o + 1]!, g2 = dy[o + 2]!, g3 = dy[o + 3]!;
      const m0 = +(v0 > 0), m1 = +(v1 > 0), m2 = +(v2 > 0), m3 = +(v3 > 0);
      dx[o] = g0 * m0 + g0 * a0 * (1 - m0);
      dx[o + 1] = g1 * m1 + g1 * a1 * (1 - m1);
      dx[o + 2] = g2 * m2 + g2 * a2 * (1 - m2);
      dx[o + 3] = g3 * m3 + g3 * a3 * (1 - m3);
      s0 += g0 * v0 * (1 - m0); s1 += g1 * v1 * (1 - m1); s2 += g2 * v2 * (1 - m2); s3 += g3 * v3 * (1 - m3);
    }
    dAlpha[k] = s0; dAlpha[k + 1] = s1; dAlpha[k + 2] = s2; dAlpha[k + 3] = s3;
  }
  for (; k < c; k++) {
    const a = alpha[k]!;
    let s = 0;
    for (let o = k; o < n; o += c) {
      const v = x[o]!, g = dy[o]!, m = +(v > 0);
      dx[o] = g * m + g * a * (1 - m);
      s += g * v * (1 - m);
    }
    dAlpha[k] = s;
  }
}

const preluGradKernel: JsKernel = {
  name: PRELU_GRAD,
  inputs: ['dy', 'x', 'alpha'],
  outShapes: ([, x, alpha]) => [[...x!], [...alpha!]],
  run([dy, x, alpha], [dx, dAlpha]) {
    preluGrad(dy!, x!, alpha!, dx!, dAlpha!);
  },
};

/** Whether alpha holds one slope per channel of the last axis of x. */
function perChannel(x: tf.Tensor, alpha: tf.Tensor): boolean {
  const c = x.shape.at(-1);
  return alpha.size === c && alpha.shape.slice(0, -1).every((d) => d === 1) && alpha.shape.at(-1) === c;
}

const preluGradient: tf.GradConfig = {
  kernelName: tf.Prelu,
  inputsToSave: ['x', 'alpha'],
  gradFunc: (dy, saved) => {
    const [x, alpha] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    if (hasKernel(PRELU_GRAD) && perChannel(x, alpha)) {
      const [dx, dAlpha] = runKernel(PRELU_GRAD, { dy: g, x, alpha });
      return { x: () => dx!, alpha: () => dAlpha! };
    }
    // tfjs-core 4.22's own Prelu gradient, for every other case.
    const mask = tf.greater(x, 0);
    return {
      x: () => tf.where(mask, g, tf.mul(g, alpha)),
      alpha: () => {
        let res = tf.where(mask, tf.zerosLike(g), tf.mul(g, x));
        const axes = tf.backend_util.getReductionAxes(alpha.shape, g.shape);
        if (axes.length > 0) res = tf.sum(res, axes);
        return tf.reshape(res, alpha.shape);
      },
    };
  },
};

/** This module's kernels, registered on cpu and wasm by register.ts (nothing is registered at import). */
export const PRELU_KERNELS: readonly JsKernel[] = [preluGradKernel];

/** This module's gradients, registered by register.ts when a backend is selected. */
export const PRELU_GRADIENTS: readonly tf.GradConfig[] = [preluGradient];
