import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { nativeCallCounts } from '../../src/backend/onednn-kernels.ts';
import { setOneDnnThreads } from '../../src/backend/onednn.ts';
import { batchNormalization } from '../../src/models/batch-norm.ts';
import { conv2d } from '../../src/models/conv.ts';
import { nativeSkip, randomValues, referenceConv, relError, sizeOf, type ConvCase } from './helpers.ts';

/**
 * The native inference kernels (onednn-inference-kernels.ts): FusedConv2D against a float64
 * reference and against the stock wasm kernel (XNNPACK) for 1×1, 3×3 and 7×7 filters, strides
 * 1 and 2, 'same' and 'valid', with and without bias, every activation tfjs fuses; each fused
 * activation bit for bit what tfjs's own op gives on the unfused native result; its gradient
 * (tf.fused.conv2d's customGrad) against the stock one; FusedBatchNorm bit for bit the wasm
 * kernel at 1 and 2 threads; and a training step that runs neither.
 */
const SKIP = await nativeSkip();

function differing(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

const count = (kernel: string): { native: number; fallback: number } => {
  const c = nativeCallCounts();
  return { native: c.native[kernel] ?? 0, fallback: c.fallback[kernel] ?? 0 };
};

/** The stem (7×7 stride 2 'same', 3 channels), 1×1 projections (strides 1 and 2), 3×3 both paddings. */
const CONVS: ConvCase[] = [
  { x: [2, 11, 10, 3], filter: [7, 7, 3, 8], strides: 2, pad: 'same' },
  { x: [2, 6, 6, 16], filter: [1, 1, 16, 24], strides: 1, pad: 'valid' },
  { x: [1, 7, 7, 6], filter: [1, 1, 6, 5], strides: 2, pad: 'same' },
  { x: [1, 7, 6, 5], filter: [3, 3, 5, 6], strides: 1, pad: 'same' },
  { x: [2, 9, 8, 4], filter: [3, 3, 4, 5], strides: 2, pad: 'valid' },
];

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'leakyrelu', 'prelu', 'elu', 'sigmoid'] as const;
type Activation = (typeof ACTIVATIONS)[number];
const LEAKY = 0.15;

/** tfjs's definition of each activation, in float64; `alpha` the prelu weights per channel. */
function activate(act: Activation, v: number, alpha: number): number {
  if (act === 'relu') return Math.max(v, 0);
  if (act === 'relu6') return Math.min(Math.max(v, 0), 6);
  if (act === 'leakyrelu') return v < 0 ? LEAKY * v : v;
  if (act === 'prelu') return v < 0 ? alpha * v : v;
  if (act === 'elu') return v < 0 ? Math.expm1(v) : v;
  if (act === 'sigmoid') return 1 / (1 + Math.exp(-v));
  return v;
}

interface Operands { x: Float64Array; w: Float64Array; bias: Float64Array; alpha: Float64Array }

/** Inputs scaled so that sums reach past relu6's 6 and both sides of zero. */
function operands(c: ConvCase, seed: number): Operands {
  const co = c.filter[3];
  return {
    x: randomValues(sizeOf(c.x), seed).map((v) => Math.fround(3 * v)),
    w: randomValues(sizeOf(c.filter), seed + 1),
    bias: randomValues(co, seed + 2),
    alpha: randomValues(co, seed + 3).map((v) => Math.fround(0.25 * v + 0.3)),
  };
}

function fusedConv(c: ConvCase, o: Operands, act: Activation, withBias: boolean): Float32Array {
  return tf.tidy(() => tf.fused.conv2d({
    x: tf.tensor4d(Float32Array.from(o.x), c.x), filter: tf.tensor4d(Float32Array.from(o.w), c.filter), strides: c.strides, pad: c.pad,
    bias: withBias ? tf.tensor1d(Float32Array.from(o.bias)) : undefined, activation: act,
    preluActivationWeights: act === 'prelu' ? tf.tensor1d(Float32Array.from(o.alpha)) : undefined, leakyreluAlpha: LEAKY,
  }).dataSync() as Float32Array);
}

/** tfjs's unfused op for `act`, applied to y (the native linear result). */
function tfActivation(act: Activation, y: Float32Array, shape: number[], alpha: Float64Array): Float32Array {
  return tf.tidy(() => {
    const t = tf.tensor(y, shape);
    const ops: Record<Activation, () => tf.Tensor> = {
      linear: () => t, relu: () => tf.relu(t), relu6: () => tf.relu6(t), leakyrelu: () => tf.leakyRelu(t, LEAKY),
      prelu: () => tf.prelu(t, tf.tensor1d(Float32Array.from(alpha))), elu: () => tf.elu(t), sigmoid: () => tf.sigmoid(t),
    };
    return ops[act]().dataSync() as Float32Array;
  });
}

type Results = Map<string, Float32Array>;

function allFusedConvs(): Results {
  const out: Results = new Map();
  for (const [i, c] of CONVS.entries()) {
    const o = operands(c, 100 + 10 * i);
    for (const withBias of [false, true]) for (const act of ACTIVATIONS) out.set(`${i} ${withBias} ${act}`, fusedConv(c, o, act, withBias));
  }
  return out;
}

test('native FusedConv2D: every geometry, bias and activation matches float64 and the stock wasm kernel', { skip: SKIP }, async () => {
  await selectBackend('wasm');
  const stock = allFusedConvs();
  await selectBackend('native', { threads: 1 });
  const before = count(tf.FusedConv2D);
  const native = allFusedConvs();
  assert.equal(count(tf.FusedConv2D).native - before.native, native.size, 'every call ran in oneDNN');
  assert.equal(count(tf.FusedConv2D).fallback, before.fallback);
  for (const [i, c] of CONVS.entries()) {
    const o = operands(c, 100 + 10 * i);
    const ref = referenceConv(c, o.x, o.w);
    const co = c.filter[3];
    for (const withBias of [false, true]) {
      for (const act of ACTIVATIONS) {
        const key = `${i} ${withBias} ${act}`;
        const want = ref.y.map((v, j) => activate(act, v + (withBias ? o.bias[j % co]! : 0), o.alpha[j % co]!));
        const got = native.get(key)!;
        assert.ok(relError(got, want) < 1e-6, `${key}: native vs float64 ${relError(got, want)}`);
        assert.ok(relError(got, stock.get(key)!) < 1e-6, `${key}: native vs stock ${relError(got, stock.get(key)!)}`);
      }
    }
  }
});

test('native FusedConv2D: each fused activation is bit for bit tfjs\'s op on the unfused result (the test can fail: bias changes it)', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  for (const [i, c] of CONVS.entries()) {
    const o = operands(c, 200 + 10 * i);
    const linear = fusedConv(c, o, 'linear', true);
    const shape = referenceConv(c, new Float64Array(o.x.length), new Float64Array(o.w.length)).outShape;
    for (const act of ACTIVATIONS) {
      assert.equal(differing(fusedConv(c, o, act, true), tfActivation(act, linear, shape, o.alpha)), 0, `${i} ${act}`);
    }
    assert.ok(differing(fusedConv(c, o, 'relu', false), tfActivation('relu', linear, shape, o.alpha)) > 0, `${i}: without bias differs`);
  }
});

test('native FusedConv2D: prelu weights not one per output channel go to the stock kernel, as they are', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const c = CONVS[3]!;
  const o = operands(c, 300);
  const before = count(tf.FusedConv2D);
  const y = tf.tidy(() => tf.fused.conv2d({
    x: tf.tensor4d(Float32Array.from(o.x), c.x), filter: tf.tensor4d(Float32Array.from(o.w), c.filter), strides: c.strides, pad: c.pad,
    activation: 'prelu', preluActivationWeights: tf.tensor1d([0.2]),
  }).dataSync());
  assert.equal(count(tf.FusedConv2D).fallback - before.fallback, 1);
  assert.equal(count(tf.FusedConv2D).native, before.native);
  assert.equal(y.length, sizeOf(referenceConv(c, new Float64Array(o.x.length), new Float64Array(o.w.length)).outShape));
});

/** dx, dw, db of sum(fused.conv2d(x, w, b, act) · r), tf.fused.conv2d's own gradient. */
function fusedGrads(c: ConvCase, o: Operands, act: Activation): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(o.x), c.x);
    const w = tf.tensor4d(Float32Array.from(o.w), c.filter);
    const b = tf.tensor1d(Float32Array.from(o.bias));
    const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
      const y = tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: c.strides, pad: c.pad, bias: bb, activation: act });
      return tf.sum(tf.mul(y, tf.tensor(Float32Array.from(randomValues(y.size, 9)), y.shape)));
    };
    return tf.grads(f)([x, w, b]).map((g) => g.dataSync() as Float32Array);
  });
}

test('native FusedConv2D: the training gradient of tf.fused.conv2d matches the stock path', { skip: SKIP }, async () => {
  const run = () => CONVS.flatMap((c, i) => (['linear', 'relu', 'sigmoid'] as const).map((act) => fusedGrads(c, operands(c, 400 + i), act)));
  await selectBackend('wasm');
  const stock = run();
  await selectBackend('native', { threads: 1 });
  const before = count(tf.FusedConv2D).native;
  const native = run();
  assert.ok(count(tf.FusedConv2D).native > before, 'the forward ran in oneDNN');
  for (const [k, grads] of native.entries()) {
    for (const [j, g] of grads.entries()) assert.ok(relError(g, stock[k]![j]!) < 1e-5, `case ${k} grad ${j}: ${relError(g, stock[k]![j]!)}`);
  }
});

test('native FusedConv2D: the same bits run to run at 2 threads', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 2 });
  try {
    const c: ConvCase = { x: [4, 32, 32, 3], filter: [7, 7, 3, 16], strides: 2, pad: 'same' };
    const o = operands(c, 500);
    const a = fusedConv(c, o, 'relu', true);
    assert.equal(differing(fusedConv(c, o, 'relu', true), a), 0);
  } finally {
    setOneDnnThreads(1);
  }
});

/** FusedBatchNorm outputs on the current backend: 2-D and 4-D, with and without offset and scale. */
function batchNorms(): Float32Array[] {
  const out: Float32Array[] = [];
  for (const [i, shape] of [[7, 3], [2, 5, 5, 37], [8, 32, 32, 64]].entries()) {
    const c = shape.at(-1)!;
    const vec = (seed: number, f: (v: number) => number) => tf.tensor1d(Float32Array.from(randomValues(c, seed).map((v) => Math.fround(f(v)))));
    tf.tidy(() => {
      const x = tf.tensor(Float32Array.from(randomValues(sizeOf(shape), 600 + i).map((v) => Math.fround(4 * v + 1))), shape);
      const [mean, variance, offset, scale] = [vec(610 + i, (v) => v), vec(620 + i, (v) => v * v + 0.01), vec(630 + i, (v) => v), vec(640 + i, (v) => 2 * v)];
      out.push(tf.batchNorm(x, mean, variance, offset, scale, 1e-3).dataSync() as Float32Array);
      out.push(tf.batchNorm(x, mean, variance, undefined, undefined, 1e-5).dataSync() as Float32Array);
    });
  }
  return out;
}

test('native FusedBatchNorm: bit for bit the wasm kernel at 1 and 2 threads (the largest input split across threads)', { skip: SKIP }, async () => {
  await selectBackend('wasm');
  const stock = batchNorms();
  for (const threads of [1, 2]) {
    await selectBackend('native', { threads });
    const before = count(tf.FusedBatchNorm).native;
    const native = batchNorms();
    assert.equal(count(tf.FusedBatchNorm).native - before, stock.length, 'every call ran natively');
    for (const [k, y] of native.entries()) assert.equal(differing(y, stock[k]!), 0, `case ${k}, ${threads} threads`);
  }
  setOneDnnThreads(1);
  // The comparison can fail: another epsilon changes the bits.
  assert.ok(differing(stock[0]!, tf.tidy(() => tf.batchNorm(tf.tensor2d([[1, 2, 3]]), tf.tensor1d([0, 0, 0]), tf.tensor1d([1, 1, 1])).dataSync() as Float32Array)) > 0);
});

test('native: a training step of conv + batch norm layers runs neither inference kernel; predict runs both', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const input = tf.input({ shape: [8, 8, 3] });
  const h = conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: true }).apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: batchNormalization({ axis: -1 }).apply(h) as tf.SymbolicTensor });
  const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 1);
  const before = [count(tf.FusedConv2D).native, count(tf.FusedBatchNorm).native];
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    assert.ok(Object.keys(grads).length > 0);
  });
  assert.deepEqual([count(tf.FusedConv2D).native, count(tf.FusedBatchNorm).native], before, 'training ran Conv2D + Add and the training batch norm');
  tf.tidy(() => model.predict(x));
  assert.deepEqual([count(tf.FusedConv2D).native, count(tf.FusedBatchNorm).native], before.map((v) => v + 1));
  x.dispose();
  model.dispose();
});
