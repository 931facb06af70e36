import { hasKernel, runKernel, type Attrs, type JsKernel } from './js-kernel.ts';
import './conv-simd.ts';
import { withScratch } from './wasm-simd.ts';
import type * as tf from '@tensorflow/tfjs';

/**
 * Data-movement kernels for the convolution gradients (conv-grad.ts), cpu and wasm:
 * - BnnFlipFilter: w[kh,kw,ci,co] → w[kh−1−p, kw−1−q, co, ci], the kernel dx correlates with.
 *   As tf.reverse + tf.transpose it cost ~1.5 ms per layer on wasm (its Reverse is slow), which
 *   at 2×2 and 4×4 resolutions was 10× the convolution itself.
 * - BnnIm2Col: the patches of x as columns of a [kh·kw·Ci, N·Ho·Wo] matrix, so that dW is ONE
 *   matrix product, dW = that matrix · dy, on XNNPACK's matmul (~20 GFLOP/s). The earlier
 *   batch↔channel-swapped convolution reached 12-15 GFLOP/s (XNNPACK sees 8 input channels, the
 *   batch, and a kernel as large as the feature map); a variant as kw convolutions with N·L input
 *   channels and no im2col measured 1.7x slower than this in the reference model, so it went.
 * - BnnTranspose2D: [R, C] → [C, R] (the 1x1 filter gradient's xᵀ), as fast as wasm's Transpose.
 */

export const FLIP_FILTER = 'BnnFlipFilter';
export const IM2COL = 'BnnIm2Col';
export const TRANSPOSE_2D = 'BnnTranspose2D';

const flipFilterKernel: JsKernel = {
  name: FLIP_FILTER,
  inputs: ['filter'],
  outShapes: ([f]) => [[f![0]!, f![1]!, f![3]!, f![2]!]],
  run([w], [out], [fs]) {
    const [kh, kw, ci, co] = fs as [number, number, number, number];
    const tap = ci * co;
    for (let p = 0; p < kh; p++) {
      for (let q = 0; q < kw; q++) {
        const src = ((kh - 1 - p) * kw + (kw - 1 - q)) * tap;
        const dst = (p * kw + q) * tap;
        for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out![dst + o * ci + i] = w![src + i * co + o]!;
      }
    }
  },
};

/** Geometry of one im2col: kernel, stride, top/left zero padding, output size. */
export interface Im2ColGeometry {
  kh: number; kw: number; sh: number; sw: number; top: number; left: number; ho: number; wo: number;
}

/** An im2col of images [b0, b0 + nb) of x. */
export interface Im2ColChunk extends Im2ColGeometry {
  b0: number; nb: number;
}

/** A reusable JS-heap buffer for the channel-major copy of x (avoids a fresh MB-sized array per call). */
let scratch = new Float32Array(0);
function scratchOf(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch;
}

/**
 * out[off + k·rows + r] = x[base + r·cols + k]: transposes a [rows, cols] window. Strided reads and
 * sequential writes, one column at a time: in V8 here this beat 8-64 wide blocked tilings (the
 * loop overhead of the tiles costs more than the cache misses it saves).
 */
function transposeInto(x: Float32Array, base: number, rows: number, cols: number, out: Float32Array, off: number): void {
  for (let k = 0; k < cols; k++) {
    const d = off + k * rows;
    for (let r = 0, s = base + k; r < rows; r++, s += cols) out[d + r] = x[s]!;
  }
}

/**
 * The patches TRANSPOSED: row (p·kw + q)·Ci + c holds x[b, i·sh + p − top, j·sw + q − left, c]
 * for every output pixel (b, i, j), zero outside the image. Transposed because dW = colsᵀ · dy then
 * has the big operand on the left: XNNPACK's matmul repacks its right operand on every call, and
 * with cols on the right that repacking made the product twice as slow.
 * x is first copied channel-major (one blocked transpose); then, for stride 1 and 'same'-sized
 * output, each (tap, channel, image) row of cols is ONE shifted contiguous copy of an image plane
 * with the wrapped-around border columns zeroed afterwards: memcpy speed instead of a gather.
 */
const im2colKernel: JsKernel = {
  name: IM2COL,
  inputs: ['x'],
  outShapes: ([x], a) => {
    const g = a as unknown as Im2ColChunk;
    return [[g.kh * g.kw * x![3]!, g.nb * g.ho * g.wo]];
  },
  // wasm: the same two steps in conv-simd.ts, the channel-major copy in heap scratch memory.
  simd(ctx, [xs], attrs) {
    const [, h, w, c] = xs as [number, number, number, number];
    const { kh, kw, sh, sw, top, left, ho, wo, b0, nb } = attrs as unknown as Im2ColChunk;
    const plane = h * w;
    const m = nb * plane;
    const np = nb * ho * wo;
    return withScratch(ctx.backend, Math.ceil((c * m) / 2), (xT) => {
      ctx.ex.transpose2d!(ctx.ins[0]! + 4 * b0 * plane * c, xT, m, c);
      for (let p = 0; p < kh; p++) {
        for (let q = 0; q < kw; q++) {
          const jLo = Math.max(0, Math.ceil((left - q) / sw));
          const jHi = Math.min(wo, Math.floor((w - 1 + left - q) / sw) + 1);
          let iLo = Math.max(0, Math.ceil((top - p) / sh));
          let iHi = Math.min(ho, Math.floor((h - 1 + top - p) / sh) + 1);
          if (iHi <= iLo || jHi <= jLo) iLo = iHi = 0; // the tap never lands in the image: all zeros
          ctx.ex.im2col_tap!(ctx.outs[0]! + 4 * (p * kw + q) * c * np, xT, c, nb, ho, wo, w, plane, m, np, sh, sw,
            p - top, q - left, iLo, iHi, jLo, jHi);
        }
      }
      return true;
    });
  },
  run([x], [cols], [xs], attrs: Attrs) {
    const [, h, w, c] = xs as [number, number, number, number];
    const { kh, kw, sh, sw, top, left, ho, wo, b0, nb } = attrs as unknown as Im2ColChunk;
    const plane = h * w;
    const m = nb * plane;
    // Margins around the copy so that every shifted read below stays inside the buffer.
    const margin = (kh + top + 1) * w + kw + left;
    const xT = scratchOf(c * m + 2 * margin);
    xT.fill(0, 0, margin);
    xT.fill(0, margin + c * m, c * m + 2 * margin);
    transposeInto(x!, b0 * plane * c, m, c, xT, margin);
    const np = nb * ho * wo;
    const out = cols!;
    for (let p = 0; p < kh; p++) {
      for (let q = 0; q < kw; q++) {
        const jLo = Math.max(0, Math.ceil((left - q) / sw));
        const jHi = Math.min(wo, Math.floor((w - 1 + left - q) / sw) + 1);
        const iLo = Math.max(0, Math.ceil((top - p) / sh));
        const iHi = Math.min(ho, Math.floor((h - 1 + top - p) / sh) + 1);
        for (let k = 0; k < c; k++) {
          for (let b = 0; b < nb; b++) {
            const dst = ((p * kw + q) * c + k) * np + b * ho * wo;
            const src = margin + k * m + b * plane;
            if (iHi <= iLo || jHi <= jLo) { out.fill(0, dst, dst + ho * wo); continue; }
            out.fill(0, dst, dst + iLo * wo);
            out.fill(0, dst + iHi * wo, dst + ho * wo);
            if (sh === 1 && sw === 1 && wo === w) {
              const shift = (p - top) * w + (q - left);
              out.set(xT.subarray(src + iLo * w + shift, src + iHi * w + shift), dst + iLo * w);
              // Plain stores: TypedArray.fill costs ~30 ns a call, and these ranges are 1-3 elements.
              if (jLo > 0 || jHi < w) {
                for (let i = iLo, o = dst + iLo * w; i < iHi; i++, o += w) {
                  for (let j = 0; j < jLo; j++) out[o + j] = 0;
                  for (let j = jHi; j < w; j++) out[o + j] = 0;
                }
              }
              continue;
            }
            for (let i = iLo; i < iHi; i++) {
              const o = dst + i * wo;
              const rowSrc = src + (i * sh + p - top) * w + q - left;
              for (let j = 0; j < jLo; j++) out[o + j] = 0;
              for (let j = jLo; j < jHi; j++) out[o + j] = xT[rowSrc + j * sw]!;
              for (let j = jHi; j < wo; j++) out[o + j] = 0;
            }
          }
        }
      }
    }
  },
};

const transpose2dKernel: JsKernel = {
  name: TRANSPOSE_2D,
  inputs: ['x'],
  outShapes: ([x]) => [[x![1]!, x![0]!]],
  simd(ctx, [xs]) {
    ctx.ex.transpose2d!(ctx.ins[0]!, ctx.outs[0]!, xs![0]!, xs![1]!);
    return true;
  },
  run([x], [out], [xs]) {
    transposeInto(x!, 0, xs![0]!, xs![1]!, out!, 0);
  },
};

/** Whether the data-movement kernels run on the current backend. */
export const hasConvKernels = (): boolean => hasKernel(IM2COL);

export const flipFilter = (w: tf.Tensor4D): tf.Tensor4D => runKernel(FLIP_FILTER, { filter: w })[0] as tf.Tensor4D;

/** Transposed patches [kh·kw·Ci, nb·Ho·Wo] of images [b0, b0 + nb) of x. */
export const im2colT = (x: tf.Tensor4D, g: Im2ColChunk): tf.Tensor2D =>
  runKernel(IM2COL, { x }, g as unknown as Attrs)[0] as tf.Tensor2D;

export const transpose2d = (x: tf.Tensor2D): tf.Tensor2D => runKernel(TRANSPOSE_2D, { x })[0] as tf.Tensor2D;

/** This module's kernels, registered on cpu and wasm by register.ts (nothing is registered at import). */
export const CONV_KERNELS: readonly JsKernel[] = [flipFilterKernel, im2colKernel, transpose2dKernel];
