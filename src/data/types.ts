/**
 * The one dataset interface every loader implements. Batches are plain typed arrays (NHWC,
 * float32) so that data code stays independent of tfjs; train/ converts them to tensors.
 */
import type { RunConfig } from '../config/schema.ts';

/** MPII's 16 joints, in MPII's order (index = joint id). */
export const MPII_JOINTS = [
  'r_ankle', 'r_knee', 'r_hip', 'l_hip', 'l_knee', 'l_ankle', 'pelvis', 'thorax',
  'upper_neck', 'head_top', 'r_wrist', 'r_elbow', 'r_shoulder', 'l_shoulder', 'l_elbow', 'l_wrist',
] as const;
export const NUM_JOINTS = MPII_JOINTS.length;
/** Pairs swapped by a horizontal flip. */
export const MPII_FLIP_PAIRS: ReadonlyArray<readonly [number, number]> = [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]];

export type Split = 'train' | 'val';

export interface PoseBatch {
  kind: 'pose';
  size: number;
  /** [size, H, W, 3] network input, normalised as the dataset documents. */
  images: Float32Array;
  /** [size, S, S, K] Gaussian target heatmaps, peak 1 (K = Dataset.numJoints, 16 for MPII). */
  heatmaps: Float32Array;
  /** [size, K] loss weight per joint: 1 visible/annotated, 0 otherwise. */
  weights: Float32Array;
  /** [size, K, 2] ground-truth joints (x, y) in ORIGINAL image coordinates (for PCKh). */
  joints: Float32Array;
  /** [size, K] 1 where the joint counts for PCKh (visible), else 0. */
  visible: Uint8Array;
  /** [size, 4] head box x1, y1, x2, y2 in original image coordinates (NaN where unknown). */
  headBoxes: Float32Array;
  /** [size, 4] person box x, y, w, h in original image coordinates (COCO sets; for PCK@bbox). */
  bboxes?: Float32Array;
  /**
   * [size, 6] affine map from network-input pixel coordinates to original image coordinates:
   * x' = a*x + b*y + c, y' = d*x + e*y + f. Identity for synthetic data.
   */
  toOriginal: Float32Array;
}

export interface ClassificationBatch {
  kind: 'classification';
  size: number;
  /** [size, H, W, C] network input. */
  images: Float32Array;
  /** [size] class index. */
  labels: Int32Array;
}

export type Batch = PoseBatch | ClassificationBatch;

export interface BatchOptions {
  batchSize: number;
  /** Shuffle order seed; the same seed and epoch give the same order everywhere. */
  seed: number;
  epoch: number;
  /** Shuffle (train) or keep file order (val). */
  shuffle: boolean;
  /** Drop a last partial batch (training). */
  dropLast: boolean;
}

export interface Dataset {
  readonly name: string;
  readonly task: RunConfig['task'];
  /** [H, W, C] of one network input. */
  readonly inputShape: readonly [number, number, number];
  /** Heatmap side for pose sets. */
  readonly heatmapSize?: number;
  readonly numClasses?: number;
  /** Pose sets: heatmaps per sample (absent: 16, MPII's joints). */
  readonly numJoints?: number;
  /** Pose sets: names, skeleton and sides of the joints (absent: MPII's). */
  readonly keypoints?: import('./keypoints.ts').KeypointSet;
  /** Pose sets with their own metric (absent: MPII PCKh with head boxes). */
  createScorer?(): PoseScorer;
  /**
   * How images were normalised, per channel: input = (pixel / 255 − mean) / std. Lets previews
   * (and anyone else) turn inputs back into pixels; absent means "unknown" (previews then stretch).
   */
  readonly normalization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
  size(split: Split): number;
  /** Batches of one pass (epoch) over a split, in the order fixed by options. */
  batches(split: Split, options: BatchOptions): AsyncIterable<Batch>;
}

/** A pose set's validation score, named by its variant. */
export interface PoseScore {
  /** Headline (the Mean column), percent. */
  mean: number;
  /** Per-joint-group columns in percent (null where nothing was counted). */
  columns: Record<string, number | null>;
  /** What was computed, e.g. "PCK@0.2 torso (l_shoulder-r_hip), count-weighted mean over 14 joints, err <= t". */
  variant: string;
  threshold: number;
  /** Persons left out because their normaliser keypoints were not annotated. */
  leftOut: number;
}

/** Accumulates a pose set's metric over batches of decoded predictions (original coordinates). */
export interface PoseScorer {
  add(batch: PoseBatch, pred: ArrayLike<number>): void;
  result(): PoseScore;
}
