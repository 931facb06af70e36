/**
 * The `imagenet` dataset: image folders in torchvision ImageFolder layout,
 *
 *   <root>/train/<class>/<image>   <root>/val/<class>/<image>
 *
 * classes = the sorted folder names of train/ (label = rank), files sorted by name within a class.
 * Decoding, cropping, resizing and flipping run in sharp (libuv thread pool); batches are
 * prefetched so that work overlaps the training step.
 *
 * Train (augment on): torchvision RandomResizedCrop(scale (0.08, 1), ratio (3/4, 4/3), 10 tries,
 * then the centre-crop fallback) to input_size, then a horizontal flip with probability 0.5, from
 * a stream seeded by (options.seed, options.epoch, file). Val (and train with augment off):
 * Resize(shorter side = round(input_size·256/224)) then CenterCrop(input_size), i.e. 256 → 224 at
 * the standard size. Pixels: RGB/255, minus ImageNet mean, over ImageNet std.
 *
 * data.train_size / val_size cap a split by taking files round-robin over the classes in sorted
 * order (file 0 of every class, then file 1, …), so a small cap stays class-balanced.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import type { RunConfig } from '../config/schema.ts';
import { IMAGENET_MEAN, IMAGENET_STD, cropResize, imageSize, resizeCenterCrop, type Box } from './image-io.ts';
import { mapAhead } from './prefetch.ts';
import { Rng, batchIndices, epochOrder, hashSeed } from './random.ts';
import type { BatchOptions, ClassificationBatch, Dataset, Split } from './types.ts';

/** torchvision's IMG_EXTENSIONS (lower-cased comparison). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp']);

export interface ImagenetOptions {
  root: string;
  inputSize: number;
  trainSize?: number;
  valSize?: number;
  augment: boolean;
  skipBadRecords: boolean;
  /** Val resize side / crop side; 256/224 as torchvision's reference recipe. */
  resizeRatio?: number;
  /** RandomResizedCrop area fraction and aspect-ratio ranges. */
  cropScale?: readonly [number, number];
  cropRatio?: readonly [number, number];
  prefetch?: number;
}

export function imagenetOptionsFromConfig(config: RunConfig): ImagenetOptions {
  if (!config.data.root) throw new DataError('imagenet: set data.root to a folder with train/<class>/ and val/<class>/');
  return {
    root: resolve(config.data.root), inputSize: config.data.input_size, trainSize: config.data.train_size,
    valSize: config.data.val_size, augment: config.data.augment, skipBadRecords: config.data.skip_bad_records,
  };
}

interface Item {
  file: string;
  label: number;
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (err) {
    throw new DataError(`imagenet: cannot list ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Class-balanced prefix: round-robin over the classes until `cap` files. */
function roundRobin(perClass: Item[][], cap: number): Item[] {
  const out: Item[] = [];
  const longest = Math.max(0, ...perClass.map((l) => l.length));
  for (let i = 0; i < longest && out.length < cap; i++) {
    for (const list of perClass) {
      if (i < list.length) out.push(list[i]);
      if (out.length >= cap) break;
    }
  }
  return out;
}

async function listSplit(root: string, split: 'train' | 'val', classes: string[], cap: number): Promise<Item[]> {
  const dir = join(root, split);
  const present = new Set(await subdirs(dir));
  const unknown = [...present].filter((c) => !classes.includes(c));
  if (unknown.length) throw new DataError(`imagenet: ${dir} has classes not in train/: ${unknown.slice(0, 5).join(', ')}`);
  const perClass = await Promise.all(classes.map(async (name, label) => {
    if (!present.has(name)) return [];
    const files = (await readdir(join(dir, name), { withFileTypes: true }))
      .filter((d) => d.isFile() && IMAGE_EXTENSIONS.has(extname(d.name).toLowerCase())).map((d) => d.name).sort();
    return files.map((f) => ({ file: join(dir, name, f), label }));
  }));
  return roundRobin(perClass, cap);
}

/** torchvision RandomResizedCrop.get_params. */
export function randomResizedCrop(width: number, height: number, rng: Rng, scale: readonly [number, number] = [0.08, 1], ratio: readonly [number, number] = [3 / 4, 4 / 3]): Box {
  const area = width * height;
  const logLo = Math.log(ratio[0]), logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect)), h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { left: rng.intIn(0, width - w), top: rng.intIn(0, height - h), width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width, h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  w = Math.max(1, Math.min(width, w)); h = Math.max(1, Math.min(height, h));
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

export class ImagenetDataset implements Dataset {
  readonly name = 'imagenet';
  readonly task = 'classification' as const;
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Files skipped (data.skip_bad_records) because they would not decode. */
  readonly skipped: Array<{ file: string; message: string }> = [];
  private readonly broken = new Set<string>();

  private constructor(readonly options: ImagenetOptions, readonly classes: readonly string[], private readonly items: Record<Split, Item[]>) {
    this.inputShape = [options.inputSize, options.inputSize, 3];
    this.numClasses = classes.length;
  }

  static async open(options: ImagenetOptions): Promise<ImagenetDataset> {
    const classes = await subdirs(join(options.root, 'train'));
    if (classes.length < 2) throw new DataError(`imagenet: ${join(options.root, 'train')} needs at least 2 class folders, found ${classes.length}`);
    const items = {
      train: await listSplit(options.root, 'train', classes, options.trainSize ?? Infinity),
      val: await listSplit(options.root, 'val', classes, options.valSize ?? Infinity),
    };
    if (items.train.length === 0) throw new DataError(`imagenet: no images under ${join(options.root, 'train')}`);
    return new ImagenetDataset(options, classes, items);
  }

  size(split: Split): number {
    return this.items[split].length;
  }

  batches(split: Split, options: BatchOptions): AsyncIterable<ClassificationBatch> {
    const list = this.items[split];
    const groups = batchIndices(epochOrder(list.length, options), options);
    const augment = split === 'train' && this.options.augment;
    return nonEmpty(mapAhead(groups, (idx) => this.batch(list, Array.from(idx), options, augment), this.options.prefetch ?? 2));
  }

  private async batch(list: Item[], idx: number[], options: BatchOptions, augment: boolean): Promise<ClassificationBatch> {
    const S = this.options.inputSize, px = S * S * 3;
    const images = new Float32Array(idx.length * px);
    const ok = await Promise.all(idx.map(async (i, slot) => {
      const item = list[i];
      if (this.broken.has(item.file)) return false;
      try {
        const target = { out: images, offset: slot * px, mean: IMAGENET_MEAN, std: IMAGENET_STD };
        const input = await readFile(item.file);
        const size = await imageSize(input);
        if (augment) {
          const rng = new Rng(hashSeed(options.seed, options.epoch, i, 0x696d6e74));
          const box = randomResizedCrop(size.width, size.height, rng, this.options.cropScale, this.options.cropRatio);
          await cropResize(input, box, S, S, rng.bool(0.5), target);
        } else {
          const resize = Math.round(S * (this.options.resizeRatio ?? 256 / 224));
          await resizeCenterCrop(input, resize, S, target, size);
        }
        return true;
      } catch (err) {
        const message = `corrupt or unreadable image (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
        if (!this.options.skipBadRecords) throw new DataError(`imagenet: ${item.file}: ${message} (set data.skip_bad_records to skip such files)`);
        this.broken.add(item.file);
        this.skipped.push({ file: item.file, message });
        return false;
      }
    }));
    const keep = idx.map((_, slot) => slot).filter((slot) => ok[slot]);
    const out: ClassificationBatch = { kind: 'classification', size: keep.length, images: new Float32Array(keep.length * px), labels: new Int32Array(keep.length) };
    keep.forEach((slot, k) => {
      out.images.set(images.subarray(slot * px, (slot + 1) * px), k * px);
      out.labels[k] = list[idx[slot]].label;
    });
    return out;
  }
}

async function* nonEmpty(source: AsyncIterable<ClassificationBatch>): AsyncGenerator<ClassificationBatch> {
  for await (const b of source) if (b.size > 0) yield b;
}

/** Opens the dataset a run config names. */
export function openImagenet(config: RunConfig): Promise<ImagenetDataset> {
  return ImagenetDataset.open(imagenetOptionsFromConfig(config));
}
