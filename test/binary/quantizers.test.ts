import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import {
  binarizeWeights, hardSign, signForward, signSurrogateForward, signSurrogateGrad, smoothSign, smoothSignSurrogate, weightScale,
  type SignGradient, type SmoothSign, type WeightScale,
} from '../../src/binary/quantizers.ts';
import { SCHEMA } from '../../src/config/schema.ts';
import { KINK_FREE_POINTS, assertClose, finiteDiffGrad } from './helpers.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
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

describe('progressive quantization on x / mean|x| (progressive.scale mean_abs)', () => {
  const FNS: SmoothSign[] = ['tanh', 'sigmoid', 'softsign'];
  /** Deterministic samples in (0, 1) (a fixed LCG: no tfjs RNG state involved). */
  function uniforms(n: number, seed: number): number[] {
    let s = seed >>> 0;
    return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32);
  }
  /** Tensors like the ones progressive quantization meets, with std `scale`. */
  const draws: Record<string, (u: number, v: number) => number> = {
    gaussian: (u, v) => Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v),
    laplace: (u, v) => (v < 0.5 ? 1 : -1) * Math.log(u) / Math.SQRT2,
    uniform: (u) => (2 * u - 1) * Math.sqrt(3),
  };
  function sample(kind: string, scale: number, n = 20000, seed = 7): tf.Tensor {
    const u = uniforms(n, seed), v = uniforms(n, seed + 1);
    return tf.tensor1d(u.map((ui, i) => scale * draws[kind]!(ui, v[i]!)));
  }
  /** Fraction of entries where the soft value is within 0.1 of the hard sign. */
  function agreement(soft: tf.Tensor, x: tf.Tensor): number {
    const s = soft.dataSync(), h = signForward(x).dataSync();
    let ok = 0;
    for (let i = 0; i < s.length; i++) if (Math.abs(s[i]! - h[i]!) <= 0.1) ok++;
    return ok / s.length;
  }
  const lambdaEnd = SCHEMA.progressive.lambda_end.default;

  // Latent weights (~0.01–0.06, the scales of trained binary kernels) and features (BN outputs ~1).
  for (const scale of [0.01, 0.03, 0.06, 1]) {
    for (const kind of Object.keys(draws)) {
      test(`${kind} entries of std ${scale}: at λ_end every function is within 0.1 of sign on ≥ 99 %`, () => {
        const x = sample(kind, scale);
        for (const fn of FNS) {
          const a = agreement(smoothSign(x, fn, lambdaEnd, 'mean_abs'), x);
          assert.ok(a >= 0.99, `${fn}: ${(100 * a).toFixed(2)} % agree`);
        }
      });
    }
  }

  test('the schedule\'s end matters: raw weights (scale none) at λ = 100 are far from binary, scaled ones are not', () => {
    // The failure this option fixes: tanh(100·W) with W ~ 0.03 leaves about a third of the entries soft.
    const x = sample('gaussian', 0.03);
    assert.ok(agreement(smoothSign(x, 'tanh', 100, 'none'), x) < 0.8);
    assert.ok(agreement(smoothSign(x, 'tanh', 100, 'mean_abs'), x) >= 0.99);
    // And the start is soft: at λ_start most entries are not yet binary, whatever the raw scale.
    for (const s of [0.01, 1]) assert.ok(agreement(smoothSign(sample('gaussian', s), 'tanh', SCHEMA.progressive.lambda_start.default, 'mean_abs'), sample('gaussian', s)) < 0.5);
  });

  test('the scaled value is f(λx / mean|x|) and does not depend on the tensor\'s scale', () => {
    const pts = KINK_FREE_POINTS;
    const m = pts.reduce((a, p) => a + Math.abs(p), 0) / pts.length;
    for (const s of [0.02, 1, 50]) {
      const got = smoothSign(tf.tensor1d(pts.map((p) => p * s)), 'tanh', 2, 'mean_abs').dataSync();
      assertClose(got, pts.map((p) => Math.tanh((2 * p) / m)), 1e-5, `scale ${s}`);
    }
    // An all-zero tensor stays zero instead of dividing by zero.
    assert.deepEqual(Array.from(smoothSign(tf.zeros([3]), 'tanh', 5, 'mean_abs').dataSync()), [0, 0, 0]);
  });

  for (const fn of FNS) {
    for (const [lambda, scale] of [[0.5, 1], [3, 0.03], [20, 0.03]] as const) {
      test(`${fn}(λx/mean|x|), λ = ${lambda}, entries ~${scale}: the gradient (through mean|x| too) matches finite differences`, () => {
        const x = tf.tensor1d(KINK_FREE_POINTS.map((p) => p * scale));
        const c = tf.tensor1d(KINK_FREE_POINTS.map((_, i) => Math.cos(i + 1)));
        const f = (t: tf.Tensor) => tf.sum(tf.mul(c, smoothSign(t, fn, lambda, 'mean_abs'))) as tf.Scalar;
        // The function changes on the scale mean|x| / λ, so the step follows it.
        const m = scale * KINK_FREE_POINTS.reduce((a, p) => a + Math.abs(p), 0) / KINK_FREE_POINTS.length;
        const eps = (m / Math.max(1, lambda)) * 1e-2;
        const got = tf.grad(f)(x).dataSync();
        const fd = finiteDiffGrad(f, x, eps);
        const big = Math.max(...Array.from(fd, Math.abs));
        assertClose(Array.from(got, (g) => g / big), Array.from(fd, (g) => g / big), 5e-3, `${fn} λ=${lambda}`);
      });
    }
  }
});

describe('progressive.gradient surrogate: f(λz) forward, the hard sign\'s surrogate backward', () => {
  for (const g of ['clipped_ste', 'approx_sign'] as SignGradient[]) {
    test(`${g}: values of f, gradient of the surrogate (finite differences of its smooth function)`, () => {
      const x = tf.tensor1d(KINK_FREE_POINTS.map((p) => p * 0.8));
      const lambda = tf.scalar(7);
      assertClose(smoothSignSurrogate(x, 'tanh', lambda, 'mean_abs', g).dataSync(), smoothSign(x, 'tanh', 7, 'mean_abs').dataSync(), 1e-6, 'forward');
      const c = tf.tensor1d(KINK_FREE_POINTS.map((_, i) => 0.5 + i / 7));
      const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c, smoothSignSurrogate(t, 'tanh', lambda, 'mean_abs', g))))(x).dataSync();
      const fd = finiteDiffGrad((t) => tf.sum(tf.mul(c, signSurrogateForward(t, g))) as tf.Scalar, x);
      assertClose(got, fd, 2e-3, g);
    });
  }

  test('latent weights keep their gradient at a large λ (the exact derivative has none left)', () => {
    const w = tf.tensor1d([0.01, -0.03, 0.05, -0.02]);
    const exact = tf.grad((t: tf.Tensor) => tf.sum(smoothSign(t, 'tanh', 1000, 'mean_abs')))(w).dataSync();
    const surrogate = tf.grad((t: tf.Tensor) => tf.sum(smoothSignSurrogate(t, 'tanh', 1000, 'mean_abs', 'clipped_ste')))(w).dataSync();
    assert.ok(Array.from(exact).every((v) => Math.abs(v) < 1e-6), `exact: ${Array.from(exact)}`);
    assert.deepEqual(Array.from(surrogate), [1, 1, 1, 1]);
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
