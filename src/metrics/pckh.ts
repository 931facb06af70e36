/**
 * PCKh on plain arrays (no tfjs), following the MPII protocol as public code implements it.
 *
 *   headsize_i = SC_BIAS · ||headbox_i[1] − headbox_i[0]||,  SC_BIAS = 0.6
 *   err_ij     = ||pred_ij − gt_ij|| / headsize_i
 *   PCKh_j     = 100 · Σ_i [err_ij ≤ t]·vis_ij / Σ_i vis_ij
 *
 * Sources (read for this file; summarised in docs/paper.md §7):
 * - HRNet `lib/dataset/mpii.py::evaluate` (leoxiaobin/deep-high-resolution-net.pytorch): compares
 *   with `scaled_uv_err <= threshold`; Mean = Σ PCKh_j·jnt_count_j / Σ jnt_count_j over the 16
 *   joints with pelvis and thorax (6, 7) masked, i.e. count-weighted.
 * - The official MPII toolkit (evalMPII.zip, `eval/computePCK.m`, vendored e.g. by
 *   anibali/eval-mpii-pose): `100*mean(d(~isnan(d))<=range(k))`, so `<=` too; its "total" column
 *   pools every non-missing joint of its 14, which is the same count-weighted mean. It also sets
 *   NaN predictions to inf (`pred(isnan(pred)) = inf`), i.e. a miss.
 * - bearpaw/pytorch-pose `evaluation/eval_PCKh.py` and `eval_PCKh.m`: `scaled_uv_err < threshold`
 *   (strict) and an unweighted `np.mean(PCKh)` / `mean(PCKh([1:6, 9:16]))` over the 14 joints.
 * Hence the default here is count-weighted with `<=` (HRNet = official); the bearpaw variant is
 * available, and every result names the variant it used.
 *
 * "Visible" means "counts for PCKh": for MPII that is *annotated* (1 − jnt_missing), which includes
 * occluded-but-labelled joints; loaders put that flag in `PoseBatch.visible`.
 */
import { DEFAULTS } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { MPII_JOINTS, NUM_JOINTS } from '../data/types.ts';

/** 0.6 = 0.8 · 0.75, MPII's `util_get_head_size`. */
export const SC_BIAS = 0.6;
/** PCKh@0.5 (MPII): the schema's `eval.pckh_threshold`. */
export const DEFAULT_PCKH_THRESHOLD = DEFAULTS.eval.pckh_threshold;

/** How the Mean column averages the 14 joints. */
export type PckhMean = 'count-weighted' | 'unweighted';
/** `le`: error ≤ threshold counts as correct (HRNet, official); `lt`: strictly less (bearpaw). */
export type PckhComparison = 'le' | 'lt';

export interface PckhOptions {
  threshold?: number;
  mean?: PckhMean;
  comparison?: PckhComparison;
}

export const PCKH_COLUMNS = ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean'] as const;
export type PckhColumn = (typeof PCKH_COLUMNS)[number];

/** Joint ids per column (MPII order). Head is head_top only, as HRNet and bearpaw report it. */
export const PCKH_GROUPS: Readonly<Record<Exclude<PckhColumn, 'Mean'>, readonly number[]>> = {
  Head: [9],
  Shoulder: [12, 13],
  Elbow: [11, 14],
  Wrist: [10, 15],
  Hip: [2, 3],
  Knee: [1, 4],
  Ankle: [0, 5],
};
/** The 14 joints of the Mean: all but pelvis (6) and thorax (7). Upper neck (8) is included. */
export const PCKH_MEAN_JOINTS: readonly number[] = Array.from({ length: NUM_JOINTS }, (_, j) => j).filter((j) => j !== 6 && j !== 7);

/** Flat inputs, N samples of the 16 MPII joints. */
export interface PckhInput {
  /** [N, 16, 2] predicted (x, y). Non-finite values of a counted joint are misses. */
  pred: ArrayLike<number>;
  /** [N, 16, 2] ground truth (x, y), same coordinate frame as `pred`. */
  gt: ArrayLike<number>;
  /** [N, 16] non-zero where the joint counts (MPII: annotated). */
  visible: ArrayLike<number>;
  /** [N, 4] head box x1, y1, x2, y2: only its diagonal matters. */
  headBoxes: ArrayLike<number>;
}

export interface PckhCounts {
  /** [16] counted joints per joint id. */
  visible: number[];
  /** [16] counted joints within the threshold. */
  correct: number[];
}

export interface PckhResult {
  /** Human-readable variant name, e.g. "count-weighted mean, err <= t". */
  variant: string;
  mean: PckhMean;
  comparison: PckhComparison;
  threshold: number;
  samples: number;
  /** PCKh in percent per joint name; NaN where the joint is never visible (JSON: null). */
  joints: Record<string, number>;
  /** Summary columns in percent; NaN where no joint of the column is ever visible. */
  columns: Record<PckhColumn, number>;
  counts: PckhCounts;
}

export function variantName(mean: PckhMean, comparison: PckhComparison): string {
  return `${mean} mean, err ${comparison === 'le' ? '<=' : '<'} t`;
}

function resolve(options: PckhOptions): Required<PckhOptions> {
  const threshold = options.threshold ?? DEFAULT_PCKH_THRESHOLD;
  if (!Number.isFinite(threshold) || threshold < 0) throw new DataError(`PCKh threshold must be a number >= 0, got ${threshold}`);
  return { threshold, mean: options.mean ?? 'count-weighted', comparison: options.comparison ?? 'le' };
}

/** Number of samples in an input, after checking that the four arrays agree. */
export function sampleCount(input: PckhInput): number {
  const n = input.visible.length / NUM_JOINTS;
  if (!Number.isInteger(n)) throw new RangeError(`visible has ${input.visible.length} entries, not a multiple of ${NUM_JOINTS}`);
  const want = [['pred', input.pred.length, n * NUM_JOINTS * 2], ['gt', input.gt.length, n * NUM_JOINTS * 2], ['headBoxes', input.headBoxes.length, n * 4]] as const;
  for (const [name, got, expected] of want) {
    if (got !== expected) throw new RangeError(`${name} has ${got} entries, expected ${expected} for ${n} samples`);
  }
  return n;
}

/** SC_BIAS · head-box diagonal, or a DataError naming the sample when it is 0 or not finite. */
export function headSize(box: ArrayLike<number>, offset: number, sampleIndex: number): number {
  const x1 = box[offset], y1 = box[offset + 1], x2 = box[offset + 2], y2 = box[offset + 3];
  const size = SC_BIAS * Math.hypot(x2 - x1, y2 - y1);
  if (![x1, y1, x2, y2].every(Number.isFinite)) {
    // Loaders fill unknown head boxes with NaN (e.g. MPII training records without a box file).
    throw new DataError(`sample ${sampleIndex}: head box is missing or not finite [${x1}, ${y1}, ${x2}, ${y2}]`);
  }
  if (!(size > 0)) {
    throw new DataError(`sample ${sampleIndex}: degenerate head box [[${x1}, ${y1}], [${x2}, ${y2}]] (diagonal ${Math.hypot(x2 - x1, y2 - y1)})`);
  }
  return size;
}

/**
 * [N, 16] errors in head sizes; NaN where the joint does not count. A counted joint with a
 * non-finite prediction gets +Infinity (a miss), as the official toolkit does.
 * `indexOffset` shifts the sample index used in error messages (batched accumulation).
 */
export function normalizedErrors(input: PckhInput, indexOffset = 0): Float64Array {
  const n = sampleCount(input);
  const out = new Float64Array(n * NUM_JOINTS);
  for (let i = 0; i < n; i++) {
    const size = headSize(input.headBoxes, i * 4, i + indexOffset);
    for (let j = 0; j < NUM_JOINTS; j++) {
      const k = i * NUM_JOINTS + j;
      if (!input.visible[k]) { out[k] = Number.NaN; continue; }
      const gx = input.gt[2 * k], gy = input.gt[2 * k + 1];
      if (!Number.isFinite(gx) || !Number.isFinite(gy)) throw new DataError(`sample ${i + indexOffset}: ground truth of visible joint ${MPII_JOINTS[j]} is not finite`);
      const err = Math.hypot(input.pred[2 * k] - gx, input.pred[2 * k + 1] - gy) / size;
      out[k] = Number.isFinite(err) ? err : Number.POSITIVE_INFINITY;
    }
  }
  return out;
}

/** Per-joint counts at one threshold from normalizedErrors output. */
export function countCorrect(errors: ArrayLike<number>, threshold: number, comparison: PckhComparison = 'le'): PckhCounts {
  const visible = new Array<number>(NUM_JOINTS).fill(0);
  const correct = new Array<number>(NUM_JOINTS).fill(0);
  for (let k = 0; k < errors.length; k++) {
    const e = errors[k];
    if (Number.isNaN(e)) continue;
    const j = k % NUM_JOINTS;
    visible[j]++;
    if (comparison === 'le' ? e <= threshold : e < threshold) correct[j]++;
  }
  return { visible, correct };
}

function average(values: number[]): number {
  const defined = values.filter((v) => !Number.isNaN(v));
  return defined.length === 0 ? Number.NaN : defined.reduce((a, b) => a + b, 0) / defined.length;
}

/**
 * Turns counts into the table. A joint never visible has PCKh NaN (reported as n/a / null) and is
 * left out of everything: a left/right column then shows the side that exists, and both Mean
 * variants skip it (count-weighted gives it weight 0 anyway). HRNet would print NaN instead; we
 * prefer a number for the joints that were measured.
 */
export function summarizePckh(counts: PckhCounts, options: PckhOptions & { samples?: number } = {}): PckhResult {
  const { threshold, mean, comparison } = resolve(options);
  const perJoint = counts.visible.map((v, j) => (v > 0 ? (100 * counts.correct[j]) / v : Number.NaN));
  const joints: Record<string, number> = {};
  MPII_JOINTS.forEach((name, j) => { joints[name] = perJoint[j]; });
  const columns = {} as Record<PckhColumn, number>;
  for (const [column, ids] of Object.entries(PCKH_GROUPS)) columns[column as PckhColumn] = average(ids.map((j) => perJoint[j]));
  if (mean === 'count-weighted') {
    let vis = 0, cor = 0;
    for (const j of PCKH_MEAN_JOINTS) { vis += counts.visible[j]; cor += counts.correct[j]; }
    columns.Mean = vis > 0 ? (100 * cor) / vis : Number.NaN;
  } else {
    columns.Mean = average(PCKH_MEAN_JOINTS.map((j) => perJoint[j]));
  }
  return {
    variant: variantName(mean, comparison), mean, comparison, threshold,
    samples: options.samples ?? Number.NaN, joints, columns,
    counts: { visible: [...counts.visible], correct: [...counts.correct] },
  };
}

/** PCKh of N samples at one threshold. */
export function computePckh(input: PckhInput, options: PckhOptions = {}): PckhResult {
  const resolved = resolve(options);
  const errors = normalizedErrors(input);
  return summarizePckh(countCorrect(errors, resolved.threshold, resolved.comparison), { ...resolved, samples: sampleCount(input) });
}

/** Thresholds 0, step, …, max inclusive (HRNet / evalMPII use 0:0.01:0.5), free of float drift. */
export function thresholdRange(max = 0.5, step = 0.01): number[] {
  const n = Math.round(max / step);
  return Array.from({ length: n + 1 }, (_, i) => Number((i * step).toFixed(10)));
}

/** PCKh at each threshold (a PCKh curve); errors are computed once. */
export function pckhCurve(input: PckhInput, thresholds: readonly number[] = thresholdRange(), options: Omit<PckhOptions, 'threshold'> = {}): PckhResult[] {
  const errors = normalizedErrors(input);
  const samples = sampleCount(input);
  return thresholds.map((threshold) => {
    const r = resolve({ ...options, threshold });
    return summarizePckh(countCorrect(errors, threshold, r.comparison), { ...r, samples });
  });
}

/** Area under a PCKh curve normalised to [0, 100] (trapezoid rule over the thresholds given). */
export function curveArea(curve: readonly PckhResult[], column: PckhColumn = 'Mean'): number {
  if (curve.length < 2) return Number.NaN;
  const t0 = curve[0].threshold, t1 = curve[curve.length - 1].threshold;
  let area = 0;
  for (let i = 1; i < curve.length; i++) {
    area += 0.5 * (curve[i].columns[column] + curve[i - 1].columns[column]) * (curve[i].threshold - curve[i - 1].threshold);
  }
  return area / (t1 - t0);
}

/**
 * Collects normalised errors batch by batch (e.g. from PoseBatch.joints / visible / headBoxes and
 * decoded predictions) so that evaluation can report PCKh at any threshold afterwards.
 */
export class PckhAccumulator {
  private readonly chunks: Float64Array[] = [];
  private samples = 0;

  add(input: PckhInput): void {
    this.chunks.push(normalizedErrors(input, this.samples));
    this.samples += sampleCount(input);
  }

  get size(): number {
    return this.samples;
  }

  errors(): Float64Array {
    const out = new Float64Array(this.samples * NUM_JOINTS);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  result(options: PckhOptions = {}): PckhResult {
    const r = resolve(options);
    return summarizePckh(countCorrect(this.errors(), r.threshold, r.comparison), { ...r, samples: this.samples });
  }

  curve(thresholds: readonly number[] = thresholdRange(), options: Omit<PckhOptions, 'threshold'> = {}): PckhResult[] {
    const errors = this.errors();
    return thresholds.map((threshold) => {
      const r = resolve({ ...options, threshold });
      return summarizePckh(countCorrect(errors, threshold, r.comparison), { ...r, samples: this.samples });
    });
  }
}
