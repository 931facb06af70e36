/**
 * Contact sheets: a grid of dataset samples as a PNG, so a person can look at the data.
 *
 * Pose samples get their labels drawn on top: bones and joints of the person's right side in
 * orange, left side in cyan, centre line in white; visible joints as filled dots, hidden but
 * annotated joints (visible 0, weight 1) as hollow rings, off-image joints not at all; the head
 * box in green. Classification samples get their label in the corner. Tiles are enlarged by an
 * integer factor (nearest neighbour) so 64-pixel inputs stay readable.
 */
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { DataError } from '../errors.ts';
import { fillBox, fillCapsule, fillEllipse } from './draw.ts';
import type { Canvas, Rgb } from './draw.ts';
import { MPII_KEYPOINTS, type KeypointSet } from './keypoints.ts';
import type { Batch, Dataset, PoseBatch, Split } from './types.ts';

export interface ContactSheet {
  width: number;
  height: number;
  /** [height, width, 3] RGB bytes. */
  pixels: Uint8ClampedArray;
}

export interface SheetOptions {
  /** Per-channel normalisation to undo; without it each tile is min–max stretched. */
  normalization?: Dataset['normalization'];
  /** Columns of the grid (default: ceil(sqrt(count))). */
  columns?: number;
  /** Integer enlargement of each tile (default: about 256 px per tile, at least 1). */
  scale?: number;
  /** Pose sets: skeleton and sides to draw (default MPII's). */
  keypoints?: KeypointSet;
}

const RIGHT: Rgb = [255, 150, 0];
const LEFT: Rgb = [0, 230, 255];
const CENTRE: Rgb = [255, 255, 255];
const HEAD_BOX: Rgb = [60, 255, 60];
const OUTLINE: Rgb = [0, 0, 0];
const GAP = 4;

/**
 * A bone's side: the side its joints share, else the side of the one off the centre line
 * (MPII's r_shoulder–thorax is drawn as right), else centre.
 */
const boneSide = (set: KeypointSet, i: number, j: number) => (set.sides[i] === set.sides[j] ? set.sides[i]! : set.sides[i] || set.sides[j] || 0);
const sideColour = (s: number) => (s < 0 ? RIGHT : s > 0 ? LEFT : CENTRE);

// 3×5 bitmaps of the digits 0–9, rows top to bottom, 3 bits per row (MSB = left).
const DIGITS = [
  [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
  [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
];

function drawNumber(c: Canvas, x: number, y: number, value: number, px: number): void {
  const text = String(value);
  fillBox(c, x + (text.length * 4 * px) / 2 - 0.5, y + 3.5 * px - 0.5, (text.length * 4 * px) / 2 + px, 3.5 * px + px, 1, 0, OUTLINE, 0.8);
  for (let k = 0; k < text.length; k++) {
    const rows = DIGITS[text.charCodeAt(k) - 48];
    if (!rows) continue;
    for (let r = 0; r < 5; r++) {
      for (let b = 0; b < 3; b++) {
        if (!((rows[r]! >> (2 - b)) & 1)) continue;
        const ox = x + (k * 4 + b) * px, oy = y + (r + 1) * px;
        fillBox(c, ox + px / 2 - 0.5, oy + px / 2 - 0.5, px / 2, px / 2, 1, 0, CENTRE);
      }
    }
  }
}

/** Copies sample b's image into the sheet at (ox, oy), enlarged `k` times, as bytes. */
function blitTile(batch: Batch, b: number, sheet: ContactSheet, ox: number, oy: number, k: number, h: number, w: number, ch: number, norm: SheetOptions['normalization']): void {
  const src = batch.images;
  const base = b * h * w * ch;
  let lo = 0, hi = 1;
  if (!norm) {
    lo = Infinity;
    hi = -Infinity;
    for (let i = base; i < base + h * w * ch; i++) {
      lo = Math.min(lo, src[i]!);
      hi = Math.max(hi, src[i]!);
    }
    if (!(hi > lo)) hi = lo + 1;
  }
  const pixel = (v: number, c: number) => (norm ? (v * (norm.std[c] ?? 1) + (norm.mean[c] ?? 0)) * 255 : ((v - lo) / (hi - lo)) * 255);
  for (let y = 0; y < h * k; y++) {
    const sy = Math.floor(y / k);
    for (let x = 0; x < w * k; x++) {
      const sx = Math.floor(x / k);
      const s = base + (sy * w + sx) * ch;
      const d = ((oy + y) * sheet.width + ox + x) * 3;
      for (let c = 0; c < 3; c++) sheet.pixels[d + c] = pixel(src[s + (ch === 3 ? c : 0)]!, ch === 3 ? c : 0);
    }
  }
}

/** Inverse of the 2×3 affine (a b c; d e f), for mapping original coordinates back to the input. */
function invertAffine(t: Float32Array, o: number): [number, number, number, number, number, number] {
  const [a, b, c, d, e, f] = [t[o]!, t[o + 1]!, t[o + 2]!, t[o + 3]!, t[o + 4]!, t[o + 5]!];
  const det = a * e - b * d;
  if (!(Math.abs(det) > 1e-12)) throw new DataError(`preview: sample ${o / 6} has a singular toOriginal transform`);
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

function drawPoseLabels(batch: PoseBatch, b: number, c: Canvas, k: number, set: KeypointSet): void {
  const inv = invertAffine(batch.toOriginal, b * 6);
  // Original → input pixels → tile pixels (pixel centres at integers in both).
  const toTile = (x: number, y: number): [number, number] => {
    const ix = inv[0] * x + inv[1] * y + inv[2];
    const iy = inv[3] * x + inv[4] * y + inv[5];
    return [(ix + 0.5) * k - 0.5, (iy + 0.5) * k - 0.5];
  };
  const line = Math.max(0.6, k / 5);
  const J = batch.weights.length / batch.size;
  if (J !== set.names.length) throw new DataError(`preview: the batch has ${J} joints, the keypoint set ${set.label} ${set.names.length}`);
  const annotated = (j: number) => batch.weights[b * J + j]! > 0 || batch.visible[b * J + j]! > 0;
  const at = (j: number) => toTile(batch.joints[(b * J + j) * 2]!, batch.joints[(b * J + j) * 2 + 1]!);
  for (const [i, j] of set.skeleton) {
    if (!annotated(i) || !annotated(j)) continue;
    const side = boneSide(set, i, j);
    const [p, q] = [at(i), at(j)];
    fillCapsule(c, p[0], p[1], q[0], q[1], line + 0.75, OUTLINE, 0.6);
    fillCapsule(c, p[0], p[1], q[0], q[1], line, sideColour(side));
  }
  const r = Math.max(1.5, k * 0.7);
  for (let j = 0; j < J; j++) {
    if (!annotated(j)) continue;
    const [x, y] = at(j);
    const rgb = sideColour(set.sides[j]!);
    fillEllipse(c, x, y, r + 1, r + 1, 1, 0, OUTLINE);
    fillEllipse(c, x, y, r, r, 1, 0, rgb);
    // Hidden joints: hollow (a dark centre inside the coloured ring).
    if (!batch.visible[b * J + j]) fillEllipse(c, x, y, r * 0.5, r * 0.5, 1, 0, OUTLINE);
  }
  // The head box last, thin and outlined (backgrounds may be green too), so that small heads'
  // boxes are not hidden under the head bone.
  const hb = batch.headBoxes.subarray(b * 4, b * 4 + 4);
  if (!hb.every(Number.isFinite)) return; // sets without head boxes (coco-keypoints)
  const corners = [toTile(hb[0]!, hb[1]!), toTile(hb[2]!, hb[1]!), toTile(hb[2]!, hb[3]!), toTile(hb[0]!, hb[3]!)];
  for (let i = 0; i < 4; i++) {
    const [p, q] = [corners[i]!, corners[(i + 1) % 4]!];
    fillCapsule(c, p[0], p[1], q[0], q[1], Math.max(0.5, line * 0.6) + 0.75, OUTLINE, 0.6);
  }
  for (let i = 0; i < 4; i++) {
    const [p, q] = [corners[i]!, corners[(i + 1) % 4]!];
    fillCapsule(c, p[0], p[1], q[0], q[1], Math.max(0.5, line * 0.6), HEAD_BOX);
  }
}

/**
 * Renders a batch as a grid of tiles with labels drawn on top. Pose samples take two tiles side
 * by side — the plain image, then the same image with its labels — because thick overlays would
 * otherwise hide exactly what a person wants to inspect.
 */
export function contactSheet(batch: Batch, inputShape: readonly [number, number, number], opts: SheetOptions = {}): ContactSheet {
  const [h, w, ch] = inputShape;
  const n = batch.size;
  if (n < 1) throw new DataError('preview: no samples to draw');
  const pair = batch.kind === 'pose' ? 2 : 1;
  const cols = Math.max(1, Math.min(n, opts.columns ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const k = opts.scale ?? Math.max(1, Math.round(256 / Math.max(h, w)));
  const tileW = w * k, tileH = h * k;
  const cellW = pair * tileW + (pair - 1) * 2;
  const width = cols * cellW + (cols + 1) * GAP;
  const height = rows * tileH + (rows + 1) * GAP;
  const sheet: ContactSheet = { width, height, pixels: new Uint8ClampedArray(width * height * 3).fill(40) };
  const tile = new Uint8ClampedArray(tileW * tileH * 3);
  for (let b = 0; b < n; b++) {
    const cx = GAP + (b % cols) * (cellW + GAP);
    const oy = GAP + Math.floor(b / cols) * (tileH + GAP);
    for (let t = 0; t < pair; t++) blitTile(batch, b, sheet, cx + t * (tileW + 2), oy, k, h, w, ch, opts.normalization);
    const ox = cx + (pair - 1) * (tileW + 2);
    // Labels are drawn into a tile-sized canvas so that shapes clip at the tile's edges.
    for (let y = 0; y < tileH; y++) tile.set(sheet.pixels.subarray(((oy + y) * width + ox) * 3, ((oy + y) * width + ox + tileW) * 3), y * tileW * 3);
    const c: Canvas = { data: tile, offset: 0, width: tileW, height: tileH };
    if (batch.kind === 'pose') drawPoseLabels(batch, b, c, k, opts.keypoints ?? MPII_KEYPOINTS);
    else drawNumber(c, 2, 2, batch.labels[b]!, Math.max(1, Math.round(tileH / 40)));
    for (let y = 0; y < tileH; y++) sheet.pixels.set(tile.subarray(y * tileW * 3, (y + 1) * tileW * 3), ((oy + y) * width + ox) * 3);
  }
  return sheet;
}

/** Writes a sheet as PNG atomically: a temporary file in the same folder, then a rename. */
export async function writePng(file: string, sheet: ContactSheet): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const folder = await stat(dir).catch(() => undefined);
  if (!folder?.isDirectory()) throw new DataError(`cannot write ${file}: folder ${dir} does not exist`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp.png`);
  try {
    await sharp(Buffer.from(sheet.pixels.buffer, sheet.pixels.byteOffset, sheet.pixels.byteLength), {
      raw: { width: sheet.width, height: sheet.height, channels: 3 },
    }).png().toFile(tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    // sharp/libvips messages run over several lines; the first says what went wrong.
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new DataError(`cannot write ${file}: ${first}`);
  }
}

export interface PreviewOptions {
  split: Split;
  count: number;
  out: string;
}

/** The first `count` samples of a split (file order) as a PNG contact sheet. */
export async function previewDataset(dataset: Dataset, opts: PreviewOptions): Promise<{ file: string; count: number; width: number; height: number }> {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new DataError(`preview: count must be a positive integer, got ${opts.count}`);
  const count = Math.min(opts.count, dataset.size(opts.split));
  const iter = dataset.batches(opts.split, { batchSize: count, seed: 0, epoch: 0, shuffle: false, dropLast: false });
  let batch: Batch | undefined;
  for await (const b of iter) {
    batch = b;
    break;
  }
  if (!batch) throw new DataError(`preview: the ${opts.split} split of ${dataset.name} is empty`);
  const sheet = contactSheet(batch, dataset.inputShape, { normalization: dataset.normalization, keypoints: dataset.keypoints });
  await writePng(opts.out, sheet);
  return { file: opts.out, count: batch.size, width: sheet.width, height: sheet.height };
}
