import tf from '../tf.cjs';
import { BINARIZE_WEIGHTS, BINARIZE_WEIGHTS_GRAD } from './binary-kernels.ts';
import { jobsOf } from './onednn-async.ts';
import { type ConvGeometryArray, oneDnn } from './onednn.ts';

/**
 * The `native` backend's kernels: tfjs's wasm backend with its convolutions, their gradients and
 * its matrix products run by oneDNN (native/), in place on the wasm heap. Tensors never leave
 * the heap: the addon gets the heap's ArrayBuffer and byte offsets, and tfjs's layouts (NHWC
 * activations, [kh,kw,ci,co] filters) are oneDNN's "nhwc" and "hwio", so only the filter is
 * reordered into oneDNN's blocked layout (counted by the addon, printed in the bench profile).
 *
 * The heap's ArrayBuffer is fetched after every allocation of the call: a malloc that grows the
 * heap replaces it (the old one is detached).
 *
 * A case the addon does not cover (NCHW, a non-float32 tensor, an empty tensor, a geometry
 * whose output size oneDNN's floor rule does not reproduce, a partial batch broadcast) runs the
 * kernel the wasm backend would have run, `fallback`.
 */

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  wasm: { asm: { memory: WebAssembly.Memory } };
}

/** Builds the kernel from the one it replaces (the wasm override or stock kernel). */
export type NativeFactory = (fallback: tf.KernelFunc) => tf.KernelFunc;

const calls: Record<string, number> = {};
const fallbacks: Record<string, number> = {};

export const wasmOf = (b: unknown): WasmBackendLike => b as WasmBackendLike;
export const heapOf = (b: WasmBackendLike): ArrayBuffer => b.wasm.asm.memory.buffer as ArrayBuffer;

export function offset(b: WasmBackendLike, t: tf.TensorInfo): number {
  const d = b.dataIdMap.get(t.dataId);
  if (!d) throw new Error('tensor not on the wasm backend');
  return d.memoryOffset;
}

export const size = (s: readonly number[]): number => s.reduce((a, c) => a * c, 1);

export function usable(...ts: tf.TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32' && size(t.shape) > 0);
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW' | 'channelsLast';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The addon's geometry for x [n,h,w,ci] and filter [kh,kw,ci,co], or undefined where oneDNN's
 * output size, floor((in + padBefore + padAfter - kernelExtent) / stride) + 1, differs from tfjs's
 * (a rounding mode other than floor on explicit padding) or the layout is not NHWC.
 */
export function convGeometry(xShape: readonly number[], filterShape: readonly number[], a: ConvAttrs): ConvGeometryArray | undefined {
  if (a.dataFormat === 'NCHW') return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { top, left, bottom, right } = info.padInfo;
  const fits = (inp: number, k: number, d: number, s: number, p0: number, p1: number, out: number) =>
    p0 >= 0 && p1 >= 0 && Math.floor((inp + p0 + p1 - ((k - 1) * d + 1)) / s) + 1 === out;
  if (!fits(info.inHeight, info.filterHeight, info.dilationHeight, info.strideHeight, top, bottom, info.outHeight)) return undefined;
  if (!fits(info.inWidth, info.filterWidth, info.dilationWidth, info.strideWidth, left, right, info.outWidth)) return undefined;
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels, info.filterHeight,
    info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    top, left, bottom, right, info.outHeight, info.outWidth];
}

export function counted(name: string, fallback: tf.KernelFunc, run: (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | tf.TensorInfo[] | undefined): tf.KernelFunc {
  return (args) => {
    const out = run(args);
    if (out) {
      calls[name] = (calls[name] ?? 0) + 1;
      return out;
    }
    fallbacks[name] = (fallbacks[name] ?? 0) + 1;
    return fallback(args);
  };
}

const conv2d: NativeFactory = (fallback) => counted(tf.Conv2D, fallback, ({ inputs, attrs, backend }) => {
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  if (!usable(x, filter)) return undefined;
  const g = convGeometry(x.shape, filter.shape, attrs as unknown as ConvAttrs);
  if (!g) return undefined;
  const b = wasmOf(backend);
  const y = b.makeOutput([g[0], g[15], g[16], g[4]], 'float32');
  oneDnn().convForward(heapOf(b), g, offset(b, x), offset(b, filter), offset(b, y));
  return y;
});

const backpropInput: NativeFactory = (fallback) => counted(tf.Conv2DBackpropInput, fallback, ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  if (!usable(dy, filter)) return undefined;
  const g = convGeometry(a.inputShape, filter.shape, a);
  if (!g || g[15] !== dy.shape[1] || g[16] !== dy.shape[2]) return undefined;
  const b = wasmOf(backend);
  const dx = b.makeOutput([...a.inputShape], 'float32');
  oneDnn().convBackwardData(heapOf(b), g, offset(b, dx), offset(b, filter), offset(b, dy));
  return dx;
});

const backpropFilter: NativeFactory = (fallback) => counted(tf.Conv2DBackpropFilter, fallback, ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (!usable(x, dy)) return undefined;
  const g = convGeometry(x.shape, a.filterShape, a);
  if (!g || g[15] !== dy.shape[1] || g[16] !== dy.shape[2]) return undefined;
  const b = wasmOf(backend);
  const dw = b.makeOutput([...a.filterShape], 'float32');
  const addon = oneDnn();
  if (!addon.asyncActive()) {
    addon.convBackwardWeights(heapOf(b), g, offset(b, x), offset(b, dw), offset(b, dy));
    return dw;
  }
  // Queued on the background thread (onednn-async.ts): nothing reads dw until the optimizer.
  const jobs = jobsOf(b);
  const at = (t: tf.TensorInfo) => jobs.offset(t.dataId);
  jobs.track(addon.convBackwardWeightsAsync(heapOf(b), g, at(x), at(dw), at(dy)), [x.dataId, dy.dataId], [dw.dataId]);
  return dw;
});

/** a [...batchA, M, K] · b [...batchB, K, N] (either transposed); a batch of 1 broadcasts. */
const batchMatMul: NativeFactory = (fallback) => counted(tf.BatchMatMul, fallback, ({ inputs, attrs, backend }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [k2, n] = transposeB ? [cb, rb] : [rb, cb];
  if (k !== k2) return undefined;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = size(outer);
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  // Only whole-batch broadcasting maps onto one stride per operand.
  if ((batchA !== 1 && batchA !== batch) || (batchB !== 1 && batchB !== batch) || batch * m * n === 0) return undefined;
  const w = wasmOf(backend);
  const c = w.makeOutput([...outer, m, n], 'float32');
  oneDnn().batchMatMul(heapOf(w), offset(w, a), offset(w, b), offset(w, c), batchA, batchB, m, n, k,
    Boolean(transposeA), Boolean(transposeB));
  return c;
});

const SCALES: Record<string, number> = { channel: 0, tensor: 1, none: 2 };

/** α·sign(W) per output channel (binary-kernels.ts's twin, bit-identical; native/src/binarize.cc). */
const binarizeWeights: NativeFactory = (fallback) => counted(BINARIZE_WEIGHTS, fallback, ({ inputs, attrs, backend }) => {
  const { w } = inputs as { w: tf.TensorInfo };
  const scale = SCALES[String((attrs as { scale?: unknown }).scale)];
  if (!usable(w) || scale === undefined) return undefined;
  const b = wasmOf(backend);
  const out = b.makeOutput([...w.shape], 'float32');
  oneDnn().binarizeWeights(heapOf(b), offset(b, w), offset(b, out), size(w.shape), w.shape.at(-1)!, scale);
  return out;
});

const binarizeWeightsGrad: NativeFactory = (fallback) => counted(BINARIZE_WEIGHTS_GRAD, fallback, ({ inputs, attrs, backend }) => {
  const { dy, w } = inputs as { dy: tf.TensorInfo; w: tf.TensorInfo };
  const a = attrs as { scale?: unknown; gradient?: unknown };
  const scale = SCALES[String(a.scale)];
  if (!usable(dy, w) || scale === undefined) return undefined;
  const b = wasmOf(backend);
  const dw = b.makeOutput([...w.shape], 'float32');
  const addon = oneDnn();
  const clip = a.gradient !== 'ste';
  const jobs = addon.asyncActive() ? jobsOf(b) : undefined;
  if (jobs?.jobOutput(dy.dataId)) {
    // dy is a filter gradient from the queue: chain behind it (the queue runs in order) rather than wait.
    const at = (t: tf.TensorInfo) => jobs.offset(t.dataId);
    const id = addon.binarizeWeightsGradAsync(heapOf(b), at(dy), at(w), at(dw), size(w.shape), w.shape.at(-1)!, scale, clip);
    jobs.track(id, [dy.dataId, w.dataId], [dw.dataId]);
    return dw;
  }
  addon.binarizeWeightsGrad(heapOf(b), offset(b, dy), offset(b, w), offset(b, dw), size(w.shape), w.shape.at(-1)!, scale, clip);
  return dw;
});

/** The native kernels, by the kernel they replace on the wasm backend (tfjs's or our own). */
export const NATIVE_IMPLS: Record<string, NativeFactory> = {
  [tf.Conv2D]: conv2d,
  [tf.Conv2DBackpropInput]: backpropInput,
  [tf.Conv2DBackpropFilter]: backpropFilter,
  [tf.BatchMatMul]: batchMatMul,
  [BINARIZE_WEIGHTS]: binarizeWeights,
  [BINARIZE_WEIGHTS_GRAD]: binarizeWeightsGrad,
};

/** How often each native kernel ran in oneDNN, and how often it handed a call to its fallback. */
export function nativeCallCounts(): { native: Readonly<Record<string, number>>; fallback: Readonly<Record<string, number>> } {
  return { native: { ...calls }, fallback: { ...fallbacks } };
}
