/**
 * The binary-convolution engine interface and its plain-JS implementation (the reference the
 * faster engines are checked against).
 *
 * An engine computes, for packed ±1 (or {−1, 0, +1}) activations and a packed filter bank,
 *   y[n, oy, ox, o] = α_o · Σ_{valid taps, c} x·w (+ bias_o)
 * in float32, where the integer sum is exact and only α·Σ (and + bias) round, once each. Zero
 * padding is training's: a tap outside the image contributes 0, not ±1 (a zero next to ±1 inputs,
 * as tf.conv2d pads the signed input), so border pixels count only their valid taps: V·C − 2P
 * over the valid taps, or popcount(m) − 2·popcount(m AND (x XOR w)) where a mask plane exists.
 *
 * To add an engine (as native-engine.ts and wasm-engine.ts do): implement
 * `BinaryConvEngine.conv` on these same buffers (layout in pack.ts), register it with an
 * availability probe in `ENGINE_FACTORIES` (engines.ts), and the packed layers, `evaluate` and
 * `bench --inference` use it.
 */
import { packActivations, popcount32, wordsPerPixel, type PackedActivations, type PackedFilter } from './pack.ts';

/** Stride and 'same'/'valid' padding, resolved to the pads tf.conv2d uses (TF's convention). */
export interface ConvGeometry {
  stride: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/** TF 'same' padding: out = ⌈in/s⌉, total pad = max((out − 1)·s + k − in, 0), the smaller half on top/left. */
export function convGeometry(h: number, w: number, kh: number, kw: number, stride: number, padding: 'same' | 'valid'): ConvGeometry {
  if (padding === 'valid') {
    return { stride, padTop: 0, padLeft: 0, outH: Math.floor((h - kh) / stride) + 1, outW: Math.floor((w - kw) / stride) + 1 };
  }
  const outH = Math.ceil(h / stride);
  const outW = Math.ceil(w / stride);
  const padH = Math.max((outH - 1) * stride + kh - h, 0);
  const padW = Math.max((outW - 1) * stride + kw - w, 0);
  return { stride, padTop: Math.floor(padH / 2), padLeft: Math.floor(padW / 2), outH, outW };
}

/** Float NHWC features as the real layers produced them (before the sign). */
export interface FloatActivations {
  data: Float32Array;
  n: number;
  h: number;
  w: number;
  c: number;
  /** A folded batch norm (and activation) before the sign, as thresholds; absent: training's sign of x itself. */
  thresholds?: SignThresholds;
}

/**
 * The sign of f_c(x) for a monotone per-channel f (batch norm, then a non-decreasing activation)
 * as thresholds on y = s_c·x (s_c = ±1, exact): −1 where y < lo_c, +1 where y ≥ hi_c, 0 between
 * (sign_at_zero = zero; hi = lo under plus_one). Interleaved [s, lo, hi] per channel.
 */
export interface SignThresholds {
  /** [c][s, lo, hi], float32. */
  table: Float32Array;
}

/** −1, 0 or +1 per value by the thresholds: the float input that training's sign would see the sign of. */
export function applyThresholds(x: Float32Array, c: number, t: SignThresholds): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = i % c;
    const y = Math.fround(x[i]! * t.table[3 * ch]!);
    out[i] = y < t.table[3 * ch + 1]! ? -1 : y >= t.table[3 * ch + 2]! ? 1 : 0;
  }
  return out;
}

export interface BinaryConvEngine {
  /** 'native', 'wasm' or 'js', as benchmarks and evaluate name it. */
  readonly name: string;
  /**
   * Whether a packed layer should hand this engine its fused PReLU (PackedFilter.slope) rather
   * than run the backend's Prelu kernel after it: true where the engine's epilogue does it
   * cheaper than a separate vectorized pass (native's vector epilogue). Every engine computes the
   * fused PReLU exactly either way; this only picks the faster of two identical results.
   */
  readonly fusesPrelu?: boolean;
  /**
   * Signs `x` as training does (`signAtZero`: x = 0 → +1, or 0), packs it, and computes
   * [n, outH, outW, outChannels] float32 α·Σ (+ bias) (then the filter's fused PReLU) into `out`, or, without `out`, into a view
   * of the engine's own memory valid until its next call (one copy less for a caller that copies
   * anyway). Packing belongs to the engine so a fast one keeps the bits in its own memory.
   */
  conv(x: FloatActivations, signAtZero: SignAtZero, f: PackedFilter, g: ConvGeometry, out?: Float32Array): Float32Array;
  /**
   * A binary HourGlass block in one call, where the engine has it (native): branch i reads
   * branch i − 1's output (the first reads `x`), and every branch writes its channel slice of
   * `out` [n, outH, outW, Σ outChannels] in place (no concat), plus `residual` (same shape, one
   * float32 add, concat + residual in the Add layer's order) where that is given. Branch filters
   * carry their fused PReLU (the engine applies it); exactly `blockByConvs` (below).
   */
  convBlock?(x: Float32Array, signAtZero: SignAtZero, branches: BlockBranch[], residual: Float32Array | null, out: Float32Array): void;
}

/** One branch of a block (convBlock): its filter, the thresholds of its folded batch norm, its geometry and input shape. */
export interface BlockBranch {
  filter: PackedFilter;
  thresholds?: SignThresholds;
  g: ConvGeometry;
  /** The branch's input [n, h, w, filter.inChannels]. */
  n: number;
  h: number;
  w: number;
}

/**
 * The block as separate convolutions on `engine` (each branch its own dense output, the
 * engine's PReLU fused), then the concat and the residual add as the Concatenate and Add layers
 * compute them: what `convBlock` must equal, bit for bit.
 */
export function blockByConvs(engine: BinaryConvEngine, x: Float32Array, signAtZero: SignAtZero, branches: BlockBranch[],
  residual: Float32Array | null, out: Float32Array): void {
  const width = branches.reduce((a, b) => a + b.filter.outChannels, 0);
  let input = x;
  let offset = 0;
  for (const b of branches) {
    const c = b.filter.outChannels;
    const y = engine.conv({ data: input, n: b.n, h: b.h, w: b.w, c: b.filter.inChannels, thresholds: b.thresholds }, signAtZero, b.filter, b.g,
      new Float32Array(b.n * b.g.outH * b.g.outW * c));
    for (let p = 0; p < y.length / c; p++) {
      for (let o = 0; o < c; o++) {
        const at = p * width + offset + o;
        out[at] = residual === null ? y[p * c + o]! : Math.fround(y[p * c + o]! + residual[at]!);
      }
    }
    input = y;
    offset += c;
  }
}

/** sign(0) of the run (model.sign_at_zero). */
export type SignAtZero = 'plus_one' | 'zero';

const PRELU_F32 = new Float32Array(1);
const PRELU_I32 = new Int32Array(PRELU_F32.buffer);

/**
 * PReLU of a float32 as tfjs's wasm Prelu kernel computes it (XNNPACK's integer min/max variant;
 * native/src/eltwise.cc is its twin on the native backend): pos = v where v's bits are > 0 as a
 * signed integer, else 0; neg = v where they are < 0, else 0; y = f32(pos + f32(neg·slope)). So
 * −0 gives +0, NaN stays NaN, and an infinite slope turns a positive v into NaN (0·∞), as the
 * separate layer does. Other backends' Prelu kernels differ (cpu keeps −0), so a packed layer
 * off the wasm heap applies the backend's own op instead (packed-layers.ts).
 */
export function prelu(v: number, slope: number): number {
  PRELU_F32[0] = v;
  const bits = PRELU_I32[0]!;
  const pos = bits > 0 ? PRELU_F32[0]! : 0;
  const neg = bits < 0 ? PRELU_F32[0]! : 0;
  return Math.fround(pos + Math.fround(neg * slope));
}

/**
 * α·Σ (+ bias) rounded as the float path rounds: one float32 multiply, then one float32 add; then
 * the fused PReLU where there is one.
 */
export function epilogue(sum: number, alpha: number, bias: number | undefined, slope?: number): number {
  let y = Math.fround(alpha * sum);
  if (bias !== undefined) y = Math.fround(y + bias);
  return slope === undefined ? y : prelu(y, slope);
}

/** The reference engine: direct loops over valid taps, SWAR popcount on uint32 words. */
export const jsEngine: BinaryConvEngine = {
  name: 'js',
  conv(x, signAtZero, f, g, out) {
    const y = out ?? new Float32Array(x.n * g.outH * g.outW * f.outChannels);
    const data = x.thresholds === undefined ? x.data : applyThresholds(x.data, x.c, x.thresholds);
    packedConv(packActivations(data, x.n, x.h, x.w, x.c, signAtZero), f, g, y);
    return y;
  },
};

/** The JS engine on already packed activations. */
export function packedConv(x: PackedActivations, f: PackedFilter, g: ConvGeometry, out: Float32Array): void {
  const words = wordsPerPixel(x.c);
  const filterWords = f.kh * f.kw * words;
  const { bits, mask } = x;
  for (let n = 0; n < x.n; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const base = ((n * g.outH + oy) * g.outW + ox) * f.outChannels;
        for (let o = 0; o < f.outChannels; o++) {
          let count = 0; // V·C, or popcount(m) with a mask
          let mismatches = 0;
          for (let ky = 0; ky < f.kh; ky++) {
            const iy = oy * g.stride - g.padTop + ky;
            if (iy < 0 || iy >= x.h) continue;
            for (let kx = 0; kx < f.kw; kx++) {
              const ix = ox * g.stride - g.padLeft + kx;
              if (ix < 0 || ix >= x.w) continue;
              const xp = ((n * x.h + iy) * x.w + ix) * words;
              const wp = o * filterWords + (ky * f.kw + kx) * words;
              for (let j = 0; j < words; j++) {
                const diff = (bits[xp + j]! ^ f.bits[wp + j]!) >>> 0;
                if (mask === null) {
                  mismatches += popcount32(diff);
                } else {
                  mismatches += popcount32(diff & mask[xp + j]!);
                  count += popcount32(mask[xp + j]!);
                }
              }
              if (mask === null) count += x.c;
            }
          }
          out[base + o] = epilogue(count - 2 * mismatches, f.alpha[o]!, f.bias === null ? undefined : f.bias[o], f.slope?.[o]);
        }
      }
    }
  }
}
