/**
 * Top-k classification accuracy on plain arrays: logits [B, K] (row-major) and labels [B].
 *
 * Ties are broken the way a stable descending sort would (lower class index first), so the result
 * never depends on sort implementation details: the label is in the top k when fewer than k classes
 * have a larger logit or an equal logit and a smaller index. A NaN logit of the label is a miss; NaN
 * logits of other classes never outrank it (a diverged row scores 0, not 100 %).
 */

/** Rank (0 = best) of class `label` within row `row` of `logits`, ties by class index. */
export function labelRank(logits: ArrayLike<number>, numClasses: number, row: number, label: number): number {
  const base = row * numClasses;
  const target = logits[base + label];
  if (Number.isNaN(target)) return numClasses;
  let rank = 0;
  for (let c = 0; c < numClasses; c++) {
    const v = logits[base + c];
    if (v > target || (v === target && c < label)) rank++;
  }
  return rank;
}

function check(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  if (logits.length !== labels.length * numClasses) {
    throw new RangeError(`logits has ${logits.length} entries, expected ${labels.length} x ${numClasses}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new RangeError(`label ${i} is ${y}, outside [0, ${numClasses})`);
  }
  return labels.length;
}

/** How many rows have their label within the top k. */
export function topKCorrect(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, k: number): number {
  const n = check(logits, labels, numClasses);
  let correct = 0;
  for (let i = 0; i < n; i++) if (labelRank(logits, numClasses, i, labels[i]) < k) correct++;
  return correct;
}

/** Fraction in [0, 1] of rows whose label is in the top k; NaN for an empty batch. */
export function topKAccuracy(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, k: number): number {
  const n = check(logits, labels, numClasses);
  return n === 0 ? Number.NaN : topKCorrect(logits, labels, numClasses, k) / n;
}

export interface AccuracyResult {
  /** Fractions in [0, 1]. */
  top1: number;
  top5: number;
  count: number;
}

/** Top-1 and top-5 of one batch. With fewer than 5 classes top-5 is trivially 1. */
export function classificationAccuracy(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): AccuracyResult {
  return { top1: topKAccuracy(logits, labels, numClasses, 1), top5: topKAccuracy(logits, labels, numClasses, 5), count: labels.length };
}

/** Running top-1 / top-5 over many batches (exact counts, not a mean of batch means). */
export class AccuracyMeter {
  private top1 = 0;
  private top5 = 0;
  private count = 0;

  add(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): void {
    const n = check(logits, labels, numClasses);
    for (let i = 0; i < n; i++) {
      const rank = labelRank(logits, numClasses, i, labels[i]);
      if (rank < 1) this.top1++;
      if (rank < 5) this.top5++;
    }
    this.count += n;
  }

  result(): AccuracyResult {
    return this.count === 0
      ? { top1: Number.NaN, top5: Number.NaN, count: 0 }
      : { top1: this.top1 / this.count, top5: this.top5 / this.count, count: this.count };
  }
}
