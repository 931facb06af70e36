/**
 * The packed layout of binary tensors, shared by the exporter (weights, once) and the inference
 * engines (activations, every call). One place defines it, so every engine (JS, wasm, a future
 * native one) reads the same bits.
 *
 * Layout (manifest `layout: "nhwc-c32-neg1"`):
 * - channels are innermost and packed 32 per little-endian uint32 word (channel c → word c >> 5,
 *   bit c & 31); a set bit means −1, a clear bit +1 (the float sign bit's convention, as Larq
 *   Compute Engine); the channel count is padded up to a multiple of 32 with clear bits;
 * - activations are [n, h, w, words], filters [out, kh, kw, words] (OHWI): one output channel's
 *   filter is one contiguous vector, the same length as an input patch row-major over (kh, kw).
 * The file keeps this tight form (C bits per tap for C a multiple of 32: 32 signs per word). A
 * kernel that wants wider words pads each tap up to its word (the wasm engine: 64 bits for
 * i64.popcnt; AVX-512 would take 512) with clear bits in BOTH operands when it loads a filter,
 * so padding XORs to 0 and never counts.
 *
 * With P = popcount(x XOR w) over a patch of V valid taps of C channels, the ±1 dot product is
 *   Σ x·w = V·C − 2P   (exact integer).
 * Inputs that may be 0 (sign_at_zero = zero) carry a second bit plane, the non-zero mask m:
 *   Σ x·w = popcount(m) − 2·popcount(m AND (x XOR w)).
 * Zero padding beyond the border is the same thing: a tap with m = 0 (see engine.ts).
 */

/** Name of this layout in manifests. */
export const PACKED_LAYOUT = 'nhwc-c32-neg1';

/** uint32 words per pixel (or per filter tap) for `channels` channels. */
export function wordsPerPixel(channels: number): number {
  return Math.ceil(channels / 32);
}

/**
 * Re-lays filter bits from `from` to `to` uint32 words per tap (to ≥ from), the extra words
 * clear: how a kernel with wider words (64-bit, 512-bit) takes the file's 32-bit form.
 */
export function widenTaps(bits: Uint32Array, taps: number, from: number, to: number): Uint32Array {
  const out = new Uint32Array(taps * to);
  for (let t = 0; t < taps; t++) out.set(bits.subarray(t * from, t * from + from), t * to);
  return out;
}

/** Bit count of a uint32 (SWAR popcount; the JS engine's inner operation). */
export function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Packed activations: bits (and, where some input is exactly 0, the non-zero mask). */
export interface PackedActivations {
  n: number;
  h: number;
  w: number;
  c: number;
  /** [n, h, w, wordsPerPixel(c)] uint32, bit set = −1. */
  bits: Uint32Array;
  /** Same layout, bit set = the value is non-zero; null when every value is ±1. */
  mask: Uint32Array | null;
}

/**
 * Packs NHWC float features by the training sign: bit = (x < 0). With sign_at_zero = plus_one
 * (x ≥ 0 → +1, −0 included) that is all; with zero, x = 0 is 0, so a mask plane is built when
 * any input is exactly 0 (and only then: it costs the engines an extra AND per word).
 */
export function packActivations(x: Float32Array, n: number, h: number, w: number, c: number,
  signAtZero: 'plus_one' | 'zero', into?: Uint32Array): PackedActivations {
  const words = wordsPerPixel(c);
  const pixels = n * h * w;
  const bits = into !== undefined && into.length >= pixels * words ? into.subarray(0, pixels * words) : new Uint32Array(pixels * words);
  bits.fill(0);
  let zeros = false;
  for (let p = 0; p < pixels; p++) {
    const src = p * c;
    const dst = p * words;
    for (let c0 = 0; c0 < c; c0 += 32) {
      const end = Math.min(c, c0 + 32);
      let word = 0;
      for (let ch = c0; ch < end; ch++) {
        const v = x[src + ch]!;
        // Branch-free: this loop runs once per input value of every binary layer.
        word |= (v < 0 ? 1 : 0) << (ch - c0);
        zeros ||= v === 0;
      }
      bits[dst + (c0 >> 5)] = word;
    }
  }
  const mask = signAtZero === 'zero' && zeros ? nonZeroMask(x, pixels, c) : null;
  return { n, h, w, c, bits, mask };
}

/** The mask plane: bit set where x ≠ 0 (NaN counts as non-zero, as tf.sign(NaN) is NaN, never 0). */
function nonZeroMask(x: Float32Array, pixels: number, c: number): Uint32Array {
  const words = wordsPerPixel(c);
  const mask = new Uint32Array(pixels * words);
  for (let p = 0; p < pixels; p++) {
    for (let ch = 0; ch < c; ch++) {
      if (x[p * c + ch] !== 0) mask[p * words + (ch >> 5)]! |= 1 << (ch & 31);
    }
  }
  return mask;
}

/** A binary filter bank: packed signs, α per output channel, optional bias. */
export interface PackedFilter {
  kh: number;
  kw: number;
  inChannels: number;
  outChannels: number;
  /** [out, kh, kw, wordsPerPixel(in)] uint32, bit set = −1. */
  bits: Uint32Array;
  /** α per output channel (1 for weight_scale none; one value repeated for tensor). */
  alpha: Float32Array;
  /** Real bias per output channel, added after α·Σ, or null. */
  bias: Float32Array | null;
  /**
   * The slope per output channel of a PReLU fused into the epilogue (the layer that followed the
   * conv, skipped by the export): y = prelu(α·Σ (+ bias)) as engine.ts `prelu`. Absent or null: none.
   */
  slope?: Float32Array | null;
}

/**
 * Packs a binarized HWIO kernel (every entry ±α_o, as the training forward computes it) into
 * OHWI sign bits and reads α_o back from it: α·(±1) is exact, so |entry| is α_o itself, the very
 * float the float path multiplies by.
 */
export function packFilter(kernel: Float32Array, kh: number, kw: number, cin: number, cout: number): { bits: Uint32Array; alpha: Float32Array } {
  const words = wordsPerPixel(cin);
  const bits = new Uint32Array(cout * kh * kw * words);
  const alpha = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    alpha[o] = Math.abs(kernel[o]!);
    for (let t = 0; t < kh * kw; t++) {
      for (let ci = 0; ci < cin; ci++) {
        const v = kernel[(t * cin + ci) * cout + o]!;
        if (v < 0) bits[(o * kh * kw + t) * words + (ci >> 5)]! |= 1 << (ci & 31);
      }
    }
  }
  return { bits, alpha };
}

/** The ±1 HWIO kernel back from packed bits (tests, and the float reference in benchmarks). */
export function unpackFilter(f: Pick<PackedFilter, 'kh' | 'kw' | 'inChannels' | 'outChannels' | 'bits'>): Float32Array {
  const { kh, kw, inChannels: cin, outChannels: cout } = f;
  const words = wordsPerPixel(cin);
  const out = new Float32Array(kh * kw * cin * cout);
  for (let o = 0; o < cout; o++) {
    for (let t = 0; t < kh * kw; t++) {
      for (let ci = 0; ci < cin; ci++) {
        const bit = (f.bits[(o * kh * kw + t) * words + (ci >> 5)]! >>> (ci & 31)) & 1;
        out[(t * cin + ci) * cout + o] = bit ? -1 : 1;
      }
    }
  }
  return out;
}
