/**
 * The WebAssembly binary-convolution engine: XNOR + i64.popcnt over the packed layout of pack.ts,
 * assembled from source by the repository's own assembler (src/backend/wasm-asm.ts), so no
 * toolchain is needed; the module needs nothing but WebAssembly (its own memory, no imports but that).
 *
 * Per call: the float input is copied into the engine's own memory and signed + packed there
 * (`pack`) into planes zero-padded the way the conv pads; JS walks the output rows in runs of
 * pixels that share a padding pattern and hands wasm one run per call (`bdot4`), which loops over
 * the pixels, the output channels four at a time (one patch load feeds four XOR + popcounts), the
 * kh rows of the patch and the 64-bit words of each row, and writes float32 α·Σ (+ bias) (then a
 * fused PReLU), rounded as engine.ts `epilogue`.
 *
 * Padding, exactly (a tap outside the image is 0 in training's conv, never ±1): a clear bit in the
 * padded plane reads as +1, so a run at the border subtracts, per output channel, what its padding
 * taps added, Σ_{padding taps} Σ_c w = Σ (C − 2·popcount(w_tap)), precomputed per padding pattern
 * (Larq Compute Engine's correction). Where a mask plane exists (sign_at_zero = zero and some
 * input is 0), padding has mask 0 and counts nothing, so no correction is needed.
 *
 * Filters are re-laid out once per filter bank for this kernel: groups of 4 output channels with
 * their 64-bit words interleaved ([o/4][kh][kw][word][4]), zero-padded to a multiple of 4.
 */
import { assembleModule, type WasmFunc } from '../backend/wasm-asm.ts';
import { popcount32, widenTaps, wordsPerPixel, type PackedFilter } from './pack.ts';

/** uint32 words per pixel in this engine's memory: channels padded to whole 64-bit words for i64.popcnt. */
const words64 = (c: number): number => 2 * Math.ceil(c / 64);
import type { BinaryConvEngine, ConvGeometry, FloatActivations, SignAtZero } from './engine.ts';

const LANES = [0, 1, 2, 3];

/** One word of the patch against the same word of 4 filters: acc_i += popcount((v XOR w_i) [AND m]). */
const wordLoop = (label: string, masked: boolean): string => `
  block $${label}_done loop $${label}
    local.get $pp local.get $end i32.ge_u br_if $${label}_done
    local.get $pp i64.load local.set $v
    ${masked ? 'local.get $mp i64.load local.set $mv local.get $mp i32.const 8 i32.add local.set $mp' : ''}
    ${LANES.map((i) => `local.get $a${i} local.get $v local.get $wp i64.load offset=${8 * i} i64.xor
      ${masked ? 'local.get $mv i64.and' : ''} i64.popcnt i64.add local.set $a${i}`).join('\n')}
    local.get $pp i32.const 8 i32.add local.set $pp
    local.get $wp i32.const 32 i32.add local.set $wp
    br $${label}
  end end`;

/**
 * out[i] = f32(base − 2·acc_i − corr[i]) · alpha[i] (+ bias[i]) for the 4 lanes of a group, then,
 * with slope ≠ 0, the fused PReLU as engine.ts `prelu`: select by the bits as a signed integer,
 * pos + neg · slope[i].
 */
const epilogue4 = LANES.map((i) => `
    local.get $b local.get $a${i} i32.wrap_i64 i32.const 1 i32.shl i32.sub local.set $s
    local.get $corr
    if local.get $s local.get $pc i32.load offset=${4 * i} i32.sub local.set $s end
    local.get $s f32.convert_i32_s local.get $pa f32.load offset=${4 * i} f32.mul local.set $y
    local.get $bias
    if local.get $y local.get $pb f32.load offset=${4 * i} f32.add local.set $y end
    local.get $slope
    if
      local.get $y i32.reinterpret_f32 local.set $s
      local.get $y f32.const 0 local.get $s i32.const 0 i32.gt_s select
      local.get $y f32.const 0 local.get $s i32.const 0 i32.lt_s select
      local.get $ps f32.load offset=${4 * i} f32.mul f32.add local.set $y
    end
    local.get $po local.get $y f32.store offset=${4 * i}`).join('\n');

/**
 * bdot4(x, m, rows, rowBytes, rowStride, w, out, alpha, bias, groups, base, count, xStep, outStep, corr, slope):
 * `count` output pixels of one row, every output channel. Pixel i reads its patch at x + i·xStep
 * (mask at m + i·xStep) and writes its channels at out + i·outStep; a last, partial group of 4
 * writes its padding lanes into the next pixel's slots, which that pixel then overwrites.
 * m = 0: no mask plane; base < 0: base = popcount of the mask patch (the valid, non-zero
 * inputs), else base = kh·kw·C. corr ≠ 0: i32 per output channel subtracted from the sum (the
 * padding correction). bias = 0, slope = 0: none.
 */
const BDOT4: WasmFunc = {
  name: 'bdot4',
  params: [['$x', 'i32'], ['$m', 'i32'], ['$rows', 'i32'], ['$rowBytes', 'i32'], ['$rowStride', 'i32'], ['$w', 'i32'],
    ['$out', 'i32'], ['$alpha', 'i32'], ['$bias', 'i32'], ['$groups', 'i32'], ['$base', 'i32'], ['$count', 'i32'],
    ['$xStep', 'i32'], ['$outStep', 'i32'], ['$corr', 'i32'], ['$slope', 'i32']],
  locals: [['$g', 'i32'], ['$ky', 'i32'], ['$rp', 'i32'], ['$rm', 'i32'], ['$pp', 'i32'], ['$mp', 'i32'], ['$wp', 'i32'],
    ['$end', 'i32'], ['$v', 'i64'], ['$mv', 'i64'], ['$a0', 'i64'], ['$a1', 'i64'], ['$a2', 'i64'], ['$a3', 'i64'], ['$y', 'f32'],
    ['$i', 'i32'], ['$b', 'i32'], ['$po', 'i32'], ['$pa', 'i32'], ['$pb', 'i32'], ['$pc', 'i32'], ['$s', 'i32'], ['$ps', 'i32']],
  body: `
  i32.const 0 local.set $i
  block $pxdone loop $pixel
  local.get $i local.get $count i32.ge_u br_if $pxdone
  local.get $base local.set $b
  local.get $b i32.const 0 i32.lt_s
  if
    i32.const 0 local.set $b
    local.get $m local.set $rp
    i32.const 0 local.set $ky
    block $bdone loop $brow
      local.get $ky local.get $rows i32.ge_u br_if $bdone
      local.get $rp local.set $pp
      local.get $rp local.get $rowBytes i32.add local.set $end
      block $bwdone loop $bword
        local.get $pp local.get $end i32.ge_u br_if $bwdone
        local.get $b local.get $pp i64.load i64.popcnt i32.wrap_i64 i32.add local.set $b
        local.get $pp i32.const 8 i32.add local.set $pp
        br $bword
      end end
      local.get $rp local.get $rowStride i32.add local.set $rp
      local.get $ky i32.const 1 i32.add local.set $ky
      br $brow
    end end
  end
  local.get $w local.set $wp
  local.get $out local.set $po
  local.get $alpha local.set $pa
  local.get $bias local.set $pb
  local.get $corr local.set $pc
  local.get $slope local.set $ps
  i32.const 0 local.set $g
  block $gdone loop $group
    local.get $g local.get $groups i32.ge_u br_if $gdone
    ${LANES.map((i) => `i32.const 0 i64.extend_i32_u local.set $a${i}`).join(' ')}
    local.get $x local.set $rp
    local.get $m local.set $rm
    i32.const 0 local.set $ky
    block $rdone loop $row
      local.get $ky local.get $rows i32.ge_u br_if $rdone
      local.get $rp local.set $pp
      local.get $rm local.set $mp
      local.get $rp local.get $rowBytes i32.add local.set $end
      local.get $m
      if
        ${wordLoop('masked', true)}
      else
        ${wordLoop('plain', false)}
      end
      local.get $rp local.get $rowStride i32.add local.set $rp
      local.get $rm local.get $rowStride i32.add local.set $rm
      local.get $ky i32.const 1 i32.add local.set $ky
      br $row
    end end
    ${epilogue4}
    local.get $po i32.const 16 i32.add local.set $po
    local.get $pa i32.const 16 i32.add local.set $pa
    local.get $pb i32.const 16 i32.add local.set $pb
    local.get $pc i32.const 16 i32.add local.set $pc
    local.get $ps i32.const 16 i32.add local.set $ps
    local.get $g i32.const 1 i32.add local.set $g
    br $group
  end end
  local.get $x local.get $xStep i32.add local.set $x
  local.get $m if local.get $m local.get $xStep i32.add local.set $m end
  local.get $out local.get $outStep i32.add local.set $out
  local.get $i i32.const 1 i32.add local.set $i
  br $pixel
  end end`,
};

/**
 * pack(src, bits, mask, pixels, c, words, flag, thr): signs `pixels` NHWC floats into the packed
 * layout, bit = (x < 0); the masked variants also write the non-zero plane, bit = (x ≠ 0), and
 * or 1 into flag (i32) when a value is 0. The thresholded variants sign y = s_c·x against the
 * [s, lo, hi] table at thr (engine.ts SignThresholds): bit = (y < lo), non-zero = (y < lo or
 * y ≥ hi). The destination planes must be zeroed (padding words stay 0).
 */
const packFunc = (name: string, masked: boolean, thresholded: boolean): WasmFunc => {
  const neg = thresholded ? 'local.get $v local.get $tp f32.load offset=4 f32.lt' : 'local.get $v f32.const 0 f32.lt';
  const nonZero = thresholded
    ? 'local.get $v local.get $tp f32.load offset=4 f32.lt local.get $v local.get $tp f32.load offset=8 f32.ge i32.or'
    : 'local.get $v f32.const 0 f32.ne';
  return {
    name,
    params: [['$src', 'i32'], ['$bits', 'i32'], ['$mask', 'i32'], ['$pixels', 'i32'], ['$c', 'i32'], ['$words', 'i32'], ['$flag', 'i32'], ['$thr', 'i32']],
    locals: [['$p', 'i32'], ['$ch', 'i32'], ['$word', 'i32'], ['$mword', 'i32'], ['$zero', 'i32'], ['$v', 'f32'], ['$dst', 'i32'], ['$mdst', 'i32'],
      ['$tp', 'i32'], ['$nz', 'i32']],
    body: `
  i32.const 0 local.set $p
  block $pdone loop $pixel
    local.get $p local.get $pixels i32.ge_u br_if $pdone
    local.get $bits local.get $p local.get $words i32.mul i32.const 2 i32.shl i32.add local.set $dst
    local.get $mask local.get $p local.get $words i32.mul i32.const 2 i32.shl i32.add local.set $mdst
    local.get $thr local.set $tp
    i32.const 0 local.set $ch
    i32.const 0 local.set $word
    i32.const 0 local.set $mword
    block $cdone loop $channel
      local.get $ch local.get $c i32.ge_u br_if $cdone
      local.get $src f32.load local.set $v
      ${thresholded ? 'local.get $v local.get $tp f32.load f32.mul local.set $v' : ''}
      ;; shl takes its count mod 32: channel ch lands on bit ch & 31
      local.get $word ${neg} local.get $ch i32.shl i32.or local.set $word
      ${masked ? `${nonZero} local.set $nz
      local.get $mword local.get $nz local.get $ch i32.shl i32.or local.set $mword
      local.get $zero local.get $nz i32.eqz i32.or local.set $zero` : ''}
      local.get $src i32.const 4 i32.add local.set $src
      local.get $tp i32.const 12 i32.add local.set $tp
      local.get $ch i32.const 1 i32.add local.set $ch
      ;; a full word, or the last channel: store and start the next word
      local.get $ch i32.const 31 i32.and i32.eqz local.get $ch local.get $c i32.eq i32.or
      if
        local.get $dst local.get $word i32.store
        local.get $dst i32.const 4 i32.add local.set $dst
        i32.const 0 local.set $word
        ${masked ? `local.get $mdst local.get $mword i32.store
        local.get $mdst i32.const 4 i32.add local.set $mdst
        i32.const 0 local.set $mword` : ''}
      end
      br $channel
    end end
    local.get $p i32.const 1 i32.add local.set $p
    br $pixel
  end end
  ${masked ? 'local.get $flag local.get $flag i32.load local.get $zero i32.or i32.store' : ''}`,
  };
};

const PACKS = ['pack', 'packMasked', 'packThr', 'packThrMasked'] as const;

/**
 * The same four packs with WebAssembly SIMD, for channel counts that are a multiple of 32 (every
 * binary layer of these networks but a stem on the image): 4 channels per f32x4 compare, their
 * signs by i32x4.bitmask, 8 compares per word. The same comparisons lane by lane as packFunc
 * (f32x4.lt / ge are false on NaN, f32x4.ne true, as f32.lt / ge / ne), so the same bits. The
 * thresholds here are de-interleaved: s[c], then lo[c], then hi[c] from thr.
 */
const packSimdFunc = (name: string, masked: boolean, thresholded: boolean): WasmFunc => {
  const group = (g: number): string => {
    const at = `offset=${16 * g}`;
    const v = thresholded ? `local.get $src v128.load ${at} local.get $ts v128.load ${at} f32x4.mul` : `local.get $src v128.load ${at}`;
    const neg = thresholded ? `local.get $v local.get $tl v128.load ${at} f32x4.lt` : 'local.get $v v128.const f32x4 0 0 0 0 f32x4.lt';
    const nonZero = thresholded ? `local.get $neg local.get $v local.get $th v128.load ${at} f32x4.ge v128.or` : 'local.get $v v128.const f32x4 0 0 0 0 f32x4.ne';
    return `${v} local.set $v ${neg} local.set $neg
      local.get $word local.get $neg i32x4.bitmask i32.const ${4 * g} i32.shl i32.or local.set $word
      ${masked ? `local.get $mword ${nonZero} i32x4.bitmask i32.const ${4 * g} i32.shl i32.or local.set $mword` : ''}`;
  };
  return {
    name,
    params: [['$src', 'i32'], ['$bits', 'i32'], ['$mask', 'i32'], ['$pixels', 'i32'], ['$c', 'i32'], ['$words', 'i32'], ['$flag', 'i32'], ['$thr', 'i32']],
    locals: [['$p', 'i32'], ['$w', 'i32'], ['$word', 'i32'], ['$mword', 'i32'], ['$zero', 'i32'], ['$dst', 'i32'], ['$mdst', 'i32'],
      ['$ts', 'i32'], ['$tl', 'i32'], ['$th', 'i32'], ['$v', 'v128'], ['$neg', 'v128']],
    body: `
  i32.const 0 local.set $p
  block $pdone loop $pixel
    local.get $p local.get $pixels i32.ge_u br_if $pdone
    local.get $bits local.get $p local.get $words i32.mul i32.const 2 i32.shl i32.add local.set $dst
    local.get $mask local.get $p local.get $words i32.mul i32.const 2 i32.shl i32.add local.set $mdst
    local.get $thr local.set $ts
    local.get $thr local.get $c i32.const 2 i32.shl i32.add local.set $tl
    local.get $tl local.get $c i32.const 2 i32.shl i32.add local.set $th
    i32.const 0 local.set $w
    block $wdone loop $wloop
      local.get $w local.get $c i32.const 5 i32.shr_u i32.ge_u br_if $wdone
      i32.const 0 local.set $word
      i32.const 0 local.set $mword
      ${Array.from({ length: 8 }, (_, g) => group(g)).join(' ')}
      local.get $dst local.get $word i32.store
      local.get $dst i32.const 4 i32.add local.set $dst
      ${masked ? `local.get $mdst local.get $mword i32.store
      local.get $mdst i32.const 4 i32.add local.set $mdst
      local.get $zero local.get $mword i32.const -1 i32.ne i32.or local.set $zero` : ''}
      local.get $src i32.const 128 i32.add local.set $src
      local.get $ts i32.const 128 i32.add local.set $ts
      local.get $tl i32.const 128 i32.add local.set $tl
      local.get $th i32.const 128 i32.add local.set $th
      local.get $w i32.const 1 i32.add local.set $w
      br $wloop
    end end
    local.get $p i32.const 1 i32.add local.set $p
    br $pixel
  end end
  ${masked ? 'local.get $flag local.get $flag i32.load local.get $zero i32.or i32.store' : ''}`,
  };
};

/** The SIMD packs as their own module (null where this runtime has no WebAssembly SIMD: the scalar packs run). */
function simdPacks(memory: WebAssembly.Memory): Record<(typeof PACKS)[number], Fn> | null {
  const bytes = assembleModule(PACKS.map((n) => packSimdFunc(n, n.endsWith('Masked'), n.startsWith('packThr'))));
  if (!WebAssembly.validate(bytes)) return null;
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Record<(typeof PACKS)[number], Fn>;
}

type Fn = (...args: number[]) => void;

/** Byte offsets of one call's buffers (8-byte aligned; nothing at 0, which means "none"). */
interface Arena { src: number; x: number; m: number; f: number; alpha: number; bias: number; slope: number; corr: number; flag: number; thr: number; out: number; end: number }

/** A filter bank in the kernel's interleaved layout, made once per PackedFilter. */
interface Interleaved {
  bits: Uint32Array;
  alpha: Float32Array;
  bias: Float32Array | null;
  /** The fused PReLU's slopes, padded like alpha, or null. */
  slope: Float32Array | null;
  groups: number;
  /** Σ_c w[o, tap, c] = C − 2·popcount(tap bits), [o][tap]: what one +1-padded tap adds. */
  tapSums: Int32Array;
}

function interleave(f: PackedFilter): Interleaved {
  const taps = f.kh * f.kw;
  const words = wordsPerPixel(f.inChannels);
  const wide = widenTaps(f.bits, f.outChannels * taps, words, words64(f.inChannels));
  const perFilter = taps * words64(f.inChannels) / 2; // 64-bit words
  const groups = Math.ceil(f.outChannels / 4);
  const bits = new Uint32Array(groups * perFilter * 4 * 2);
  for (let o = 0; o < f.outChannels; o++) {
    const g = o >> 2;
    const lane = o & 3;
    for (let j = 0; j < perFilter; j++) {
      const dst = ((g * perFilter + j) * 4 + lane) * 2;
      const src = (o * perFilter + j) * 2;
      bits[dst] = wide[src]!;
      bits[dst + 1] = wide[src + 1]!;
    }
  }
  const tapSums = new Int32Array(f.outChannels * taps);
  for (let t = 0; t < f.outChannels * taps; t++) {
    let ones = 0;
    for (let j = 0; j < words; j++) ones += popcount32(f.bits[t * words + j]!);
    tapSums[t] = f.inChannels - 2 * ones;
  }
  const pad = (a: Float32Array) => { const b = new Float32Array(groups * 4); b.set(a); return b; };
  const slope = f.slope ?? null;
  return { bits, alpha: pad(f.alpha), bias: f.bias === null ? null : pad(f.bias), slope: slope === null ? null : pad(slope), groups, tapSums };
}

/** The input zero-padded as the conv pads it: the packed plane is [n, padTop + h + padBottom, padLeft + w + padRight]. */
interface Padded { top: number; left: number; hp: number; wp: number }

function paddedOf(x: FloatActivations, f: PackedFilter, g: ConvGeometry): Padded {
  const bottom = Math.max(0, (g.outH - 1) * g.stride + f.kh - x.h - g.padTop);
  const right = Math.max(0, (g.outW - 1) * g.stride + f.kw - x.w - g.padLeft);
  return { top: g.padTop, left: g.padLeft, hp: g.padTop + x.h + bottom, wp: g.padLeft + x.w + right };
}

/** Padding taps of an output pixel: rows missing at the top and bottom, columns at the left and right. */
type Border = [number, number, number, number];

function rowBorder(oy: number, x: FloatActivations, f: PackedFilter, g: ConvGeometry): [number, number] {
  const iy0 = oy * g.stride - g.padTop;
  return [Math.max(0, -iy0), Math.max(0, iy0 + f.kh - x.h)];
}

function colBorder(ox: number, x: FloatActivations, f: PackedFilter, g: ConvGeometry): [number, number] {
  const ix0 = ox * g.stride - g.padLeft;
  return [Math.max(0, -ix0), Math.max(0, ix0 + f.kw - x.w)];
}

/** corr[o] = Σ over the padding taps of `b` of tapSums[o][tap], padded to groups·4 lanes. */
function correction(l: Interleaved, f: PackedFilter, b: Border): Int32Array {
  const [top, bottom, left, right] = b;
  const corr = new Int32Array(l.groups * 4);
  for (let o = 0; o < f.outChannels; o++) {
    let sum = 0;
    for (let ky = 0; ky < f.kh; ky++) {
      for (let kx = 0; kx < f.kw; kx++) {
        if (ky < top || ky >= f.kh - bottom || kx < left || kx >= f.kw - right) sum += l.tapSums[o * f.kh * f.kw + ky * f.kw + kx]!;
      }
    }
    corr[o] = sum;
  }
  return corr;
}

export class WasmEngine implements BinaryConvEngine {
  readonly name = 'wasm';
  /**
   * Its epilogue is scalar wasm: the fused PReLU (two selects, a multiply, an add per output)
   * measured slower than the backend's vectorized Prelu pass (whole model, batch 32, native
   * backend, AMD Zen 3: 0.73–0.87×), so packed layers leave the PReLU to the backend.
   */
  readonly fusesPrelu = false;
  private readonly memory = new WebAssembly.Memory({ initial: 16 });
  private readonly fns: Record<'bdot4' | (typeof PACKS)[number], Fn>;
  /** The SIMD packs, or null (no SIMD, or BNN_WASM_SIMD_PACK=0, which tests use to compare the two). */
  private readonly simd: Record<(typeof PACKS)[number], Fn> | null;
  private readonly layouts = new WeakMap<PackedFilter, Interleaved>();

  constructor() {
    const module = new WebAssembly.Module(assembleModule([BDOT4, ...PACKS.map((n) => packFunc(n, n.endsWith('Masked'), n.startsWith('packThr')))]));
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.fns = instance.exports as unknown as Record<'bdot4' | (typeof PACKS)[number], Fn>;
    this.simd = process.env.BNN_WASM_SIMD_PACK === '0' ? null : simdPacks(this.memory);
  }

  private layout(f: PackedFilter): Interleaved {
    let l = this.layouts.get(f);
    if (l === undefined) {
      l = interleave(f);
      this.layouts.set(f, l);
    }
    return l;
  }

  private arena(x: FloatActivations, f: PackedFilter, l: Interleaved, g: ConvGeometry, p: Padded, patterns: number): Arena {
    const planeBytes = x.n * p.hp * p.wp * words64(x.c) * 4;
    const sizes: Array<[keyof Arena, number]> = [
      ['src', x.data.length * 4], ['x', planeBytes], ['m', planeBytes], ['f', l.bits.length * 4], ['alpha', l.alpha.length * 4],
      ['bias', l.alpha.length * 4], ['slope', l.alpha.length * 4], ['corr', patterns * l.alpha.length * 4], ['flag', 8], ['thr', 12 * x.c],
      // The last group of the last pixel may write up to 3 padding lanes past the real channels.
      ['out', (x.n * g.outH * g.outW * f.outChannels + 4) * 4],
    ];
    const a = {} as Arena;
    let at = 64;
    for (const [k, bytes] of sizes) {
      a[k] = at;
      at += (bytes + 7) & ~7;
    }
    a.end = at;
    const have = this.memory.buffer.byteLength;
    if (a.end > have) this.memory.grow(Math.ceil((a.end - have) / 65536));
    return a;
  }

  conv(x: FloatActivations, signAtZero: SignAtZero, f: PackedFilter, g: ConvGeometry, out?: Float32Array): Float32Array {
    const l = this.layout(f);
    const p = paddedOf(x, f, g);
    const borders = this.borders(x, f, g);
    const a = this.arena(x, f, l, g, p, borders.size);
    const u32 = new Uint32Array(this.memory.buffer);
    const i32 = new Int32Array(this.memory.buffer);
    const f32 = new Float32Array(this.memory.buffer);
    f32.set(x.data, a.src / 4);
    u32.fill(0, a.x / 4, (signAtZero === 'zero' ? a.m + (a.m - a.x) : a.m) / 4);
    u32[a.flag / 4] = 0;
    const masked = this.pack(x, signAtZero, p, a, u32);
    u32.set(l.bits, a.f / 4);
    f32.set(l.alpha, a.alpha / 4);
    if (l.bias !== null) f32.set(l.bias, a.bias / 4);
    if (l.slope !== null) f32.set(l.slope, a.slope / 4);
    const corrAt = new Map<string, number>();
    let at = a.corr;
    for (const [key, b] of borders) {
      i32.set(correction(l, f, b), at / 4);
      corrAt.set(key, at);
      at += l.alpha.length * 4;
    }
    this.rows(x, masked, f, l, g, p, a, corrAt);
    const y = f32.subarray(a.out / 4, a.out / 4 + x.n * g.outH * g.outW * f.outChannels);
    if (out === undefined) return y;
    out.set(y);
    return out;
  }

  /** Signs and packs the input into the zero-padded planes, one image row per call. Returns whether a mask plane is needed. */
  private pack(x: FloatActivations, signAtZero: SignAtZero, p: Padded, a: Arena, u32: Uint32Array): boolean {
    const pixelBytes = words64(x.c) * 4;
    const mask = signAtZero === 'zero' ? a.m : 0;
    const t = x.thresholds;
    const packs = this.simd !== null && x.c % 32 === 0 ? this.simd : this.fns;
    if (t !== undefined) {
      const f32 = new Float32Array(this.memory.buffer);
      if (packs === this.fns) {
        f32.set(t.table, a.thr / 4);
      } else {
        // De-interleaved for the SIMD packs: s[c], lo[c], hi[c].
        for (let ch = 0; ch < x.c; ch++) {
          for (let k = 0; k < 3; k++) f32[a.thr / 4 + k * x.c + ch] = t.table[3 * ch + k]!;
        }
      }
    }
    const fn = t === undefined ? (mask === 0 ? packs.pack : packs.packMasked) : (mask === 0 ? packs.packThr : packs.packThrMasked);
    for (let n = 0; n < x.n; n++) {
      for (let iy = 0; iy < x.h; iy++) {
        const dst = ((n * p.hp + iy + p.top) * p.wp + p.left) * pixelBytes;
        fn(a.src + (n * x.h + iy) * x.w * x.c * 4, a.x + dst, mask + dst, x.w, x.c, words64(x.c), a.flag, a.thr);
      }
    }
    return signAtZero === 'zero' && u32[a.flag / 4] !== 0;
  }

  /** Every distinct padding pattern with at least one padding tap, by key. */
  private borders(x: FloatActivations, f: PackedFilter, g: ConvGeometry): Map<string, Border> {
    const rows = new Set<string>();
    const cols = new Set<string>();
    for (let oy = 0; oy < g.outH; oy++) rows.add(rowBorder(oy, x, f, g).join(','));
    for (let ox = 0; ox < g.outW; ox++) cols.add(colBorder(ox, x, f, g).join(','));
    const out = new Map<string, Border>();
    for (const r of rows) {
      for (const c of cols) {
        const b = [...r.split(','), ...c.split(',')].map(Number) as Border;
        if (b.some((v) => v > 0)) out.set(b.join(','), b);
      }
    }
    return out;
  }

  /**
   * Walks the output rows in runs of pixels that share a padding pattern (the interior of a row
   * is one run): one wasm call per run over the padded planes. Without a mask plane padding
   * reads as +1 and the run's correction removes it; with one, padding has mask 0 and counts 0.
   */
  private rows(x: FloatActivations, masked: boolean, f: PackedFilter, l: Interleaved, g: ConvGeometry, p: Padded, a: Arena,
    corrAt: Map<string, number>): void {
    const pixelBytes = words64(x.c) * 4;
    const bias = l.bias === null ? 0 : a.bias;
    const slope = l.slope === null ? 0 : a.slope;
    const rowBytes = f.kw * pixelBytes;
    const outStep = f.outChannels * 4;
    const cols = Array.from({ length: g.outW }, (_, ox) => colBorder(ox, x, f, g).join(','));
    for (let n = 0; n < x.n; n++) {
      for (let oy = 0; oy < g.outH; oy++) {
        const rowKey = rowBorder(oy, x, f, g).join(',');
        const rowOut = a.out + (n * g.outH + oy) * g.outW * outStep;
        let ox = 0;
        while (ox < g.outW) {
          let end = ox + 1;
          while (end < g.outW && cols[end] === cols[ox]) end++;
          const at = ((n * p.hp + oy * g.stride) * p.wp + ox * g.stride) * pixelBytes;
          const corr = masked ? 0 : corrAt.get(`${rowKey},${cols[ox]}`) ?? 0;
          this.fns.bdot4(a.x + at, masked ? a.m + at : 0, f.kh, rowBytes, p.wp * pixelBytes, a.f, rowOut + ox * outStep,
            a.alpha, bias, l.groups, masked ? -1 : f.kh * f.kw * x.c, end - ox, g.stride * pixelBytes, outStep, corr, slope);
          ox = end;
        }
      }
    }
  }
}
