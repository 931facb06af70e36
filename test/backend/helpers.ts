import * as tf from '@tensorflow/tfjs';

/** mulberry32: a tiny seeded PRNG, so every backend and run sees identical inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values in [-1, 1), rounded to float32 so that float64 references see exactly what tfjs sees. */
export function randomValues(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(r() * 2 - 1);
  return out;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Normwise relative error ||a - b|| / ||b||: elementwise relative error is meaningless for entries
 * near zero, while the norm ratio still catches any wrong entry of typical magnitude.
 */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  return Math.sqrt(num / den);
}

export interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
}

export interface Reference {
  outShape: [number, number, number, number];
  y: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
}

/**
 * Float64 NHWC convolution and both gradients of L = sum(y * r), straight from the definition
 * y[n,i,j,co] = sum x[n, i*sh+p-top, j*sw+q-left, ci] * w[p,q,ci,co] (out-of-range x is zero).
 * The geometry (output size, top/left padding) comes from tfjs's own computeConv2DInfo, which the
 * forward check against tf.conv2d pins down.
 */
export function referenceConv(c: ConvCase, x: Float64Array, w: Float64Array, r?: Float64Array): Reference {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
  const [n, h, wd, ci] = c.x;
  const [kh, kw, , co] = c.filter;
  const ho = info.outHeight;
  const wo = info.outWidth;
  const { top, left } = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const y = new Float64Array(n * ho * wo * co);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const yBase = ((b * ho + i) * wo + j) * co;
        for (let p = 0; p < kh; p++) {
          const row = i * sh + p - top;
          if (row < 0 || row >= h) continue;
          for (let q = 0; q < kw; q++) {
            const col = j * sw + q - left;
            if (col < 0 || col >= wd) continue;
            const xBase = ((b * h + row) * wd + col) * ci;
            for (let k = 0; k < ci; k++) {
              const wBase = ((p * kw + q) * ci + k) * co;
              const xv = x[xBase + k];
              for (let o = 0; o < co; o++) {
                y[yBase + o] += xv * w[wBase + o];
                if (r) {
                  const rv = r[yBase + o];
                  dx[xBase + k] += rv * w[wBase + o];
                  dw[wBase + o] += rv * xv;
                }
              }
            }
          }
        }
      }
    }
  }
  return { outShape: [n, ho, wo, co], y, dx, dw };
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Reads tensors with data() (webgpu cannot read synchronously under Node), then frees them. */
export async function readAll(ts: tf.Tensor[]): Promise<Float32Array[]> {
  const out = await Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(ts);
  return out;
}

/**
 * Why the `native` backend cannot be tested here (no oneDNN, addon not built), or undefined when
 * it can; node:test's `skip` prints it.
 */
export async function nativeSkip(): Promise<string | undefined> {
  const { loadOneDnn } = await import('../../src/backend/onednn.ts');
  const r = loadOneDnn();
  return r.ok ? undefined : `native backend unavailable: ${r.reason}`;
}
