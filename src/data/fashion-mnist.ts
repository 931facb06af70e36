/**
 * `fashion-mnist`: Zalando's Fashion-MNIST (60,000 + 10,000 grey 28×28 images, 10 classes) from
 * the upstream IDX files, gzipped or not:
 *
 *   <root>/train-images-idx3-ubyte(.gz)  <root>/train-labels-idx1-ubyte(.gz)
 *   <root>/t10k-images-idx3-ubyte(.gz)   <root>/t10k-labels-idx1-ubyte(.gz)   (used as val)
 *
 * With data.root unset, the Debian package's folder (dataset-fashion-mnist, DEBIAN_FOLDER) is used
 * when it is installed. IDX (LeCun's MNIST page): big-endian int32 magic 0x00000803 (images, 3
 * dimensions) or 0x00000801 (labels, 1 dimension), the dimension sizes, then unsigned bytes.
 *
 * Inputs: the 28×28 image centred on an input_size canvas (input_size ≥ 28; 32 pads by 2, no
 * resampling), pixel/255 minus data.mean over data.std (default FASHION_MNIST_MEAN / STD on every
 * channel). Training augmentation (data.augment): padding by data.crop_padding, a random crop,
 * horizontal flip (./pad-crop.ts). 1 channel, or grey replicated to 3 when the model asks.
 * train_size / val_size take the first images in file order.
 */
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.ts';
import type { RunConfig } from '../config/schema.ts';
import { padCropInto } from './pad-crop.ts';
import { Rng, batchIndices, epochOrder, hashSeed } from './random.ts';
import type { BatchOptions, ClassificationBatch, Dataset, Split } from './types.ts';

export const DEBIAN_FOLDER = '/usr/share/datasets/fashion-mnist';
/** Mean and std of the 60,000 training images on [0, 1] pixels. */
export const FASHION_MNIST_MEAN = 0.2860;
export const FASHION_MNIST_STD = 0.3530;
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
const SIDE = 28;
const FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  val: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file of unsigned bytes (type 0x08) with `rank` dimensions. */
export function parseIdx(bytes: Uint8Array, file: string, rank: number): IdxArray {
  if (bytes.length < 4 + 4 * rank) throw new DataError(`${file}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const want = 0x0800 | rank;
  if (magic !== want) throw new DataError(`${file}: IDX magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${want.toString(16).padStart(8, '0')} (unsigned bytes, ${rank} dimension${rank > 1 ? 's' : ''})`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1), start = 4 + 4 * rank;
  if (bytes.length - start < count) {
    const per = count / dims[0]!;
    throw new DataError(`${file}: truncated: the header promises ${dims.join('x')} = ${count} bytes, the file has ${bytes.length - start} (record ${Math.floor((bytes.length - start) / per)} is incomplete)`);
  }
  return { dims, data: bytes.subarray(start, start + count) };
}

async function readIdx(dir: string, base: string, rank: number): Promise<IdxArray> {
  for (const name of [`${base}.gz`, base]) {
    const file = join(dir, name);
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch {
      continue;
    }
    let bytes: Uint8Array = raw;
    if (name.endsWith('.gz')) {
      try {
        bytes = gunzipSync(raw);
      } catch (err) {
        throw new DataError(`${file}: not a readable gzip file (${(err as Error).message})`);
      }
    }
    return parseIdx(bytes, file, rank);
  }
  throw new DataError(`fashion-mnist: neither ${join(dir, base)}.gz nor ${join(dir, base)} exists`);
}

export interface FashionMnistOptions {
  root: string;
  inputSize: number;
  channels: 1 | 3;
  trainSize?: number;
  valSize?: number;
  augment: boolean;
  padding: number;
  mean?: number;
  std?: number;
}

/** data.root, or the Debian folder when unset and present. */
export async function fashionMnistRoot(root: string | null): Promise<string> {
  if (root) return resolve(root);
  if (await access(join(DEBIAN_FOLDER, `${FILES.train.images}.gz`)).then(() => true, () => false)) return DEBIAN_FOLDER;
  throw new DataError(`fashion-mnist: set data.root to a folder with the IDX files, or install Debian's dataset-fashion-mnist (${DEBIAN_FOLDER})`);
}

export class FashionMnistDataset implements Dataset {
  readonly name = 'fashion-mnist';
  readonly task = 'classification' as const;
  readonly numClasses = 10;
  readonly inputShape: readonly [number, number, number];
  readonly normalization: { mean: number[]; std: number[] };

  private constructor(readonly options: FashionMnistOptions, private readonly splits: Record<Split, { images: Uint8Array; labels: Uint8Array }>) {
    this.inputShape = [options.inputSize, options.inputSize, options.channels];
    const m = options.mean ?? FASHION_MNIST_MEAN, s = options.std ?? FASHION_MNIST_STD;
    this.normalization = { mean: new Array(options.channels).fill(m), std: new Array(options.channels).fill(s) };
  }

  static async open(o: FashionMnistOptions): Promise<FashionMnistDataset> {
    if (!Number.isInteger(o.inputSize) || o.inputSize < SIDE) throw new DataError(`fashion-mnist: data.input_size must be an integer >= ${SIDE}, got ${o.inputSize}`);
    const splits = {} as Record<Split, { images: Uint8Array; labels: Uint8Array }>;
    for (const split of ['train', 'val'] as const) {
      const images = await readIdx(o.root, FILES[split].images, 3), labels = await readIdx(o.root, FILES[split].labels, 1);
      const [n, h, w] = images.dims;
      if (h !== SIDE || w !== SIDE) throw new DataError(`fashion-mnist: ${join(o.root, FILES[split].images)}: images are ${h}x${w}, expected ${SIDE}x${SIDE}`);
      if (labels.dims[0] !== n) throw new DataError(`fashion-mnist: ${join(o.root, FILES[split].labels)} has ${labels.dims[0]} labels for ${n} images`);
      const bad = labels.data.findIndex((l) => l > 9);
      if (bad >= 0) throw new DataError(`fashion-mnist: ${join(o.root, FILES[split].labels)}: record ${bad}: label ${labels.data[bad]} is not a class 0..9`);
      const cap = Math.min(n!, (split === 'train' ? o.trainSize : o.valSize) ?? Infinity);
      splits[split] = { images: images.data.subarray(0, cap * SIDE * SIDE), labels: labels.data.subarray(0, cap) };
    }
    return new FashionMnistDataset(o, splits);
  }

  size(split: Split): number {
    return this.splits[split].labels.length;
  }

  async *batches(split: Split, options: BatchOptions): AsyncGenerator<ClassificationBatch> {
    const { images, labels } = this.splits[split];
    const S = this.options.inputSize, C = this.options.channels, off = Math.floor((S - SIDE) / 2);
    const canvas = new Uint8Array(S * S), grey = new Float32Array(S * S);
    const augment = split === 'train' && this.options.augment;
    const norm = { mean: [this.normalization.mean[0]!], std: [this.normalization.std[0]!] };
    for (const idx of batchIndices(epochOrder(labels.length, options), options)) {
      const out: ClassificationBatch = { kind: 'classification', size: idx.length, images: new Float32Array(idx.length * S * S * C), labels: new Int32Array(idx.length) };
      idx.forEach((i, k) => {
        out.labels[k] = labels[i]!;
        for (let y = 0; y < SIDE; y++) canvas.set(images.subarray((i * SIDE + y) * SIDE, (i * SIDE + y + 1) * SIDE), (y + off) * S + off);
        const rng = augment ? new Rng(hashSeed(options.seed, options.epoch, i, 0x666d6e73)) : null;
        padCropInto(canvas, S, 1, augment ? this.options.padding : 0, rng, { out: grey, offset: 0, ...norm });
        const base = k * S * S * C;
        for (let p = 0; p < S * S; p++) for (let c = 0; c < C; c++) out.images[base + p * C + c] = grey[p]!;
      });
      yield out;
    }
  }
}

export async function openFashionMnist(config: RunConfig, channels: 1 | 3): Promise<FashionMnistDataset> {
  const d = config.data;
  if (d.crop === 'resized') throw new DataError("fashion-mnist: data.crop 'resized' is for large photographs; fashion-mnist takes 'padded' (or 'auto')");
  if (d.mean && d.mean.length !== 1 || d.std && d.std.length !== 1) throw new DataError('fashion-mnist: data.mean and data.std take one value (grey)');
  return FashionMnistDataset.open({
    root: await fashionMnistRoot(d.root), inputSize: d.input_size, channels, trainSize: d.train_size, valSize: d.val_size,
    augment: d.augment, padding: d.crop_padding, mean: d.mean?.[0], std: d.std?.[0],
  });
}
