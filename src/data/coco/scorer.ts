/**
 * The validation metric of a coco-keypoints set: PCK@α (../../metrics/pck.ts) with the
 * configured normaliser; `auto` picks torso where the set has a left shoulder and a right hip
 * (LSP, COCO), else the bbox.
 */
import { PckAccumulator, referencePair, type PckNormalizer } from '../../metrics/pck.ts';
import type { KeypointSet } from '../keypoints.ts';
import type { PoseBatch, PoseScorer } from '../types.ts';

export interface ScorerOptions {
  normalizer: PckNormalizer | 'auto';
  alpha: number;
}

export function resolveNormalizer(set: KeypointSet, n: ScorerOptions['normalizer']): PckNormalizer {
  if (n !== 'auto') return n;
  try {
    referencePair(set, 'torso');
    return 'torso';
  } catch {
    return 'bbox';
  }
}

export function cocoScorer(set: KeypointSet, o: ScorerOptions): PoseScorer {
  const normalizer = resolveNormalizer(set, o.normalizer);
  const acc = new PckAccumulator(set, normalizer);
  return {
    add(batch: PoseBatch, pred: ArrayLike<number>) {
      acc.add({ pred, gt: batch.joints, visible: batch.visible, bboxes: batch.bboxes });
    },
    result() {
      const r = acc.result({ normalizer, alpha: o.alpha });
      const columns = Object.fromEntries(Object.entries(r.columns).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
      const variant = r.leftOut ? `${r.variant}; ${r.leftOut} of ${r.samples} persons without the reference keypoints left out` : r.variant;
      return { mean: r.columns.Mean!, columns, variant, threshold: r.alpha, leftOut: r.leftOut };
    },
  };
}
