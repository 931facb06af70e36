import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  binarizeWeights, hardSign, signForward, signSurrogateForward, signSurrogateGrad, smoothSign, weightScale,
  type SignGradient, type SmoothSign, type WeightScale,
} from '../../src/binary/quantizers.ts';
import { KINK_FREE_POINTS, assertClose, finiteDiffGrad } from './helpers.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const GRADIENTS: SignGradient[] = ['clipped_ste', 'ste', 'approx_sign', 'swish_sign'];

describe('hard sign forward', () => {
  test('plus_one never returns 0: x ≥ 0 → +1, x < 0 → −1', () => {
    const x = tf.tensor1d([-3, -1e-7, 0, -0, 1e-7, 2]);
    assert.deepEqual(Array.from(signForward(x).dataSync()), [-1, -1, 1, 1, 1, 1]);
    for (const g of GRADIENTS) assert.deepEqual(Array.from(hardSign(g)(x).dataSync()), [-1, -1, 1, 1, 1, 1]);
  });

  test("sign_at_zero 'zero' keeps Torch's sign(0) = 0", () => {
    const x = tf.tensor1d([-2, 0, 3]);
    assert.deepEqual(Array.from(hardSign('clipped_ste', 5, 'zero')(x).dataSync()), [-1, 0, 1]);
  });
});

describe('hard sign backward', () => {
  for (const g of GRADIENTS) {
    test(`${g}: gradient equals finite differences of its surrogate`, () => {
      const x = tf.tensor1d(KINK_FREE_POINTS);
      const c = tf.tensor1d(KINK_FREE_POINTS.map((_, i) => 0.5 + i / 7));
      // A weighted sum so every element's upstream gradient differs (dy ≠ 1 is exercised).
      const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c, hardSign(g, 3)(t))))(x).dataSync();
      const fd = finiteDiffGrad((t) => tf.sum(tf.mul(c, signSurrogateForward(t, g, 3))) as tf.Scalar, x);
      assertClose(got, fd, 2e-3, g);
    });
  }

  test('closed forms at chosen points', () => {
    const x = tf.tensor1d([-1.5, -0.5, 0, 0.5, 1, 1.5]);
    const grad = (g: SignGradient) => Array.from(tf.grad((t: tf.Tensor) => tf.sum(hardSign(g)(t)))(x).dataSync());
    assert.deepEqual(grad('clipped_ste'), [0, 1, 1, 1, 1, 0]);
    assert.deepEqual(grad('ste'), [1, 1, 1, 1, 1, 1]);
    assertClose(grad('approx_sign'), [0, 1, 2, 1, 0, 0], 1e-6, 'approx_sign');
    // swish_sign at 0: β(2 − 0)/(1 + 1) = β.
    assertClose([tf.grad((t: tf.Tensor) => tf.sum(hardSign('swish_sign', 5)(t)))(tf.tensor1d([0])).dataSync()[0]], [5], 1e-5, 'swish');
  });

  test('swish_sign gradient stays finite for large |βx|', () => {
    const g = signSurrogateGrad(tf.tensor1d([-200, 200]), 'swish_sign', 5).dataSync();
    for (const v of g) assert.ok(Number.isFinite(v) && Math.abs(v) < 1e-6);
  });

  test('repeated calls leak no tensors', () => {
    const x = tf.tensor1d([-1, 0.5]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(() => { tf.grad((t: tf.Tensor) => tf.sum(hardSign('approx_sign')(t)))(x); });
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('progressive smooth approximations', () => {
  const FNS: SmoothSign[] = ['tanh', 'sigmoid', 'softsign'];
  const reference: Record<SmoothSign, (z: number) => number> = {
    tanh: Math.tanh,
    sigmoid: (z) => 2 / (1 + Math.exp(-z)) - 1,
    softsign: (z) => z / (1 + Math.abs(z)),
  };
  for (const fn of FNS) {
    for (const lambda of [0.5, 3, 20]) {
      test(`${fn}(λx), λ = ${lambda}: values and exact gradient`, () => {
        const pts = KINK_FREE_POINTS.map((p) => p / Math.max(1, lambda / 3));
        const x = tf.tensor1d(pts);
        assertClose(smoothSign(x, fn, lambda).dataSync(), pts.map((p) => reference[fn](lambda * p)), 1e-5, fn);
        const got = tf.grad((t: tf.Tensor) => tf.sum(smoothSign(t, fn, lambda)))(x).dataSync();
        const fd = finiteDiffGrad((t) => tf.sum(smoothSign(t, fn, lambda)) as tf.Scalar, x, 1e-3 / Math.max(1, lambda / 3));
        assertClose(got, fd, 5e-3, `${fn} λ=${lambda}`);
      });
    }
  }

  test('the sigmoid form equals tanh(λx/2) (paper.md §1.2)', () => {
    const x = tf.tensor1d(KINK_FREE_POINTS);
    assertClose(smoothSign(x, 'sigmoid', 4).dataSync(), smoothSign(x, 'tanh', 2).dataSync(), 1e-5, 'sigmoid');
  });

  test('λ read from a variable: assigning it changes the next call', () => {
    const lambda = tf.variable(tf.scalar(1), false);
    const x = tf.tensor1d([0.5]);
    const a = smoothSign(x, 'tanh', lambda as tf.Scalar).dataSync()[0];
    lambda.assign(tf.scalar(10));
    const b = smoothSign(x, 'tanh', lambda as tf.Scalar).dataSync()[0];
    assertClose([a, b], [Math.tanh(0.5), Math.tanh(5)], 1e-6, 'lambda');
    lambda.dispose();
  });

  test('large λ approaches the hard sign', () => {
    const x = tf.tensor1d([-0.3, 0.2, 0.9]);
    assertClose(smoothSign(x, 'tanh', 1000).dataSync(), [-1, 1, 1], 1e-6, 'tanh');
  });
});

describe('weight binarization α·sign(W)', () => {
  // HWIO kernel 2×1×2×3: three output filters with different magnitudes.
  const w = tf.tensor4d([0.2, -0.4, 0.9, -0.1, 0.3, -0.6, 0.5, 0.25, -0.7, -0.35, 0.15, 0.45], [2, 1, 2, 3]);
  const wData = Array.from(w.dataSync());
  const alphaOf = (scale: WeightScale): number[] => {
    if (scale === 'none') return [1, 1, 1];
    if (scale === 'tensor') return [0, 1, 2].map(() => wData.reduce((s, v) => s + Math.abs(v), 0) / wData.length);
    return [0, 1, 2].map((o) => wData.filter((_, i) => i % 3 === o).reduce((s, v) => s + Math.abs(v), 0) / 4);
  };

  for (const scale of ['channel', 'tensor', 'none'] as WeightScale[]) {
    test(`${scale}: forward is α per output filter times sign(W)`, () => {
      const alpha = alphaOf(scale);
      const expected = wData.map((v, i) => alpha[i % 3] * (v >= 0 ? 1 : -1));
      assertClose(binarizeWeights(w, scale, hardSign()).dataSync(), expected, 1e-6, scale);
    });

    test(`${scale}: gradient is the product rule of α(W)·sign(W) with the surrogate`, () => {
      const c = tf.tensor4d(wData.map((_, i) => Math.cos(i + 1)), [2, 1, 2, 3]);
      const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c, binarizeWeights(t, scale, hardSign('clipped_ste')))))(w).dataSync();
      // d/dW Σ c·α(W)·s with s frozen at sign(W0), plus α(W0)·d/dW Σ c·surrogate(W).
      const s0 = tf.tensor4d(wData.map((v) => (v >= 0 ? 1 : -1)), w.shape);
      const alphaTerm = finiteDiffGrad((t) => {
        const a = weightScale(t, scale);
        return tf.sum(tf.mul(c, a === null ? tf.zerosLike(t) : tf.mul(a, s0))) as tf.Scalar;
      }, w);
      const a0 = weightScale(w, scale) ?? tf.scalar(1);
      const signTerm = finiteDiffGrad((t) => tf.sum(tf.mul(tf.mul(c, a0), signSurrogateForward(t, 'clipped_ste'))) as tf.Scalar, w);
      assertClose(got, alphaTerm.map((v, i) => v + signTerm[i]), 2e-3, scale);
    });

    test(`${scale}: with a smooth quantizer the gradient matches finite differences exactly`, () => {
      const q = (t: tf.Tensor) => smoothSign(t, 'tanh', 2.5);
      const c = tf.tensor4d(wData.map((_, i) => Math.sin(i + 1)), [2, 1, 2, 3]);
      const f = (t: tf.Tensor) => tf.sum(tf.mul(c, binarizeWeights(t, scale, q))) as tf.Scalar;
      assertClose(tf.grad(f)(w).dataSync(), finiteDiffGrad(f, w), 2e-3, scale);
    });
  }

  test('dense kernels [in, out] get one α per output unit', () => {
    const k = tf.tensor2d([[1, -2], [-3, 4]]);
    assertClose(binarizeWeights(k, 'channel', hardSign()).dataSync(), [2, -3, -2, 3], 1e-6, 'dense');
  });
});
