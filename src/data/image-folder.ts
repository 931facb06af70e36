/**
 * `image-folder` (and `imagenet`, its alias): image folders in torchvision ImageFolder layout,
 *
 *   <root>/train/<class>/<image>   <root>/val/<class>/<image>   (or <root>/test/<class>/ when
 *                                                                there is no val/, as the
 *                                                                CIFAR-10 JPEG copy has)
 *
 * classes = the sorted folder names of train/ (label = rank), files sorted by name within a class.
 * Decoding, cropping, resizing and flipping run in sharp (libuv thread pool); batches are
 * prefetched so that work overlaps the training step.
 *
 * Train (augment on): torchvision RandomResizedCrop(scale (0.08, 1), ratio (3/4, 4/3), 10 tries,
 * then the centre-crop fallback) to input_size, then a horizontal flip with probability 0.5, from
 * a stream seeded by (options.seed, options.epoch, file). Val (and train with augment off):
 * Resize(shorter side = round(input_size·256/224)) then CenterCrop(input_size), i.e. 256 → 224 at
 * the standard size. Pixels: RGB/255, minus data.mean, over data.std (default ImageNet's).
 *
 * data.crop = padded (small images such as CIFAR): every image is decoded once, resized to
 * input_size if it is not already, and cached as bytes; training takes a random input-size crop
 * of the image zero-padded by data.crop_padding on each side and flips it with probability 0.5
 * (./pad-crop.ts), val takes the image as is. No file or JPEG work after the first epoch.
 *
 * data.train_size / val_size cap a split by taking files round-robin over the classes in sorted
 * order (file 0 of every class, then file 1, …), so a small cap stays class-balanced.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import type { RunConfig } from '../config/schema.ts';
import { IMAGENET_MEAN, IMAGENET_STD, cropResize, imageSize, resizeCenterCrop, type Box } from './image-io.ts';
import { padCropInto } from './pad-crop.ts';
import sharp from 'sharp';
import { mapAhead } from './prefetch.ts';
import { Rng, batchIndices, epochOrder, hashSeed } from './random.ts';
import type { BatchOptions, ClassificationBatch, Dataset, Split } from './types.ts';

/** torchvision's IMG_EXTENSIONS (lower-cased comparison). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp']);

export interface ImagenetOptions {
  root: string;
  /** Dataset name reported (image-folder, or imagenet for the alias). */
  name?: string;
  /** Training crop: resized (RandomResizedCrop, default) or padded (CIFAR style). */
  crop?: 'resized' | 'padded';
  /** Padded crop: zero padding per side in input pixels. */
  padding?: number;
  /** Per-channel normalisation of pixel/255 (default ImageNet's). */
  mean?: readonly number[];
  std?: readonly number[];
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

export function imageFolderOptionsFromConfig(config: RunConfig): ImagenetOptions {
  const d = config.data;
  if (!d.root) throw new DataError(`${d.name}: set data.root to a folder with train/<class>/ and val/<class>/ (or test/<class>/)`);
  return {
    root: resolve(d.root), name: d.name, inputSize: d.input_size, trainSize: d.train_size,
    valSize: d.val_size, augment: d.augment, skipBadRecords: d.skip_bad_records,
    crop: d.crop === 'padded' ? 'padded' : 'resized', padding: d.crop_padding, mean: d.mean ?? undefined, std: d.std ?? undefined,
  };
}
export const imagenetOptionsFromConfig = imageFolderOptionsFromConfig;

interface Item {
  file: string;
  label: number;
}

/**
 * The entries of `dir` of one kind, by name, sorted. Symbolic links count as what they point to
 * (as torchvision's ImageFolder sees them: a folder of links to class folders or images is a
 * dataset); a dangling link is left out.
 */
async function entries(dir: string, kind: 'dir' | 'file'): Promise<string[]> {
  let list: Dirent[];
  try {
    list = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new DataError(`image-folder: cannot list ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const is = async (d: Dirent): Promise<boolean> => {
    if (!d.isSymbolicLink()) return kind === 'dir' ? d.isDirectory() : d.isFile();
    const target = await stat(join(dir, d.name)).catch(() => null);
    return target !== null && (kind === 'dir' ? target.isDirectory() : target.isFile());
  };
  const kept = await Promise.all(list.map(async (d) => ((await is(d)) ? d.name : null)));
  return kept.filter((n): n is string => n !== null).sort();
}

const subdirs = (dir: string) => entries(dir, 'dir');

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
  let dir = join(root, split);
  if (split === 'val' && !(await subdirs(root)).includes('val') && (await subdirs(root)).includes('test')) dir = join(root, 'test');
  const present = new Set(await subdirs(dir));
  const unknown = [...present].filter((c) => !classes.includes(c));
  if (unknown.length) throw new DataError(`image-folder: ${dir} has classes not in train/: ${unknown.slice(0, 5).join(', ')}`);
  const perClass = await Promise.all(classes.map(async (name, label) => {
    if (!present.has(name)) return [];
    const files = (await entries(join(dir, name), 'file')).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()));
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
  readonly name: string;
  readonly task = 'classification' as const;
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly normalization: { mean: number[]; std: number[] };
  /** Padded mode: decoded input-size bytes per file, filled on first use. */
  private readonly cache = new Map<string, Uint8Array>();
  /** Files skipped (data.skip_bad_records) because they would not decode. */
  readonly skipped: Array<{ file: string; message: string }> = [];
  private readonly broken = new Set<string>();

  private constructor(readonly options: ImagenetOptions, readonly classes: readonly string[], private readonly items: Record<Split, Item[]>) {
    this.name = options.name ?? 'imagenet';
    this.inputShape = [options.inputSize, options.inputSize, 3];
    this.numClasses = classes.length;
    this.normalization = { mean: [...(options.mean ?? IMAGENET_MEAN)], std: [...(options.std ?? IMAGENET_STD)] };
  }

  static async open(options: ImagenetOptions): Promise<ImagenetDataset> {
    const classes = await subdirs(join(options.root, 'train'));
    if (classes.length < 2) throw new DataError(`image-folder: ${join(options.root, 'train')} needs at least 2 class folders, found ${classes.length}`);
    const items = {
      train: await listSplit(options.root, 'train', classes, options.trainSize ?? Infinity),
      val: await listSplit(options.root, 'val', classes, options.valSize ?? Infinity),
    };
    if (items.train.length === 0) throw new DataError(`image-folder: no images under ${join(options.root, 'train')}`);
    // An empty validation split would give every run null metrics without a word.
    if (items.val.length === 0) throw new DataError(`image-folder: no images under ${join(options.root, 'val')} (or test/) in the classes of train/`);
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
        const target = { out: images, offset: slot * px, mean: this.normalization.mean, std: this.normalization.std };
        if (this.options.crop === 'padded') {
          const bytes = await this.decoded(item.file);
          const rng = augment ? new Rng(hashSeed(options.seed, options.epoch, i, 0x70616463)) : null;
          padCropInto(bytes, S, 3, augment ? this.options.padding ?? 4 : 0, rng, target);
          return true;
        }
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
        if (!this.options.skipBadRecords) throw new DataError(`${this.name}: ${item.file}: ${message} (set data.skip_bad_records to skip such files)`);
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

  /** Padded mode: the file decoded to input_size × input_size RGB bytes, once. */
  private async decoded(file: string): Promise<Uint8Array> {
    const hit = this.cache.get(file);
    if (hit) return hit;
    const S = this.options.inputSize;
    let img = sharp(await readFile(file), { failOn: 'error' });
    const meta = await img.metadata();
    if (meta.width !== S || meta.height !== S) img = img.resize(S, S, { fit: 'fill' });
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== S || info.height !== S) throw new Error(`decoded ${info.width}x${info.height}x${info.channels}, expected ${S}x${S}x3`);
    const bytes = new Uint8Array(data);
    this.cache.set(file, bytes);
    return bytes;
  }
}

async function* nonEmpty(source: AsyncIterable<ClassificationBatch>): AsyncGenerator<ClassificationBatch> {
  for await (const b of source) if (b.size > 0) yield b;
}

export { ImagenetDataset as ImageFolderDataset };

/** Opens the dataset a run config names (image-folder or imagenet). */
export function openImageFolder(config: RunConfig): Promise<ImagenetDataset> {
  return ImagenetDataset.open(imageFolderOptionsFromConfig(config));
}
