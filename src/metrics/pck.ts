/**
 * PCK@α for any keypoint set (no tfjs), with the reference length a named choice:
 *
 *   ref_i   = torso: ||gt_i[l_shoulder] − gt_i[r_hip]||   (LSP since DeepPose, Toshev & Szegedy
 *                    CVPR 2014; bearpaw/eval_pose `demo_eval_lsp.m` uses the same joint pair)
 *             head:  ||gt_i[neck] − gt_i[head_top]||      (a PCKh-style head size for sets without
 *                    head boxes, e.g. LSP; MPII keeps its head boxes, see ./pckh.ts)
 *             bbox:  max(w_i, h_i) of the person box
 *   err_ij  = ||pred_ij − gt_ij|| / ref_i
 *   PCK_j   = 100 · Σ_i [err_ij ≤ α]·vis_ij / Σ_i vis_ij
 *
 * A person whose reference keypoints are not both labelled (or coincide) has no reference length:
 * that person is left out of the score entirely and counted in `leftOut`. A labelled joint with a
 * non-finite prediction is a miss (as the MPII toolkit treats NaN). Mean: count-weighted over all
 * K joints (pooled, as ./pckh.ts's default) or the plain mean of the per-joint values.
 *
 * Columns follow the set: Head (head_top and neck as bearpaw/eval_pose pairs them for LSP; nose,
 * eyes and ears for COCO), then Shoulder, Elbow, Wrist, Hip, Knee, Ankle, any other joint by
 * name, Mean. A column averages its joints' PCK values (left and right). For LSP's 14 joints
 * that is exactly LSP's table: Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle, Mean.
 */
import { SCHEMA, type RunConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { findCentre, findKeypoint, splitSide, type KeypointSet } from '../data/keypoints.ts';
import type { PckhComparison as PckComparison } from './pckh.ts';

/** A reference length of `eval.pck_normalizer` ('auto' resolves to one of these). */
export type PckNormalizer = Exclude<RunConfig['eval']['pck_normalizer'], 'auto'>;
export const PCK_NORMALIZERS: readonly PckNormalizer[] =
  SCHEMA.eval.pck_normalizer.choices.filter((c): c is PckNormalizer => c !== 'auto');
export type PckMean = 'count-weighted' | 'unweighted';

export interface PckOptions {
  normalizer: PckNormalizer;
  alpha: number;
  mean?: PckMean;
  comparison?: PckComparison;
}

/** Flat inputs, N persons of K keypoints. */
export interface PckInput {
  /** [N, K, 2] predictions, same frame as gt. */
  pred: ArrayLike<number>;
  /** [N, K, 2] ground truth. */
  gt: ArrayLike<number>;
  /** [N, K] non-zero where the joint is labelled (COCO v > 0). */
  visible: ArrayLike<number>;
  /** [N, 4] person boxes x, y, w, h (needed for the bbox normaliser only). */
  bboxes?: ArrayLike<number>;
}

export interface PckResult {
  variant: string;
  normalizer: PckNormalizer;
  alpha: number;
  /** Persons given; persons scored; persons left out for want of a reference length. */
  samples: number;
  scored: number;
  leftOut: number;
  /** Per joint name, percent; NaN where never labelled among scored persons. */
  joints: Record<string, number>;
  /** Column → percent (NaN where empty), in display order, Mean last. */
  columns: Record<string, number>;
  counts: { visible: number[]; correct: number[] };
}

/** Base names (side-free) that fall under the Head column. */
const HEAD_BASES = new Set(['head_top', 'head', 'neck', 'upper_neck', 'nose', 'eye', 'ear']);
const ORDER = ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle'];

const title = (base: string) => base.charAt(0).toUpperCase() + base.slice(1);

/** Column → joint indices for a keypoint set, in display order (Mean not included). */
export function pckColumns(set: KeypointSet): Array<[string, number[]]> {
  const groups = new Map<string, number[]>();
  set.names.forEach((name, j) => {
    const { base } = splitSide(name);
    const col = HEAD_BASES.has(base) ? 'Head' : title(base);
    groups.set(col, [...(groups.get(col) ?? []), j]);
  });
  const known = ORDER.filter((c) => groups.has(c));
  const rest = [...groups.keys()].filter((c) => !ORDER.includes(c));
  return [...known, ...rest].map((c) => [c, groups.get(c)!]);
}

/** The two keypoints whose distance is the reference length, or a DataError naming what is missing. */
export function referencePair(set: KeypointSet, normalizer: 'torso' | 'head'): [number, number] {
  if (normalizer === 'torso') {
    const a = findKeypoint(set, 1, 'shoulder'), b = findKeypoint(set, -1, 'hip');
    if (a < 0 || b < 0) throw new DataError(`PCK torso normaliser needs a left shoulder and a right hip; ${set.label} has ${set.names.join(', ')}`);
    return [a, b];
  }
  const a = findCentre(set, ['neck', 'upper_neck']), b = findCentre(set, ['head_top', 'head']);
  if (a < 0 || b < 0) throw new DataError(`PCK head normaliser needs neck and head_top keypoints; ${set.label} has ${set.names.join(', ')}`);
  return [a, b];
}

export function pckVariant(set: KeypointSet, o: PckOptions): string {
  const ref = o.normalizer === 'bbox' ? 'longer bbox side' : referencePair(set, o.normalizer).map((j) => set.names[j]).join('-');
  return `PCK@${o.alpha} ${o.normalizer} (${ref}), ${o.mean ?? 'count-weighted'} mean over ${set.names.length} ${set.label} joints, err ${(o.comparison ?? 'le') === 'le' ? '<=' : '<'} t`;
}

/**
 * Collects normalised errors batch by batch so that any α can be reported afterwards. Errors are
 * [N, K]: NaN where the joint does not count, +Infinity for a non-finite prediction.
 */
export class PckAccumulator {
  private readonly chunks: Float64Array[] = [];
  private persons = 0;
  private excluded = 0;
  private readonly pair: [number, number] | null;

  constructor(readonly set: KeypointSet, readonly normalizer: PckNormalizer) {
    this.pair = normalizer === 'bbox' ? null : referencePair(set, normalizer);
  }

  /** Reference length of person i, or NaN when it has none. */
  private reference(input: PckInput, i: number): number {
    const K = this.set.names.length;
    if (!this.pair) {
      if (!input.bboxes) throw new DataError('PCK bbox normaliser: the data has no person boxes');
      const w = input.bboxes[4 * i + 2]!, h = input.bboxes[4 * i + 3]!;
      const s = Math.max(w, h);
      return Number.isFinite(s) && s > 0 ? s : Number.NaN;
    }
    const [a, b] = this.pair;
    if (!input.visible[i * K + a] || !input.visible[i * K + b]) return Number.NaN;
    const d = Math.hypot(input.gt[2 * (i * K + a)]! - input.gt[2 * (i * K + b)]!, input.gt[2 * (i * K + a) + 1]! - input.gt[2 * (i * K + b) + 1]!);
    return d > 0 ? d : Number.NaN;
  }

  add(input: PckInput): void {
    const K = this.set.names.length;
    const n = input.visible.length / K;
    if (!Number.isInteger(n) || input.gt.length !== n * K * 2 || input.pred.length !== n * K * 2) {
      throw new RangeError(`PCK input: ${input.visible.length} visibility flags, ${input.gt.length} gt and ${input.pred.length} predicted values do not fit ${K} keypoints`);
    }
    const out = new Float64Array(n * K).fill(Number.NaN);
    for (let i = 0; i < n; i++) {
      const ref = this.reference(input, i);
      if (Number.isNaN(ref)) { this.excluded++; continue; }
      for (let j = 0; j < K; j++) {
        const k = i * K + j;
        if (!input.visible[k]) continue;
        const err = Math.hypot(input.pred[2 * k]! - input.gt[2 * k]!, input.pred[2 * k + 1]! - input.gt[2 * k + 1]!) / ref;
        out[k] = Number.isFinite(err) ? err : Number.POSITIVE_INFINITY;
      }
    }
    this.chunks.push(out);
    this.persons += n;
  }

  result(options: PckOptions): PckResult {
    if (options.normalizer !== this.normalizer) throw new RangeError(`accumulated with ${this.normalizer}, asked for ${options.normalizer}`);
    if (!Number.isFinite(options.alpha) || options.alpha < 0) throw new DataError(`PCK alpha must be a number >= 0, got ${options.alpha}`);
    const K = this.set.names.length;
    const visible = new Array<number>(K).fill(0), correct = new Array<number>(K).fill(0);
    const le = (options.comparison ?? 'le') === 'le';
    for (const c of this.chunks) {
      for (let k = 0; k < c.length; k++) {
        const e = c[k]!;
        if (Number.isNaN(e)) continue;
        visible[k % K]++;
        if (le ? e <= options.alpha : e < options.alpha) correct[k % K]++;
      }
    }
    return summarize(this.set, { visible, correct }, options, { samples: this.persons, leftOut: this.excluded });
  }
}

const average = (v: number[]) => { const d = v.filter((x) => !Number.isNaN(x)); return d.length ? d.reduce((a, b) => a + b, 0) / d.length : Number.NaN; };

function summarize(set: KeypointSet, counts: PckResult['counts'], o: PckOptions, n: { samples: number; leftOut: number }): PckResult {
  const per = counts.visible.map((v, j) => (v > 0 ? (100 * counts.correct[j]!) / v : Number.NaN));
  const columns: Record<string, number> = {};
  for (const [col, ids] of pckColumns(set)) columns[col] = average(ids.map((j) => per[j]!));
  const vis = counts.visible.reduce((a, b) => a + b, 0), cor = counts.correct.reduce((a, b) => a + b, 0);
  columns.Mean = (o.mean ?? 'count-weighted') === 'count-weighted' ? (vis > 0 ? (100 * cor) / vis : Number.NaN) : average(per);
  return {
    variant: pckVariant(set, o), normalizer: o.normalizer, alpha: o.alpha,
    samples: n.samples, scored: n.samples - n.leftOut, leftOut: n.leftOut,
    joints: Object.fromEntries(set.names.map((name, j) => [name, per[j]!])), columns, counts,
  };
}

/** PCK of N persons at one α. */
export function computePck(set: KeypointSet, input: PckInput, options: PckOptions): PckResult {
  const acc = new PckAccumulator(set, options.normalizer);
  acc.add(input);
  return acc.result(options);
}
