/**
 * Pose targets: Gaussian heatmaps in, joint coordinates out.
 *
 * Geometry. Coordinates follow draw.ts: pixel i has its centre at x = i. A heatmap of side S over
 * an input of side I has stride s = I / S, and heatmap cell h covers input pixels
 * [h·s, (h+1)·s), so its centre is at input x = (h + ½)·s − ½. Encoding inverts that map
 * (h = (x + ½)/s − ½), so encode → decode is exact up to the argmax quantisation. Reference pose
 * code (bearpaw, HRNet) uses x = h·s instead, a constant (s−1)/2-pixel offset (1.5 px at s = 4)
 * that this project avoids.
 *
 * Encoding. An unnormalised Gaussian of amplitude 1 centred on the joint's exact (sub-cell)
 * position: exp(−((h−μx)² + (v−μy)²) / 2σ²). The map's value at the joint is 1, and the nearest
 * cell reaches 1 when the joint lies on a cell centre (bearpaw/HRNet round μ to a cell first so
 * the peak cell is always 1; `snap: true` does that). Joints with weight 0 (not annotated / off the
 * image) get an all-zero map; the loss ignores them through the weight.
 *
 * Decoding (ICCV'17 `utils.getPreds`, bearpaw `final_preds`): per map, the argmax cell (the first
 * maximum in row-major order), then a ±0.25-cell shift in x and in y toward the larger of the two
 * neighbours (no shift on the border, where one neighbour is missing, or on a tie), then cell →
 * input pixel, then input pixel → original image through the batch's `toOriginal` affine.
 */
import { DataError } from '../errors.ts';
import { pexp } from './synthetic/portable-math.ts';

export interface HeatmapGeometry {
  /** Network input side in pixels. */
  inputSize: number;
  /** Heatmap side in cells. */
  heatmapSize: number;
}

/** Input-pixel coordinate → heatmap-cell coordinate (same formula for x and y). */
export function inputToHeatmap(x: number, g: HeatmapGeometry): number {
  return ((x + 0.5) * g.heatmapSize) / g.inputSize - 0.5;
}

/** Heatmap-cell coordinate → input-pixel coordinate. */
export function heatmapToInput(h: number, g: HeatmapGeometry): number {
  return ((h + 0.5) * g.inputSize) / g.heatmapSize - 0.5;
}

export interface EncodeOptions extends HeatmapGeometry {
  /** Gaussian σ in heatmap cells. */
  sigma: number;
  /** Joints per sample; default 16 (MPII). */
  numJoints?: number;
  /** Round each centre to the nearest cell first (bearpaw/HRNet style); default false. */
  snap?: boolean;
}

function checkGeometry(g: HeatmapGeometry): void {
  if (!(g.inputSize > 0) || !Number.isInteger(g.heatmapSize) || g.heatmapSize < 1) {
    throw new DataError(`bad heatmap geometry: input ${g.inputSize}, heatmap ${g.heatmapSize}`);
  }
}

/** Batch size implied by a flat array of `perSample`-sized records, or a DataError. */
function batchOf(length: number, perSample: number, what: string): number {
  const b = length / perSample;
  if (!Number.isInteger(b)) throw new DataError(`${what}: length ${length} is not a multiple of ${perSample}`);
  return b;
}

/**
 * The heatmaps of one sample, written into `out` at `outOffset` ([S, S, J] layout). Reads joints
 * (x, y) at `joints[jointsOffset + 2j]` and weights at `weights[weightsOffset + j]`. Allocation-free
 * apart from two small scratch rows, so generators can call it per sample.
 */
export function encodeSampleHeatmaps(
  joints: ArrayLike<number>, jointsOffset: number, weights: ArrayLike<number>, weightsOffset: number,
  opts: EncodeOptions, out: Float32Array, outOffset: number,
): void {
  const S = opts.heatmapSize;
  const J = opts.numJoints ?? 16;
  if (!(opts.sigma > 0)) throw new DataError(`heatmap sigma must be positive, got ${opts.sigma}`);
  const k = -1 / (2 * opts.sigma * opts.sigma);
  const gx = new Float64Array(S);
  const gy = new Float64Array(S);
  for (let j = 0; j < J; j++) {
    const w = weights[weightsOffset + j]!;
    let mx = inputToHeatmap(joints[jointsOffset + 2 * j]!, opts);
    let my = inputToHeatmap(joints[jointsOffset + 2 * j + 1]!, opts);
    const drawn = w > 0 && Number.isFinite(mx) && Number.isFinite(my);
    if (opts.snap) {
      mx = Math.round(mx);
      my = Math.round(my);
    }
    // Separable: exp(a + b) = exp(a)·exp(b), so 2S exponentials per joint instead of S².
    for (let i = 0; i < S; i++) {
      gx[i] = drawn ? pexp(k * (i - mx) * (i - mx)) : 0;
      gy[i] = drawn ? pexp(k * (i - my) * (i - my)) : 0;
    }
    let p = outOffset + j;
    for (let y = 0; y < S; y++) {
      const vy = gy[y]!;
      for (let x = 0; x < S; x++, p += J) out[p] = vy * gx[x]!;
    }
  }
}

/**
 * Gaussian heatmaps for a batch.
 * @param joints [B, J, 2] joint (x, y) in network-input pixels.
 * @param weights [B, J]; joints with weight ≤ 0 (or non-finite coordinates) get an all-zero map.
 * @param out optional [B, S, S, J] buffer to fill (else allocated); returned.
 */
export function encodeHeatmaps(joints: Float32Array, weights: Float32Array, opts: EncodeOptions, out?: Float32Array): Float32Array {
  checkGeometry(opts);
  const J = opts.numJoints ?? 16;
  const S = opts.heatmapSize;
  const B = batchOf(weights.length, J, 'encodeHeatmaps weights');
  if (joints.length !== B * J * 2) throw new DataError(`encodeHeatmaps: ${joints.length} joint values for ${B}×${J} weights`);
  const result = out ?? new Float32Array(B * S * S * J);
  if (result.length !== B * S * S * J) throw new DataError(`encodeHeatmaps: output holds ${result.length} values, need ${B * S * S * J}`);
  for (let b = 0; b < B; b++) encodeSampleHeatmaps(joints, b * J * 2, weights, b * J, opts, result, b * S * S * J);
  return result;
}

export interface DecodeOptions extends HeatmapGeometry {
  /** Joints per sample; default 16 (MPII). */
  numJoints?: number;
  /** [B, 6] input → original affine (a, b, c, d, e, f) per sample; identity when omitted. */
  toOriginal?: Float32Array;
  /** Optional [B, J] output: each map's maximum (a confidence; ≤ 0 means "nothing found"). */
  scores?: Float32Array;
}

/**
 * Joint coordinates from heatmaps.
 * @param heatmaps [B, S, S, J] network output (or targets).
 * @returns [B, J, 2] (x, y) in original image coordinates.
 */
export function decodeHeatmaps(heatmaps: Float32Array, opts: DecodeOptions): Float32Array {
  checkGeometry(opts);
  const S = opts.heatmapSize;
  const J = opts.numJoints ?? 16;
  const B = batchOf(heatmaps.length, S * S * J, 'decodeHeatmaps heatmaps');
  const { toOriginal, scores } = opts;
  if (toOriginal && toOriginal.length !== B * 6) throw new DataError(`decodeHeatmaps: toOriginal has ${toOriginal.length} values, need ${B * 6}`);
  if (scores && scores.length !== B * J) throw new DataError(`decodeHeatmaps: scores has ${scores.length} values, need ${B * J}`);
  const out = new Float32Array(B * J * 2);
  for (let b = 0; b < B; b++) {
    const base = b * S * S * J;
    for (let j = 0; j < J; j++) {
      // First maximum in row-major order; NaNs never win a comparison.
      let best = -Infinity;
      let bx = 0;
      let by = 0;
      for (let y = 0, p = base + j; y < S; y++) {
        for (let x = 0; x < S; x++, p += J) {
          const v = heatmaps[p]!;
          if (v > best) {
            best = v;
            bx = x;
            by = y;
          }
        }
      }
      const at = (x: number, y: number) => heatmaps[base + (y * S + x) * J + j]!;
      let hx = bx;
      let hy = by;
      if (bx > 0 && bx < S - 1) {
        const d = at(bx + 1, by) - at(bx - 1, by);
        if (d > 0) hx += 0.25;
        else if (d < 0) hx -= 0.25;
      }
      if (by > 0 && by < S - 1) {
        const d = at(bx, by + 1) - at(bx, by - 1);
        if (d > 0) hy += 0.25;
        else if (d < 0) hy -= 0.25;
      }
      const ix = heatmapToInput(hx, opts);
      const iy = heatmapToInput(hy, opts);
      const o = (b * J + j) * 2;
      if (toOriginal) {
        const t = b * 6;
        out[o] = toOriginal[t]! * ix + toOriginal[t + 1]! * iy + toOriginal[t + 2]!;
        out[o + 1] = toOriginal[t + 3]! * ix + toOriginal[t + 4]! * iy + toOriginal[t + 5]!;
      } else {
        out[o] = ix;
        out[o + 1] = iy;
      }
      if (scores) scores[b * J + j] = best === -Infinity ? NaN : best;
    }
  }
  return out;
}
