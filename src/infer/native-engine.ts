/**
 * The native binary-convolution engine: XNOR + popcount in C++ (native/src/popcount.cc) through
 * the optional oneDNN addon, on the packed layout of pack.ts, dispatched at run time to AVX-512
 * VPOPCNTDQ, AVX2 (nibble-LUT popcount) or scalar popcount, with no -march so one build runs on
 * any x86-64. The arithmetic, padding correction included, is the wasm engine's (see
 * wasm-engine.ts and popcount.cc), so the two give the same floats bit for bit.
 *
 * Threads: OpenMP over output rows, as many as the addon's pool (the `native` backend's
 * --threads; every core where the backend is another). Integer sums are exact, so the thread
 * count never changes a result.
 *
 * `BNN_POPCOUNT_ISA=scalar|avx2|avx512` forces a path (tests compare them; a path the CPU lacks
 * is refused with one line).
 */
import { loadOneDnn } from '../backend/onednn.ts';
import { UsageError } from '../errors.ts';
import type { BinaryConvEngine, BlockBranch, ConvGeometry, FloatActivations, SignAtZero } from './engine.ts';
import type { PackedFilter } from './pack.ts';

/** Instruction sets of popcount.cc, in its numbering. */
export const POPCOUNT_ISAS = ['scalar', 'avx2', 'avx512'] as const;
export type PopcountIsa = (typeof POPCOUNT_ISAS)[number];

/** The popcount functions of the addon (native/src/popcount.cc). */
interface PopcountAddon {
  binaryConvPrepare(bits: Uint32Array, kh: number, kw: number, cin: number, cout: number): ArrayBuffer;
  binaryConv(prepared: ArrayBuffer, x: Float32Array, thresholds: Float32Array | null, zeroSign: boolean,
    geometry: number[], alpha: Float32Array, bias: Float32Array | null, out: Float32Array | null, isa: number,
    slope: Float32Array | null, strides?: Strides | null): { isa: string; masked: boolean };
  popcountIsas(): PopcountIsa[];
  /** OpenMP's pool size (common.cc). */
  getThreads(): number;
}

/**
 * Channel slices of wider buffers (popcount.cc `readStrides`): pixel i of the input at
 * i·inStride floats, of the output at i·outStride; with `sum`, also sum = concat(parts, y) +
 * residual at i·sumStride (out may then be null).
 */
export interface Strides {
  inStride?: number;
  outStride?: number;
  sum?: Float32Array;
  residual?: Float32Array;
  sumStride?: number;
  /** With sum: earlier dense outputs [pixels][channels] that precede y in the sum (sum = concat(parts, y) + residual). */
  parts?: Array<{ data: Float32Array; channels: number }>;
}

export type NativeStatus = { ok: true; addon: PopcountAddon; isas: PopcountIsa[] } | { ok: false; reason: string };

/** Whether the native engine can run here, and why not. */
export function nativeEngineStatus(): NativeStatus {
  const loaded = loadOneDnn();
  if (!loaded.ok) return { ok: false, reason: loaded.reason };
  const addon = loaded.addon as unknown as Partial<PopcountAddon>;
  if (typeof addon.binaryConv !== 'function' || typeof addon.popcountIsas !== 'function' || typeof addon.binaryConvPrepare !== 'function') {
    return { ok: false, reason: 'the native addon was built without popcount.cc: rebuild it (node native/build.cjs)' };
  }
  return { ok: true, addon: addon as PopcountAddon, isas: addon.popcountIsas() };
}

/** The ISA to run: `requested` (or BNN_POPCOUNT_ISA), else the best this CPU has. */
function chooseIsa(isas: PopcountIsa[], requested: string | undefined): PopcountIsa {
  if (requested === undefined || requested === '') return isas[0]!;
  if (!(POPCOUNT_ISAS as readonly string[]).includes(requested)) {
    throw new UsageError(`BNN_POPCOUNT_ISA: '${requested}' is not one of ${POPCOUNT_ISAS.join(', ')}`);
  }
  if (!(isas as string[]).includes(requested)) throw new UsageError(`BNN_POPCOUNT_ISA=${requested}: this CPU lacks it (it has ${isas.join(', ')})`);
  return requested as PopcountIsa;
}

export class NativeEngine implements BinaryConvEngine {
  readonly name = 'native';
  /** The PReLU in the vector epilogue costs a few µops per 8 outputs, less than a pass over them. */
  readonly fusesPrelu = true;
  /** The instruction set every call of this engine runs. */
  readonly isa: PopcountIsa;
  private readonly addon: PopcountAddon;
  private readonly prepared = new WeakMap<PackedFilter, ArrayBuffer>();
  private scratch = new Float32Array(0);
  /** The raw outputs of a block's chained branches when its output holds y + residual. */
  private blockScratch = new Float32Array(0);
  /** What the last call ran: its instruction set and whether it needed the mask plane (tests read it). */
  lastRun: { isa: string; masked: boolean } | null = null;

  constructor(isa: string | undefined = process.env.BNN_POPCOUNT_ISA) {
    const s = nativeEngineStatus();
    if (!s.ok) throw new UsageError(`engine 'native' is not available: ${s.reason}`);
    this.addon = s.addon;
    this.isa = chooseIsa(s.isas, isa);
  }

  /** Threads each call runs on: the addon's OpenMP pool. */
  get threads(): number {
    return this.addon.getThreads();
  }

  private filter(f: PackedFilter): ArrayBuffer {
    let p = this.prepared.get(f);
    if (p === undefined) {
      p = this.addon.binaryConvPrepare(f.bits, f.kh, f.kw, f.inChannels, f.outChannels);
      this.prepared.set(f, p);
    }
    return p;
  }

  conv(x: FloatActivations, signAtZero: SignAtZero, f: PackedFilter, g: ConvGeometry, out?: Float32Array): Float32Array {
    const size = x.n * g.outH * g.outW * f.outChannels;
    if (x.c !== f.inChannels) throw new Error(`native engine: input has ${x.c} channels, the filter ${f.inChannels}`);
    let y = out;
    if (y === undefined) {
      if (this.scratch.length < size) this.scratch = new Float32Array(size);
      y = this.scratch.subarray(0, size);
    }
    this.lastRun = this.addon.binaryConv(this.filter(f), x.data, x.thresholds?.table ?? null, signAtZero === 'zero',
      [x.n, x.h, x.w, x.c, f.kh, f.kw, g.stride, g.padTop, g.padLeft, g.outH, g.outW, f.outChannels],
      f.alpha, f.bias, y, POPCOUNT_ISAS.indexOf(this.isa), f.slope ?? null);
    return y;
  }

  /**
   * The block with no Concatenate layer. Without a residual each branch's epilogue writes its
   * channel slice of `out` (an output pixel stride) and the next branch packs from that slice
   * (an input pixel stride). With one (the Add fused too) the chained branches write their raw y
   * to dense scratch buffers, and the last branch writes, row by row right after its tiles,
   * concat(y1, y2, y) + residual into `out`: one pass over contiguous rows. (Adding the residual
   * into each branch's slice, three strided passes, measured slower than the two layers.)
   */
  convBlock(x: Float32Array, signAtZero: SignAtZero, branches: BlockBranch[], residual: Float32Array | null, out: Float32Array): void {
    const width = branches.reduce((a, b) => a + b.filter.outChannels, 0);
    const b0 = branches[0]!;
    const pixels = b0.n * b0.g.outH * b0.g.outW;
    const chained = residual === null ? 0 : width - branches.at(-1)!.filter.outChannels;
    if (this.blockScratch.length < pixels * chained) this.blockScratch = new Float32Array(pixels * chained);
    const parts: Array<{ data: Float32Array; channels: number }> = [];
    let input = x;
    let inStride = b0.filter.inChannels;
    let offset = 0;
    branches.forEach((b, i) => {
      const f = b.filter;
      const last = i === branches.length - 1;
      let y: Float32Array | null;
      let strides: Strides;
      if (residual === null) {
        y = out.subarray(offset);
        strides = { inStride, outStride: width };
      } else if (!last) {
        y = this.blockScratch.subarray(pixels * offset, pixels * (offset + f.outChannels));
        strides = { inStride };
        parts.push({ data: y, channels: f.outChannels });
      } else {
        y = null;
        strides = { inStride, sum: out, residual, sumStride: width, parts };
      }
      this.lastRun = this.addon.binaryConv(this.filter(f), input, b.thresholds?.table ?? null, signAtZero === 'zero',
        [b.n, b.h, b.w, f.inChannels, f.kh, f.kw, b.g.stride, b.g.padTop, b.g.padLeft, b.g.outH, b.g.outW, f.outChannels],
        f.alpha, f.bias, y, POPCOUNT_ISAS.indexOf(this.isa), f.slope ?? null, strides);
      if (y !== null) {
        input = y;
        inStride = residual === null ? width : f.outChannels;
      }
      offset += f.outChannels;
    });
  }
}
