import tf from '../tf.cjs';
import { flipFilter, hasConvKernels, im2colT, transpose2d } from './conv-kernels.ts';
import { padOrCrop } from './spatial.ts';

/**
 * Both gradients of a 2-D convolution expressed as FORWARD convolutions, so that they run on
 * whatever fast forward kernel a backend has (XNNPACK on wasm) instead of the stock backprop
 * kernels (wasm has no Conv2DBackpropFilter at all; its Conv2DBackpropInput and the cpu
 * Conv2DBackpropFilter are naive loops, 10x to 90x slower than a forward conv).
 *
 * Notation (NHWC): x [N,H,W,Ci], filter [kh,kw,Ci,Co], dy [N,Ho,Wo,Co], stride s, and `top`/`left`
 * the padding the forward conv added. Forward: y[i] = sum_p xpad[i*s + p] * w[p] (per axis).
 */

export type ConvPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface ConvGeometry {
  strides: number | [number, number];
  pad: ConvPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
}

type Shape4 = [number, number, number, number];

function geometry(inShapeNHWC: Shape4, filterShape: Shape4, g: ConvGeometry) {
  const info = tf.backend_util.computeConv2DInfo(
    inShapeNHWC, filterShape, g.strides, 1, g.pad, g.dimRoundingMode, false, 'channelsLast');
  return {
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

const toNHWC = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 2, 3, 1]);
const toNCHW = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 3, 1, 2]);

/**
 * Stride-1 dL/dx: dxpad[a] = sum_p dy[a - p] * w[p], a full correlation of dy with the spatially
 * flipped kernel whose in/out channels are swapped. dy is padded (or cropped) so that the valid
 * conv yields exactly `outRows` rows starting at xpad row `first`. Non-negative padding goes to
 * the conv itself as explicit padding (no padded copy of dy; for 'same' 3x3 it is just 1/1/1/1).
 */
function fullCorrelation(dy: tf.Tensor4D, flipped: tf.Tensor4D, first: [number, number], out: [number, number]): tf.Tensor4D {
  const [kh, kw] = flipped.shape;
  const [, ho, wo] = dy.shape;
  const padT = kh - 1 - first[0];
  const padL = kw - 1 - first[1];
  // Rows after padding must total out + kh - 1 so that a valid conv yields exactly `out` rows.
  const padB = out[0] + kh - 1 - padT - ho;
  const padR = out[1] + kw - 1 - padL - wo;
  if (Math.min(padT, padB, padL, padR) >= 0) {
    return tf.conv2d(dy, flipped, 1, [[0, 0], [padT, padB], [padL, padR], [0, 0]]);
  }
  return tf.conv2d(padOrCrop(dy, padT, padB, padL, padR), flipped, 1, 'valid');
}

/** The kernel dx correlates with: one JS pass where the backend has it, else reverse + transpose. */
const flipKernel = (w: tf.Tensor4D): tf.Tensor4D => hasConvKernels()
  ? flipFilter(w)
  : tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;

/**
 * dL/dx. With stride s the rows a = s*m + r of xpad (phase r) only receive taps p = r + s*t:
 * dxpad[s*m + r] = sum_t dy[m - t] * w[r + s*t], a stride-1 full correlation of the undilated dy
 * with the sub-kernel w[r::s]. So each of the s*s phases is one small forward conv, and the phases
 * are interleaved afterwards. This does the nominal work of one forward conv, where correlating
 * dy dilated with zeros would do s*s times as much (measured 4x slower on wasm at stride 2).
 */
export function convBackpropInput(
  dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: Shape4, g: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = g.dataFormat === 'NCHW';
    const dyN = nchw ? toNHWC(dy) : dy;
    const inShape: Shape4 = nchw ? [inputShape[0], inputShape[2], inputShape[3], inputShape[1]] : inputShape;
    const [n, h, w, ci] = inShape;
    const [kh, kw] = filter.shape;
    const { sh, sw, top, left } = geometry(inShape, filter.shape, g);
    let dx: tf.Tensor4D;
    if (sh === 1 && sw === 1) {
      dx = fullCorrelation(dyN, flipKernel(filter), [top, left], [h, w]);
    } else {
      // Phase outputs cover m in [0, M): enough interleaved rows to reach past xpad row top + H.
      const mh = Math.ceil((top + h) / sh);
      const mw = Math.ceil((left + w) / sw);
      const rowsOfPhases: tf.Tensor4D[] = [];
      for (let rh = 0; rh < sh; rh++) {
        const phases: tf.Tensor4D[] = [];
        for (let rw = 0; rw < sw; rw++) {
          const th = Math.ceil((kh - rh) / sh);
          const tw = Math.ceil((kw - rw) / sw);
          if (th <= 0 || tw <= 0) {
            // Kernel smaller than the stride: this phase of x is never read, so its gradient is zero.
            phases.push(tf.zeros([n, mh, mw, ci]));
            continue;
          }
          const sub = tf.stridedSlice(filter, [rh, rw, 0, 0], [kh, kw, filter.shape[2], filter.shape[3]], [sh, sw, 1, 1]) as tf.Tensor4D;
          phases.push(fullCorrelation(dyN, flipKernel(sub), [0, 0], [mh, mw]));
        }
        // [N, mh, mw, sw, Ci] -> columns interleaved: column s*m + rw.
        rowsOfPhases.push(tf.reshape(tf.stack(phases, 3), [n, mh, mw * sw, ci]));
      }
      const interleaved = tf.reshape(tf.stack(rowsOfPhases, 2), [n, mh * sh, mw * sw, ci]) as tf.Tensor4D;
      const exact = top === 0 && left === 0 && mh * sh === h && mw * sw === w;
      dx = exact ? interleaved : tf.slice(interleaved, [0, top, left, 0], [n, h, w, ci]);
    }
    return nchw ? toNCHW(dx) : dx;
  });
}

/** Most floats one im2col matrix may hold (64 MB); bigger inputs go through in batch chunks. */
export const IM2COL_MAX_FLOATS = 16 * 1024 * 1024;
let im2colMaxFloats = IM2COL_MAX_FLOATS;

/** Sets the im2col chunk limit (tests use a small one to exercise the chunked path); returns the old one. */
export function setIm2colMaxFloats(n: number): number {
  const old = im2colMaxFloats;
  im2colMaxFloats = n;
  return old;
}

/**
 * dL/dw: dw[p,ci,co] = sum_{n,i} xpad[n, i*s + p, ci] * dy[n, i, co].
 * With the JS kernels (cpu, wasm): dw [kh·kw·Ci, Co] = colsᵀ [kh·kw·Ci, N·Ho·Wo] · dy [N·Ho·Wo, Co],
 * one matmul per batch chunk (a 1x1 stride-1 conv needs no patches: colsᵀ is xᵀ).
 * Elsewhere: swapping batch and channel axes turns the sum into a forward conv of
 * xpad^T [Ci,rows,cols,N] with dy^T [Ho,Wo,N,Co] as the filter, dilated by the stride; cropping
 * xpad to (Ho-1)*s + kh rows makes the output exactly kh.
 */
export function convBackpropFilter(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, g: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = g.dataFormat === 'NCHW';
    const xN = nchw ? toNHWC(x) : x;
    const dyN = nchw ? toNHWC(dy) : dy;
    const [n, h, w, ci] = xN.shape;
    const [kh, kw, , co] = filterShape;
    const [, ho, wo] = dyN.shape;
    const { sh, sw, top, left } = geometry(xN.shape, filterShape, g);
    if (hasConvKernels()) {
      const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && ho === h && wo === w;
      const chunk = Math.max(1, Math.min(n, Math.floor(im2colMaxFloats / (ho * wo * kh * kw * ci))));
      let acc: tf.Tensor2D | null = null;
      for (let b0 = 0; b0 < n; b0 += chunk) {
        const nb = Math.min(chunk, n - b0);
        const rows = nb * ho * wo;
        const colsT = pointwise
          ? transpose2d(tf.reshape(nb === n ? xN : tf.slice(xN, [b0, 0, 0, 0], [nb, h, w, ci]), [rows, ci]) as tf.Tensor2D)
          : im2colT(xN, { kh, kw, sh, sw, top, left, ho, wo, b0, nb });
        const dyb = tf.reshape(nb === n ? dyN : tf.slice(dyN, [b0, 0, 0, 0], [nb, ho, wo, co]), [rows, co]) as tf.Tensor2D;
        const part = tf.matMul(colsT, dyb) as tf.Tensor2D;
        acc = acc === null ? part : tf.add(acc, part) as tf.Tensor2D;
      }
      return tf.reshape(acc!, [kh, kw, ci, co]) as tf.Tensor4D;
    }
    const rows = (ho - 1) * sh + kh;
    const cols = (wo - 1) * sw + kw;
    const xp = padOrCrop(xN, top, rows - h - top, left, cols - w - left);
    const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyt = tf.transpose(dyN, [1, 2, 0, 3]) as tf.Tensor4D;
    const r = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [sh, sw]);
    return tf.transpose(r, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}
