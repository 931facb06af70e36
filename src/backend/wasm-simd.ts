import tf from '../tf.cjs';
import { assembleModule, type WasmFunc } from './wasm-asm.ts';

/**
 * Runtime for our own WebAssembly SIMD kernels on tfjs's wasm backend.
 *
 * Why: the fused typed-array kernels (js-kernel.ts) run as V8-compiled JS at ~1-20 ns per element;
 * the same loops as wasm SIMD run 4 lanes at a time without bounds checks. The module imports
 * tfjs's own memory (the backend's emscripten module exports it), so a kernel gets the byte
 * offsets of its input and output tensors and works in place: no copies in or out.
 *
 * Kernels register their WAT functions here (wasm-kernels*.ts); the module is assembled once on
 * first use. Each SIMD kernel mirrors its JS twin operation by operation, in the same order and
 * precision, so the two give bit-identical results (tests check this), and cpu and wasm agree.
 */

interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(n: number): number; _free(p: number): void };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
}

const funcs: WasmFunc[] = [];
let instance: { memory: WebAssembly.Memory; exports: Record<string, (...args: number[]) => void> } | undefined;
let enabled = process.env.BNN_WASM_SIMD !== '0';

/** Adds functions to the module (before its first use; names must be unique). */
export function defineWasmFuncs(fs: WasmFunc[]): void {
  if (instance) throw new Error('wasm SIMD module already built');
  for (const f of fs) {
    if (funcs.some((g) => g.name === f.name)) throw new Error(`wasm function ${f.name} defined twice`);
    funcs.push(f);
  }
}

/** Turns the SIMD kernels off (the JS loops run instead) or on; returns the previous setting. */
export function setWasmSimd(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

function backendOf(b: unknown): WasmBackendInternals {
  return b as WasmBackendInternals;
}

/** The exported kernels, bound to this backend's memory; undefined where SIMD is off or missing. */
export function simdExports(backend: unknown): Record<string, (...args: number[]) => void> | undefined {
  if (!enabled || funcs.length === 0) return undefined;
  const memory = backendOf(backend).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  if (instance?.memory !== memory) {
    const module = new WebAssembly.Module(assembleModule(funcs));
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    instance = { memory, exports: inst.exports as Record<string, (...args: number[]) => void> };
  }
  return instance.exports;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: unknown, t: tf.TensorInfo): number {
  const d = backendOf(backend).dataIdMap.get(t.dataId);
  if (!d) throw new Error('tensor not on the wasm backend');
  return d.memoryOffset;
}

/**
 * Scratch memory in the wasm heap for the duration of `use` (per-channel sums and
 * coefficients). `use` must not allocate tensors: a malloc that grows the heap would detach the
 * Float64Array views handed out here.
 */
export function withScratch<T>(backend: unknown, doubles: number, use: (ptr: number, view: Float64Array) => T): T {
  const w = backendOf(backend).wasm;
  const ptr = w._malloc(doubles * 8 + 16);
  const aligned = (ptr + 15) & ~15;
  try {
    return use(aligned, new Float64Array(w.asm.memory.buffer, aligned, doubles));
  } finally {
    w._free(ptr);
  }
}

const simdCalls: Record<string, number> = {};

/** Counts a kernel call served by SIMD (tests use this to prove the path ran). */
export function countSimdCall(kernel: string): void {
  simdCalls[kernel] = (simdCalls[kernel] ?? 0) + 1;
}

/** How often each kernel ran as SIMD. */
export function simdCallCounts(): Readonly<Record<string, number>> {
  return { ...simdCalls };
}

/** Whether the SIMD kernels are in use on the current backend. */
export function wasmSimdActive(): boolean {
  return tf.getBackend() === 'wasm' && simdExports(tf.backend()) !== undefined;
}

/** WAT: `local.get $p local.get $i i32.add`, the address of element block $i of array $p. */
export const at = (p: string): string => `local.get ${p} local.get $i i32.add`;

/** WAT: for ($i = 0; $i < $bytes; $i += 16) body — 4 float32 lanes per iteration. */
export const vecLoop = (body: string, bytes = '$bytes'): string => `
  i32.const 0 local.set $i
  block $done loop $next
    local.get $i local.get ${bytes} i32.ge_u br_if $done
    ${body}
    local.get $i i32.const 16 i32.add local.set $i
    br $next
  end end`;

/**
 * Runs an elementwise SIMD function over the first n − n mod 4 elements (its arguments: the
 * input and output offsets, the byte count, then `extra`) and the JS kernel over the rest.
 */
export function elementwise(ctx: { ex: Record<string, (...a: number[]) => void>; ins: number[]; outs: number[];
  views(): { ins: Float32Array[]; outs: Float32Array[] } }, fn: string, n: number, extra: number[],
  tail: (ins: Float32Array[], outs: Float32Array[]) => void): true {
  const n4 = n & ~3;
  ctx.ex[fn]!(...ctx.ins, ...ctx.outs, n4 * 4, ...extra);
  if (n4 < n) {
    const v = ctx.views();
    tail(v.ins.map((a) => a.subarray(n4)), v.outs.map((a) => a.subarray(n4)));
  }
  return true;
}
