/**
 * `synthetic-pose`: the embedded default pose set — procedural figures with MPII's 16 joints,
 * rendered on the fly, no download. See synthetic/render.ts for what an image contains and how
 * labels are derived, synthetic/skeleton.ts for the pose model.
 *
 * - Sample i of a split is a pure function of (data seed, split, i): each has its own PRNG stream
 *   (random.ts `sampleRng`), so batches can be built in any order or in parallel, and train and
 *   val are disjoint streams (different salts) — they share no sample.
 * - The train set is a fixed set of `train_size` images (the same every epoch, like a real
 *   dataset); the batch order changes with (order seed, epoch). `data.augment` does not apply.
 * - Images: [H, W, 3] RGB in [0, 1] minus 0.5 (so in [−0.5, 0.5]). Joints and head boxes are in
 *   input pixels, pixel centres at integers; toOriginal is the identity.
 * - Cross-platform determinism: integer PRNG, portable sin/cos/exp, only exactly-rounded float
 *   operations (see synthetic/portable-math.ts); a test pins a checksum of generated samples.
 */
import type { RunConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { encodeSampleHeatmaps } from './heatmaps.ts';
import type { EncodeOptions } from './heatmaps.ts';
import { batchIndices, epochOrder, sampleRng } from './random.ts';
import { renderSample } from './synthetic/render.ts';
import { NUM_JOINTS } from './types.ts';
import type { BatchOptions, Dataset, PoseBatch, Split } from './types.ts';

export interface SyntheticPoseOptions {
  /** Data seed: fixes every image. */
  seed: number;
  inputSize: number;
  heatmapSize: number;
  /** Gaussian σ in heatmap cells. */
  sigma: number;
  trainSize: number;
  valSize: number;
}

/** The synthetic set's options from a run config (data.* and seed). */
export function syntheticPoseOptions(config: RunConfig): SyntheticPoseOptions {
  return {
    seed: config.seed,
    inputSize: config.data.input_size,
    heatmapSize: config.data.heatmap_size,
    sigma: config.data.heatmap_sigma,
    trainSize: config.data.train_size,
    valSize: config.data.val_size,
  };
}

export class SyntheticPoseDataset implements Dataset {
  readonly name = 'synthetic-pose';
  readonly task = 'pose' as const;
  readonly inputShape: readonly [number, number, number];
  readonly heatmapSize: number;
  /** input = pixel/255 − 0.5 on every channel. */
  readonly normalization = { mean: [0.5, 0.5, 0.5], std: [1, 1, 1] } as const;
  readonly options: Readonly<SyntheticPoseOptions>;
  private readonly encode: EncodeOptions;
  private readonly owner: Uint8Array;

  constructor(options: SyntheticPoseOptions) {
    const { inputSize, heatmapSize, sigma, trainSize, valSize, seed } = options;
    const int = (v: number, min: number) => Number.isInteger(v) && v >= min;
    if (!int(inputSize, 8)) throw new DataError(`synthetic-pose: input size must be an integer ≥ 8, got ${inputSize}`);
    if (!int(heatmapSize, 1) || heatmapSize > inputSize) {
      throw new DataError(`synthetic-pose: heatmap size must be an integer in 1..${inputSize} (the input size), got ${heatmapSize}`);
    }
    if (!(sigma > 0)) throw new DataError(`synthetic-pose: heatmap sigma must be positive, got ${sigma}`);
    if (!int(trainSize, 1) || !int(valSize, 1)) throw new DataError(`synthetic-pose: train/val sizes must be positive integers, got ${trainSize}/${valSize}`);
    if (!int(seed, 0)) throw new DataError(`synthetic-pose: seed must be a non-negative integer, got ${seed}`);
    this.options = { ...options };
    this.inputShape = [inputSize, inputSize, 3];
    this.heatmapSize = heatmapSize;
    this.encode = { inputSize, heatmapSize, sigma, numJoints: NUM_JOINTS };
    this.owner = new Uint8Array(inputSize * inputSize);
  }

  size(split: Split): number {
    return split === 'train' ? this.options.trainSize : this.options.valSize;
  }

  /** Renders samples `indices` of `split` (any order, any subset) into one batch. */
  makeBatch(split: Split, indices: ArrayLike<number>): PoseBatch {
    const n = indices.length;
    const { inputSize: I, heatmapSize: S, seed } = this.options;
    const limit = this.size(split);
    const batch: PoseBatch = {
      kind: 'pose',
      size: n,
      images: new Float32Array(n * I * I * 3),
      heatmaps: new Float32Array(n * S * S * NUM_JOINTS),
      weights: new Float32Array(n * NUM_JOINTS),
      joints: new Float32Array(n * NUM_JOINTS * 2),
      visible: new Uint8Array(n * NUM_JOINTS),
      headBoxes: new Float32Array(n * 4),
      toOriginal: new Float32Array(n * 6),
    };
    const slot = { ...batch, index: 0 };
    for (let b = 0; b < n; b++) {
      const i = indices[b]!;
      if (!Number.isInteger(i) || i < 0 || i >= limit) throw new DataError(`synthetic-pose: ${split} index ${i} is outside 0..${limit - 1}`);
      slot.index = b;
      renderSample(sampleRng(seed, split, i), I, slot, this.owner);
      // Heatmaps come from the float32-rounded joints the batch carries, so targets and the
      // ground truth used for PCKh agree exactly.
      encodeSampleHeatmaps(batch.joints, b * NUM_JOINTS * 2, batch.weights, b * NUM_JOINTS, this.encode, batch.heatmaps, b * S * S * NUM_JOINTS);
      batch.toOriginal.set([1, 0, 0, 0, 1, 0], b * 6);
    }
    return batch;
  }

  async *batches(split: Split, options: BatchOptions): AsyncGenerator<PoseBatch> {
    const order = epochOrder(this.size(split), options);
    for (const indices of batchIndices(order, options)) yield this.makeBatch(split, indices);
  }
}
