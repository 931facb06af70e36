import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { BinaryConv2D, BinaryDense } from '../../src/binary/binary-layers.ts';
import {
  DEFAULT_QUANT_SETTINGS, QuantState, applyWeightClip, attachQuantState, initialFlagsForOrder, type QuantSettings,
} from '../../src/binary/quant-state.ts';
import { signSurrogateForward } from '../../src/binary/quantizers.ts';
import { assertClose } from './helpers.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
});

const sgn = (v: number) => (v >= 0 ? 1 : -1);

/** A built 3×3 conv 2 → 3 channels on a 4×4 input, with a known kernel. */
function makeConv(quant: QuantState): { layer: BinaryConv2D; x: tf.Tensor4D; kernel: tf.Tensor4D } {
  const layer = new BinaryConv2D({ filters: 3, kernelSize: 3, quant });
  const x = tf.tensor4d(Array.from({ length: 32 }, (_, i) => Math.sin(i * 1.7) * 1.5), [1, 4, 4, 2]);
  layer.apply(x); // builds
  const kernel = tf.tensor4d(Array.from({ length: 54 }, (_, i) => Math.cos(i * 0.9) * (0.2 + (i % 3) * 0.3)), [3, 3, 2, 3]);
  layer.setWeights([kernel]);
  return { layer, x, kernel };
}

function manualBinaryKernel(kernel: tf.Tensor4D): tf.Tensor4D {
  const k = Array.from(kernel.dataSync());
  const alpha = [0, 1, 2].map((o) => k.filter((_, i) => i % 3 === o).reduce((s, v) => s + Math.abs(v), 0) / 18);
  return tf.tensor4d(Array.from(k, (v, i) => alpha[i % 3] * sgn(v)), kernel.shape);
}

function settings(over: Partial<QuantSettings> = {}, progressive: Partial<QuantSettings['progressive']> = {}): QuantSettings {
  return { ...DEFAULT_QUANT_SETTINGS, ...over, progressive: { ...DEFAULT_QUANT_SETTINGS.progressive, ...progressive } };
}

describe('BinaryConv2D', () => {
  test('forward = conv(sign(x), α·sign(W)) with α per output filter', () => {
    const quant = new QuantState();
    const { layer, x, kernel } = makeConv(quant);
    const expected = tf.conv2d(tf.tensor4d(Array.from(x.dataSync(), sgn), x.shape), manualBinaryKernel(kernel), 1, 'same');
    assertClose((layer.apply(x) as tf.Tensor).dataSync(), expected.dataSync(), 1e-5, 'conv');
    quant.dispose();
  });

  test('features and weights switch independently at run time, no rebuild', () => {
    const quant = new QuantState();
    const { layer, x, kernel } = makeConv(quant);
    const signX = tf.tensor4d(Array.from(x.dataSync(), sgn), x.shape);
    const cases: Array<[boolean, boolean, tf.Tensor4D, tf.Tensor4D]> = [
      [true, true, signX, manualBinaryKernel(kernel)],
      [false, true, x, manualBinaryKernel(kernel)],
      [true, false, signX, kernel],
      [false, false, x, kernel],
    ];
    for (const [features, weights, xin, k] of cases) {
      quant.setBinarization({ features, weights });
      const got = (layer.apply(x) as tf.Tensor).dataSync();
      assertClose(got, tf.conv2d(xin, k, 1, 'same').dataSync(), 1e-5, `features=${features} weights=${weights}`);
    }
    quant.dispose();
  });

  test('input gradient is conv backprop times the surrogate derivative', () => {
    const quant = new QuantState();
    const { layer, x, kernel } = makeConv(quant);
    const c = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 7);
    const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c, layer.apply(t, { training: true }) as tf.Tensor)))(x);
    // The same network with the sign replaced by its surrogate (hardtanh) has that gradient exactly.
    const bk = manualBinaryKernel(kernel);
    const want = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c, tf.conv2d(signSurrogateForward(t, 'clipped_ste') as tf.Tensor4D, bk, 1, 'same'))))(x);
    assertClose(got.dataSync(), want.dataSync(), 1e-4, 'dx');
    quant.dispose();
  });

  test('progressive: smooth f(λx / mean|x|) while training, λ settable every step, hard sign in eval', () => {
    const quant = new QuantState(settings({}, { enabled: true, fn: 'tanh', applyTo: 'features' }), { features: true, weights: false });
    const { layer, x, kernel } = makeConv(quant);
    const at = (lambda: number) => {
      quant.setLambda(lambda);
      return (layer.apply(x, { training: true }) as tf.Tensor).dataSync();
    };
    for (const lambda of [1, 7]) {
      // The default progressive.scale: λ multiplies the input divided by its mean |x|.
      const meanAbs = Array.from(x.dataSync(), Math.abs).reduce((a, b) => a + b, 0) / x.size;
      const want = tf.conv2d(tf.tanh(tf.mul(x, lambda / meanAbs)) as tf.Tensor4D, kernel, 1, 'same').dataSync();
      assertClose(at(lambda), want, 1e-5, `λ=${lambda}`);
    }
    const hard = tf.conv2d(tf.tensor4d(Array.from(x.dataSync(), sgn), x.shape), kernel, 1, 'same').dataSync();
    assertClose((layer.apply(x, { training: false }) as tf.Tensor).dataSync(), hard, 1e-5, 'eval');
    quant.dispose();
  });

  test('progressive with eval_hard_sign=false evaluates the smooth function too', () => {
    const quant = new QuantState(settings({}, { enabled: true, fn: 'softsign', evalHardSign: false }), { features: true, weights: true }, 3);
    assert.equal(quant.featureMode(false), 'smooth');
    assert.equal(quant.weightMode(false), 'smooth');
    quant.setBinarization({ weights: false });
    assert.equal(quant.weightMode(true), 'real');
    quant.dispose();
  });

  test('weight gradient reaches the latent kernel through α and the surrogate', () => {
    const quant = new QuantState();
    const { layer, x } = makeConv(quant);
    const { grads } = tf.variableGrads(() => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      layer.trainableWeights.map((w) => w.read() as tf.Variable));
    const g = Object.values(grads)[0].dataSync();
    assert.ok(g.some((v) => Math.abs(v) > 1e-6), 'kernel gradient is not all zero');
    quant.dispose();
  });

  test('sign_at_zero zero lets 0 inputs through as 0', () => {
    const quant = new QuantState(settings({ signAtZero: 'zero' }), { features: true, weights: false });
    const layer = new BinaryConv2D({ filters: 1, kernelSize: 1, quant });
    const x = tf.tensor4d([0, 2, -3, 0], [1, 2, 2, 1]);
    layer.apply(x);
    layer.setWeights([tf.ones([1, 1, 1, 1])]);
    assert.deepEqual(Array.from((layer.apply(x) as tf.Tensor).dataSync()), [0, 1, -1, 0]);
    quant.dispose();
  });

  test('strides and valid padding give the expected shapes', () => {
    const quant = new QuantState();
    const layer = new BinaryConv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid', quant });
    const y = layer.apply(tf.zeros([1, 9, 9, 1])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 4, 4, 2]);
    assert.deepEqual(layer.computeOutputShape([null, 9, 9, 1]), [null, 4, 4, 2]);
    quant.dispose();
  });
});

describe('BinaryDense', () => {
  test('forward = sign(x) · α·sign(W) (+ b)', () => {
    const quant = new QuantState();
    const layer = new BinaryDense({ units: 2, useBias: true, quant });
    const x = tf.tensor2d([[0.3, -2, 0]]);
    layer.apply(x);
    layer.setWeights([tf.tensor2d([[1, -2], [-3, 4], [0.5, 0.5]]), tf.tensor1d([10, 20])]);
    // α = [1.5, 6.5/3]; sign(x) = [1, −1, 1].
    const a = [1.5, 6.5 / 3];
    assertClose((layer.apply(x) as tf.Tensor).dataSync(), [a[0] * (1 + 1 + 1) + 10, a[1] * (-1 - 1 + 1) + 20], 1e-5, 'dense');
    quant.dispose();
  });
});

describe('QuantState', () => {
  test('init orders', () => {
    assert.deepEqual(initialFlagsForOrder('joint'), { features: true, weights: true });
    assert.deepEqual(initialFlagsForOrder('real-first'), { features: false, weights: false });
    assert.deepEqual(initialFlagsForOrder('weights-first'), { features: false, weights: true });
    assert.deepEqual(initialFlagsForOrder('features-first'), { features: true, weights: false });
    assert.throws(() => initialFlagsForOrder('sideways'), /binarize.order/);
  });

  test('rejects a negative or non-finite λ', () => {
    const quant = new QuantState();
    assert.throws(() => quant.setLambda(-1), /lambda/);
    assert.throws(() => quant.setLambda(Number.NaN), /lambda/);
    quant.dispose();
  });

  test('weight clip clips latent kernels only while weights are binarized', () => {
    const quant = new QuantState(settings({ weightClip: true }), { features: true, weights: false });
    const input = tf.input({ shape: [3] });
    const layer = new BinaryDense({ units: 1, quant });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    layer.setWeights([tf.tensor2d([[3], [-0.5], [-4]])]);
    applyWeightClip(model, quant);
    assert.deepEqual(Array.from(layer.getWeights()[0].dataSync()), [3, -0.5, -4]);
    quant.setBinarization({ weights: true });
    applyWeightClip(model, quant);
    assert.deepEqual(Array.from(layer.getWeights()[0].dataSync()), [1, -0.5, -1]);
    model.dispose();
    quant.dispose();
  });

  test('attachQuantState makes one state shared by every layer', () => {
    const input = tf.input({ shape: [4] });
    const a = new BinaryDense({ units: 3, quant: new QuantState() });
    const b = new BinaryDense({ units: 2, quant: new QuantState() });
    const model = tf.model({ inputs: input, outputs: b.apply(a.apply(input)) as tf.SymbolicTensor });
    const shared = attachQuantState(model);
    assert.equal(a.quant, shared);
    assert.equal(b.quant, shared);
    model.dispose();
    shared.dispose();
  });
});
