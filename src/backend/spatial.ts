import tf from '../tf.cjs';

/** Spatial reshuffles shared by the gradient kernels; all NHWC, all built from ops every backend has. */

/** Pads (positive amounts, with `value`) or crops (negative amounts) the spatial axes of an NHWC tensor. */
export function padOrCrop(
  t: tf.Tensor4D, top: number, bottom: number, left: number, right: number, value = 0,
): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  const cropT = Math.max(0, -top);
  const cropB = Math.max(0, -bottom);
  const cropL = Math.max(0, -left);
  const cropR = Math.max(0, -right);
  let out = t;
  if (cropT + cropB + cropL + cropR > 0) {
    out = tf.slice(out, [0, cropT, cropL, 0], [n, h - cropT - cropB, w - cropL - cropR, c]);
  }
  const padT = Math.max(0, top);
  const padB = Math.max(0, bottom);
  const padL = Math.max(0, left);
  const padR = Math.max(0, right);
  if (padT + padB + padL + padR > 0) {
    out = tf.pad(out, [[0, 0], [padT, padB], [padL, padR], [0, 0]], value);
  }
  return out;
}

/**
 * Inserts s-1 zero rows/columns after every row/column: [N,Ho,Wo,C] -> [N,Ho*sh,Wo*sw,C]. The
 * trailing zeros are harmless for the callers (they only meet zero-padding) and padOrCrop trims
 * them when the geometry says so. Reshape+pad works on every backend, where a strided scatter
 * would not.
 */
export function dilateSpatial(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, c] = t.shape;
  if (tf.getBackend() === 'webgpu') {
    // webgpu 4.22 cannot pad rank-6 tensors (its shader indexes a 'vec6', which WGSL lacks): rows,
    // then columns, each as a rank-4 pad. Same result; cpu/wasm keep the single pad.
    const rows = tf.reshape(tf.pad(tf.reshape(t, [n, h, 1, w * c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0]]), [n * h * sh, w, 1, c]);
    return tf.reshape(tf.pad(rows, [[0, 0], [0, 0], [0, sw - 1], [0, 0]]), [n, h * sh, w * sw, c]);
  }
  const r = tf.reshape(t, [n, h, 1, w, 1, c]);
  const p = tf.pad(r, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(p, [n, h * sh, w * sw, c]);
}
