import tf from '../tf.cjs';
import { dilateSpatial, padOrCrop } from './spatial.ts';

/**
 * Gradients of pooling and nearest-neighbour resizing, replacing stock kernels that give wrong
 * numbers (found by test/backend/kernel-fixes.test.ts against float64 references); max pooling's
 * is a typed-array loop, the others are built from forward ops:
 * - wasm MaxPoolGrad (4.22) misroutes gradients for many ordinary shapes (e.g. [1,4,4,1], 2x2/2).
 * - cpu ResizeNearestNeighborGrad (4.22) indexes dy with the input's batch stride, so every batch
 *   element after the first gets garbage; it also ignores halfPixelCenters.
 * - AvgPoolGrad on cpu and wasm (4.22) divides by the full window size, while the forward pass
 *   divides by the number of in-image cells: with 'same' padding every border gradient is wrong.
 */

export interface PoolGeometry {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * dL/dx of max pooling as one pass over x (the MaxPoolGrad kernel's body, on typed arrays): each
 * dy goes to the first maximum of its window in row-major scan order (strict >, the cpu kernel's
 * tie rule, so both backends agree even on ties). Cells outside the image never win. `dx` must
 * come zeroed. An earlier version built this from strided-slice window views and took 57 ms per
 * call on the reference HourGlass; this takes about 1 ms.
 */
export function maxPoolGradInto(
  dy: Float32Array, x: Float32Array, dx: Float32Array, xShape: readonly number[], g: PoolGeometry,
): void {
  const [n, h, w, c] = xShape as [number, number, number, number];
  const info = tf.backend_util.computePool2DInfo([n, h, w, c], g.filterSize, g.strides, 1, g.pad, g.dimRoundingMode);
  const { outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const best = new Float32Array(c);
  const arg = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let first = true;
        for (let p = 0; p < kh; p++) {
          const row = i * sh + p - top;
          if (row < 0 || row >= h) continue;
          for (let q = 0; q < kw; q++) {
            const col = j * sw + q - left;
            if (col < 0 || col >= w) continue;
            const base = ((b * h + row) * w + col) * c;
            if (first) {
              for (let k = 0; k < c; k++) { best[k] = x[base + k]!; arg[k] = base + k; }
              first = false;
            } else {
              // Branch-free: which cell wins is a coin flip, and a mispredicted branch costs more than this.
              for (let k = 0; k < c; k++) {
                const v = x[base + k]!;
                const b = best[k]!;
                const win = +(v > b);
                best[k] = v * win + b * (1 - win); // exactly v or b for finite values
                arg[k] = arg[k]! + win * (base + k - arg[k]!);
              }
            }
          }
        }
        if (first) continue;
        const o = ((b * ho + i) * wo + j) * c;
        for (let k = 0; k < c; k++) dx[arg[k]!]! += dy[o + k]!;
      }
    }
  }
}

/** Number of in-image cells of each pooling window along one axis. */
function validCounts(outSize: number, inSize: number, stride: number, k: number, pad: number): number[] {
  return Array.from({ length: outSize }, (_, i) => {
    const start = i * stride - pad;
    return Math.min(inSize, start + k) - Math.max(0, start);
  });
}

/**
 * dL/dx of average pooling: dy divided by each window's in-image cell count (what the forward
 * divided by), then spread over the window. Spreading is a full correlation of the stride-dilated
 * dy with an all-ones kernel, run as a forward depthwise conv exactly as in convBackpropInput.
 */
export function avgPoolBackprop(dy: tf.Tensor4D, xShape: [number, number, number, number], g: PoolGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computePool2DInfo(xShape, g.filterSize, g.strides, 1, g.pad, g.dimRoundingMode);
    const [, h, w, c] = xShape;
    const { outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = info;
    const { filterHeight: kh, filterWidth: kw } = info;
    const { top, left } = info.padInfo;
    const rowCounts = validCounts(ho, h, sh, kh, top);
    const colCounts = validCounts(wo, w, sw, kw, left);
    const inv = new Float32Array(ho * wo);
    for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) inv[i * wo + j] = 1 / (rowCounts[i]! * colCounts[j]!);
    const scaled = tf.mul(dy, tf.tensor4d(inv, [1, ho, wo, 1])) as tf.Tensor4D;
    const d = dilateSpatial(scaled, sh, sw);
    const padT = kh - 1 - top;
    const padL = kw - 1 - left;
    const padded = padOrCrop(d, padT, h + kh - 1 - padT - ho * sh, padL, w + kw - 1 - padL - wo * sw);
    return tf.depthwiseConv2d(padded, tf.ones([kh, kw, c, 1]) as tf.Tensor4D, 1, 'valid');
  });
}

/**
 * Which input row (or column) each output row of the backend's own forward resize reads. Read
 * off the forward kernel applied to 0..n-1 rather than re-derived, so the gradient follows that
 * kernel's exact rounding (alignCorners, halfPixelCenters, float32 scale arithmetic).
 */
function sourceIndices(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  return tf.tidy(() => {
    const iota = tf.reshape(tf.range(0, inSize, 1, 'float32'), [1, inSize, 1, 1]) as tf.Tensor4D;
    const picked = tf.image.resizeNearestNeighbor(iota, [outSize, 1], alignCorners, halfPixelCenters);
    return Int32Array.from(picked.dataSync(), (v) => Math.round(v));
  });
}

/**
 * The same information as sourceIndices, as the [outSize, inSize] 0/1 matrix of which input each
 * output reads, made on the device by the backend's own forward resize of an identity matrix (one
 * channel per input row). For backends that cannot read a tensor synchronously (webgpu).
 */
function selectionMatrix(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): tf.Tensor2D {
  const eye = tf.reshape(tf.eye(inSize), [1, inSize, 1, inSize]) as tf.Tensor4D;
  return tf.reshape(tf.image.resizeNearestNeighbor(eye, [outSize, 1], alignCorners, halfPixelCenters), [outSize, inSize]);
}

/** Whether the current backend reads tensors synchronously (webgpu under Node cannot). */
const readsSync = (): boolean => tf.getBackend() !== 'webgpu';

/**
 * Sums dy over the outputs that read each input, along axis 1 (rows) of an [N, Ho, Wx, C] tensor.
 * `src` is the source index of each output row, or the selection matrix itself (selectionMatrix).
 */
function sumRows(dy: tf.Tensor4D, src: Int32Array | tf.Tensor2D, inSize: number): tf.Tensor4D {
  const [n, ho, w, c] = dy.shape;
  const f = ho / inSize;
  if (src instanceof Int32Array && Number.isInteger(f) && src.every((s, i) => s === Math.floor(i / f))) {
    // Plain integer upsampling (the hourglass case): each input owns a contiguous block of f rows.
    return tf.sum(tf.reshape(dy, [n, inSize, f, w, c]), 2) as tf.Tensor4D;
  }
  // General case: a one-hot [Ho, inSize] selection matrix applied as a matmul.
  const select = src instanceof Int32Array ? tf.oneHot(tf.tensor1d(src, 'int32'), inSize, 1, 0, 'float32') as tf.Tensor2D : src;
  const moved = tf.reshape(tf.transpose(dy, [0, 2, 3, 1]), [n * w * c, ho]);
  const summed = tf.matMul(moved, select);
  return tf.transpose(tf.reshape(summed, [n, w, c, inSize]), [0, 3, 1, 2]) as tf.Tensor4D;
}

/** dL/dimages of tf.image.resizeNearestNeighbor; separable, so rows then columns. */
export function resizeNearestBackprop(
  dy: tf.Tensor4D, imagesShape: [number, number, number, number], alignCorners: boolean, halfPixelCenters: boolean,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = imagesShape;
    const [, ho, wo] = dy.shape;
    const indices = readsSync() ? sourceIndices : selectionMatrix;
    const rowSrc = indices(h, ho, alignCorners, halfPixelCenters);
    const colSrc = indices(w, wo, alignCorners, halfPixelCenters);
    const byRows = sumRows(dy, rowSrc, h);
    const swapped = tf.transpose(byRows, [0, 2, 1, 3]) as tf.Tensor4D;
    return tf.transpose(sumRows(swapped, colSrc, w), [0, 2, 1, 3]) as tf.Tensor4D;
  });
}

/**
 * dL/dx of max pooling from forward ops only, for backends where the typed-array pass
 * (maxPoolGradInto) cannot run (webgpu, whose own MaxPoolGrad breaks ties differently from cpu).
 * Same rule: each dy goes to the first maximum of its window in row-major scan order. For every
 * window offset (p, q), the strided view of x at that offset is compared with the pooled maximum;
 * cells that match and were not claimed by an earlier offset take dy, which is dilated by the
 * stride and padded back into place. Out-of-image cells are -Infinity, so they never win.
 */
export function maxPoolBackpropOps(dy: tf.Tensor4D, x: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computePool2DInfo(x.shape, g.filterSize, g.strides, 1, g.pad, g.dimRoundingMode);
    const { outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const { top, left } = info.padInfo;
    const [n, h, w, c] = x.shape;
    // The padded extent every window fits in: (ho − 1)·sh + kh rows, (wo − 1)·sw + kw columns.
    const hp = (ho - 1) * sh + kh;
    const wp = (wo - 1) * sw + kw;
    const xp = padOrCrop(x, top, hp - h - top, left, wp - w - left, -Infinity);
    const y = tf.maxPool(x, g.filterSize, g.strides, g.pad, g.dimRoundingMode);
    let free = tf.onesLike(y);
    let acc = tf.zeros([n, hp, wp, c]) as tf.Tensor4D;
    const span = [(ho - 1) * sh + 1, (wo - 1) * sw + 1];
    for (let p = 0; p < kh; p++) {
      for (let q = 0; q < kw; q++) {
        const tap = tf.stridedSlice(xp, [0, p, q, 0], [n, p + span[0]!, q + span[1]!, c], [1, sh, sw, 1]) as tf.Tensor4D;
        const win = tf.mul(tf.cast(tf.equal(tap, y), 'float32'), free);
        free = tf.sub(free, win);
        const placed = padOrCrop(dilateSpatial(tf.mul(win, dy) as tf.Tensor4D, sh, sw), p, hp - p - ho * sh, q, wp - q - wo * sw);
        acc = tf.add(acc, placed);
      }
    }
    // Back to x's extent: drop the padding, and give rows/columns no window reached a zero.
    return padOrCrop(acc, -top, top + h - hp, -left, left + w - wp);
  });
}
