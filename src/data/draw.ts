/**
 * Rasterising into interleaved RGB typed arrays ([H, W, 3], row-major), with no renderer
 * dependency so that generated images are bit-identical on every platform (see
 * synthetic/portable-math.ts for the numeric side).
 *
 * Coordinate convention used by all data code: pixel (i, j) has its centre at x = i, y = j, and
 * covers [i − ½, i + ½) × [j − ½, j + ½). Shapes are anti-aliased by a one-pixel linear ramp on
 * the signed distance from the pixel centre to the shape's edge.
 *
 * The same functions draw into Float32Array images in [0, 1] (dataset) and Uint8ClampedArray
 * images in [0, 255] (previews); colours are given in the target's own scale.
 */
import type { Rng } from './random.ts';

export type Pixels = Float32Array | Uint8ClampedArray;

/** An RGB image inside a larger buffer (a batch), starting at `offset`. */
export interface Canvas {
  data: Pixels;
  offset: number;
  width: number;
  height: number;
}

export type Rgb = readonly [number, number, number];

/**
 * Optional per-pixel "who is on top" map ([H, W] ids): a shape writes its id wherever it covers
 * at least half a pixel. Generators use it to tell which joints ended up hidden.
 */
export interface Owner {
  buf: Uint8Array;
  id: number;
}

/** Blends `rgb` over pixel (x, y) with weight `a` in [0, 1]. */
function blend(c: Canvas, x: number, y: number, rgb: Rgb, a: number): void {
  const p = c.offset + (y * c.width + x) * 3;
  const d = c.data;
  d[p] = d[p]! + (rgb[0] - d[p]!) * a;
  d[p + 1] = d[p + 1]! + (rgb[1] - d[p + 1]!) * a;
  d[p + 2] = d[p + 2]! + (rgb[2] - d[p + 2]!) * a;
}

/** Fills the canvas with a linear gradient from `c0` to `c1` along the unit direction (ux, uy). */
export function fillGradient(c: Canvas, ux: number, uy: number, c0: Rgb, c1: Rgb): void {
  const { width: w, height: h, data: d } = c;
  // Project the corners to find the gradient's extent, so t spans exactly [0, 1] over the image.
  const corners = [0, ux * (w - 1), uy * (h - 1), ux * (w - 1) + uy * (h - 1)];
  const lo = Math.min(...corners);
  const span = Math.max(...corners) - lo || 1;
  let p = c.offset;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++, p += 3) {
      const t = (ux * x + uy * y - lo) / span;
      d[p] = c0[0] + (c1[0] - c0[0]) * t;
      d[p + 1] = c0[1] + (c1[1] - c0[1]) * t;
      d[p + 2] = c0[2] + (c1[2] - c0[2]) * t;
    }
  }
}

/**
 * Adds smooth per-channel value noise: a (cells+1)² lattice of uniform values in [−amp, amp]
 * bilinearly interpolated over the image — blotchy, low-frequency clutter.
 */
export function addValueNoise(c: Canvas, rng: Rng, cells: number, amp: number): void {
  const n = cells + 1;
  const lattice = new Float32Array(n * n * 3);
  for (let i = 0; i < lattice.length; i++) lattice[i] = (rng.float() * 2 - 1) * amp;
  const { width: w, height: h, data: d } = c;
  const sx = cells / Math.max(1, w - 1);
  const sy = cells / Math.max(1, h - 1);
  // Per-column lattice cell and fraction are the same on every row: compute them once.
  const cellX = new Int32Array(w);
  const fracX = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const gx = x * sx;
    cellX[x] = Math.min(cells - 1, Math.floor(gx)) * 3;
    fracX[x] = gx - Math.min(cells - 1, Math.floor(gx));
  }
  const row = new Float32Array(n * 3);
  let p = c.offset;
  for (let y = 0; y < h; y++) {
    const gy = y * sy;
    const iy = Math.min(cells - 1, Math.floor(gy));
    const fy = gy - iy;
    // Interpolate between the two lattice rows first, then only along x per pixel.
    const top = iy * n * 3;
    const bot = top + n * 3;
    for (let i = 0; i < n * 3; i++) row[i] = lattice[top + i]! + (lattice[bot + i]! - lattice[top + i]!) * fy;
    for (let x = 0; x < w; x++, p += 3) {
      const q = cellX[x]!;
      const fx = fracX[x]!;
      d[p] = d[p]! + row[q]! + (row[q + 3]! - row[q]!) * fx;
      d[p + 1] = d[p + 1]! + row[q + 1]! + (row[q + 4]! - row[q + 1]!) * fx;
      d[p + 2] = d[p + 2]! + row[q + 2]! + (row[q + 5]! - row[q + 2]!) * fx;
    }
  }
}

/**
 * Adds independent uniform noise in [−amp, amp] to every channel. One 32-bit draw feeds all three
 * channels (10 bits each), a third of the PRNG calls of the obvious loop.
 */
export function addPixelNoise(c: Canvas, rng: Rng, amp: number): void {
  const { data: d } = c;
  const end = c.offset + c.width * c.height * 3;
  const k = (2 * amp) / 1023;
  for (let p = c.offset; p < end; p += 3) {
    const u = rng.u32();
    d[p] = d[p]! + ((u & 1023) * k - amp);
    d[p + 1] = d[p + 1]! + (((u >>> 10) & 1023) * k - amp);
    d[p + 2] = d[p + 2]! + (((u >>> 20) & 1023) * k - amp);
  }
}

/** Integer pixel range [lo, hi] covering [a, b] plus a margin, clipped to [0, size − 1]. */
function span(a: number, b: number, margin: number, size: number): [number, number] {
  return [Math.max(0, Math.floor(Math.min(a, b) - margin)), Math.min(size - 1, Math.ceil(Math.max(a, b) + margin))];
}

/** A filled capsule (thick segment with round ends) of radius r from (ax, ay) to (bx, by). */
export function fillCapsule(c: Canvas, ax: number, ay: number, bx: number, by: number, r: number, rgb: Rgb, alpha = 1, owner?: Owner): void {
  const [x0, x1] = span(ax, bx, r + 1, c.width);
  const [y0, y1] = span(ay, by, r + 1, c.height);
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const inv = len2 > 1e-12 ? 1 / len2 : 0;
  const outer = (r + 0.5) * (r + 0.5);
  for (let y = y0; y <= y1; y++) {
    const py = y - ay;
    for (let x = x0; x <= x1; x++) {
      const px = x - ax;
      let t = (px * dx + py * dy) * inv;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * dx;
      const ey = py - t * dy;
      const d2 = ex * ex + ey * ey;
      if (d2 >= outer) continue;
      const cov = r + 0.5 - Math.sqrt(d2);
      const a = (cov > 1 ? 1 : cov) * alpha;
      blend(c, x, y, rgb, a);
      if (owner && a >= 0.5) owner.buf[y * c.width + x] = owner.id;
    }
  }
}

/** A filled ellipse with semi-axes (rx, ry) rotated so that its x-axis points along (cos, sin). */
export function fillEllipse(c: Canvas, cx: number, cy: number, rx: number, ry: number, cos: number, sin: number, rgb: Rgb, alpha = 1, owner?: Owner): void {
  const rmax = Math.max(rx, ry);
  const [x0, x1] = span(cx, cx, rmax + 1, c.width);
  const [y0, y1] = span(cy, cy, rmax + 1, c.height);
  const rmin = Math.min(rx, ry);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const px = x - cx;
      const py = y - cy;
      const u = (px * cos + py * sin) / rx;
      const v = (py * cos - px * sin) / ry;
      const q = Math.sqrt(u * u + v * v);
      // (1 − q)·rmin approximates the signed distance to the edge in pixels (exact for circles).
      const cov = (1 - q) * rmin + 0.5;
      if (cov <= 0) continue;
      const a = (cov > 1 ? 1 : cov) * alpha;
      blend(c, x, y, rgb, a);
      if (owner && a >= 0.5) owner.buf[y * c.width + x] = owner.id;
    }
  }
}

/** A filled rectangle of half-sizes (hx, hy) centred at (cx, cy), its x-axis along (cos, sin). */
export function fillBox(c: Canvas, cx: number, cy: number, hx: number, hy: number, cos: number, sin: number, rgb: Rgb, alpha = 1, owner?: Owner): void {
  const rmax = Math.sqrt(hx * hx + hy * hy);
  const [x0, x1] = span(cx, cx, rmax + 1, c.width);
  const [y0, y1] = span(cy, cy, rmax + 1, c.height);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const px = x - cx;
      const py = y - cy;
      const u = Math.abs(px * cos + py * sin);
      const v = Math.abs(py * cos - px * sin);
      const cov = Math.min(hx - u, hy - v) + 0.5;
      if (cov <= 0) continue;
      const a = (cov > 1 ? 1 : cov) * alpha;
      blend(c, x, y, rgb, a);
      if (owner && a >= 0.5) owner.buf[y * c.width + x] = owner.id;
    }
  }
}

/** A one-pixel-wide outline of the axis-aligned rectangle [x1, x2] × [y1, y2] (integer pixels). */
export function strokeRect(c: Canvas, x1: number, y1: number, x2: number, y2: number, rgb: Rgb, thickness = 1): void {
  const t = thickness;
  const rect = (ax: number, ay: number, bx: number, by: number) => {
    const [xa, xb] = [Math.max(0, Math.round(ax)), Math.min(c.width - 1, Math.round(bx))];
    const [ya, yb] = [Math.max(0, Math.round(ay)), Math.min(c.height - 1, Math.round(by))];
    for (let y = ya; y <= yb; y++) for (let x = xa; x <= xb; x++) blend(c, x, y, rgb, 1);
  };
  rect(x1, y1, x2, y1 + t - 1);
  rect(x1, y2 - t + 1, x2, y2);
  rect(x1, y1, x1 + t - 1, y2);
  rect(x2 - t + 1, y1, x2, y2);
}

/**
 * Resamples a single-channel image (src, sw × sh) to dst (dw × dh), pixel-centre aligned:
 * bilinear when enlarging, box-filter (area average) when shrinking so thin strokes don't alias.
 */
export function resampleGray(src: ArrayLike<number>, sw: number, sh: number, dst: Float32Array, dw: number, dh: number): void {
  const scaleX = sw / dw;
  const scaleY = sh / dh;
  if (scaleX <= 1 && scaleY <= 1) {
    for (let y = 0; y < dh; y++) {
      const fy = Math.min(sh - 1, Math.max(0, (y + 0.5) * scaleY - 0.5));
      const y0 = Math.floor(fy);
      const y1 = Math.min(sh - 1, y0 + 1);
      const wy = fy - y0;
      for (let x = 0; x < dw; x++) {
        const fx = Math.min(sw - 1, Math.max(0, (x + 0.5) * scaleX - 0.5));
        const x0 = Math.floor(fx);
        const x1 = Math.min(sw - 1, x0 + 1);
        const wx = fx - x0;
        const top = src[y0 * sw + x0]! + (src[y0 * sw + x1]! - src[y0 * sw + x0]!) * wx;
        const bot = src[y1 * sw + x0]! + (src[y1 * sw + x1]! - src[y1 * sw + x0]!) * wx;
        dst[y * dw + x] = top + (bot - top) * wy;
      }
    }
    return;
  }
  // Area average: each destination pixel integrates the source over its footprint.
  for (let y = 0; y < dh; y++) {
    const ya = y * scaleY;
    const yb = ya + scaleY;
    for (let x = 0; x < dw; x++) {
      const xa = x * scaleX;
      const xb = xa + scaleX;
      let sum = 0;
      let area = 0;
      for (let sy = Math.floor(ya); sy < Math.min(sh, Math.ceil(yb)); sy++) {
        const hy = Math.min(yb, sy + 1) - Math.max(ya, sy);
        for (let sx = Math.floor(xa); sx < Math.min(sw, Math.ceil(xb)); sx++) {
          const w = hy * (Math.min(xb, sx + 1) - Math.max(xa, sx));
          sum += src[sy * sw + sx]! * w;
          area += w;
        }
      }
      dst[y * dw + x] = area > 0 ? sum / area : 0;
    }
  }
}
