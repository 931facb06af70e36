/**
 * Image decoding and geometric crops with sharp, for the real-image loaders (mpii, imagenet).
 *
 * Coordinates: pixel i has its centre at x = i (as draw.ts and heatmaps.ts). An affine is stored
 * as [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f (PoseBatch.toOriginal layout).
 *
 * Arbitrary crops (scale + rotation + flip) are sampled in JS with bilinear interpolation from a
 * region that sharp has decoded and already shrunk close to the output resolution: sharp does the
 * expensive part (JPEG decode with DCT shrink-on-load, anti-aliased reduction) in libuv's thread
 * pool, off the main thread, and the JS warp only touches outW·outH pixels. Sampling in JS keeps
 * the geometry exact and testable; libvips' own affine picks its output canvas itself.
 */
import sharp from 'sharp';

export type Affine = [number, number, number, number, number, number];

export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/** ImageNet channel statistics on [0, 1] pixels (torchvision / HRNet normalisation). */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

export function applyAffine(m: ArrayLike<number>, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/** m1 ∘ m2: first m2, then m1. */
export function composeAffine(m1: Affine, m2: Affine): Affine {
  const [a, b, c, d, e, f] = m1;
  const [A, B, C, D, E, F] = m2;
  return [a * A + b * D, a * B + b * E, a * C + b * F + c, d * A + e * D, d * B + e * E, d * C + e * F + f];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (!(Math.abs(det) > 0) || !Number.isFinite(det)) throw new RangeError(`affine [${m.join(', ')}] is not invertible`);
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

export interface CropParams {
  /** Box centre in original pixels. */
  center: readonly [number, number];
  /** Box side is 200·scale original pixels (MPII's person scale convention). */
  scale: number;
  /** Degrees; positive turns the image content counter-clockwise in the output. */
  rotation?: number;
  /** Mirror the output horizontally (x → size−1−x). */
  flip?: boolean;
  /** Output side in pixels. */
  size: number;
}

/**
 * Original → output-pixel affine of a square crop, as in bearpaw `get_transform` / HRNet
 * `get_affine_transform`: the box of side 200·scale around `center` fills the output, the centre
 * lands on size/2, rotation turns about that point, then the optional mirror.
 */
export function cropToOutput(p: CropParams): Affine {
  const k = p.size / (200 * p.scale);
  const t = ((p.rotation ?? 0) * Math.PI) / 180;
  const cos = Math.cos(t) * k, sin = Math.sin(t) * k;
  const h = p.size / 2;
  // (x, y) relative to the centre, scaled, rotated so content turns counter-clockwise (y is down).
  let m: Affine = [cos, sin, 0, -sin, cos, 0];
  m = [m[0], m[1], h - m[0] * p.center[0] - m[1] * p.center[1], m[3], m[4], h - m[3] * p.center[0] - m[4] * p.center[1]];
  if (p.flip) m = composeAffine([-1, 0, p.size - 1, 0, 1, 0], m);
  return m;
}

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** Width and height from the header (a path is read only as far as the header). */
export async function imageSize(input: Buffer | string): Promise<{ width: number; height: number }> {
  const meta = await sharp(input, { failOn: 'error' }).metadata();
  if (!meta.width || !meta.height) throw new Error('image has no dimensions');
  return { width: meta.width, height: meta.height };
}

/**
 * The output square's footprint in the original image, as an integer box clamped to the image,
 * plus how many original pixels one output pixel spans (for the pre-shrink).
 */
export function footprint(toOriginal: Affine, outW: number, outH: number, width: number, height: number) {
  const corners = [[-0.5, -0.5], [outW - 0.5, -0.5], [-0.5, outH - 0.5], [outW - 0.5, outH - 0.5]].map(([x, y]) => applyAffine(toOriginal, x, y));
  const xs = corners.map((c) => c[0]), ys = corners.map((c) => c[1]);
  const left = Math.max(0, Math.floor(Math.min(...xs)) - 1), top = Math.max(0, Math.floor(Math.min(...ys)) - 1);
  const right = Math.min(width, Math.ceil(Math.max(...xs)) + 2), bottom = Math.min(height, Math.ceil(Math.max(...ys)) + 2);
  const stride = Math.sqrt(Math.abs(toOriginal[0] * toOriginal[4] - toOriginal[1] * toOriginal[3]));
  return { left, top, width: right - left, height: bottom - top, stride };
}

export interface WarpTarget {
  /** Destination, HWC float32; `offset` is where this image starts. */
  out: Float32Array;
  offset: number;
  /** Per-channel: out = (clamp(v/255·gain, 0, 1) − mean) / std. */
  mean?: readonly number[];
  std?: readonly number[];
  gain?: readonly number[];
}

/** Writes normalised RGB of 0–255 pixel values (already at the output size) into `target`. */
export function normalizeInto(data: ArrayLike<number>, pixels: number, target: WarpTarget): void {
  const mean = target.mean ?? [0, 0, 0], std = target.std ?? [1, 1, 1], gain = target.gain ?? [1, 1, 1];
  const s = [0, 1, 2].map((c) => gain[c] / 255), inv = [0, 1, 2].map((c) => 1 / std[c]);
  for (let p = 0, o = target.offset; p < pixels * 3; p += 3, o += 3) {
    for (let c = 0; c < 3; c++) target.out[o + c] = (Math.min(1, data[p + c] * s[c]) - mean[c]) * inv[c];
  }
}

/**
 * Samples an outW×outH crop of `input` (an encoded image) through `toOriginal` (output pixel →
 * original pixel), bilinear, black outside the image, normalised into `target`. Returns the
 * original image size. Throws whatever sharp throws for a corrupt image.
 */
export async function warpCrop(input: Buffer, toOriginal: Affine, outW: number, outH: number, target: WarpTarget, size?: { width: number; height: number }): Promise<{ width: number; height: number }> {
  const { width, height } = size ?? (await imageSize(input));
  const box = footprint(toOriginal, outW, outH, width, height);
  const region = new Float32Array(outW * outH * 3); // 0 = black outside the image
  if (box.width > 0 && box.height > 0) {
    const decoded = await decodeRegion(input, box, box.stride, { width, height });
    bilinear(decoded.image, composeAffine(decoded.fromOriginal, toOriginal), outW, outH, region);
  }
  normalizeInto(region, outW * outH, target);
  return { width, height };
}

/** A decoded part of an image and the map from original pixels to its pixels. */
export interface DecodedRegion {
  image: RawImage;
  /** Original pixel → region pixel. */
  fromOriginal: Affine;
}

/**
 * Decodes `box` (original pixels, inside the image) shrunk by about `stride` original pixels per
 * output pixel: the whole image is shrunk by the integer factor floor(stride) (shrink-on-load for
 * JPEG, anti-aliased), then the box is cut out of it; `exact` shrinks by `stride` itself (smaller
 * results, for caches). stride ≤ 1 keeps full resolution.
 */
export async function decodeRegion(input: Buffer, box: Box, stride: number, size: { width: number; height: number }, exact = false): Promise<DecodedRegion> {
  const { width, height } = size;
  const f = Math.max(1, exact ? stride : Math.floor(stride));
  const rw = Math.max(1, Math.round(width / f)), rh = Math.max(1, Math.round(height / f));
  const sx = width / rw, sy = height / rh;
  const l = Math.max(0, Math.floor(box.left / sx)), t = Math.max(0, Math.floor(box.top / sy));
  const r = Math.min(rw, Math.ceil((box.left + box.width) / sx)), b = Math.min(rh, Math.ceil((box.top + box.height) / sy));
  let img = sharp(input, { failOn: 'error' });
  if (rw !== width || rh !== height) img = img.resize(rw, rh, { fit: 'fill' });
  const { data, info } = await img.extract({ left: l, top: t, width: Math.max(1, r - l), height: Math.max(1, b - t) })
    .removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
  // Original pixel X ↔ shrunk pixel u: X = (u + ½)·sx − ½ (pixel-centre aligned resize).
  const fromOriginal: Affine = [1 / sx, 0, 0.5 / sx - 0.5 - l, 0, 1 / sy, 0.5 / sy - 0.5 - t];
  return { image: { data, width: info.width, height: info.height, channels: 3 }, fromOriginal };
}

/** Bilinear sampling of `src` at toSrc(x, y) for every output pixel; 0 outside. */
export function bilinear(src: RawImage, toSrc: Affine, outW: number, outH: number, out: Float32Array): void {
  const { data, width: W, height: H } = src;
  const [a, b, c, d, e, f] = toSrc;
  const at = (x: number, y: number, ch: number) => (x < 0 || y < 0 || x >= W || y >= H ? 0 : data[(y * W + x) * 3 + ch]);
  for (let y = 0, o = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++, o += 3) {
      const u = a * x + b * y + c, v = d * x + e * y + f;
      // Half a pixel beyond the border still blends with black, as cv2's constant border does.
      if (u <= -1 || v <= -1 || u >= W || v >= H) continue;
      const x0 = Math.floor(u), y0 = Math.floor(v), wx = u - x0, wy = v - y0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        // Interior fast path, channels unrolled (this loop is the per-pixel JS cost of a crop).
        const p = (y0 * W + x0) * 3, q = p + W * 3;
        const w00 = (1 - wx) * (1 - wy), w01 = wx * (1 - wy), w10 = (1 - wx) * wy, w11 = wx * wy;
        out[o] = data[p] * w00 + data[p + 3] * w01 + data[q] * w10 + data[q + 3] * w11;
        out[o + 1] = data[p + 1] * w00 + data[p + 4] * w01 + data[q + 1] * w10 + data[q + 4] * w11;
        out[o + 2] = data[p + 2] * w00 + data[p + 5] * w01 + data[q + 2] * w10 + data[q + 5] * w11;
      } else {
        for (let ch = 0; ch < 3; ch++) {
          const top = at(x0, y0, ch) * (1 - wx) + at(x0 + 1, y0, ch) * wx;
          const bot = at(x0, y0 + 1, ch) * (1 - wx) + at(x0 + 1, y0 + 1, ch) * wx;
          out[o + ch] = top * (1 - wy) + bot * wy;
        }
      }
    }
  }
}

/**
 * bilinear() and normalizeInto() in one pass, for cached crops: samples `src` at toSrc(x, y) for
 * every output pixel (black outside) and writes (min(1, v/255·gain) − mean) / std straight into
 * `target`, with no intermediate image. Same values as the two calls in sequence.
 */
export function bilinearNormalized(src: RawImage, toSrc: Affine, outW: number, outH: number, target: WarpTarget): void {
  const { data, width: W, height: H } = src;
  const [a, b, c, d, e, f] = toSrc;
  const mean = target.mean ?? [0, 0, 0], std = target.std ?? [1, 1, 1], gain = target.gain ?? [1, 1, 1];
  const s0 = gain[0]! / 255, s1 = gain[1]! / 255, s2 = gain[2]! / 255;
  const i0 = 1 / std[0]!, i1 = 1 / std[1]!, i2 = 1 / std[2]!, m0 = mean[0]!, m1 = mean[1]!, m2 = mean[2]!;
  const out = target.out;
  const at = (x: number, y: number, ch: number) => (x < 0 || y < 0 || x >= W || y >= H ? 0 : data[(y * W + x) * 3 + ch]!);
  const W3 = W * 3;
  const z0 = (0 - m0) * i0, z1 = (0 - m1) * i1, z2 = (0 - m2) * i2; // black
  for (let y = 0, row = target.offset; y < outH; y++, row += outW * 3) {
    const u0 = b * y + c, v0 = e * y + f;
    // Output x where the sample point lies strictly inside (−1, W) × (−1, H): an interval, since
    // u and v are linear in x. Pixels outside it are black; only those inside are sampled.
    let lo = 0, hi = outW - 1;
    for (const [p0, dp, n] of [[u0, a, W], [v0, d, H]] as const) {
      if (dp === 0) { if (!(p0 > -1 && p0 < n)) { lo = 1; hi = 0; } continue; }
      const t1 = (-1 - p0) / dp, t2 = (n - p0) / dp;
      const from = Math.min(t1, t2), to = Math.max(t1, t2);
      lo = Math.max(lo, Math.floor(from) + 1); hi = Math.min(hi, Math.ceil(to) - 1);
    }
    for (let x = 0, o = row; x < outW; x++, o += 3) {
      if (x < lo || x > hi) { out[o] = z0; out[o + 1] = z1; out[o + 2] = z2; continue; }
      const u = u0 + a * x, v = v0 + d * x;
      let r = 0, g = 0, bl = 0;
      if (u > -1 && v > -1 && u < W && v < H) {
        const x0 = u >= 0 ? u | 0 : -1, y0 = v >= 0 ? v | 0 : -1, wx = u - x0, wy = v - y0;
        const w00 = (1 - wx) * (1 - wy), w01 = wx * (1 - wy), w10 = (1 - wx) * wy, w11 = wx * wy;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
          const p = (y0 * W + x0) * 3, q = p + W3;
          r = data[p]! * w00 + data[p + 3]! * w01 + data[q]! * w10 + data[q + 3]! * w11;
          g = data[p + 1]! * w00 + data[p + 4]! * w01 + data[q + 1]! * w10 + data[q + 4]! * w11;
          bl = data[p + 2]! * w00 + data[p + 5]! * w01 + data[q + 2]! * w10 + data[q + 5]! * w11;
        } else {
          r = at(x0, y0, 0) * w00 + at(x0 + 1, y0, 0) * w01 + at(x0, y0 + 1, 0) * w10 + at(x0 + 1, y0 + 1, 0) * w11;
          g = at(x0, y0, 1) * w00 + at(x0 + 1, y0, 1) * w01 + at(x0, y0 + 1, 1) * w10 + at(x0 + 1, y0 + 1, 1) * w11;
          bl = at(x0, y0, 2) * w00 + at(x0 + 1, y0, 2) * w01 + at(x0, y0 + 1, 2) * w10 + at(x0 + 1, y0 + 1, 2) * w11;
        }
      }
      out[o] = (Math.min(1, r * s0) - m0) * i0;
      out[o + 1] = (Math.min(1, g * s1) - m1) * i1;
      out[o + 2] = (Math.min(1, bl * s2) - m2) * i2;
    }
  }
}

/** Axis-aligned crop box in original pixels (integers inside the image). */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Crop `box`, resize it to outW×outH, optionally mirror, all in sharp (no JS warp): the ImageNet
 * path, where crops are axis-aligned. Normalised into `target`.
 */
export async function cropResize(input: Buffer, box: Box, outW: number, outH: number, flip: boolean, target: WarpTarget): Promise<void> {
  let img = sharp(input, { failOn: 'error' }).extract(box).resize(outW, outH, { fit: 'fill' });
  if (flip) img = img.flop();
  const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== outW || info.height !== outH) throw new Error(`decoded ${info.width}x${info.height}x${info.channels}, expected ${outW}x${outH}x3`);
  normalizeInto(data, outW * outH, target);
}

/**
 * Resize so the shorter side is `resize`, then the centred `crop`×`crop` square (torchvision
 * Resize + CenterCrop), in sharp. Normalised into `target`.
 */
export async function resizeCenterCrop(input: Buffer, resize: number, crop: number, target: WarpTarget, size?: { width: number; height: number }): Promise<void> {
  const { width, height } = size ?? (await imageSize(input));
  const k = resize / Math.min(width, height);
  const rw = Math.max(crop, Math.round(width * k)), rh = Math.max(crop, Math.round(height * k));
  const { data, info } = await sharp(input, { failOn: 'error' }).resize(rw, rh, { fit: 'fill' })
    .extract({ left: Math.round((rw - crop) / 2), top: Math.round((rh - crop) / 2), width: crop, height: crop })
    .removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
  normalizeInto(data, crop * crop, target);
}
