/**
 * `coco-keypoints`: any COCO keypoints file pair (train, val) with an image folder, as a top-down
 * pose set (one sample per annotated person; see ./coco/annotations.ts for the format):
 *
 *   <root>/<data.train_annotations>   default annotations/*_train.json
 *   <root>/<data.val_annotations>     default annotations/*_val.json
 *   <root>/<data.images>/<file_name>  default images/
 *
 * K keypoints, their names and skeleton come from the category; flip pairs from the names or
 * data.flip_pairs (./keypoints.ts). Crop: a square of side data.bbox_margin × the longer bbox
 * side centred on the bbox (mmpose's top-down `bbox_xywh2cs` with padding 1.25 gives the same box
 * for its square input), mapped onto the input with cropToOutput. Training augmentation as the
 * mpii loader (bearpaw / HRNet factors): scale ×clamp(1 + 0.25·N, 0.75, 1.25), rotation
 * clamp(30·N, ±60)° with probability 0.6, flip with probability 0.5 (pairs swapped), colour gain
 * U(0.8, 1.2), seeded by (seed, epoch, record). Other persons in a crop are not labelled (the
 * top-down convention). v = 0 keypoints get loss weight 0 and do not count for PCK.
 *
 * Cache: the first time a record is needed, the part of its image that any augmented crop can
 * reach (the base square × 1.25 scale × √2 rotation, clamped to the image) is decoded once, at
 * about the input's resolution at the base scale, and kept in memory as RGB bytes. Every later
 * crop of that record, in any epoch, is a JS bilinear warp from those bytes: no file or JPEG work
 * after the first epoch. Zoom-in augmentation (scale < 1) therefore samples the cached pixels
 * slightly upscaled, a deliberate trade for speed. LSPET's 9,000 training crops at input 64 take
 * about 140 MB.
 *
 * Images are normalised with data.mean / data.std, default ImageNet's (as mpii).
 */
import { access, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import type { RunConfig } from '../config/schema.ts';
import { loadCocoFile, resolvePattern, type CocoFile, type CocoRecord } from './coco/annotations.ts';
import { encodeSampleHeatmaps } from './heatmaps.ts';
import { IMAGENET_MEAN, IMAGENET_STD, applyAffine, bilinearNormalized, composeAffine, cropToOutput, decodeRegion, imageSize, invertAffine, type Affine, type DecodedRegion } from './image-io.ts';
import { flipPermutation, makeKeypointSet, parseFlipPairs, type KeypointSet } from './keypoints.ts';
import type { BadRecord } from './mpii/annotations.ts';
import { mapAhead } from './prefetch.ts';
import { Rng, batchIndices, epochOrder, hashSeed } from './random.ts';
import type { BatchOptions, Dataset, PoseBatch, PoseScorer, Split } from './types.ts';
import { cocoScorer, type ScorerOptions } from './coco/scorer.ts';

export interface CocoKeypointsOptions {
  root: string;
  trainAnnotations: string;
  valAnnotations: string;
  images: string;
  inputSize: number;
  heatmapSize: number;
  sigma: number;
  bboxMargin: number;
  /** "left:right" names; empty derives pairs from the names. */
  flipPairs: readonly string[];
  trainSize?: number;
  valSize?: number;
  augment: boolean;
  skipBadRecords: boolean;
  mean?: readonly number[];
  std?: readonly number[];
  metric: ScorerOptions;
  prefetch?: number;
  openConcurrency?: number;
}

export function cocoOptionsFromConfig(config: RunConfig): CocoKeypointsOptions {
  const d = config.data;
  if (!d.root) throw new DataError('coco-keypoints: set data.root to the folder holding the annotation files and the image folder');
  return {
    root: resolve(d.root), trainAnnotations: d.train_annotations, valAnnotations: d.val_annotations, images: d.images,
    inputSize: d.input_size, heatmapSize: d.heatmap_size, sigma: d.heatmap_sigma, bboxMargin: d.bbox_margin,
    flipPairs: d.flip_pairs, trainSize: d.train_size, valSize: d.val_size, augment: d.augment, skipBadRecords: d.skip_bad_records,
    mean: d.mean ?? undefined, std: d.std ?? undefined,
    metric: { normalizer: config.eval.pck_normalizer as ScorerOptions['normalizer'], alpha: config.eval.pck_alpha },
  };
}

/** Maximum augmentation reach relative to the base crop: scale 1.25, any rotation (√2). */
const REACH = 1.25 * Math.SQRT2;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
function normal(rng: Rng): number {
  const u = 1 - rng.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}
const describe = (r: CocoRecord) => `${r.file} annotation ${r.index} (${r.image})`;

interface Sized extends CocoRecord {
  width: number;
  height: number;
}

/** Base crop of a record: centre and MPII-convention scale (side / 200). */
function baseCrop(r: CocoRecord, margin: number): { center: [number, number]; scale: number } {
  const [x, y, w, h] = r.bbox;
  return { center: [x + w / 2, y + h / 2], scale: (margin * Math.max(w, h)) / 200 };
}

export class CocoKeypointsDataset implements Dataset {
  readonly name = 'coco-keypoints';
  readonly task = 'pose' as const;
  readonly inputShape: readonly [number, number, number];
  readonly heatmapSize: number;
  readonly numJoints: number;
  readonly normalization: { mean: number[]; std: number[] };
  readonly skipped: BadRecord[] = [];
  /** Crowd / unlabelled persons left out at open. */
  readonly filtered: number;
  private readonly cache = new Map<Sized, DecodedRegion>();
  private readonly broken = new Set<Sized>();
  private readonly perm: number[];
  /** Per-sample scratch (sample() is synchronous, so one suffices). */
  private readonly inputJoints: Float64Array;
  /** Image files decoded so far (cache fills); a test and bench hook. */
  decodes = 0;

  private constructor(readonly options: CocoKeypointsOptions, readonly keypoints: KeypointSet, private readonly records: Record<Split, Sized[]>, filtered: number) {
    this.inputShape = [options.inputSize, options.inputSize, 3];
    this.heatmapSize = options.heatmapSize;
    this.numJoints = keypoints.names.length;
    this.normalization = { mean: [...(options.mean ?? IMAGENET_MEAN)], std: [...(options.std ?? IMAGENET_STD)] };
    this.perm = flipPermutation(keypoints);
    this.inputJoints = new Float64Array(2 * this.numJoints);
    this.filtered = filtered;
  }

  /** Reads both files, checks that they agree and that every image exists and is an image. */
  static async open(o: CocoKeypointsOptions): Promise<CocoKeypointsDataset> {
    if (o.mean && o.mean.length !== 3 || o.std && o.std.length !== 3) throw new DataError('coco-keypoints: data.mean and data.std need 3 values (RGB)');
    const files: Record<Split, CocoFile> = {
      train: await loadCocoFile(await resolvePattern(o.root, o.trainAnnotations, 'data.train_annotations'), o.skipBadRecords),
      val: await loadCocoFile(await resolvePattern(o.root, o.valAnnotations, 'data.val_annotations'), o.skipBadRecords),
    };
    const { train, val } = files;
    if (train.category.names.join() !== val.category.names.join()) {
      throw new DataError(`coco-keypoints: ${val.file} has keypoints ${val.category.names.join(', ')} but ${train.file} has ${train.category.names.join(', ')}`);
    }
    const names = train.category.names;
    const flip = o.flipPairs.length ? parseFlipPairs(o.flipPairs, names, train.file) : undefined;
    const set = makeKeypointSet(labelFor(names), names, train.category.skeleton, flip);
    const skipped: BadRecord[] = [...train.bad, ...val.bad];
    const records = { train: [] as Sized[], val: [] as Sized[] };
    for (const split of ['train', 'val'] as const) {
      const cap = split === 'train' ? o.trainSize : o.valSize;
      const checked = mapAhead(files[split].records.slice(0, cap ?? Infinity), (r) => checkImage(o, r, skipped), o.openConcurrency ?? 8);
      for await (const r of checked) if (r) records[split].push(r);
    }
    if (records.train.length === 0 && records.val.length === 0) throw new DataError(`coco-keypoints: no usable persons under ${o.root}`);
    const ds = new CocoKeypointsDataset(o, set, records, train.filtered + val.filtered);
    ds.skipped.push(...skipped);
    return ds;
  }

  size(split: Split): number {
    return this.records[split].length;
  }

  createScorer(): PoseScorer {
    return cocoScorer(this.keypoints, this.options.metric);
  }

  batches(split: Split, options: BatchOptions): AsyncIterable<PoseBatch> {
    const list = this.records[split];
    const groups = batchIndices(epochOrder(list.length, options), options);
    const augment = split === 'train' && this.options.augment;
    return nonEmpty(mapAhead(groups, (idx) => this.batch(list, Array.from(idx), options, augment), this.options.prefetch ?? 2));
  }

  private async batch(list: Sized[], idx: number[], options: BatchOptions, augment: boolean): Promise<PoseBatch> {
    const regions = await Promise.all(idx.map(async (i) => {
      const r = list[i]!;
      if (this.broken.has(r)) return null;
      try {
        return await this.region(r);
      } catch (err) {
        const message = `corrupt or unreadable image (${(err as Error).message.split('\n')[0]})`;
        if (!this.options.skipBadRecords) throw new DataError(`coco-keypoints: ${describe(r)}: ${message} (set data.skip_bad_records to skip such records)`);
        this.broken.add(r);
        this.skipped.push({ file: r.file, index: r.index, message });
        return null;
      }
    }));
    // From here on everything is synchronous: pixels come from the cache, straight into the batch.
    const keep = idx.filter((_, k) => regions[k] !== null);
    const batch = emptyBatch(keep.length, this.options, this.numJoints);
    let slot = 0;
    idx.forEach((i, k) => {
      const region = regions[k];
      if (!region) return;
      this.sample(list[i]!, region, new Rng(hashSeed(options.seed, options.epoch, list[i]!.index, 0x636f636f)), augment, batch, slot++);
    });
    return batch;
  }

  /** The cached decoded neighbourhood of a record (decoded on first use). */
  private async region(r: Sized): Promise<DecodedRegion> {
    const hit = this.cache.get(r);
    if (hit) return hit;
    const { center, scale } = baseCrop(r, this.options.bboxMargin);
    const half = (200 * scale * REACH) / 2 + 2;
    const left = Math.max(0, Math.floor(center[0] - half)), top = Math.max(0, Math.floor(center[1] - half));
    const right = Math.min(r.width, Math.ceil(center[0] + half)), bottom = Math.min(r.height, Math.ceil(center[1] + half));
    const buffer = await readFile(join(this.options.root, this.options.images, r.image));
    this.decodes++;
    const stride = (200 * scale) / this.options.inputSize;
    const region = right > left && bottom > top
      ? await decodeRegion(buffer, { left, top, width: right - left, height: bottom - top }, stride, r, true)
      : { image: { data: new Uint8Array(3), width: 1, height: 1, channels: 3 as const }, fromOriginal: [0, 0, -9, 0, 0, -9] as Affine };
    this.cache.set(r, region);
    return region;
  }

  /** One person → input, targets and bookkeeping, written into slot `i` of `batch`. */
  private sample(r: Sized, region: DecodedRegion, rng: Rng, augment: boolean, batch: PoseBatch, i: number): void {
    const S = this.options.inputSize, K = this.numJoints, H = this.options.heatmapSize;
    const base = baseCrop(r, this.options.bboxMargin);
    let scale = base.scale, rotation = 0, flip = false, gain = [1, 1, 1];
    if (augment) {
      scale *= clamp(1 + 0.25 * normal(rng), 0.75, 1.25);
      rotation = rng.float() < 0.6 ? clamp(30 * normal(rng), -60, 60) : 0;
      flip = rng.float() < 0.5;
      gain = [rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)];
    }
    const toInput = cropToOutput({ center: base.center, scale, rotation, flip, size: S });
    const toOriginal = invertAffine(toInput);
    // Black outside the cached region (= outside the image, which the region covers).
    bilinearNormalized(region.image, composeAffine(region.fromOriginal, toOriginal), S, S, { out: batch.images, offset: i * S * S * 3, mean: this.normalization.mean, std: this.normalization.std, gain });
    const inputJoints = this.inputJoints, reach = 3 * this.options.sigma;
    for (let j = 0; j < K; j++) {
      const src = flip ? this.perm[j]! : j; // after a mirror, the left joint is the original right one
      const x = r.joints[2 * src]!, y = r.joints[2 * src + 1]!, k = i * K + j;
      batch.joints[2 * k] = x; batch.joints[2 * k + 1] = y;
      const vis = r.v[src]! > 0 ? 1 : 0;
      batch.visible[k] = vis;
      const [ix, iy] = applyAffine(toInput, x, y);
      inputJoints[2 * j] = ix; inputJoints[2 * j + 1] = iy;
      const hx = ((ix + 0.5) * H) / S - 0.5, hy = ((iy + 0.5) * H) / S - 0.5;
      batch.weights[k] = vis && hx > -reach && hy > -reach && hx < H - 1 + reach && hy < H - 1 + reach ? 1 : 0;
    }
    batch.bboxes!.set(r.bbox, i * 4);
    batch.toOriginal.set(toOriginal, i * 6);
    encodeSampleHeatmaps(inputJoints, 0, batch.weights, i * K, { inputSize: S, heatmapSize: H, sigma: this.options.sigma, numJoints: K }, batch.heatmaps, i * H * H * K);
  }

  stats(): { train: number; val: number; skipped: number; filtered: number; cached: number } {
    return { train: this.size('train'), val: this.size('val'), skipped: this.skipped.length, filtered: this.filtered, cached: this.cache.size };
  }
}

/** "lsp-14" for LSP's joints, else "<category-size>-keypoint". */
function labelFor(names: readonly string[]): string {
  const lsp = ['r_ankle', 'r_knee', 'r_hip', 'l_hip', 'l_knee', 'l_ankle', 'r_wrist', 'r_elbow', 'r_shoulder', 'l_shoulder', 'l_elbow', 'l_wrist', 'neck', 'head_top'];
  if (names.join() === lsp.join()) return 'lsp-14';
  if (names.length === 17 && names[0] === 'nose' && names[16] === 'right_ankle') return 'coco-17';
  return `${names.length}-keypoint`;
}

/** Leading bytes of the formats sharp reads here: JPEG, PNG, GIF, WebP (RIFF), TIFF, BMP. */
const MAGIC = [[0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47], [0x47, 0x49, 0x46], [0x52, 0x49, 0x46, 0x46], [0x49, 0x49, 0x2a, 0x00], [0x4d, 0x4d, 0x00, 0x2a], [0x42, 0x4d]];

/** The image's size: from the COCO `images` entry after a magic-byte check (cheap), else its header. */
async function sizeOf(file: string, r: CocoRecord): Promise<{ width: number; height: number }> {
  if (!r.imageWidth || !r.imageHeight) return imageSize(file);
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (!MAGIC.some((m) => m.length <= bytesRead && m.every((b, i) => head[i] === b))) throw new Error('not a JPEG, PNG, GIF, WebP, TIFF or BMP file');
  } finally {
    await fh.close();
  }
  return { width: r.imageWidth, height: r.imageHeight };
}

/** Existence and format checks at open; a problem is a DataError or a counted skip. */
async function checkImage(o: CocoKeypointsOptions, r: CocoRecord, skipped: BadRecord[]): Promise<Sized | null> {
  let message: string;
  try {
    const file = join(o.root, o.images, r.image);
    await access(file); // a clear ENOENT (sharp says only "Input file is missing")
    return { ...r, ...(await sizeOf(file, r)) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    message = code === 'ENOENT' ? 'image file is missing' : `not a readable image (${code ?? (err as Error).message.split('\n')[0]})`;
  }
  if (!o.skipBadRecords) throw new DataError(`coco-keypoints: ${describe(r)}: ${message} (set data.skip_bad_records to skip such records)`);
  skipped.push({ file: r.file, index: r.index, message });
  return null;
}

async function* nonEmpty(source: AsyncIterable<PoseBatch>): AsyncGenerator<PoseBatch> {
  for await (const b of source) if (b.size > 0) yield b;
}

function emptyBatch(n: number, o: CocoKeypointsOptions, K: number): PoseBatch {
  const S = o.inputSize, H = o.heatmapSize;
  return {
    kind: 'pose', size: n,
    images: new Float32Array(n * S * S * 3), heatmaps: new Float32Array(n * H * H * K),
    weights: new Float32Array(n * K), joints: new Float32Array(n * K * 2),
    visible: new Uint8Array(n * K), headBoxes: new Float32Array(n * 4).fill(Number.NaN),
    bboxes: new Float32Array(n * 4), toOriginal: new Float32Array(n * 6),
  };
}

export function openCocoKeypoints(config: RunConfig): Promise<CocoKeypointsDataset> {
  return CocoKeypointsDataset.open(cocoOptionsFromConfig(config));
}
