/**
 * The `mpii` dataset: MPII Human Pose from a folder laid out as HRNet or bearpaw distribute it
 * (see ./mpii/annotations.ts), images decoded and cropped with sharp, Gaussian heatmap targets
 * (heatmaps.ts), prefetched batches.
 *
 *   <root>/images/<name>.jpg
 *   <root>/annot/{train,valid}.json  [+ annot/head_boxes_valid.json]     (HRNet layout), or
 *   <root>/mpii_annotations.json     [+ head_boxes_valid.json]           (bearpaw layout)
 *
 * Crop (HRNet `lib/dataset/mpii.py::_get_db`, bearpaw `pose/datasets/mpii.py::__getitem__`, both
 * from Newell's pose-hg-train): `if c[0] != -1: c[1] += 15·s; s *= 1.25`, then a square box of
 * side 200·s around c is mapped onto the input. Training augmentation, as bearpaw / HRNet
 * (SCALE_FACTOR 0.25, ROT_FACTOR 30, FLIP): s ×= clamp(1 + 0.25·N(0,1), 0.75, 1.25);
 * r = clamp(30·N(0,1), ±60)° with probability 0.6, else 0; horizontal flip with probability 0.5
 * (left/right joints swapped, MPII_FLIP_PAIRS); per-channel colour gain U(0.8, 1.2) (bearpaw).
 * Randomness comes from (options.seed, options.epoch, record), never from decode timing.
 *
 * Images are normalised as HRNet does for MPII: RGB/255, minus ImageNet mean, over ImageNet std.
 * Loss weights: 1 for a labelled joint whose Gaussian reaches the heatmap (HRNet's rule: within
 * 3σ of it), else 0. PCKh visibility: labelled. Joints / head boxes: original 0-based pixels.
 */
import { join, resolve } from 'node:path';
import { access, readFile } from 'node:fs/promises';
import { DataError } from '../errors.ts';
import type { RunConfig } from '../config/schema.ts';
import { encodeSampleHeatmaps } from './heatmaps.ts';
import { IMAGENET_MEAN, IMAGENET_STD, applyAffine, cropToOutput, imageSize, invertAffine, warpCrop, type Affine } from './image-io.ts';
import { loadMpiiAnnotations, type BadRecord, type MpiiFormat, type MpiiRecord } from './mpii/annotations.ts';
import { mapAhead } from './prefetch.ts';
import { Rng, batchIndices, epochOrder, hashSeed } from './random.ts';
import { MPII_FLIP_PAIRS, NUM_JOINTS, type BatchOptions, type Dataset, type PoseBatch, type Split } from './types.ts';

export interface MpiiOptions {
  root: string;
  inputSize: number;
  heatmapSize: number;
  sigma: number;
  /** Use at most this many records per split (file order). */
  trainSize?: number;
  valSize?: number;
  augment: boolean;
  skipBadRecords: boolean;
  /** Batches decoded ahead of the consumer. */
  prefetch?: number;
  /** Header checks in flight at open. */
  openConcurrency?: number;
}

export function mpiiOptionsFromConfig(config: RunConfig): MpiiOptions {
  if (!config.data.root) throw new DataError('mpii: set data.root to the MPII folder (annot/ or mpii_annotations.json, and images/)');
  return {
    root: resolve(config.data.root), inputSize: config.data.input_size, heatmapSize: config.data.heatmap_size,
    sigma: config.data.heatmap_sigma, trainSize: config.data.train_size, valSize: config.data.val_size,
    augment: config.data.augment, skipBadRecords: config.data.skip_bad_records,
  };
}

/**
 * How far outside the image (as a fraction of its width / height) the centre or a labelled joint
 * may lie before the record counts as out of range. Generous on purpose (an assumption): people
 * cut by the border have points just outside, while coordinates meant for another image or with
 * x and y swapped land much farther.
 */
export const JOINT_MARGIN = 0.5;

interface Sized extends MpiiRecord {
  width: number;
  height: number;
}

const FLIP_PERM: number[] = (() => {
  const p = Array.from({ length: NUM_JOINTS }, (_, j) => j);
  for (const [a, b] of MPII_FLIP_PAIRS) { p[a] = b; p[b] = a; }
  return p;
})();

/** Standard normal from two uniforms (Box–Muller); augmentation only, so libm drift is harmless. */
function normal(rng: Rng): number {
  const u = 1 - rng.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function describe(r: MpiiRecord): string {
  return `${r.file} record ${r.index} (${r.image})`;
}

/** Checks against the image size that only the header gives; returns a problem or null. */
function rangeProblem(r: MpiiRecord, width: number, height: number): string | null {
  const mx = JOINT_MARGIN * width, my = JOINT_MARGIN * height;
  const [cx, cy] = r.center;
  if (cx < -mx || cy < -my || cx > width - 1 + mx || cy > height - 1 + my) return `centre (${cx + 1}, ${cy + 1}) lies far outside the ${width}x${height} image`;
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (!r.labelled[j]) continue;
    const x = r.joints[2 * j], y = r.joints[2 * j + 1];
    if (x < -mx || y < -my || x > width - 1 + mx || y > height - 1 + my) return `joint ${j} (${x + 1}, ${y + 1}) lies far outside the ${width}x${height} image`;
  }
  return null;
}

export class MpiiDataset implements Dataset {
  readonly name = 'mpii';
  readonly task = 'pose' as const;
  readonly inputShape: readonly [number, number, number];
  readonly heatmapSize: number;
  /** Records skipped (with data.skip_bad_records) at open or while decoding, with reasons. */
  readonly skipped: BadRecord[] = [];
  /** Records that failed to decode once; not decoded again in later epochs. */
  private readonly broken = new Set<MpiiRecord>();

  private constructor(
    readonly options: MpiiOptions,
    readonly format: MpiiFormat,
    private readonly records: Record<Split, Sized[]>,
  ) {
    this.inputShape = [options.inputSize, options.inputSize, 3];
    this.heatmapSize = options.heatmapSize;
  }

  /** Reads annotations, checks every image header (existence, size, ranges), fails fast. */
  static async open(options: MpiiOptions): Promise<MpiiDataset> {
    const ann = await loadMpiiAnnotations(options.root, options.skipBadRecords);
    const skipped: BadRecord[] = [...ann.bad];
    const records = { train: [] as Sized[], val: [] as Sized[] };
    for (const split of ['train', 'val'] as const) {
      const cap = split === 'train' ? options.trainSize : options.valSize;
      const list = ann[split].slice(0, cap ?? Infinity);
      const checked = mapAhead(list, async (r) => {
        let problem: string;
        try {
          const file = join(options.root, 'images', r.image);
          await access(file); // a clear ENOENT (sharp says only "Input file is missing")
          const size = await imageSize(file); // reads the header, not the whole file
          problem = rangeProblem(r, size.width, size.height) ?? '';
          if (!problem) return { ...r, ...size } as Sized;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          problem = code === 'ENOENT' ? 'image file is missing' : `image cannot be read (${code ?? (err as Error).message})`;
        }
        if (!options.skipBadRecords) throw new DataError(`mpii: ${describe(r)}: ${problem} (set data.skip_bad_records to skip such records)`);
        skipped.push({ file: r.file, index: r.index, message: problem });
        return null;
      }, options.openConcurrency ?? 8);
      for await (const r of checked) if (r) records[split].push(r);
    }
    const noBox = records.val.find((r) => !r.headBox);
    if (noBox) {
      throw new DataError(`mpii: validation record ${noBox.index} of ${noBox.file} has no head box (PCKh needs them): put them in `
        + `${join(options.root, ann.format === 'hrnet' ? 'annot/head_boxes_valid.json' : 'head_boxes_valid.json')} (see src/data/mpii/annotations.ts)`);
    }
    if (records.train.length === 0 && records.val.length === 0) throw new DataError(`mpii: no usable records under ${options.root}`);
    const ds = new MpiiDataset(options, ann.format, records);
    ds.skipped.push(...skipped);
    return ds;
  }

  size(split: Split): number {
    return this.records[split].length;
  }

  batches(split: Split, options: BatchOptions): AsyncIterable<PoseBatch> {
    const list = this.records[split];
    const groups = batchIndices(epochOrder(list.length, options), options);
    const augment = split === 'train' && this.options.augment;
    const ahead = mapAhead(groups, (idx) => this.batch(list, Array.from(idx), options, augment), this.options.prefetch ?? 2);
    return nonEmpty(ahead);
  }

  private async batch(list: Sized[], idx: number[], options: BatchOptions, augment: boolean): Promise<PoseBatch> {
    const samples = await Promise.all(idx.map(async (i) => {
      const r = list[i];
      if (this.broken.has(r)) return null;
      try {
        return await this.sample(r, new Rng(hashSeed(options.seed, options.epoch, r.index, 0x6d706969)), augment);
      } catch (err) {
        if (err instanceof DataError) throw err;
        const message = `corrupt or unreadable image (${(err as Error).message})`;
        if (!this.options.skipBadRecords) throw new DataError(`mpii: ${describe(r)}: ${message} (set data.skip_bad_records to skip such records)`);
        this.broken.add(r);
        this.skipped.push({ file: r.file, index: r.index, message });
        return null;
      }
    }));
    return assemble(samples.filter((s): s is Sample => s !== null), this.options);
  }

  /** One record → network input, targets and bookkeeping. */
  private async sample(r: Sized, rng: Rng, augment: boolean): Promise<Sample> {
    const S = this.options.inputSize;
    let scale = r.scale * 1.25;
    const center: [number, number] = [r.center[0], r.center[1] + 15 * r.scale];
    let rotation = 0, flip = false;
    let gain: number[] = [1, 1, 1];
    if (augment) {
      scale *= clamp(1 + 0.25 * normal(rng), 0.75, 1.25);
      rotation = rng.float() < 0.6 ? clamp(30 * normal(rng), -60, 60) : 0;
      flip = rng.float() < 0.5;
      gain = [rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)];
    }
    const toInput = cropToOutput({ center, scale, rotation, flip, size: S });
    const toOriginal = invertAffine(toInput);
    const image = new Float32Array(S * S * 3);
    const buffer = await readFile(join(this.options.root, 'images', r.image));
    await warpCrop(buffer, toOriginal, S, S, { out: image, offset: 0, mean: IMAGENET_MEAN, std: IMAGENET_STD, gain }, r);
    const perm = flip ? FLIP_PERM : null;
    const joints = new Float32Array(NUM_JOINTS * 2), inputJoints = new Float32Array(NUM_JOINTS * 2);
    const visible = new Uint8Array(NUM_JOINTS), weights = new Float32Array(NUM_JOINTS);
    const H = this.options.heatmapSize, reach = 3 * this.options.sigma;
    for (let j = 0; j < NUM_JOINTS; j++) {
      const src = perm ? perm[j] : j; // after a mirror, the left joint is the original right one
      const x = r.joints[2 * src], y = r.joints[2 * src + 1];
      joints[2 * j] = x; joints[2 * j + 1] = y;
      visible[j] = r.labelled[src];
      const [ix, iy] = applyAffine(toInput, x, y);
      inputJoints[2 * j] = ix; inputJoints[2 * j + 1] = iy;
      const hx = ((ix + 0.5) * H) / S - 0.5, hy = ((iy + 0.5) * H) / S - 0.5;
      weights[j] = visible[j] && hx > -reach && hy > -reach && hx < H - 1 + reach && hy < H - 1 + reach ? 1 : 0;
    }
    return { image, joints, inputJoints, visible, weights, headBox: r.headBox, toOriginal };
  }

  /** Totals for logs: what was skipped and why. */
  stats(): { format: MpiiFormat; train: number; val: number; skipped: number } {
    return { format: this.format, train: this.size('train'), val: this.size('val'), skipped: this.skipped.length };
  }
}

interface Sample {
  image: Float32Array;
  joints: Float32Array;
  inputJoints: Float32Array;
  visible: Uint8Array;
  weights: Float32Array;
  headBox: [number, number, number, number] | null;
  toOriginal: Affine;
}

/** Batches whose every record was skipped are left out rather than yielded empty. */
async function* nonEmpty(source: AsyncIterable<PoseBatch>): AsyncGenerator<PoseBatch> {
  for await (const b of source) if (b.size > 0) yield b;
}

function assemble(samples: Sample[], o: MpiiOptions): PoseBatch {
  const n = samples.length, S = o.inputSize, H = o.heatmapSize;
  const batch: PoseBatch = {
    kind: 'pose', size: n,
    images: new Float32Array(n * S * S * 3), heatmaps: new Float32Array(n * H * H * NUM_JOINTS),
    weights: new Float32Array(n * NUM_JOINTS), joints: new Float32Array(n * NUM_JOINTS * 2),
    visible: new Uint8Array(n * NUM_JOINTS), headBoxes: new Float32Array(n * 4).fill(Number.NaN),
    toOriginal: new Float32Array(n * 6),
  };
  samples.forEach((s, i) => {
    batch.images.set(s.image, i * S * S * 3);
    batch.weights.set(s.weights, i * NUM_JOINTS);
    batch.joints.set(s.joints, i * NUM_JOINTS * 2);
    batch.visible.set(s.visible, i * NUM_JOINTS);
    if (s.headBox) batch.headBoxes.set(s.headBox, i * 4);
    batch.toOriginal.set(s.toOriginal, i * 6);
    encodeSampleHeatmaps(s.inputJoints, 0, s.weights, 0, { inputSize: S, heatmapSize: H, sigma: o.sigma }, batch.heatmaps, i * H * H * NUM_JOINTS);
  });
  return batch;
}

/** Opens the dataset a run config names. */
export function openMpii(config: RunConfig): Promise<MpiiDataset> {
  return MpiiDataset.open(mpiiOptionsFromConfig(config));
}
