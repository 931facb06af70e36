/** Shared by the binary and model tests: finite differences and approximate comparisons. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

/**
 * Central finite differences of the scalar function `f` at `x`, element by element
 * (float32 tensors, so eps is kept around 1e-3 and tolerances around 1e-3).
 */
export function finiteDiffGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-3): Float32Array {
  const base = x.dataSync();
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] += eps;
    minus[i] -= eps;
    const fp = tf.tidy(() => f(tf.tensor(plus, x.shape)).dataSync()[0]);
    const fm = tf.tidy(() => f(tf.tensor(minus, x.shape)).dataSync()[0]);
    out[i] = (fp - fm) / (2 * eps);
  }
  return out;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-3, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: lengths differ`);
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * scale,
      `${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
  }
}

/** Values spread over [−2, 2] that stay clear of the kinks at 0 and ±1 (finite differences straddle no kink). */
export const KINK_FREE_POINTS = [-1.9, -1.3, -0.93, -0.61, -0.37, -0.12, 0.07, 0.21, 0.48, 0.77, 0.95, 1.2, 1.75];
