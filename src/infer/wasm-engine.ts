/**
 * The WebAssembly binary-convolution engine: XNOR + i64.popcnt over the packed layout of pack.ts,
 * assembled from source by the repository's own assembler (src/backend/wasm-asm.ts), so no
 * toolchain is needed and the same module runs in any WebAssembly host (a browser included).
 *
 * Work split: JS walks the output pixels and hands wasm one pixel at a time; wasm loops over every
 * output channel, the kh rows of the patch and the 64-bit words of each row, and writes the
 * float32 results (α·Σ + bias, rounded as engine.ts `epilogue`). Interior pixels read the input
 * in place (a patch row is kw adjacent pixels, contiguous in NHWC); border pixels are first
 * gathered into a zeroed patch whose mask plane is 0 at padding taps, which makes padding exact
 * (a tap outside the image adds 0, never ±1).
 */
import { assembleModule, type WasmFunc } from '../backend/wasm-asm.ts';
import { wordsPerPixel, type PackedActivations, type PackedFilter } from './pack.ts';
import type { BinaryConvEngine, ConvGeometry } from './engine.ts';

/** The word loop: acc += popcount((x XOR w) [AND m]) over one patch row. */
const wordLoop = (label: string, masked: boolean): string => `
  block $${label}_done loop $${label}
    local.get $pp local.get $end i32.ge_u br_if $${label}_done
    local.get $acc
    local.get $pp i64.load local.get $wp i64.load i64.xor
    ${masked ? 'local.get $mp i64.load i64.and' : ''}
    i64.popcnt i64.add local.set $acc
    local.get $pp i32.const 8 i32.add local.set $pp
    local.get $wp i32.const 8 i32.add local.set $wp
    ${masked ? 'local.get $mp i32.const 8 i32.add local.set $mp' : ''}
    br $${label}
  end end`;

/**
 * bdot(x, m, rows, rowBytes, rowStride, w, out, alpha, bias, o, base): for k < o,
 *   out[k] = f32(base − 2·Σ_rows Σ_words popcount((x XOR w_k) [AND m])) · alpha[k] (+ bias[k]).
 * m = 0: no mask; base < 0: base = popcount of the mask patch (its valid ±1 and non-zero inputs).
 */
const BDOT: WasmFunc = {
  name: 'bdot',
  params: [['$x', 'i32'], ['$m', 'i32'], ['$rows', 'i32'], ['$rowBytes', 'i32'], ['$rowStride', 'i32'], ['$w', 'i32'],
    ['$out', 'i32'], ['$alpha', 'i32'], ['$bias', 'i32'], ['$o', 'i32'], ['$base', 'i32']],
  locals: [['$k', 'i32'], ['$ky', 'i32'], ['$rp', 'i32'], ['$rm', 'i32'], ['$pp', 'i32'], ['$mp', 'i32'], ['$wp', 'i32'],
    ['$end', 'i32'], ['$acc', 'i64'], ['$y', 'f32']],
  body: `
  ;; base < 0: count the mask's set bits over the patch once (the same for every output channel)
  local.get $base i32.const 0 i32.lt_s
  if
    i32.const 0 local.set $base
    local.get $m local.set $rp
    i32.const 0 local.set $ky
    block $bdone loop $brow
      local.get $ky local.get $rows i32.ge_u br_if $bdone
      local.get $rp local.set $pp
      local.get $rp local.get $rowBytes i32.add local.set $end
      block $bwdone loop $bword
        local.get $pp local.get $end i32.ge_u br_if $bwdone
        local.get $base local.get $pp i64.load i64.popcnt i32.wrap_i64 i32.add local.set $base
        local.get $pp i32.const 8 i32.add local.set $pp
        br $bword
      end end
      local.get $rp local.get $rowStride i32.add local.set $rp
      local.get $ky i32.const 1 i32.add local.set $ky
      br $brow
    end end
  end
  local.get $w local.set $wp
  i32.const 0 local.set $k
  block $fdone loop $filter
    local.get $k local.get $o i32.ge_u br_if $fdone
    i32.const 0 i64.extend_i32_u local.set $acc
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
    local.get $base local.get $acc i32.wrap_i64 i32.const 1 i32.shl i32.sub f32.convert_i32_s
    local.get $alpha f32.load f32.mul local.set $y
    local.get $bias
    if
      local.get $y local.get $bias f32.load f32.add local.set $y
      local.get $bias i32.const 4 i32.add local.set $bias
    end
    local.get $out local.get $y f32.store
    local.get $out i32.const 4 i32.add local.set $out
    local.get $alpha i32.const 4 i32.add local.set $alpha
    local.get $k i32.const 1 i32.add local.set $k
    br $filter
  end end`,
};

type Bdot = (x: number, m: number, rows: number, rowBytes: number, rowStride: number, w: number,
  out: number, alpha: number, bias: number, o: number, base: number) => void;

/** Byte offsets of one call's buffers in the engine's memory (8-byte aligned; nothing at 0, which means "none"). */
interface Arena {
  x: number; m: number; f: number; alpha: number; bias: number; patch: number; patchMask: number; full: number; out: number; end: number;
}

function arenaFor(x: PackedActivations, f: PackedFilter, outFloats: number): Arena {
  const words = wordsPerPixel(x.c);
  const align = (n: number) => (n + 7) & ~7;
  const sizes: Array<[keyof Arena, number]> = [
    ['x', x.bits.length * 4], ['m', x.mask === null ? 0 : x.mask.length * 4], ['f', f.bits.length * 4],
    ['alpha', f.outChannels * 4], ['bias', f.outChannels * 4], ['patch', f.kh * f.kw * words * 4],
    ['patchMask', f.kh * f.kw * words * 4], ['full', words * 4], ['out', outFloats * 4],
  ];
  const a = {} as Arena;
  let at = 64;
  for (const [k, bytes] of sizes) {
    a[k] = at;
    at += align(bytes);
  }
  a.end = at;
  return a;
}

export class WasmEngine implements BinaryConvEngine {
  readonly name = 'wasm';
  private readonly memory = new WebAssembly.Memory({ initial: 16 });
  private readonly bdot: Bdot;

  constructor() {
    const module = new WebAssembly.Module(assembleModule([BDOT]));
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.bdot = instance.exports.bdot as Bdot;
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  conv(x: PackedActivations, f: PackedFilter, g: ConvGeometry, out: Float32Array): void {
    const a = arenaFor(x, f, out.length);
    this.reserve(a.end);
    const u32 = new Uint32Array(this.memory.buffer);
    const f32 = new Float32Array(this.memory.buffer);
    u32.set(x.bits, a.x / 4);
    if (x.mask !== null) u32.set(x.mask, a.m / 4);
    u32.set(f.bits, a.f / 4);
    f32.set(f.alpha, a.alpha / 4);
    if (f.bias !== null) f32.set(f.bias, a.bias / 4);
    const words = wordsPerPixel(x.c);
    // One pixel's mask with exactly the C real channels set: a valid tap's mask where all inputs are ±1.
    for (let j = 0; j < words; j++) {
      const lo = j * 32;
      u32[a.full / 4 + j] = x.c >= lo + 32 ? 0xffffffff : x.c <= lo ? 0 : (2 ** (x.c - lo) - 1);
    }
    this.pixels(x, f, g, a, u32);
    out.set(f32.subarray(a.out / 4, a.out / 4 + out.length));
  }

  /** Walks the output pixels: interior ones in place, border ones through a gathered, masked patch. */
  private pixels(x: PackedActivations, f: PackedFilter, g: ConvGeometry, a: Arena, u32: Uint32Array): void {
    const words = wordsPerPixel(x.c);
    const pixelBytes = words * 4;
    const bias = f.bias === null ? 0 : a.bias;
    const plainBase = f.kh * f.kw * x.c;
    for (let n = 0; n < x.n; n++) {
      for (let oy = 0; oy < g.outH; oy++) {
        const iy0 = oy * g.stride - g.padTop;
        for (let ox = 0; ox < g.outW; ox++) {
          const ix0 = ox * g.stride - g.padLeft;
          const out = a.out + ((n * g.outH + oy) * g.outW + ox) * f.outChannels * 4;
          if (iy0 >= 0 && ix0 >= 0 && iy0 + f.kh <= x.h && ix0 + f.kw <= x.w) {
            const at = ((n * x.h + iy0) * x.w + ix0) * pixelBytes;
            this.bdot(a.x + at, x.mask === null ? 0 : a.m + at, f.kh, f.kw * pixelBytes, x.w * pixelBytes, a.f,
              out, a.alpha, bias, f.outChannels, x.mask === null ? plainBase : -1);
          } else {
            this.gather(x, f, a, u32, n, iy0, ix0);
            this.bdot(a.patch, a.patchMask, f.kh, f.kw * pixelBytes, f.kw * pixelBytes, a.f,
              out, a.alpha, bias, f.outChannels, -1);
          }
        }
      }
    }
  }

  /** Copies the valid taps of the patch at (iy0, ix0) and their masks; padding taps stay 0 in both planes. */
  private gather(x: PackedActivations, f: PackedFilter, a: Arena, u32: Uint32Array, n: number, iy0: number, ix0: number): void {
    const words = wordsPerPixel(x.c);
    const patch = a.patch / 4;
    const patchMask = a.patchMask / 4;
    u32.fill(0, patch, patch + f.kh * f.kw * words);
    u32.fill(0, patchMask, patchMask + f.kh * f.kw * words);
    for (let ky = 0; ky < f.kh; ky++) {
      const iy = iy0 + ky;
      if (iy < 0 || iy >= x.h) continue;
      for (let kx = 0; kx < f.kw; kx++) {
        const ix = ix0 + kx;
        if (ix < 0 || ix >= x.w) continue;
        const src = ((n * x.h + iy) * x.w + ix) * words;
        const dst = (ky * f.kw + kx) * words;
        u32.copyWithin(patch + dst, a.x / 4 + src, a.x / 4 + src + words);
        if (x.mask === null) u32.copyWithin(patchMask + dst, a.full / 4, a.full / 4 + words);
        else u32.copyWithin(patchMask + dst, a.m / 4 + src, a.m / 4 + src + words);
      }
    }
  }
}
