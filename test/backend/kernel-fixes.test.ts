import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { overrideCallCounts, selectBackend } from '../../src/backend/index.ts';
import { KERNEL_BACKENDS, skipReason } from './backends.ts';
import { randomValues, readAll, relError, sizeOf } from './helpers.ts';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid';

interface PoolCase { x: Shape4; k: number | [number, number]; s: number | [number, number]; pad: Pad; ties?: boolean }

const POOLS: PoolCase[] = [
  { x: [1, 4, 4, 1], k: 2, s: 2, pad: 'valid' },
  { x: [2, 8, 6, 3], k: 2, s: 2, pad: 'valid' },
  { x: [2, 9, 7, 2], k: 3, s: 2, pad: 'same' },
  { x: [1, 7, 9, 2], k: 3, s: 1, pad: 'same' },
  { x: [1, 6, 7, 2], k: [2, 3], s: [1, 2], pad: 'valid' },
  { x: [2, 5, 5, 4], k: 5, s: 1, pad: 'valid' },
  { x: [2, 6, 6, 2], k: 3, s: 2, pad: 'same', ties: true },
];

/** Float64 max/avg pooling and its gradient for L = sum(y * r), from the definition. */
function referencePool(c: PoolCase, kind: 'max' | 'avg', x: Float64Array, r?: Float64Array) {
  const info = tf.backend_util.computePool2DInfo(c.x, c.k, c.s, 1, c.pad);
  const [n, h, w, ch] = c.x;
  const { outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const y = new Float64Array(n * ho * wo * ch);
  const dx = new Float64Array(x.length);
  for (let b = 0; b < n; b++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let d = 0; d < ch; d++) {
    const cells: number[] = [];
    for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) {
      const row = i * sh + p - top;
      const col = j * sw + q - left;
      if (row >= 0 && row < h && col >= 0 && col < w) cells.push(((b * h + row) * w + col) * ch + d);
    }
    const o = ((b * ho + i) * wo + j) * ch + d;
    if (kind === 'max') {
      // First maximum in scan order takes the gradient (strict >), tfjs cpu's rule.
      let best = cells[0]!;
      for (const idx of cells) if (x[idx]! > x[best]!) best = idx;
      y[o] = x[best]!;
      if (r) dx[best]! += r[o]!;
    } else {
      y[o] = cells.reduce((a, idx) => a + x[idx]!, 0) / cells.length;
      if (r) for (const idx of cells) dx[idx]! += r[o]! / cells.length;
    }
  }
  return { outShape: [n, ho, wo, ch] as Shape4, y, dx };
}

function poolInputs(c: PoolCase, seed: number) {
  let x = randomValues(sizeOf(c.x), seed);
  // Ties: values from {-1, 0, 1} make equal maxima in most windows.
  if (c.ties) x = x.map((v) => Math.round(v));
  const { outShape } = referencePool(c, 'max', x);
  return { x, r: randomValues(sizeOf(outShape), seed + 1), outShape };
}

async function tfPool(c: PoolCase, kind: 'max' | 'avg', x: Float64Array, r: Float64Array, outShape: Shape4) {
  const [y, dx] = await readAll(tf.tidy(() => {
    const rT = tf.tensor4d(Float32Array.from(r), outShape);
    const op = kind === 'max' ? tf.maxPool : tf.avgPool;
    const xT = tf.tensor4d(Float32Array.from(x), c.x);
    const y = op(xT, c.k, c.s, c.pad);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t as tf.Tensor4D, c.k, c.s, c.pad), rT)))(xT);
    return [y, dx];
  }));
  return { y: y!, dx: dx! };
}

interface ResizeCase { x: Shape4; size: [number, number]; alignCorners: boolean; halfPixelCenters: boolean }

const RESIZES: ResizeCase[] = [
  { x: [2, 3, 4, 2], size: [6, 8], alignCorners: false, halfPixelCenters: false },
  { x: [3, 4, 4, 2], size: [8, 8], alignCorners: false, halfPixelCenters: true },
  { x: [2, 8, 6, 3], size: [12, 7], alignCorners: false, halfPixelCenters: false },
  { x: [2, 5, 6, 1], size: [9, 11], alignCorners: true, halfPixelCenters: false },
  { x: [2, 6, 5, 2], size: [9, 7], alignCorners: false, halfPixelCenters: true },
  { x: [2, 5, 5, 1], size: [3, 2], alignCorners: false, halfPixelCenters: false },
];

/** Nearest source index, tfjs's formula evaluated in float64. */
function nearest(out: number, inSize: number, outSize: number, ac: boolean, hp: boolean): number {
  const scale = (ac && outSize > 1 ? inSize - 1 : inSize) / (ac && outSize > 1 ? outSize - 1 : outSize);
  const frac = hp ? scale * (out + 0.5) : scale * out;
  const idx = Math.min(inSize - 1, ac ? Math.round(frac) : Math.floor(frac));
  return hp ? Math.max(0, idx) : idx;
}

function referenceResize(c: ResizeCase, x: Float64Array, r: Float64Array) {
  const [n, h, w, ch] = c.x;
  const [ho, wo] = c.size;
  const y = new Float64Array(n * ho * wo * ch);
  const dx = new Float64Array(x.length);
  for (let b = 0; b < n; b++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    const si = nearest(i, h, ho, c.alignCorners, c.halfPixelCenters);
    const sj = nearest(j, w, wo, c.alignCorners, c.halfPixelCenters);
    for (let d = 0; d < ch; d++) {
      const o = ((b * ho + i) * wo + j) * ch + d;
      const src = ((b * h + si) * w + sj) * ch + d;
      y[o] = x[src]!;
      dx[src]! += r[o]!;
    }
  }
  return { y, dx };
}

for (const backend of KERNEL_BACKENDS) {
  const skip = skipReason(backend);
  test(`${backend}: maxPool forward and gradient match the float64 reference (ties included)`, { skip }, async () => {
    await selectBackend(backend);
    for (const [i, c] of POOLS.entries()) {
      const { x, r, outShape } = poolInputs(c, 10 + i);
      const ref = referencePool(c, 'max', x, r);
      const got = await tfPool(c, 'max', x, r, outShape);
      assert.ok(relError(got.y, ref.y) < 1e-7, `${JSON.stringify(c)}: forward`);
      const e = relError(got.dx, ref.dx);
      assert.ok(e <= 1e-6, `${JSON.stringify(c)}: gradient relative error ${e}`);
    }
  });

  test(`${backend}: avgPool forward and gradient match the float64 reference, borders included`, { skip }, async () => {
    await selectBackend(backend);
    for (const [i, c] of POOLS.entries()) {
      const { x, r, outShape } = poolInputs(c, 40 + i);
      const ref = referencePool(c, 'avg', x, r);
      const got = await tfPool(c, 'avg', x, r, outShape);
      assert.ok(relError(got.y, ref.y) < 1e-6, `${JSON.stringify(c)}: forward`);
      const e = relError(got.dx, ref.dx);
      assert.ok(e <= 1e-6, `${JSON.stringify(c)}: gradient relative error ${e}`);
    }
  });

  test(`${backend}: resizeNearestNeighbor gradient matches the reference for batches, odd sizes and all modes`, { skip }, async () => {
    await selectBackend(backend);
    // Counts are keyed by the profile that installed the fix: native's shared wasm fixes count under native.
    const key = `${backend}_ResizeNearestNeighborGrad`;
    const before = overrideCallCounts()[key] ?? 0;
    for (const [i, c] of RESIZES.entries()) {
      const x = randomValues(sizeOf(c.x), 70 + i);
      const r = randomValues(c.x[0] * c.size[0] * c.size[1] * c.x[3], 80 + i);
      const ref = referenceResize(c, x, r);
      const [y, dx] = await readAll(tf.tidy(() => {
        const xT = tf.tensor4d(Float32Array.from(x), c.x);
        const rT = tf.tensor(Float32Array.from(r), [c.x[0], ...c.size, c.x[3]]);
        const f = (t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, c.size, c.alignCorners, c.halfPixelCenters);
        return [f(xT), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), rT)))(xT)];
      }));
      const got = { y: y!, dx: dx! };
      assert.ok(relError(got.y, ref.y) === 0, `${JSON.stringify(c)}: forward (the reference's index formula)`);
      const e = relError(got.dx, ref.dx);
      assert.ok(e <= 1e-6, `${JSON.stringify(c)}: gradient relative error ${e}`);
    }
    assert.equal((overrideCallCounts()[key] ?? 0) - before, RESIZES.length);
  });

  test(`${backend}: oneHot honours float32 and int32 dtypes and out-of-range indices`, { skip }, async () => {
    await selectBackend(backend);
    const idx = tf.tensor1d([0, 2, -1, 5], 'int32');
    const f = tf.oneHot(idx, 3, 1, 0, 'float32');
    const i = tf.oneHot(idx, 3);
    const scaled = tf.oneHot(tf.tensor2d([[1], [0]], [2, 1], 'int32'), 2, 0.9, 0.05, 'float32');
    assert.deepEqual(Array.from(await f.data()), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(f.dtype, 'float32');
    assert.deepEqual(Array.from(await i.data()), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(i.dtype, 'int32');
    assert.deepEqual(scaled.shape, [2, 1, 2]);
    assert.deepEqual(Array.from(await scaled.data()), [0.05, 0.9, 0.9, 0.05].map(Math.fround));
    tf.dispose([idx, f, i, scaled]);
  });
}

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`${backend}: tf.gather trains (UnsortedSegmentSum) and matches cpu, repeated indices included`, { skip: skipReason(backend) }, async () => {
    const grads: Record<string, Float32Array> = {};
    const x = Float32Array.from(randomValues(4 * 5 * 3, 11));
    const r = Float32Array.from(randomValues(4 * 6 * 3, 12));
    for (const b of ['cpu', backend] as const) {
      await selectBackend(b);
      [grads[b]] = await readAll([tf.tidy(() => {
        const idx = tf.tensor1d([0, 3, 3, 1, 4, 3], 'int32');
        const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx, 1), tf.tensor(r, [4, 6, 3])));
        return tf.grad(f)(tf.tensor(x, [4, 5, 3]));
      })]);
    }
    // Column 3 is gathered three times, column 2 never: its gradient must be exactly zero.
    const col = (g: Float32Array, b: number, j: number, d: number) => g[(b * 5 + j) * 3 + d]!;
    const got = grads[backend]!;
    assert.equal(col(got, 1, 2, 0), 0);
    const expected = r[(1 * 6 + 1) * 3 + 2]! + r[(1 * 6 + 2) * 3 + 2]! + r[(1 * 6 + 5) * 3 + 2]!;
    assert.ok(Math.abs(col(got, 1, 3, 2) - expected) < 1e-6);
    assert.ok(relError(got, grads.cpu!) <= 1e-6);
  });
}
