import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  convBackpropFilter,
  convBackpropInput,
  overrideCallCounts,
  installKernelOverrides,
  selectBackend,
  uninstallKernelOverrides,
} from '../../src/backend/index.ts';
import { setIm2colMaxFloats } from '../../src/backend/conv-grad.ts';
import { KERNEL_BACKENDS, skipReason } from './backends.ts';
import { type ConvCase, dot, randomValues, readAll, referenceConv, relError, sizeOf } from './helpers.ts';

/**
 * Every stride, padding mode and kernel size ResNet-18 / AlexNet / HourGlass use, plus the awkward
 * geometries: non-square inputs, unequal strides, explicit padding wider than the kernel on one
 * side, rows the conv never reads, even kernels, batch sizes 1-4.
 */
const CASES: ConvCase[] = [
  { x: [1, 5, 5, 2], filter: [3, 3, 2, 3], strides: 1, pad: 'same' },
  { x: [2, 7, 5, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { x: [3, 8, 6, 2], filter: [3, 3, 2, 2], strides: 2, pad: 'valid' },
  { x: [2, 11, 9, 3], filter: [7, 7, 3, 2], strides: 2, pad: 'same' },
  { x: [1, 15, 13, 2], filter: [11, 11, 2, 3], strides: 4, pad: 'valid' },
  { x: [1, 14, 12, 2], filter: [11, 11, 2, 2], strides: 2, pad: 'same' },
  { x: [2, 6, 7, 4], filter: [1, 1, 4, 5], strides: 2, pad: 'same' },
  { x: [2, 6, 7, 4], filter: [1, 1, 4, 3], strides: 1, pad: 'valid' },
  { x: [1, 10, 10, 3], filter: [5, 5, 3, 2], strides: 2, pad: 'same' },
  { x: [1, 9, 8, 2], filter: [5, 5, 2, 3], strides: 1, pad: [[0, 0], [3, 1], [0, 4], [0, 0]] },
  { x: [1, 8, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: [[0, 0], [4, 0], [1, 3], [0, 0]] },
  { x: [2, 6, 6, 2], filter: [3, 3, 2, 2], strides: 1, pad: 2 },
  { x: [4, 4, 4, 3], filter: [3, 3, 3, 3], strides: 1, pad: 'valid' },
  { x: [1, 7, 7, 2], filter: [2, 2, 2, 2], strides: 2, pad: 'valid' },
  { x: [1, 6, 9, 2], filter: [3, 3, 2, 2], strides: [1, 2], pad: 'same' },
];

const label = (c: ConvCase): string =>
  `x=${c.x.join('x')} k=${c.filter[0]}x${c.filter[1]} ${c.filter[2]}->${c.filter[3]} s=${String(c.strides)} pad=${JSON.stringify(c.pad)}`;

function inputs(c: ConvCase, seed: number) {
  const x = randomValues(sizeOf(c.x), seed);
  const w = randomValues(sizeOf(c.filter), seed + 1);
  const { outShape } = referenceConv(c, new Float64Array(x.length), new Float64Array(w.length));
  const r = randomValues(sizeOf(outShape), seed + 2);
  return { x, w, r, ref: referenceConv(c, x, w, r) };
}

/** Gradients of L = sum(conv2d(x, w) * r) through the ordinary op, i.e. whatever kernels are registered. */
async function tfGrads(c: ConvCase, x: Float64Array, w: Float64Array, r: Float64Array, outShape: number[]) {
  const [dx, dw] = await readAll(tf.tidy(() => {
    const rT = tf.tensor(Float32Array.from(r), outShape);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), rT));
    return tf.grads(f)([tf.tensor(Float32Array.from(x), c.x), tf.tensor(Float32Array.from(w), c.filter)]);
  }));
  return { dx: dx!, dw: dw! };
}

test('the float64 reference convolution matches tf.conv2d forward on every case', async () => {
  await selectBackend('cpu');
  for (const [i, c] of CASES.entries()) {
    const { x, w, ref } = inputs(c, 100 + i);
    const y = tf.tidy(() =>
      tf.conv2d(tf.tensor4d(Float32Array.from(x), c.x), tf.tensor4d(Float32Array.from(w), c.filter), c.strides, c.pad),
    );
    assert.deepEqual(y.shape, ref.outShape, label(c));
    assert.ok(relError(y.dataSync(), ref.y) < 1e-6, `${label(c)}: forward differs`);
    y.dispose();
  }
});

test('the reference gradients agree with central finite differences (float64)', () => {
  // L is linear in x for fixed w (and vice versa), so central differences are exact up to
  // rounding: any disagreement is a bug in the reference, not truncation error.
  const eps = 1e-3;
  for (const [i, c] of CASES.entries()) {
    const { x, w, r, ref } = inputs(c, 200 + i);
    const loss = (xx: Float64Array, ww: Float64Array) => dot(referenceConv(c, xx, ww).y, r);
    for (let k = 0; k < 3; k++) {
      const vx = randomValues(x.length, 300 + 10 * i + k);
      const vw = randomValues(w.length, 400 + 10 * i + k);
      const xp = x.map((v, j) => v + eps * vx[j]!);
      const xm = x.map((v, j) => v - eps * vx[j]!);
      const wp = w.map((v, j) => v + eps * vw[j]!);
      const wm = w.map((v, j) => v - eps * vw[j]!);
      const fdX = (loss(xp, w) - loss(xm, w)) / (2 * eps);
      const fdW = (loss(x, wp) - loss(x, wm)) / (2 * eps);
      assert.ok(Math.abs(fdX - dot(ref.dx, vx)) <= 1e-9 * Math.max(1, Math.abs(fdX)), `${label(c)}: dx projection`);
      assert.ok(Math.abs(fdW - dot(ref.dw, vw)) <= 1e-9 * Math.max(1, Math.abs(fdW)), `${label(c)}: dw projection`);
    }
  }
});

for (const backend of KERNEL_BACKENDS) {
  // webgpu keeps its own (GPU) convolution gradients: only the numbers are checked there.
  const what = backend === 'webgpu' ? 'its own kernels' : 'the fast kernels';
  test(`${backend}: tf.conv2d gradients go through ${what} and match the reference`, { skip: skipReason(backend) }, async () => {
    await selectBackend(backend);
    const before = overrideCallCounts();
    for (const [i, c] of CASES.entries()) {
      const { x, w, r, ref } = inputs(c, 500 + i);
      if (backend === 'native') {
        const [y] = await readAll([tf.conv2d(tf.tensor4d(Float32Array.from(x), c.x), tf.tensor4d(Float32Array.from(w), c.filter), c.strides, c.pad)]);
        assert.ok(relError(y!, ref.y) <= 1e-5, `${label(c)}: native forward`);
      }
      const g = await tfGrads(c, x, w, r, ref.outShape);
      const ex = relError(g.dx, ref.dx);
      const ew = relError(g.dw, ref.dw);
      assert.ok(ex <= 1e-5, `${label(c)}: dx relative error ${ex}`);
      assert.ok(ew <= 1e-5, `${label(c)}: dw relative error ${ew}`);
    }
    const after = overrideCallCounts();
    if (backend === 'webgpu') return;
    const filterKey = `${backend}_Conv2DBackpropFilter`;
    assert.equal((after[filterKey] ?? 0) - (before[filterKey] ?? 0), CASES.length, 'fast filter kernel ran once per case');
    if (backend !== 'cpu') {
      const inputKey = `${backend}_Conv2DBackpropInput`;
      assert.equal((after[inputKey] ?? 0) - (before[inputKey] ?? 0), CASES.length, 'fast input kernel ran once per case');
    }
    if (backend === 'native') {
      const fwdKey = 'native_Conv2D';
      assert.equal((after[fwdKey] ?? 0) - (before[fwdKey] ?? 0), 2 * CASES.length, 'oneDNN forward ran for every conv');
    }
  });
}

test('the filter gradient in batch chunks (a big im2col) equals the one-matrix result', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await selectBackend(backend);
    for (const [i, c] of CASES.entries()) {
      const { x, w, r, ref } = inputs(c, 650 + i);
      // One image's patches at most: batches of 2-4 go through 2-4 matmuls summed.
      const old = setIm2colMaxFloats(1);
      let g;
      try {
        g = await tfGrads(c, x, w, r, ref.outShape);
      } finally {
        setIm2colMaxFloats(old);
      }
      assert.ok(relError(g.dw, ref.dw) <= 1e-5, `${backend} ${label(c)}: chunked dw`);
    }
  }
});

test('cpu: fast kernels agree with the stock cpu backprop kernels', async () => {
  await selectBackend('cpu');
  for (const [i, c] of CASES.entries()) {
    const { x, w, r, ref } = inputs(c, 600 + i);
    const fast = await tfGrads(c, x, w, r, ref.outShape);
    uninstallKernelOverrides('cpu');
    let stock;
    try {
      stock = await tfGrads(c, x, w, r, ref.outShape);
    } finally {
      installKernelOverrides('cpu');
    }
    assert.ok(relError(fast.dx, stock.dx) <= 1e-5, `${label(c)}: dx vs stock`);
    assert.ok(relError(fast.dw, stock.dw) <= 1e-5, `${label(c)}: dw vs stock`);
  }
});

test('wasm: conv2dTranspose (forward use of Conv2DBackpropInput) matches the reference', async () => {
  await selectBackend('wasm');
  for (const [i, c] of CASES.entries()) {
    const { w, r, ref } = inputs(c, 700 + i);
    const dx = tf.tidy(() =>
      tf.conv2dTranspose(
        tf.tensor4d(Float32Array.from(r), ref.outShape), tf.tensor4d(Float32Array.from(w), c.filter),
        c.x, c.strides, c.pad as 'same' | 'valid' | number,
      ),
    );
    assert.ok(relError(dx.dataSync(), ref.dx) <= 1e-5, label(c));
    dx.dispose();
  }
});

test('NCHW inputs are handled by transposing around the NHWC path', async () => {
  await selectBackend('wasm');
  const c = CASES[1]!;
  const { x, w, r, ref } = inputs(c, 800);
  const [n, h, wd, ci] = c.x;
  const [, ho, wo, co] = ref.outShape;
  const got = tf.tidy(() => {
    const xN = tf.transpose(tf.tensor4d(Float32Array.from(x), c.x), [0, 3, 1, 2]) as tf.Tensor4D;
    const dyN = tf.transpose(tf.tensor4d(Float32Array.from(r), ref.outShape), [0, 3, 1, 2]) as tf.Tensor4D;
    const wT = tf.tensor4d(Float32Array.from(w), c.filter);
    const g = { strides: c.strides, pad: c.pad, dataFormat: 'NCHW' as const };
    const dx = convBackpropInput(dyN, wT, [n, ci, h, wd], g);
    const dw = convBackpropFilter(xN, dyN, c.filter, g);
    assert.deepEqual(dx.shape, [n, ci, h, wd]);
    assert.deepEqual(dyN.shape, [n, co, ho, wo]);
    return { dx: tf.transpose(dx, [0, 2, 3, 1]).dataSync(), dw: dw.dataSync() };
  });
  assert.ok(relError(got.dx, ref.dx) <= 1e-5, 'NCHW dx');
  assert.ok(relError(got.dw, ref.dw) <= 1e-5, 'NCHW dw');
});

test('the comparison discriminates: a wrong geometry is far outside the tolerance', async () => {
  // Guards against a tolerance or reference so loose that the tests above could never fail.
  await selectBackend('wasm');
  const c = CASES[1]!;
  const { x, w, r, ref } = inputs(c, 900);
  const wrong = tf.tidy(() => {
    const dy = tf.tensor4d(Float32Array.from(r), ref.outShape);
    const xT = tf.tensor4d(Float32Array.from(x), c.x);
    const wT = tf.tensor4d(Float32Array.from(w), c.filter);
    // Stride 2 forward, but explicit pads shifted by one row: what an off-by-one would produce.
    const g = { strides: c.strides, pad: [[0, 0], [1, 1], [0, 1], [0, 0]] as tf.backend_util.ExplicitPadding };
    return {
      dx: convBackpropInput(dy, wT, c.x, g).dataSync(),
      dw: convBackpropFilter(xT, dy, c.filter, g).dataSync(),
    };
  });
  assert.ok(relError(wrong.dx, ref.dx) > 0.1);
  assert.ok(relError(wrong.dw, ref.dw) > 0.1);
});
