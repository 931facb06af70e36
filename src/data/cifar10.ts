/**
 * `cifar10`: CIFAR-10 in its official binary layout ("CIFAR-10 binary version", as users download
 * `cifar-10-binary.tar.gz` from Krizhevsky's page):
 *
 *   <root>/data_batch_1.bin … data_batch_5.bin   training (10,000 records each)
 *   <root>/test_batch.bin                        test, used as val
 *   (<root> may also be the folder that holds cifar-10-batches-bin/)
 *
 * A record is 3,073 bytes: the label (0–9), then 1,024 red, 1,024 green and 1,024 blue bytes of
 * the 32×32 image, rows top to bottom. Files are read whole (30 MB each) and kept as bytes.
 *
 * Inputs: pixel/255 minus data.mean over data.std, default CIFAR-10's training-set statistics
 * (CIFAR10_MEAN / CIFAR10_STD). Training augmentation (data.augment): zero padding by
 * data.crop_padding, a random 32×32 crop, horizontal flip with probability 0.5 (./pad-crop.ts).
 * input_size must be 32. train_size / val_size take the first records in file order.
 */
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import type { RunConfig } from '../config/schema.ts';
import { padCropInto } from './pad-crop.ts';
import { Rng, batchIndices, epochOrder, hashSeed } from './random.ts';
import type { BatchOptions, ClassificationBatch, Dataset, Split } from './types.ts';

/** Per-channel mean and (population) std of the 50,000 training images, on [0, 1] pixels. */
export const CIFAR10_MEAN: readonly [number, number, number] = [0.4914, 0.4822, 0.4465];
export const CIFAR10_STD: readonly [number, number, number] = [0.2470, 0.2435, 0.2616];
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

const SIDE = 32;
const PLANE = SIDE * SIDE;
export const CIFAR10_RECORD = 1 + 3 * PLANE;
export const CIFAR10_FILES: Record<Split, readonly string[]> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  val: ['test_batch.bin'],
};

export interface Cifar10Options {
  root: string;
  trainSize?: number;
  valSize?: number;
  augment: boolean;
  padding: number;
  skipBadRecords: boolean;
  mean?: readonly number[];
  std?: readonly number[];
}

export function cifar10OptionsFromConfig(config: RunConfig): Cifar10Options {
  const d = config.data;
  if (!d.root) throw new DataError('cifar10: set data.root to the cifar-10-batches-bin folder (data_batch_1.bin … test_batch.bin)');
  if (d.crop === 'resized') throw new DataError("cifar10: data.crop 'resized' is for large photographs; cifar10 takes 'padded' (or 'auto')");
  if (d.input_size !== SIDE) throw new DataError(`cifar10: data.input_size must be ${SIDE} (the images are 32x32), got ${d.input_size}`);
  return { root: resolve(d.root), trainSize: d.train_size, valSize: d.val_size, augment: d.augment, padding: d.crop_padding, skipBadRecords: d.skip_bad_records, mean: d.mean ?? undefined, std: d.std ?? undefined };
}

interface Split10 {
  /** [N, 32, 32, 3] HWC bytes. */
  pixels: Uint8Array;
  labels: Int32Array;
}

/** Records of one binary file → HWC bytes and labels; bad labels are errors or counted skips. */
export function parseCifarBatch(bytes: Uint8Array, file: string, skipBad: boolean, skipped: Array<{ file: string; index: number; message: string }>): Split10 {
  if (bytes.length % CIFAR10_RECORD !== 0) {
    const whole = Math.floor(bytes.length / CIFAR10_RECORD);
    throw new DataError(`cifar10: ${file}: ${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD}-byte records (record ${whole} is truncated)`);
  }
  const n = bytes.length / CIFAR10_RECORD;
  const pixels = new Uint8Array(n * 3 * PLANE), labels = new Int32Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const at = i * CIFAR10_RECORD, label = bytes[at]!;
    if (label > 9) {
      if (!skipBad) throw new DataError(`cifar10: ${file}: record ${i}: label ${label} is not a class 0..9 (set data.skip_bad_records to skip such records)`);
      skipped.push({ file, index: i, message: `label ${label}` });
      continue;
    }
    labels[kept] = label;
    const out = kept * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[at + 1 + p]!;
      pixels[out + 3 * p + 1] = bytes[at + 1 + PLANE + p]!;
      pixels[out + 3 * p + 2] = bytes[at + 1 + 2 * PLANE + p]!;
    }
    kept++;
  }
  return { pixels: pixels.subarray(0, kept * 3 * PLANE), labels: labels.subarray(0, kept) };
}

async function folderOf(root: string): Promise<string> {
  const nested = join(root, 'cifar-10-batches-bin');
  return access(join(nested, 'test_batch.bin')).then(() => nested, () => root);
}

export class Cifar10Dataset implements Dataset {
  readonly name = 'cifar10';
  readonly task = 'classification' as const;
  readonly numClasses = 10;
  readonly inputShape = [SIDE, SIDE, 3] as const;
  readonly normalization: { mean: number[]; std: number[] };
  readonly skipped: Array<{ file: string; index: number; message: string }> = [];

  private constructor(readonly options: Cifar10Options, private readonly splits: Record<Split, Split10>) {
    this.normalization = { mean: [...(options.mean ?? CIFAR10_MEAN)], std: [...(options.std ?? CIFAR10_STD)] };
  }

  static async open(o: Cifar10Options): Promise<Cifar10Dataset> {
    const dir = await folderOf(o.root);
    const skipped: Cifar10Dataset['skipped'] = [];
    const splits = {} as Record<Split, Split10>;
    for (const split of ['train', 'val'] as const) {
      const parts: Split10[] = [];
      const cap = (split === 'train' ? o.trainSize : o.valSize) ?? Infinity;
      let have = 0;
      for (const name of CIFAR10_FILES[split]) {
        if (have >= cap) break;
        const file = join(dir, name);
        const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
          throw new DataError(`cifar10: cannot read ${file} (${err.code ?? err.message}); data.root must hold ${[...CIFAR10_FILES.train, ...CIFAR10_FILES.val].join(', ')}`);
        });
        const part = parseCifarBatch(bytes, file, o.skipBadRecords, skipped);
        parts.push(part);
        have += part.labels.length;
      }
      splits[split] = concat(parts, cap);
    }
    const ds = new Cifar10Dataset(o, splits);
    ds.skipped.push(...skipped);
    return ds;
  }

  size(split: Split): number {
    return this.splits[split].labels.length;
  }

  async *batches(split: Split, options: BatchOptions): AsyncGenerator<ClassificationBatch> {
    const { pixels, labels } = this.splits[split];
    const px = 3 * PLANE;
    const augment = split === 'train' && this.options.augment;
    for (const idx of batchIndices(epochOrder(labels.length, options), options)) {
      const out: ClassificationBatch = { kind: 'classification', size: idx.length, images: new Float32Array(idx.length * px), labels: new Int32Array(idx.length) };
      idx.forEach((i, k) => {
        out.labels[k] = labels[i]!;
        const rng = augment ? new Rng(hashSeed(options.seed, options.epoch, i, 0x63696661)) : null;
        padCropInto(pixels.subarray(i * px, (i + 1) * px), SIDE, 3, augment ? this.options.padding : 0, rng, { out: out.images, offset: k * px, ...this.normalization });
      });
      yield out;
    }
  }
}

function concat(parts: Split10[], cap: number): Split10 {
  const n = Math.min(cap, parts.reduce((a, p) => a + p.labels.length, 0));
  const pixels = new Uint8Array(n * 3 * PLANE), labels = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.labels.length, n - at);
    pixels.set(p.pixels.subarray(0, take * 3 * PLANE), at * 3 * PLANE);
    labels.set(p.labels.subarray(0, take), at);
    at += take;
  }
  return { pixels, labels };
}

export function openCifar10(config: RunConfig): Promise<Cifar10Dataset> {
  return Cifar10Dataset.open(cifar10OptionsFromConfig(config));
}
